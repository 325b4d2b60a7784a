"""How the dispute flow reads the customer's words and picks out unusual transactions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from bot.cards.models import Transaction
from bot.flows.dispute import read_ordinal, read_reason, suspicious


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("有一笔交易不是我刷的", "unrecognised"),
        ("我的卡被盗刷了", "unrecognised"),
        ("I don't recognise this charge", "unrecognised"),
        ("that wasn't me", "unrecognised"),
        ("美团外卖扣了两次", "duplicate"),
        ("I was charged twice", "duplicate"),
        ("退款一直没到账", "refund"),
        ("my refund never came", "refund"),
        ("买的东西没收到", "not_received"),
        ("the goods never arrived", "not_received"),
        ("我想对一笔交易提出争议", None),
        ("I want to dispute a transaction", None),
    ],
)
def test_read_reason(text: str, reason: str | None) -> None:
    assert read_reason(text) == reason


def test_a_fraud_signal_alone_means_unrecognised() -> None:
    assert read_reason("这笔怎么回事", frozenset({"fraud_risk"})) == "unrecognised"


@pytest.mark.parametrize(
    ("text", "n"), [("第一笔", 1), ("第2个", 2), ("the third one", 3), ("4th", 4), ("那笔", None)]
)
def test_read_ordinal(text: str, n: int | None) -> None:
    assert read_ordinal(text) == n


def txn(tid: str, merchant: str, amount: str, day: int, country: str = "CN") -> Transaction:
    return Transaction(
        id=tid,
        card_id="K1",
        posted_on=date(2026, 11, day),
        occurred_at=datetime(2026, 11, day, 12, tzinfo=UTC),
        merchant=merchant,
        amount=Decimal(amount),
        kind="purchase",
        category="x",
        country=country,
    )


def test_abroad_and_the_second_identical_charge_stand_out() -> None:
    txns = [
        txn("T1", "美团外卖", "86.50", 27),
        txn("T2", "美团外卖", "86.50", 27),
        txn("T3", "GLOBAL", "4999.00", 29, "US"),
        txn("T4", "美团外卖", "86.50", 20),
        txn("T5", "星巴克", "35.00", 27),
    ]
    assert [suspicious(t, txns) for t in txns] == [None, "duplicate", "abroad", None, None]

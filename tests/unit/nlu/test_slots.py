"""Slots other than amounts, periods and dates: tier, merchant, last four, kinds, statement day."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from bot.nlu import Slots, extract_slots

TODAY = dt.date(2026, 5, 13)


def slots(text: str) -> Slots:
    return extract_slots(text, today=TODAY)


@pytest.mark.parametrize(
    ("text", "tier"),
    [
        ("我是普卡用户", "classic"),
        ("金卡年费多少", "gold"),
        ("白金卡有什么权益", "platinum"),
        ("我的白金信用卡", "platinum"),
        ("钻石卡能免年费吗", "diamond"),
        ("my platinum card", "platinum"),
        ("Gold card annual fee", "gold"),
        ("is the diamond tier worth it", "diamond"),
        ("classic card", "classic"),
        ("我的credit card", None),
        ("golden week travel", None),
    ],
)
def test_tier_from_chinese_and_english_names(text: str, tier: str | None) -> None:
    assert slots(text).tier == tier


@pytest.mark.parametrize(
    ("text", "merchant"),
    [
        ("昨天在京东买了个手机", "京东"),
        ("淘宝上的一笔消费", "淘宝"),
        ("我在天猫下单了", "天猫"),
        ("美团外卖扣了两次", "美团"),
        ("携程订酒店那笔", "携程"),
        ("在苹果官网买的", "Apple"),
        ("星巴克刷了45", "Starbucks"),
        ("宜家的消费", "IKEA"),
        ("a charge from Costco", "Costco"),
        ("Amazon charged me twice", "Amazon"),
        ("my Uber ride", "Uber"),
        ("滴滴打车的钱", "滴滴"),
        ("I was charged at Best Buy yesterday", "Best Buy"),
        ("a payment to Netflix", "Netflix"),
        ("我在沃尔玛刷了500", "Walmart"),
        ("我在全家便利店刷了20块", "全家便利"),
        ("在网上买东西被扣了钱", None),
        ("我在国外刷卡", None),
        ("用apple pay付款失败", None),
        ("I paid at the shop on Monday", None),
    ],
)
def test_merchant_from_known_list_or_pattern(text: str, merchant: str | None) -> None:
    assert slots(text).merchant == merchant


@pytest.mark.parametrize(
    ("text", "last4"),
    [
        ("尾号1234的卡", "1234"),
        ("尾号是5678", "5678"),
        ("卡号后四位0001", "0001"),
        ("the card ending 4321", "4321"),
        ("card ending in 9876", "9876"),
        ("last four digits 1111", "1111"),
        ("我的卡1234", None),
        ("pay 1234 yuan", None),
    ],
)
def test_card_last4_only_when_named(text: str, last4: str | None) -> None:
    assert slots(text).card_last4 == last4


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("临时额度提高到5万", "limit_kind", "temporary"),
        ("I need a temporary increase", "limit_kind", "temporary"),
        ("永久提额", "limit_kind", "permanent"),
        ("不是临时的，我要永久提额", "limit_kind", "permanent"),
        ("raise my limit permanently", "limit_kind", "permanent"),
        ("账单分期", "installment_kind", "bill"),
        ("把这期账单分6期", "installment_kind", "bill"),
        ("split my bill into installments", "installment_kind", "bill"),
        ("把这笔消费分6期", "installment_kind", "purchase"),
        ("单笔分期", "installment_kind", "purchase"),
        ("split this purchase", "installment_kind", "purchase"),
        ("加急寄送", "delivery", "express"),
        ("express delivery please", "delivery", "express"),
        ("普通的就行，不加急", "delivery", "standard"),
        ("standard shipping is fine", "delivery", "standard"),
        ("自动还款设置成全额", "autopay_mode", "full"),
        ("set autopay to pay the full balance", "autopay_mode", "full"),
        ("自动还款改成最低还款", "autopay_mode", "minimum"),
        ("autopay the minimum", "autopay_mode", "minimum"),
    ],
)
def test_kind_slots(text: str, field: str, value: str) -> None:
    assert getattr(slots(text), field) == value


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("账单日改成15号", 15),
        ("我想把账单日从5号改到25号", 25),
        ("change my statement date to the 25th", 25),
        ("move my statement day to 5", 5),
        ("账单日是几号", None),
    ],
)
def test_statement_day(text: str, day: int | None) -> None:
    result = slots(text)
    assert result.statement_day == day
    assert result.date is None  # the day is the statement day, not a date


def test_slots_as_dict_is_json_able_and_omits_empty_slots() -> None:
    result = slots("尾号1234的白金卡昨天在京东刷了¥3,299.50，想分12期，上个月也有一笔")
    data = result.as_dict()
    assert data == {
        "amount": "3299.5",
        "amounts": ["3299.5"],
        "periods": 12,
        "date": "2026-05-12",
        "date_range": ["2026-04-01", "2026-04-30"],
        "tier": "platinum",
        "merchant": "京东",
        "card_last4": "1234",
    }
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert result.amount == Decimal("3299.5")
    assert Slots().as_dict() == {}


def test_slots_amount_from_large_multiplier_renders_without_exponent() -> None:
    assert slots("1.2万").as_dict()["amount"] == "12000"

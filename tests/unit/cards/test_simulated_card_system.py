"""The simulated core: seeded coverage, bank rules, idempotent side effects, persistence."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bot.cards.simulated import SimulatedCardSystem, add_business_days
from bot.errors import CardSystemError
from knowledge.fees import load_fee_schedule

NOW = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)


@pytest.fixture
async def cards(tmp_path: Path) -> AsyncIterator[SimulatedCardSystem]:
    cs = await SimulatedCardSystem(tmp_path / "cards.db", load_fee_schedule(), clock=lambda: NOW).open()
    yield cs
    await cs.close()


async def test_seed_covers_segments_tiers_and_stories(cards: SimulatedCardSystem) -> None:
    customers = await cards.customers()
    assert len(customers) >= 8
    assert {c.segment for c in customers} == {"new", "active", "vip", "dormant"}
    assert {c.tier for c in customers} == {"classic", "gold", "platinum", "diamond"}
    assert any(c.locale == "en-US" for c in customers)
    # A recent purchase of ¥600 or more, eligible for installment.
    txns = await cards.transactions("C001", since=cards.today().replace(day=1))
    assert any(t.amount >= 600 for t in txns)
    # An unrecognised transaction.
    c007 = await cards.snapshot("C007")
    assert any(t.get("flag") == "unrecognised" for t in c007["transactions"])


async def test_late_payment_customer_is_not_eligible_for_limit_increase(cards: SimulatedCardSystem) -> None:
    card = (await cards.cards("C006"))[0]
    decision = await cards.apply_limit_increase(
        "C006", card.id, kind="temporary", amount=Decimal("15000"), days=30, key="k-late"
    )
    assert decision.status == "declined" and "late_payment" in decision.reasons


async def test_temporary_increase_is_instant_and_bounded(cards: SimulatedCardSystem) -> None:
    card = (await cards.cards("C001"))[0]
    with pytest.raises(CardSystemError) as too_much:
        await cards.apply_limit_increase("C001", card.id, kind="temporary", amount=card.credit_limit * 2,
                                         days=30, key="k1")
    assert too_much.value.code == "amount_out_of_range"
    decision = await cards.apply_limit_increase("C001", card.id, kind="temporary", amount=Decimal("45000"),
                                                days=30, key="k2")
    assert decision.status == "approved" and decision.new_limit == Decimal("45000.00")
    (card_after,) = await cards.cards("C001")
    assert card_after.effective_limit(cards.today()) == Decimal("45000.00")


async def test_permanent_increase_becomes_a_pending_case(cards: SimulatedCardSystem) -> None:
    card = (await cards.cards("C001"))[0]
    decision = await cards.apply_limit_increase("C001", card.id, kind="permanent", amount=Decimal("39000"),
                                                days=None, key="kp")
    assert decision.status == "pending" and decision.case_id
    (case,) = await cards.cases("C001")
    assert case.kind == "limit_increase" and case.due_by == add_business_days(cards.today(), 1)


async def test_freeze_is_idempotent_and_survives_restart(tmp_path: Path) -> None:
    path = tmp_path / "cards.db"
    cs = await SimulatedCardSystem(path, load_fee_schedule(), clock=lambda: NOW).open()
    card = (await cs.cards("C001"))[0]
    first = await cs.freeze_card("C001", card.id, reason="lost", key="freeze-1")
    again = await cs.freeze_card("C001", card.id, reason="lost", key="freeze-1")
    assert first == again and first.status == "frozen"
    with pytest.raises(CardSystemError) as already:
        await cs.freeze_card("C001", card.id, reason="lost", key="freeze-2")
    assert already.value.code == "card_frozen"
    await cs.close()
    cs2 = await SimulatedCardSystem(path, load_fee_schedule(), clock=lambda: NOW).open()
    assert (await cs2.cards("C001"))[0].status == "frozen"
    await cs2.close()


async def test_purchase_installment_created_once_with_schedule_figures(cards: SimulatedCardSystem) -> None:
    card = (await cards.cards("C001"))[0]
    purchase = next(t for t in await cards.transactions("C001") if t.amount == Decimal("3299.00"))
    plan = await cards.create_installment_plan("C001", card.id, kind="purchase", source_id=purchase.id,
                                               periods=12, key="plan-1")
    dup = await cards.create_installment_plan("C001", card.id, kind="purchase", source_id=purchase.id,
                                              periods=12, key="plan-1")
    assert plan == dup and len(await cards.installment_plans("C001")) == 1
    assert plan.fee_per_period == Decimal("21.77") and plan.apr == Decimal("0.1431")
    with pytest.raises(CardSystemError) as again:
        await cards.create_installment_plan("C001", card.id, kind="purchase", source_id=purchase.id,
                                            periods=6, key="plan-2")
    assert again.value.code == "already_installed"


async def test_small_or_old_purchases_cannot_be_split(cards: SimulatedCardSystem) -> None:
    card = (await cards.cards("C009"))[0]
    txns = await cards.transactions("C009", limit=500)
    small = next(t for t in txns if t.amount < 600)
    old = next(t for t in txns if t.merchant == "Wagas" and t.amount == Decimal("238.00"))
    for txn, code in ((small, "amount_too_small"), (old, "amount_too_small")):
        with pytest.raises(CardSystemError) as err:
            await cards.create_installment_plan("C009", card.id, kind="purchase", source_id=txn.id,
                                                periods=3, key=f"k-{txn.id}")
        assert err.value.code == code


async def test_replacement_fees_follow_tier_and_card_year(cards: SimulatedCardSystem) -> None:
    gold = (await cards.cards("C001"))[0]
    await cards.freeze_card("C001", gold.id, reason="lost", key="f")
    rep = await cards.order_replacement("C001", gold.id, delivery="express", key="r1")
    assert rep.fee == Decimal("0.00") and rep.delivery_fee == Decimal("30.00")
    assert rep.eta_from == add_business_days(cards.today(), 2)
    plat = (await cards.cards("C002"))[0]
    rep2 = await cards.order_replacement("C002", plat.id, delivery="express", key="r2")
    assert rep2.delivery_fee == Decimal("0.00")
    new_card = (await cards.cards("C001"))[-1]
    second = await cards.order_replacement("C001", new_card.id, delivery="standard", key="r3")
    assert second.fee == Decimal("20.00")


async def test_activation_once(cards: SimulatedCardSystem) -> None:
    card = (await cards.cards("C005"))[0]
    assert card.status == "inactive"
    active = await cards.activate_card("C005", card.id, key="a1")
    assert active.status == "active"
    with pytest.raises(CardSystemError) as err:
        await cards.activate_card("C005", card.id, key="a2")
    assert err.value.code == "already_active"


async def test_operations_are_scoped_to_the_customer(cards: SimulatedCardSystem) -> None:
    other = (await cards.cards("C002"))[0]
    with pytest.raises(CardSystemError) as err:
        await cards.freeze_card("C001", other.id, reason="lost", key="x")
    assert err.value.code == "unknown_card"
    with pytest.raises(CardSystemError):
        await cards.customer("C999")


async def test_idempotency_key_cannot_be_reused_for_another_operation(cards: SimulatedCardSystem) -> None:
    card = (await cards.cards("C001"))[0]
    await cards.set_autopay("C001", card.id, mode="full", key="same")
    with pytest.raises(CardSystemError) as err:
        await cards.freeze_card("C001", card.id, reason="lost", key="same")
    assert err.value.code == "idempotency_mismatch"


async def test_purchases_older_than_the_window_cannot_be_split(cards: SimulatedCardSystem) -> None:
    card = (await cards.cards("C002"))[0]
    today = cards.today()
    old = next(t for t in await cards.transactions("C002", limit=1000)
               if t.amount >= 600 and (today - t.posted_on).days > 60)
    with pytest.raises(CardSystemError) as err:
        await cards.create_installment_plan("C002", card.id, kind="purchase", source_id=old.id, periods=3, key="o")
    assert err.value.code == "outside_window"

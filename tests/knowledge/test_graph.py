"""The needs → products graph: recommendations per scenario and tier, chains, matching, consistency."""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from knowledge.articles import load_articles, stated_figures
from knowledge.fees import TIER_IDS, FeeSchedule, load_fee_schedule
from knowledge.graph import (
    GRAPH_PATH,
    KNOWN_FLOWS,
    CustomerFacts,
    GraphError,
    KnowledgeGraph,
    Purchase,
    Recommendation,
    UnknownNode,
    load_graph,
    match_needs,
    recommend,
)

Raw = dict[str, Any]

# --- fixtures and builders -------------------------------------------------------------------


@pytest.fixture(scope="module")
def graph() -> KnowledgeGraph:
    return load_graph()


@pytest.fixture(scope="module")
def schedule() -> FeeSchedule:
    return load_fee_schedule()


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@functools.cache
def _shipped_document() -> Raw:
    data: Raw = yaml.load(GRAPH_PATH.read_text(encoding="utf-8"), Loader=_LOADER)
    return data


def raw_graph() -> Raw:
    """A fresh copy of the shipped graph document, to mutate."""
    return copy.deepcopy(_shipped_document())


def dump(raw: Raw) -> str:
    return yaml.dump(raw, Dumper=_DUMPER, allow_unicode=True, sort_keys=False)


def graph_of(raw: Raw, schedule: FeeSchedule) -> KnowledgeGraph:
    return KnowledgeGraph.from_yaml(dump(raw), schedule)


def good_standing(tier: str | None, **overrides: Any) -> CustomerFacts:
    """A long-standing customer who pays on time, with a recent ¥800 purchase and a ¥3,000 statement."""
    facts = CustomerFacts(
        tier=tier,
        tenure_months=24,
        late_payments_6m=0,
        late_payments_12m=0,
        months_since_last_increase=12,
        avg_spend_3m=Decimal(4000),
        credit_limit=Decimal(10000),
        recent_purchases=(Purchase(amount=Decimal(800), posted_days_ago=10),),
        statement_balance=Decimal(3000),
        days_to_due=10,
        points_balance=60000,
        points_expiring=2000,
        active_installment_plans=1,
        card_activated=True,
        card_issued_days_ago=400,
        card_year_purchases=10,
        card_year_spend=Decimal(120000),
        disputed_posted_days_ago=5,
    )
    return replace(facts, **overrides)


def by_id(recs: list[Recommendation]) -> dict[str, Recommendation]:
    return {r.product_id: r for r in recs}


def statuses(recs: list[Recommendation]) -> dict[str, str]:
    return {r.product_id: r.status for r in recs}


# --- every scenario × every tier ------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    """What a customer in good standing of a tier gets for a need."""

    eligible: frozenset[str] = frozenset()
    ineligible: frozenset[str] = frozenset()
    absent: frozenset[str] = frozenset()
    first: str | None = None


def expect(*, eligible: str = "", ineligible: str = "", absent: str = "", first: str | None = None) -> Expect:
    return Expect(
        eligible=frozenset(eligible.split()),
        ineligible=frozenset(ineligible.split()),
        absent=frozenset(absent.split()),
        first=first,
    )


def per_tier(classic: Expect, gold: Expect, platinum: Expect, diamond: Expect) -> dict[str, Expect]:
    return {"classic": classic, "gold": gold, "platinum": platinum, "diamond": diamond}


def every_tier(e: Expect) -> dict[str, Expect]:
    return dict.fromkeys(TIER_IDS, e)


# Facts that differ from good standing for a scenario.
SCENARIO_FACTS: dict[str, dict[str, Any]] = {
    "new_card_arrived": {"card_activated": False, "card_issued_days_ago": 7},
}

SCENARIOS: dict[str, dict[str, Expect]] = {
    "travel_abroad": per_tier(
        expect(
            eligible="temporary_limit_increase",
            ineligible="fx_fee_free airport_lounge travel_insurance concierge",
            first="temporary_limit_increase",
        ),
        expect(
            eligible="travel_insurance temporary_limit_increase",
            ineligible="fx_fee_free airport_lounge concierge",
        ),
        expect(
            eligible="fx_fee_free airport_lounge travel_insurance",
            ineligible="concierge",
            first="fx_fee_free",
        ),
        expect(eligible="fx_fee_free airport_lounge travel_insurance concierge", first="fx_fee_free"),
    ),
    "frequent_flyer": per_tier(
        expect(eligible="points_airline_miles", ineligible="airport_lounge travel_insurance concierge"),
        expect(eligible="points_airline_miles travel_insurance", ineligible="airport_lounge concierge"),
        expect(eligible="airport_lounge points_airline_miles travel_insurance", ineligible="concierge"),
        expect(
            eligible="airport_lounge points_airline_miles travel_insurance concierge", first="airport_lounge"
        ),
    ),
    "large_purchase": every_tier(
        expect(
            eligible="purchase_installment bill_installment temporary_limit_increase"
            " permanent_limit_increase",
            first="purchase_installment",
        )
    ),
    "home_renovation": every_tier(
        expect(
            eligible="purchase_installment bill_installment temporary_limit_increase",
            first="purchase_installment",
        )
    ),
    "short_on_cash": every_tier(
        expect(
            eligible="bill_installment purchase_installment minimum_payment",
            absent="cash_advance",
            first="bill_installment",
        )
    ),
    "cannot_pay_full_bill": every_tier(
        expect(
            eligible="bill_installment minimum_payment autopay",
            absent="cash_advance",
            first="bill_installment",
        )
    ),
    "clear_installment_early": every_tier(expect(eligible="installment_early_payoff")),
    "card_lost": per_tier(
        expect(
            eligible="card_freeze card_replacement", ineligible="lost_card_protection", first="card_freeze"
        ),
        *[expect(eligible="card_freeze card_replacement lost_card_protection", first="card_freeze")] * 3,
    ),
    "card_stolen": per_tier(
        expect(
            eligible="card_freeze card_replacement dispute_unrecognised", ineligible="lost_card_protection"
        ),
        *[expect(eligible="card_freeze card_replacement lost_card_protection dispute_unrecognised")] * 3,
    ),
    "suspicious_charge": every_tier(
        expect(eligible="card_freeze dispute_unrecognised card_replacement", first="card_freeze")
    ),
    "merchant_problem": every_tier(
        expect(eligible="merchant_dispute dispute_unrecognised", first="merchant_dispute")
    ),
    "fee_complaint": every_tier(
        expect(
            eligible="fee_explanation complaint_case autopay",
            absent="apply_for_card",
            first="fee_explanation",
        )
    ),
    "annual_fee_too_high": per_tier(
        expect(ineligible="annual_fee_waiver points_annual_fee"),
        expect(eligible="annual_fee_waiver", ineligible="points_annual_fee", first="annual_fee_waiver"),
        expect(eligible="annual_fee_waiver points_annual_fee", first="annual_fee_waiver"),
        expect(ineligible="annual_fee_waiver points_annual_fee"),
    ),
    "limit_too_low": every_tier(
        expect(
            eligible="temporary_limit_increase permanent_limit_increase credit_limit_query",
            first="temporary_limit_increase",
        )
    ),
    "points_expiring": per_tier(
        *[expect(eligible="points_statement_credit points_airline_miles", ineligible="points_annual_fee")]
        * 2,
        expect(eligible="points_statement_credit points_airline_miles points_annual_fee"),
        expect(eligible="points_statement_credit points_airline_miles", ineligible="points_annual_fee"),
    ),
    "new_card_arrived": every_tier(
        expect(eligible="card_activation pin_reset autopay", first="card_activation")
    ),
    "autopay_forgetful": every_tier(expect(eligible="autopay fee_explanation", first="autopay")),
    "forgot_pin": every_tier(expect(eligible="pin_reset", first="pin_reset")),
    "card_declined": every_tier(
        expect(
            eligible="credit_limit_query pin_reset temporary_limit_increase",
            ineligible="card_activation",
            first="credit_limit_query",
        )
    ),
    "moving_house": every_tier(expect(eligible="profile_update card_replacement", first="profile_update")),
}

_STATUS_ORDER = {"eligible": 0, "unverified": 1, "ineligible": 2}


def test_scenarios_cover_every_need_in_the_data(graph: KnowledgeGraph) -> None:
    assert set(SCENARIOS) == {n.id for n in graph.needs()}
    assert all(set(table) == set(TIER_IDS) for table in SCENARIOS.values())


@pytest.mark.parametrize("tier", TIER_IDS)
@pytest.mark.parametrize("need_id", sorted(SCENARIOS))
def test_recommend_gives_each_tier_what_fits_its_need(
    graph: KnowledgeGraph, schedule: FeeSchedule, need_id: str, tier: str
) -> None:
    facts = good_standing(tier, **SCENARIO_FACTS.get(need_id, {}))
    want = SCENARIOS[need_id][tier]
    recs = graph.recommend(need_id, facts, locale="zh")
    got = statuses(recs)

    assert {p for p, s in got.items() if s == "eligible"} >= want.eligible
    assert {p for p, s in got.items() if s == "ineligible"} >= want.ineligible
    assert not want.absent & set(got)
    if want.first is not None:
        assert recs[0].product_id == want.first
    # Eligible first, then unverified, then not; by rank within each.
    keys = [(_STATUS_ORDER[r.status], r.rank) for r in recs]
    assert keys == sorted(keys)
    for rec in recs:
        _assert_well_formed(rec, schedule)
    # Both languages offer the same products in the same order.
    assert [r.product_id for r in graph.recommend(need_id, facts, locale="en")] == [
        r.product_id for r in recs
    ]


def _assert_well_formed(rec: Recommendation, schedule: FeeSchedule) -> None:
    assert rec.label and rec.summary and rec.reason
    assert rec.articles, f"{rec.product_id} cites no article"
    assert rec.eligible == (rec.status == "eligible")
    assert (rec.status == "ineligible") == bool(rec.unmet)
    for result in rec.unmet:
        assert result.reason is not None and result.reason.zh and result.reason.en
    if rec.kind == "credit":
        assert rec.cost, f"{rec.product_id} is credit but shows no cost"
    if rec.flow is not None:
        assert rec.flow.flow in KNOWN_FLOWS
    # Texts from the graph state schedule figures only (the unmet reasons may state the customer's own).
    for text in (rec.label, rec.summary, rec.reason, rec.cost or "", *rec.notes):
        for figure in stated_figures(text):
            assert figure.value in schedule.figures(), f"{rec.product_id}: {figure.span!r} in {text!r}"


# --- thresholds from the fee schedule --------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "days_ago", "status"),
    [
        (800, 10, "eligible"),
        (600, 10, "eligible"),  # the schedule's minimum itself
        (500, 10, "ineligible"),
        (800, 60, "eligible"),  # last day of the window
        (800, 61, "ineligible"),
    ],
)
def test_purchase_installment_needs_a_purchase_at_the_schedule_minimum_within_the_window(
    graph: KnowledgeGraph, schedule: FeeSchedule, amount: int, days_ago: int, status: str
) -> None:
    assert schedule.dec("installments.purchase_min_amount") == 600
    assert schedule.dec("installments.purchase_window_days") == 60
    facts = good_standing(
        "gold", recent_purchases=(Purchase(amount=Decimal(amount), posted_days_ago=days_ago),)
    )
    rec = by_id(graph.recommend("large_purchase", facts, locale="zh"))["purchase_installment"]
    assert rec.status == status
    if status == "ineligible":
        [miss] = rec.unmet
        assert miss.condition_id == "purchase_installment_amount"
        assert miss.required == 600
        assert miss.reason is not None and "¥600" in miss.reason.zh and "60" in miss.reason.en
        assert miss.remedy is not None and "¥600" in miss.remedy.en


def test_temporary_increase_is_ineligible_with_the_reason_after_a_late_payment_in_six_months(
    graph: KnowledgeGraph,
) -> None:
    facts = good_standing("platinum", late_payments_6m=1, late_payments_12m=1)
    rec = by_id(graph.recommend("limit_too_low", facts, locale="en"))["temporary_limit_increase"]
    assert not rec.eligible
    [miss] = rec.unmet
    assert miss.condition_id == "temporary_no_late"
    assert miss.reason is not None and miss.remedy is not None
    assert "late payment in the last 6 months" in miss.reason.en
    assert "近6个月内有逾期还款记录" in miss.reason.zh
    assert "6 months without a late payment" in miss.remedy.en
    # A late payment seven months ago blocks only the permanent increase.
    facts = good_standing("platinum", late_payments_6m=0, late_payments_12m=1)
    got = statuses(graph.recommend("limit_too_low", facts, locale="en"))
    assert got["temporary_limit_increase"] == "eligible"
    assert got["permanent_limit_increase"] == "ineligible"


def test_temporary_increase_needs_the_schedule_tenure(graph: KnowledgeGraph) -> None:
    assert (
        statuses(graph.recommend("limit_too_low", good_standing("gold", tenure_months=3), locale="zh"))[
            "temporary_limit_increase"
        ]
        == "eligible"
    )
    rec = by_id(graph.recommend("limit_too_low", good_standing("gold", tenure_months=2), locale="zh"))
    [miss] = rec["temporary_limit_increase"].unmet
    assert miss.reason is not None and miss.reason.zh == "临时提额需要持卡满3个月,您目前持卡2个月"


def test_permanent_increase_explains_the_spend_it_still_needs(graph: KnowledgeGraph) -> None:
    facts = good_standing("gold", avg_spend_3m=Decimal(1000), credit_limit=Decimal(20000))
    rec = by_id(graph.recommend("limit_too_low", facts, locale="en"))["permanent_limit_increase"]
    [miss] = rec.unmet
    assert miss.required == Decimal(6000) and miss.actual == Decimal(1000)
    assert miss.reason is not None and "30% of your limit, ¥6,000" in miss.reason.en


def test_bill_installment_is_ineligible_below_the_minimum_and_on_the_due_date(graph: KnowledgeGraph) -> None:
    small = by_id(
        graph.recommend(
            "cannot_pay_full_bill", good_standing("gold", statement_balance=Decimal(499)), locale="zh"
        )
    )
    assert [r.condition_id for r in small["bill_installment"].unmet] == ["bill_installment_amount"]
    due = by_id(graph.recommend("cannot_pay_full_bill", good_standing("gold", days_to_due=0), locale="zh"))
    assert [r.condition_id for r in due["bill_installment"].unmet] == ["bill_before_due"]


# --- tier benefits ---------------------------------------------------------------------------


def test_classic_abroad_is_told_the_fx_fee_applies_and_gets_no_lounge(graph: KnowledgeGraph) -> None:
    recs = by_id(graph.recommend("travel_abroad", good_standing("classic"), locale="en"))
    [fx] = recs["fx_fee_free"].unmet
    assert fx.reason is not None and fx.remedy is not None
    assert "1.5%" in fx.reason.en and "1.5%" in fx.reason.zh
    assert fx.remedy.en == "Platinum and Diamond cards charge no foreign transaction fee"
    assert not recs["airport_lounge"].eligible


@pytest.mark.parametrize(
    ("tier", "cover"), [("gold", "¥1,000,000"), ("platinum", "¥5,000,000"), ("diamond", "¥10,000,000")]
)
def test_travel_insurance_states_the_tier_cover_from_the_schedule(
    graph: KnowledgeGraph, tier: str, cover: str
) -> None:
    rec = by_id(graph.recommend("travel_abroad", good_standing(tier), locale="zh"))["travel_insurance"]
    assert rec.eligible
    assert any(cover in note for note in rec.notes)


@pytest.mark.parametrize(("tier", "visits"), [("platinum", "6 visits"), ("diamond", "unlimited visits")])
def test_lounge_note_states_the_visits_of_the_tier(graph: KnowledgeGraph, tier: str, visits: str) -> None:
    rec = by_id(graph.recommend("frequent_flyer", good_standing(tier), locale="en"))["airport_lounge"]
    assert any(visits in note for note in rec.notes)


@pytest.mark.parametrize(
    ("tier", "note"), [("gold", "Express delivery costs ¥30"), ("platinum", "Express delivery is free")]
)
def test_replacement_notes_say_whether_express_delivery_is_free(
    graph: KnowledgeGraph, tier: str, note: str
) -> None:
    rec = by_id(graph.recommend("card_lost", good_standing(tier), locale="en"))["card_replacement"]
    assert any(n.startswith(note) for n in rec.notes)
    assert sum("Express delivery" in n for n in rec.notes) == 1


def test_points_note_tells_diamond_that_points_never_expire(graph: KnowledgeGraph) -> None:
    diamond = by_id(graph.recommend("points_expiring", good_standing("diamond"), locale="zh"))
    assert diamond["points_statement_credit"].notes == ("您的钻石卡积分永久有效,不必赶在到期前兑换",)
    gold = by_id(graph.recommend("points_expiring", good_standing("gold"), locale="zh"))
    assert gold["points_statement_credit"].notes == ("您的金卡积分有效期为3年",)


@pytest.mark.parametrize(
    ("tier", "facts", "reason", "remedy"),
    [
        ("classic", {}, "Your card has no annual fee, so there is nothing to waive", None),
        (
            "gold",
            {"card_year_purchases": 2},
            "you have made 2",
            "4 more purchases this card year and the fee is waived",
        ),
        (
            "platinum",
            {"card_year_spend": Decimal(20000)},
            "The fee is waived when card-year spend reaches ¥100,000, and yours is ¥20,000",
            "Spend ¥80,000 more this card year, or pay the fee with 50,000 points",
        ),
        (
            "diamond",
            {},
            "Your tier has no annual fee waiver",
            "You can look at the annual fees of the other tiers",
        ),
    ],
)
def test_annual_fee_waiver_applies_the_rule_of_the_customers_tier(
    graph: KnowledgeGraph, tier: str, facts: dict[str, Any], reason: str, remedy: str | None
) -> None:
    rec = by_id(graph.recommend("annual_fee_too_high", good_standing(tier, **facts), locale="en"))
    [miss] = rec["annual_fee_waiver"].unmet
    assert miss.reason is not None and reason in miss.reason.en
    assert (miss.remedy.en if miss.remedy else None) == remedy


def test_points_pay_the_annual_fee_only_for_platinum_with_enough_points(graph: KnowledgeGraph) -> None:
    short = by_id(
        graph.recommend("annual_fee_too_high", good_standing("platinum", points_balance=49999), locale="en")
    )
    [miss] = short["points_annual_fee"].unmet
    assert miss.reason is not None and "takes 50,000 points; you have 49,999" in miss.reason.en


def test_card_declined_says_the_card_is_already_active(graph: KnowledgeGraph) -> None:
    rec = by_id(graph.recommend("card_declined", good_standing("gold"), locale="zh"))["card_activation"]
    [miss] = rec.unmet
    assert miss.reason is not None and miss.reason.zh == "您的卡片已经激活,无需再次激活"


def test_activation_is_out_of_reach_after_the_schedule_window(graph: KnowledgeGraph) -> None:
    facts = good_standing("gold", card_activated=False, card_issued_days_ago=91)
    rec = by_id(graph.recommend("new_card_arrived", facts, locale="en"))["card_activation"]
    [miss] = rec.unmet
    assert miss.reason is not None and "more than 90 days ago" in miss.reason.en
    assert miss.remedy is not None and miss.remedy.en == "Request a replacement card"


def test_dispute_outside_the_reporting_window_is_ineligible(graph: KnowledgeGraph) -> None:
    rec = by_id(
        graph.recommend("merchant_problem", good_standing("gold", disputed_posted_days_ago=61), locale="en")
    )
    [miss] = rec["merchant_dispute"].unmet
    assert miss.reason is not None and "61 days ago, past the 60-day reporting window" in miss.reason.en


# --- cash advance and marketing --------------------------------------------------------------


def test_cash_advance_is_not_offered_for_a_cash_shortage_while_an_installment_may_fit(
    graph: KnowledgeGraph,
) -> None:
    assert "cash_advance" not in statuses(
        graph.recommend("short_on_cash", good_standing("gold"), locale="zh")
    )
    unknown = CustomerFacts(tier="gold")  # installments unverified: they may still fit
    assert "cash_advance" not in statuses(graph.recommend("short_on_cash", unknown, locale="zh"))


def test_cash_advance_comes_last_with_its_cost_when_no_installment_fits(graph: KnowledgeGraph) -> None:
    facts = good_standing("gold", statement_balance=Decimal(300), recent_purchases=())
    recs = graph.recommend("short_on_cash", facts, locale="zh")
    cash = by_id(recs)["cash_advance"]
    assert cash.eligible
    assert [r.product_id for r in recs if r.eligible][-1] == "cash_advance"
    assert cash.cost is not None
    # The annualised rate comes first, then the daily rate; the fee and its minimum are stated.
    assert cash.cost.index("年化利率18.25%") < cash.cost.index("每日0.05%")
    assert "1%" in cash.cost and "¥10" in cash.cost


def test_promotional_products_are_left_out_when_the_customer_opted_out_of_marketing(
    graph: KnowledgeGraph,
) -> None:
    assert "apply_for_card" in statuses(
        graph.recommend("travel_abroad", good_standing("classic"), locale="zh")
    )
    opted_out = good_standing("classic", marketing_opt_out=True)
    assert "apply_for_card" not in statuses(graph.recommend("travel_abroad", opted_out, locale="zh"))


# --- unknown facts ---------------------------------------------------------------------------


def test_unknown_facts_make_conditions_unverified_not_met(graph: KnowledgeGraph) -> None:
    recs = by_id(graph.recommend("travel_abroad", CustomerFacts(), locale="en"))
    lounge = recs["airport_lounge"]
    assert lounge.status == "unverified" and not lounge.eligible
    [check] = lounge.unverified
    assert check.requirement.en == "Platinum and Diamond cards only"
    assert check.reason is None
    increase = recs["temporary_limit_increase"]
    assert {c.condition_id for c in increase.unverified} == {"temporary_tenure", "temporary_no_late"}


def test_unverified_ranks_between_eligible_and_ineligible(graph: KnowledgeGraph) -> None:
    facts = CustomerFacts(tier="classic")  # tier known, account data not
    got = [(r.product_id, r.status) for r in graph.recommend("travel_abroad", facts, locale="zh")]
    assert got[0] == ("apply_for_card", "eligible")
    assert got[1] == ("temporary_limit_increase", "unverified")
    assert {s for _, s in got[2:]} == {"ineligible"}


# --- service chains --------------------------------------------------------------------------


@pytest.mark.parametrize("tier", TIER_IDS)
def test_lost_card_chain_is_freeze_then_replacement_then_protection(graph: KnowledgeGraph, tier: str) -> None:
    chain = graph.service_chain("card_lost", good_standing(tier), locale="zh")
    assert [r.product_id for r in chain] == ["card_freeze", "card_replacement", "lost_card_protection"]
    assert [r.flow.flow if r.flow else None for r in chain] == ["lost_card", "card_replacement", None]
    assert chain[-1].eligible == (tier != "classic")


@pytest.mark.parametrize(
    ("need_id", "chain"),
    [
        ("card_stolen", ["card_freeze", "card_replacement", "lost_card_protection"]),
        ("suspicious_charge", ["card_freeze", "dispute_unrecognised", "card_replacement"]),
        ("large_purchase", ["purchase_installment", "installment_early_payoff"]),
        ("new_card_arrived", ["card_activation", "pin_reset", "autopay"]),
    ],
)
def test_service_chain_follows_the_next_edges_of_the_need(
    graph: KnowledgeGraph, need_id: str, chain: list[str]
) -> None:
    assert [r.product_id for r in graph.service_chain(need_id, good_standing("gold"), locale="en")] == chain


def test_next_steps_depend_on_the_need_in_the_conversation(graph: KnowledgeGraph) -> None:
    facts = good_standing("gold")
    lost = graph.next_steps("card_freeze", facts, locale="zh", need_id="card_lost")
    fraud = graph.next_steps("card_freeze", facts, locale="zh", need_id="suspicious_charge")
    assert [r.product_id for r in lost] == ["card_replacement"]
    assert [r.product_id for r in fraud] == ["dispute_unrecognised"]
    assert fraud[0].flow is not None and (fraud[0].flow.flow, fraud[0].flow.variant) == (
        "dispute",
        "unrecognised",
    )
    assert {r.product_id for r in graph.next_steps("card_freeze", facts, locale="zh")} == {
        "card_replacement",
        "dispute_unrecognised",
    }


def test_next_steps_after_a_purchase_installment_offer_early_payoff_with_its_cost(
    graph: KnowledgeGraph,
) -> None:
    [payoff] = graph.next_steps("purchase_installment", good_standing("gold"), locale="en")
    assert payoff.product_id == "installment_early_payoff"
    assert payoff.eligible and payoff.cost is not None and "1% of the remaining principal" in payoff.cost
    no_plan = graph.next_steps(
        "purchase_installment", good_standing("gold", active_installment_plans=0), locale="en"
    )
    assert not no_plan[0].eligible


# --- matching --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "need_id"),
    [
        ("下个月去日本旅游", "travel_abroad"),
        ("I'm travelling to Europe next week", "travel_abroad"),
        ("我经常坐飞机出差", "frequent_flyer"),
        ("I fly a lot for work", "frequent_flyer"),
        ("我想买台新电脑,金额比较大", "large_purchase"),
        ("I'm about to make a big purchase", "large_purchase"),
        ("准备装修房子", "home_renovation"),
        ("we are renovating our kitchen", "home_renovation"),
        ("这个月钱不够", "short_on_cash"),
        ("money is tight this month", "short_on_cash"),
        ("这期账单我还不起全额", "cannot_pay_full_bill"),
        ("I can't pay the full balance this month", "cannot_pay_full_bill"),
        ("can I pay off my installment early?", "clear_installment_early"),
        ("我的卡丢了", "card_lost"),
        ("I lost my card", "card_lost"),
        ("卡被偷了", "card_stolen"),
        ("my card was stolen", "card_stolen"),
        ("我的卡被盗刷了", "suspicious_charge"),
        ("there's a charge I don’t recognise", "suspicious_charge"),
        ("商家扣了两次钱", "merchant_problem"),
        ("退款一直没到账", "merchant_problem"),
        ("I was charged twice", "merchant_problem"),
        ("为什么收我违约金", "fee_complaint"),
        ("why was I charged a late fee", "fee_complaint"),
        ("年费太贵了", "annual_fee_too_high"),
        ("额度太低了", "limit_too_low"),
        ("my points are about to expire", "points_expiring"),
        ("新卡收到了", "new_card_arrived"),
        ("I keep forgetting to pay my bill", "autopay_forgetful"),
        ("I forgot my PIN", "forgot_pin"),
        ("刷卡被拒了", "card_declined"),
        ("我要搬家了", "moving_house"),
        ("We're MOVING HOUSE", "moving_house"),
    ],
)
def test_match_needs_recognises_the_scenario_in_either_language(text: str, need_id: str) -> None:
    matches = match_needs(text, "en")
    assert matches and matches[0].need_id == need_id


def test_match_needs_prefers_the_longer_overlapping_phrase(graph: KnowledgeGraph) -> None:
    [match] = graph.match_needs("我的信用卡被盗刷", "zh")  # 被盗刷 (fraud), not 被盗 (stolen)
    assert (match.need_id, match.matched, match.label) == ("suspicious_charge", ("被盗刷",), "可疑交易/盗刷")


def test_match_needs_ranks_several_needs_and_returns_nothing_for_chitchat(graph: KnowledgeGraph) -> None:
    matches = graph.match_needs("my card was declined abroad", "en")
    assert [m.need_id for m in matches] == ["card_declined", "travel_abroad"]
    assert matches[0].score > matches[1].score
    assert graph.match_needs("hello, how are you?", "en") == []
    assert graph.match_needs("unbroken", "en") == []  # words match whole, "broke" is not inside


def test_every_trigger_phrase_finds_its_own_need(graph: KnowledgeGraph) -> None:
    lost = [
        (need.id, phrase)
        for need in graph.needs()
        for phrase in need.all_triggers
        if need.id not in {m.need_id for m in graph.match_needs(phrase, "zh")}
    ]
    assert lost == []


# --- the API at its edges --------------------------------------------------------------------


def test_queries_name_an_unknown_need_or_product(graph: KnowledgeGraph) -> None:
    with pytest.raises(UnknownNode, match="no need 'space_travel'"):
        recommend("space_travel", CustomerFacts(), locale="zh")
    with pytest.raises(UnknownNode, match="no product 'jetpack'"):
        graph.next_steps("jetpack", CustomerFacts(), locale="zh")
    with pytest.raises(ValueError, match="unsupported locale 'fr'"):
        graph.recommend("travel_abroad", CustomerFacts(), locale="fr")
    with pytest.raises(ValueError, match="unknown tier 'titanium'"):
        CustomerFacts(tier="titanium")


def test_needs_for_intent_follows_the_intent_taxonomy(graph: KnowledgeGraph) -> None:
    assert [n.id for n in graph.needs_for_intent("card.lost_stolen")] == [
        "card_lost",
        "card_stolen",
        "suspicious_charge",
    ]
    assert graph.needs_for_intent("chitchat") == ()


def test_graph_has_the_size_the_product_needs(graph: KnowledgeGraph) -> None:
    counts = graph.counts()
    assert counts["need"] >= 12 and counts["product"] >= 15
    assert counts.get("missing", 0) == 0
    for edge in ("fits", "requires", "explained_by", "performed_by", "next", "qualified_by"):
        assert counts[edge] > 0
    assert {data["kind"] for _, data in graph.digraph.nodes(data=True)} == {
        "need",
        "product",
        "condition",
        "article",
        "flow",
    }


def test_installment_cost_states_every_plan_apr_of_the_schedule(
    graph: KnowledgeGraph, schedule: FeeSchedule
) -> None:
    rec = by_id(graph.recommend("large_purchase", good_standing("gold"), locale="zh"))["purchase_installment"]
    assert rec.cost is not None
    for plan in schedule.installment_plans():
        assert f"{plan.periods}期{(plan.apr * 100).normalize()}%" in rec.cost
    assert "费率" not in rec.cost  # stated as an annual rate, never as a per-period fee rate


# --- consistency -----------------------------------------------------------------------------


def test_shipped_graph_is_consistent_with_the_schedule_and_flows(graph: KnowledgeGraph) -> None:
    assert graph.check_consistency() == []


def test_every_article_the_graph_cites_exists_in_both_languages(graph: KnowledgeGraph) -> None:
    assert graph.check_consistency(load_articles()) == []


def _set(path: str, value: Any) -> Callable[[Raw], None]:
    def mutate(raw: Raw) -> None:
        *parents, last = path.split("/")
        node: Any = raw
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[last] = value

    return mutate


def _drop(path: str) -> Callable[[Raw], None]:
    def mutate(raw: Raw) -> None:
        *parents, last = path.split("/")
        node: Any = raw
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        del node[last]

    return mutate


def _add_orphan_product(raw: Raw) -> None:
    raw["products"]["orphan_service"] = {
        "kind": "service",
        "label": {"zh": "孤立服务", "en": "Orphan service"},
        "summary": {"zh": "没有任何需求指向它", "en": "No need points to it"},
        "explained_by": ["autopay"],
    }


def _add_unused_condition(raw: Raw) -> None:
    raw["conditions"]["unused_rule"] = copy.deepcopy(raw["conditions"]["temporary_tenure"])


MUTATIONS: dict[str, tuple[Callable[[Raw], None], str]] = {
    "wrong figure": (
        _set("conditions/purchase_installment_amount/min/value", 700),
        "condition 'purchase_installment_amount': min states 700 but the fee schedule's "
        "installments.purchase_min_amount is 600",
    ),
    "path not in the schedule": (
        _set("conditions/bill_installment_amount/min/path", "installments.bill_minimum"),
        "condition 'bill_installment_amount': min names 'installments.bill_minimum', which is not a figure",
    ),
    "dangling fits edge": (
        _set("needs/travel_abroad/fits/0/product", "fx_free"),
        "need 'travel_abroad' fits unknown product 'fx_free'",
    ),
    "dangling requires edge": (
        _set("products/concierge/requires", ["tier_concierge", "tier_butler"]),
        "product 'concierge' requires unknown condition 'tier_butler'",
    ),
    "dangling next edge": (
        _set("products/purchase_installment/next/0/product", "instant_payoff"),
        "product 'purchase_installment' next unknown product 'instant_payoff'",
    ),
    "dangling note guard": (
        _set("products/travel_insurance/notes/0/when", "tier_insured"),
        "product 'travel_insurance' qualified_by unknown condition 'tier_insured'",
    ),
    "product without article": (
        _drop("products/concierge/explained_by"),
        "product 'concierge' has no explained_by article",
    ),
    "unreachable product": (_add_orphan_product, "product 'orphan_service' is not reachable from any need"),
    "unreachable condition": (
        _add_unused_condition,
        "condition 'unused_rule' is not reachable from any need",
    ),
    "unknown flow": (
        _set("products/autopay/performed_by", {"flow": "direct_debit"}),
        "product 'autopay' is performed by unknown flow 'direct_debit'",
    ),
    "flow variant missing": (
        _set("products/bill_installment/performed_by", {"flow": "installment"}),
        "product 'bill_installment': flow 'installment' needs a variant, one of bill, purchase; got None",
    ),
    "tier set disagrees with the schedule": (
        _set("conditions/tier_lounge/in", ["gold", "platinum", "diamond"]),
        "condition 'tier_lounge': names tiers gold, platinum, diamond but the fee schedule gives "
        "lounge_visits_per_year (offers) to platinum, diamond",
    ),
    "figure written as digits": (
        _set("products/fx_fee_free/summary/en", "Saves the 1.5% fee abroad"),
        "product 'fx_fee_free' summary: the en text writes '1.5' as digits",
    ),
    "figure in words the schedule lacks": (
        _set("products/autopay/summary/zh", "九十九天内设置自动还款"),
        "product 'autopay' summary: the zh text states '九十九天', which the fee schedule does not hold",
    ),
    "percentage that is no schedule rate": (
        _set("products/minimum_payment/notes/0/text/en", "A grace of {billing.grace_days}% applies"),
        "product 'minimum_payment' note: the en text states '3%', which the fee schedule does not hold",
    ),
    "tier placeholder where the tier is unknown": (
        _set("products/concierge/summary/en", "Your {tier.name} concierge"),
        "product 'concierge' summary: the en text cannot be rendered: {tier.name} needs the customer's tier",
    ),
    "placeholder path not in the schedule": (
        _set("products/autopay/summary/en", "Debited {payments.autopay_day} days before"),
        "product 'autopay' summary: the en text cannot be rendered: {payments.autopay_day}",
    ),
    "unknown intent": (
        _set("needs/forgot_pin/intents", ["card.password"]),
        "need 'forgot_pin' names unknown intent",
    ),
    "fallback ranked above its better fit": (
        _set("needs/short_on_cash/fits/3/rank", 1),
        "need 'short_on_cash' fit 'cash_advance' is a fallback but ranks above 'bill_installment'",
    ),
    "credit product without its cost": (
        _drop("products/cash_advance/cost"),
        "product 'cash_advance' is credit but states no cost",
    ),
    "next step for an unknown need": (
        _set("products/card_freeze/next/0/when_need", ["card_lost", "card_gone"]),
        "product 'card_freeze' next 'card_replacement' names unknown need 'card_gone'",
    ),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_check_consistency_reports_a_broken_copy_of_the_data(schedule: FeeSchedule, name: str) -> None:
    mutate, message = MUTATIONS[name]
    raw = raw_graph()
    mutate(raw)
    problems = graph_of(raw, schedule).check_consistency()
    assert any(message in p for p in problems), problems


def test_check_consistency_reports_an_article_missing_in_one_language(graph: KnowledgeGraph) -> None:
    @dataclass(frozen=True)
    class Ref:
        id: str
        locale: str

    cited = {data["id"] for _, data in graph.digraph.nodes(data=True) if data["kind"] == "article"}
    articles = [Ref(a, loc) for a in cited for loc in ("zh", "en") if (a, loc) != ("concierge", "en")]
    assert graph.check_consistency(articles) == [
        "article 'concierge' (explains product 'concierge') has no en version"
    ]


def test_load_graph_refuses_an_inconsistent_file(tmp_path: Path) -> None:
    raw = raw_graph()
    _set("needs/travel_abroad/fits/0/product", "fx_free")(raw)
    path = tmp_path / "graph.yaml"
    path.write_text(dump(raw), encoding="utf-8")
    with pytest.raises(GraphError, match="fits unknown product 'fx_free'"):
        load_graph(path)


def test_a_new_scenario_is_a_data_edit(schedule: FeeSchedule) -> None:
    raw = raw_graph()
    raw["needs"]["wedding"] = {
        "label": {"zh": "筹办婚礼", "en": "Planning a wedding"},
        "intents": ["installment"],
        "triggers": {"zh": ["婚礼", "结婚"], "en": ["wedding"]},
        "fits": [
            {
                "product": "purchase_installment",
                "rank": 1,
                "reason": {"zh": "婚宴等大额付款可以分期", "en": "Split the big payments"},
            },
        ],
    }
    graph = graph_of(raw, schedule)
    assert graph.check_consistency() == []
    assert graph.match_needs("下个月结婚", "zh")[0].need_id == "wedding"
    [rec] = graph.recommend("wedding", good_standing("gold"), locale="en")
    assert (rec.product_id, rec.eligible, rec.reason) == (
        "purchase_installment",
        True,
        "Split the big payments",
    )


# --- shape errors name the node --------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (_drop("needs/card_lost/label/en"), "need 'card_lost' label: missing en"),
        (_set("needs/card_lost/triggers/en", []), "need 'card_lost' en triggers: must not be empty"),
        (
            _set("conditions/has_installment/kind", "has_loans"),
            "condition 'has_installment': kind must be one of",
        ),
        (
            _set("conditions/purchase_installment_amount/min", 600),
            "condition 'purchase_installment_amount' min: name the figure by its fee-schedule path",
        ),
        (
            _set("needs/forgot_pin/fits/0/rank", 0),
            "need 'forgot_pin' fit 'pin_reset': rank must be a whole number",
        ),
        (
            _set("products/autopay/kind", "loan"),
            "product 'autopay': kind must be one of credit, service, benefit",
        ),
        (
            _drop("conditions/annual_fee_waiver_rule/unmet/none"),
            "condition 'annual_fee_waiver_rule' unmet: no text for case 'none'",
        ),
        (
            _set("conditions/tier_lounge/min", "gold"),
            "condition 'tier_lounge': a tier condition takes exactly one of in",
        ),
    ],
)
def test_parse_raises_a_graph_error_naming_the_node(
    schedule: FeeSchedule, mutate: Callable[[Raw], None], message: str
) -> None:
    raw = raw_graph()
    mutate(raw)
    with pytest.raises(GraphError, match=re.escape(message)):
        graph_of(raw, schedule)


def test_parse_refuses_an_id_defined_twice(schedule: FeeSchedule) -> None:
    text = GRAPH_PATH.read_text(encoding="utf-8")
    twice = text.replace("needs:\n", "needs:\n  forgot_pin:\n    label: {zh: 忘记密码, en: Forgot PIN}\n", 1)
    with pytest.raises(GraphError, match="'forgot_pin' is defined twice"):
        KnowledgeGraph.from_yaml(twice, schedule)

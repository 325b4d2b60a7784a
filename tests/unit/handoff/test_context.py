"""The context package: everything the bot knew reaches the agent, typed, versioned, JSON-safe."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from handoff.context import (
    SCHEMA_VERSION,
    ActionRecord,
    ArticleRef,
    ContextPackage,
    FlowState,
    Identifier,
    IntentMark,
    SentimentPoint,
    Slot,
    TransactionRef,
    build_context,
    sentiment_trend,
)
from handoff.models import AgentId, AgentNote, HandoffReason, LocalText, TranscriptEntry
from handoff.testing import make_customer, make_request, make_ticket

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai

TRANSCRIPT = (
    TranscriptEntry(seq=1, role="customer", text="我想把这笔 12000 的账单分期", at=T0),
    TranscriptEntry(seq=2, role="bot", text="可以分 3、6、12 或 24 期。", at=T0),
    TranscriptEntry(seq=3, role="customer", text="分期失败了？我要找人工", at=T0 + timedelta(minutes=2)),
)
SLOTS = (
    Slot(name="amount", value="12000", flow="installment"),
    Slot(name="periods", value="12", flow="installment"),
)
ACTIONS = (
    ActionRecord(
        name="installment.quote", result="installment quote 12 periods shown", at=T0 + timedelta(minutes=1)
    ),
    ActionRecord(
        name="installment.create",
        result="installment plan not created",
        at=T0 + timedelta(minutes=2),
        ok=False,
    ),
)


def full_request():
    return make_request(
        "c1",
        reason=HandoffReason.FLOW_FAILURE,
        topic="installment",
        reason_detail="card system timeout",
        intents=(IntentMark(intent="installment", seq=1), IntentMark(intent="human.agent", seq=3)),
        slots=SLOTS,
        flows=(FlowState(flow="installment", status="failed", step="confirm", detail="timeout"),),
        actions=ACTIONS,
        articles=(ArticleRef(id="installment-bill", title="账单分期"),),
        transactions=(
            TransactionRef(id="tx1", posted_on=date(2026, 10, 28), merchant="京东", amount="12000.00"),
        ),
        sentiment=(SentimentPoint(seq=1, score=0.2), SentimentPoint(seq=3, score=-0.6)),
        customer=make_customer(
            identifiers=(Identifier(kind="card", value="**** 1234"),), risk_flags=("none",)
        ),
    )


def full_package() -> ContextPackage:
    return build_context(full_request(), ticket=make_ticket("c1"), transcript=TRANSCRIPT, tz=TZ)


def test_context_carries_every_slot_action_and_fact() -> None:
    package = full_package()
    data = package.to_json()
    for key in (
        "schema_version",
        "reason",
        "priority",
        "summary",
        "customer",
        "intents",
        "slots",
        "actions",
        "transcript",
        "flows",
        "articles",
        "transactions",
        "sentiment_trend",
        "next_steps",
    ):
        assert key in data
    assert data["schema_version"] == SCHEMA_VERSION
    assert [(s["name"], s["value"]) for s in data["slots"]] == [("amount", "12000"), ("periods", "12")]
    assert [a["result"] for a in data["actions"]] == [a.result for a in ACTIONS]
    assert data["reason"] == "flow_failure" and data["priority"] == 3
    assert data["customer"]["identifiers"] == [{"kind": "card", "value": "**** 1234"}]
    assert [e["text"] for e in data["transcript"]] == [e.text for e in TRANSCRIPT]
    assert data["sentiment_trend"] == "worsening"


def test_context_json_round_trip() -> None:
    package = full_package()
    text = json.dumps(package.to_json(), ensure_ascii=False)
    assert ContextPackage.from_json(json.loads(text)) == package


def test_context_rejects_other_schema_versions() -> None:
    data = full_package().to_json()
    data["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(ValueError):
        ContextPackage.from_json(data)


def test_context_template_summary_names_problem_done_and_pending_in_both_languages() -> None:
    summary = full_package().summary
    assert summary.source == "template" and summary.llm is None
    for text in (summary.zh, summary.en):
        assert "王*明" in text
        assert "我想把这笔 12000 的账单分期" in text  # the customer's own words for the problem
        assert "installment quote 12 periods shown 10:01" in text  # done, in China time
        assert "amount=12000" in text and "periods=12" in text
        assert "installment: failed @ confirm" in text  # pending
    assert (
        "分期" in summary.zh
        and "业务办理在卡系统中失败" in summary.zh
        and "card system timeout" in summary.zh
    )
    assert "installments" in summary.en and "a flow failed in the card system" in summary.en


def test_context_template_summary_without_much_to_say() -> None:
    package = build_context(make_request("c9", topic=None), ticket=make_ticket("c9"), transcript=(), tz=TZ)
    assert "无" in package.summary.zh and "none" in package.summary.en
    assert package.next_steps == (
        LocalText(zh="确认客户的具体诉求并办理", en="Confirm what the customer needs and handle it"),
    )


def test_context_keeps_the_bots_llm_summary_beside_the_template() -> None:
    request = make_request("c1", summary="客户申请账单分期，核心系统超时未成功。")
    package = build_context(request, ticket=make_ticket("c1"), transcript=TRANSCRIPT, tz=TZ)
    assert package.summary.llm == "客户申请账单分期，核心系统超时未成功。"
    assert package.summary.source == "llm" and package.summary.zh
    assert package.to_json()["summary"]["source"] == "llm"


def test_context_next_steps_cover_reason_and_failures() -> None:
    steps = full_package().next_steps
    assert steps[0].en == "Check the failed step and complete it in the card system"
    assert any("installment" in s.en and "Retry" in s.en for s in steps)
    assert any("installment.create" in s.zh for s in steps)
    given = (LocalText(zh="回电客户", en="Call the customer back"),)
    package = build_context(
        make_request("c1", next_steps=given), ticket=make_ticket("c1"), transcript=(), tz=TZ
    )
    assert package.next_steps == given


def test_context_with_live_replaces_transcript_and_adds_notes() -> None:
    package = full_package()
    note = AgentNote(ticket_id=package.ticket_id, agent_id=AgentId("emily"), text="n", at=T0)
    newer = (*TRANSCRIPT, TranscriptEntry(seq=4, role="customer", text="还在吗", at=T0))
    live = package.with_live(transcript=newer, notes=[note])
    assert live.transcript == newer and live.notes == (note,)
    assert package.with_live(transcript=None, notes=[]).transcript == package.transcript


def test_context_sentiment_trend() -> None:
    points = [SentimentPoint(seq=n, score=s) for n, s in enumerate([0.5, 0.4, -0.2, -0.5])]
    assert sentiment_trend(points) == "worsening"
    assert sentiment_trend(list(reversed(points))) == "worsening"  # ordered by seq, not by arrival
    assert (
        sentiment_trend([SentimentPoint(seq=1, score=-0.5), SentimentPoint(seq=2, score=0.3)]) == "improving"
    )
    assert sentiment_trend([SentimentPoint(seq=1, score=0.1), SentimentPoint(seq=2, score=0.1)]) == "steady"
    assert sentiment_trend([SentimentPoint(seq=1, score=0.1)]) == "unknown"


def test_context_flow_status_aliases_and_bad_values() -> None:
    assert FlowState(flow="dispute", status="in_progress").status == "active"  # type: ignore[arg-type]
    assert FlowState(flow="dispute", status="abandoned").status == "cancelled"  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        FlowState(flow="dispute", status="exploded")  # type: ignore[arg-type]


def test_context_bad_request_values_fail_when_built_not_when_read() -> None:
    bad = make_request("c1", slots=(Slot(name="amount", value=12000),))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        build_context(bad, ticket=make_ticket("c1"), transcript=(), tz=TZ)

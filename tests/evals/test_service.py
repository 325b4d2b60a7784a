"""The service report's figures on hand-built records, and the surge detector."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.domain import Conversation, ConversationId, CustomerId, Event, Record
from evals.suites import service
from handoff.models import ConversationId as TicketConv
from handoff.models import HandoffReason, Priority, Skill, Ticket, TicketId, TicketState

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in China


def rec(kind: str, conv: str | None, **data: object) -> Record:
    return Record(
        kind=kind, created_at=T0, data=dict(data), conversation_id=ConversationId(conv) if conv else None
    )


def conv(cid: str, customer: str, at: datetime) -> Conversation:
    return Conversation(
        id=ConversationId(cid), customer_id=CustomerId(customer), locale="zh-CN", created_at=at
    )


def ticket(
    tid: str,
    priority: int,
    *,
    responded_after: float | None,
    closed_after: float | None = None,
    assigned_after: float | None = 5.0,
) -> Ticket:
    target = service.SLA_TARGETS_S[priority]
    return Ticket(
        id=TicketId(tid),
        conversation_id=TicketConv(f"c-{tid}"),
        reason=HandoffReason.CUSTOMER_REQUEST,
        priority=Priority(priority),
        language="zh",
        skills=(Skill.GENERAL,),
        tier="gold",
        topic=None,
        state=TicketState.CLOSED if closed_after else TicketState.ASSIGNED,
        created_at=T0,
        sla_deadline=T0 + timedelta(seconds=target),
        assigned_at=T0 + timedelta(seconds=assigned_after) if assigned_after is not None else None,
        first_response_at=T0 + timedelta(seconds=responded_after) if responded_after is not None else None,
        closed_at=T0 + timedelta(seconds=closed_after) if closed_after else None,
    )


RECORDS = [
    # four engaged conversations; c2 and c4 go to a person
    rec("turn", "c1", intent="billing.statement", segment="active"),
    rec("turn", "c2", intent="human.agent", segment="vip"),
    rec("handoff", "c2", reason="customer_request", priority=2),
    rec("turn", "c3", intent="installment", segment="active"),
    rec("turn", "c4", intent="fraud.dispute", segment="active"),
    rec("handoff", "c4", reason="unrecognised_transaction", priority=1),
    rec("complaint", "c2", regulator=False, case="CS1"),
    # installment offered in c1 and c3, started in c3 and c4, completed in c3
    rec("flow", "c1", flow="installment", event="offered", segment="active"),
    rec("flow", "c3", flow="installment", event="offered", segment="active"),
    rec("flow", "c3", flow="installment", event="started", segment="active"),
    rec("flow", "c3", flow="installment", event="completed", segment="active"),
    rec("flow", "c4", flow="installment", event="started", segment="vip"),
    rec("flow", "c4", flow="installment", event="abandoned", segment=None),
    # ratings 5, 5, 4, 3, 1 → 2 promoters, 1 passive, 2 detractors
    *[rec("csat", f"c{i}", rating=r) for i, r in enumerate((5, 5, 4, 3, 1), 1)],
]


def test_containment_and_handoff_rate_by_reason() -> None:
    c = service.containment(RECORDS)
    assert c == {"engaged": 4, "handed_off": 2, "contained": 2, "containment_rate": 0.5}
    by = service.handoffs_by_reason(RECORDS)
    assert by["customer_request"] == {"conversations": 1, "rate": 0.25}
    assert by["unrecognised_transaction"] == {"conversations": 1, "rate": 0.25}
    assert service.complaint_rate(RECORDS)["complaint_rate"] == 0.25


def test_csat_average_and_nps_style_score() -> None:
    c = service.csat(RECORDS)
    assert c["distribution"] == {1: 1, 2: 0, 3: 1, 4: 1, 5: 2}
    assert c["average"] == pytest.approx(3.6)
    assert (c["promoters"], c["passives"], c["detractors"]) == (2, 1, 2)
    assert c["nps"] == 0.0  # 40% promoters − 40% detractors


def test_funnel_counts_distinct_conversations_per_stage_and_segment() -> None:
    f = service.funnel(RECORDS)["installment"]
    assert f["all"] == {"offered": 2, "started": 2, "completed": 1, "abandoned": 1, "failed": 0}
    assert f["active"]["offered"] == 2 and f["active"]["completed"] == 1
    assert f["vip"]["started"] == 1
    # the abandoned record carries no segment: it takes the conversation's (from its turns)
    assert f["active"]["abandoned"] == 1


def test_sla_attainment_per_priority_and_handling_time() -> None:
    tickets = [
        ticket("a", 1, responded_after=30, closed_after=330),  # met
        ticket("b", 1, responded_after=90, closed_after=390),  # missed
        ticket("c", 3, responded_after=200, closed_after=800),  # met
        ticket("d", 3, responded_after=None, assigned_after=None),  # waiting, past the deadline: missed
        ticket("e", 2, responded_after=None, assigned_after=None),  # waiting, not yet due: not counted
    ]
    now = T0 + timedelta(seconds=301)
    sla = service.sla_attainment(tickets, now)
    assert sla[1] == {"tickets": 2, "met": 1, "attainment": 0.5, "target_s": 60}
    assert sla[3] == {"tickets": 2, "met": 1, "attainment": 0.5, "target_s": 300}
    assert sla[2]["tickets"] == 1 and sla[2]["met"] == 0  # past its 120 s deadline too
    assert sorted(service.handling_times(tickets)) == [325.0, 385.0, 795.0]
    early = service.sla_attainment(tickets, T0 + timedelta(seconds=100))
    assert early[2]["tickets"] == 0


def test_repeat_contacts_within_seven_days() -> None:
    convs = [
        conv("a1", "A", T0),
        conv("a2", "A", T0 + timedelta(days=3)),
        conv("a3", "A", T0 + timedelta(days=12)),
        conv("b1", "B", T0),
        conv("b2", "B", T0 + timedelta(days=7)),
        conv("c1", "C", T0),
    ]
    r = service.repeat_contacts(convs)
    assert (r["conversations"], r["repeats"]) == (6, 2)  # a2 (3 days after a1), b2 (exactly 7 days)
    assert r["repeat_rate"] == pytest.approx(0.3333)


def test_first_response_times_split_by_who_answered() -> None:
    def ev(seq: int, role: str, after: float, type_: str = "message") -> Event:
        return Event(
            conversation_id=ConversationId("c"),
            seq=seq,
            type=type_,
            data={"role": role},
            created_at=T0 + timedelta(seconds=after),
        )

    events = {
        "c": [
            ev(1, "customer", 0),
            ev(2, "bot", 0.5),
            ev(3, "customer", 10),
            ev(4, "customer", 12),
            ev(5, "agent", 70),
        ]
    }
    assert service.first_response_times(events) == {"bot": [0.5], "agent": [60.0]}


def days(counts: list[int]) -> dict[date, int]:
    return {date(2026, 3, 1) + timedelta(days=i): n for i, n in enumerate(counts)}


def test_surge_detector_flags_a_planted_surge_and_not_a_flat_series() -> None:
    series = {
        "intent:fraud.dispute": days([1, 0, 2, 1, 1, 0, 1, 12, 1]),
        "intent:complaint": days([3, 4, 3, 5, 4, 3, 4, 5, 4]),
        "handoff:complaint": days([0, 0, 0, 0, 0, 0, 0, 4, 0]),
    }  # a jump below the minimum count
    alerts = service.detect_surges(series)
    assert [(a.category, a.day, a.count) for a in alerts] == [("intent:fraud.dispute", date(2026, 3, 8), 12)]
    event = alerts[0].event(T0)
    assert event["type"] == "alert" and event["alert_id"] == "surge:intent:fraud.dispute:2026-03-08"
    assert event["threshold"] < 12
    assert service.detect_surges({"flat": days([6] * 10)}) == []


async def test_alerts_are_recorded_and_published_to_supervisors_once() -> None:
    from handoff.bus.memory import InMemoryEventBus

    class Store:
        def __init__(self) -> None:
            self.items: list[Record] = []

        async def records(self, kinds: list[str] | None = None) -> list[Record]:
            return [r for r in self.items if not kinds or r.kind in kinds]

        async def add_record(self, kind: str, data: dict[str, object]) -> None:
            self.items.append(Record(kind=kind, created_at=T0, data=data))

    store, bus = Store(), InMemoryEventBus()
    alerts = service.detect_surges({"intent:fraud.dispute": days([0, 0, 0, 9])})
    async with bus.subscribe("supervisors") as stream:
        first = await service.publish_alerts(alerts, store=store, bus=bus, now=T0)
        again = await service.publish_alerts(alerts, store=store, bus=bus, now=T0)
        got = await anext(aiter(stream))
    assert len(first) == 1 and again == []
    assert got.event["type"] == "alert" and got.event["category"] == "intent:fraud.dispute"
    assert [r.kind for r in store.items] == ["alert"]
    await bus.close()

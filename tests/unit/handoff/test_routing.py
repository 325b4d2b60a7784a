"""Routing policy: priority, skills, who may serve a ticket, positions and ETAs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from handoff.directory import DEMO_AGENTS, StaticAgentDirectory, demo_directory
from handoff.errors import UnknownAgent
from handoff.models import Agent, AgentId, HandoffReason, Priority, Skill
from handoff.routing import RoutingPolicy, can_serve, estimate_wait, lane_position, serving_slots
from handoff.testing import make_ticket

POLICY = RoutingPolicy()
T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
R = HandoffReason


@pytest.mark.parametrize(
    ("reason", "topic", "tier", "priority", "skill", "always_open"),
    [
        (R.CUSTOMER_REQUEST, "billing.statement", "gold", Priority.P3, Skill.GENERAL, False),
        (R.REPEATED_QUESTION, "installment", "classic", Priority.P3, Skill.GENERAL, False),
        (R.FRUSTRATION, None, "gold", Priority.P3, Skill.GENERAL, False),
        (R.ANSWER_REFUSED, "billing.interest_fees", "gold", Priority.P3, Skill.GENERAL, False),
        (R.LLM_UNAVAILABLE, "rewards.points", "classic", Priority.P3, Skill.GENERAL, False),
        (R.FLOW_FAILURE, "installment", "gold", Priority.P3, Skill.GENERAL, False),
        (R.UNRECOGNISED_TRANSACTION, "fraud.dispute", "gold", Priority.P1, Skill.RISK, True),
        (R.UNRECOGNISED_TRANSACTION, None, "classic", Priority.P1, Skill.RISK, True),
        (R.FLOW_FAILURE, "card.lost_stolen", "gold", Priority.P1, Skill.RISK, True),
        (R.CUSTOMER_REQUEST, "fraud.dispute", "classic", Priority.P1, Skill.RISK, True),
        (R.REGULATOR_COMPLAINT, "complaint", "gold", Priority.P1, Skill.COMPLAINTS, False),
        (R.COMPLAINT, "complaint", "classic", Priority.P2, Skill.COMPLAINTS, False),
        (R.FRUSTRATION, "complaint", "classic", Priority.P2, Skill.COMPLAINTS, False),
        (R.VIP_POLICY, "benefits.rights", "platinum", Priority.P2, Skill.SENIOR, False),
        (R.CUSTOMER_REQUEST, "billing.annual_fee", "diamond", Priority.P2, Skill.SENIOR, False),
        (R.UNRECOGNISED_TRANSACTION, "fraud.dispute", "diamond", Priority.P1, Skill.RISK, True),
        (R.REGULATOR_COMPLAINT, None, "platinum", Priority.P1, Skill.COMPLAINTS, False),
    ],
)
def test_routing_priority_and_skill(
    reason: HandoffReason, topic: str | None, tier: str, priority: Priority, skill: Skill, always_open: bool
) -> None:
    route = POLICY.route(reason=reason, topic=topic, tier=tier, language="zh")
    assert (route.priority, route.skills, route.is_always_open) == (priority, (skill,), always_open)


def test_routing_keeps_the_language() -> None:
    assert POLICY.route(reason=R.CUSTOMER_REQUEST, topic=None, tier="gold", language="en").language == "en"


def agent(skills: set[Skill], languages: tuple[str, ...] = ("zh",), capacity: int = 2) -> Agent:
    return Agent(
        id=AgentId("a"), display_name="A", skills=frozenset(skills), languages=languages, capacity=capacity
    )  # type: ignore[arg-type]


def test_routing_agents_need_language_and_every_skill() -> None:
    zh_general = make_ticket(language="zh", skills=(Skill.GENERAL,))
    en_risk = make_ticket(language="en", skills=(Skill.RISK,))
    assert can_serve(agent({Skill.GENERAL}), zh_general)
    assert not can_serve(agent({Skill.GENERAL}, ("en",)), zh_general)
    assert not can_serve(agent({Skill.RISK}), zh_general)
    assert can_serve(agent({Skill.RISK}, ("en",)), en_risk)
    assert can_serve(agent({Skill.SUPERVISOR}, ("zh",)), en_risk)  # supervisors see every queue


def test_routing_lane_position_counts_same_language_and_skills_ahead() -> None:
    a = make_ticket(created_at=T0)
    vip = make_ticket(priority=Priority.P2, skills=(Skill.SENIOR,), created_at=T0)
    en = make_ticket(language="en", created_at=T0)
    b = make_ticket(created_at=T0 + timedelta(seconds=5))
    waiting = [vip, a, en, b]
    assert [lane_position(t, waiting) for t in waiting] == [1, 1, 1, 2]


def test_routing_eta_uses_recent_handling_times_and_staffed_slots() -> None:
    assert estimate_wait(1, handle_seconds=[], slots=1, default_handle_seconds=300) == 300
    assert estimate_wait(3, handle_seconds=[100, 200, 900], slots=2, default_handle_seconds=300) == 300
    assert estimate_wait(2, handle_seconds=[60], slots=0, default_handle_seconds=300) == 120


def test_routing_serving_slots_by_lane() -> None:
    zh_general = make_ticket(language="zh", skills=(Skill.GENERAL,))
    en_complaint = make_ticket(language="en", skills=(Skill.COMPLAINTS,))
    assert serving_slots(DEMO_AGENTS, zh_general) == 3 + 3  # 张敏 + Emily Chen
    assert serving_slots(DEMO_AGENTS, en_complaint) == 2  # only the supervisor covers it


async def test_demo_directory_has_the_team() -> None:
    directory = demo_directory()
    agents = await directory.all()
    assert len([a for a in agents if not a.is_supervisor]) >= 5
    assert any(a.is_supervisor for a in agents)
    names = {a.display_name for a in agents}
    assert {"张敏", "李伟", "Emily Chen", "Tom Walker", "王芳"} <= names
    emily = await directory.get(AgentId("emily"))
    assert set(emily.languages) == {"en", "zh"} and Skill.SENIOR in emily.skills
    with pytest.raises(UnknownAgent):
        await directory.get(AgentId("nobody"))
    with pytest.raises(ValueError):
        StaticAgentDirectory([DEMO_AGENTS[0], DEMO_AGENTS[0]])

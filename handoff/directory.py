"""The agent directory used by the embedded deployment and the demo: a fixed team."""

from __future__ import annotations

from collections.abc import Iterable

from handoff.errors import UnknownAgent
from handoff.models import Agent, AgentId, Skill


class StaticAgentDirectory:
    """An ``AgentDirectory`` over a fixed list of agents (ids must be unique)."""

    def __init__(self, agents: Iterable[Agent]) -> None:
        self._agents: dict[AgentId, Agent] = {}
        for agent in agents:
            if agent.id in self._agents:
                raise ValueError(f"duplicate agent id {agent.id!r}")
            if agent.capacity < 1 or not agent.languages:
                raise ValueError(f"agent {agent.id!r} needs a capacity >= 1 and at least one language")
            self._agents[agent.id] = agent

    async def get(self, agent_id: AgentId) -> Agent:
        """The agent, or raise ``UnknownAgent``."""
        try:
            return self._agents[agent_id]
        except KeyError:
            raise UnknownAgent(agent_id) from None

    async def all(self) -> list[Agent]:
        """Every agent, in the order given."""
        return list(self._agents.values())


DEMO_AGENTS: tuple[Agent, ...] = (
    Agent(
        id=AgentId("zhangmin"),
        display_name="张敏",
        languages=("zh",),
        skills=frozenset({Skill.GENERAL}),
        capacity=3,
    ),
    Agent(
        id=AgentId("liwei"),
        display_name="李伟",
        languages=("zh",),
        skills=frozenset({Skill.RISK}),
        capacity=2,
    ),
    Agent(
        id=AgentId("emily"),
        display_name="Emily Chen",
        languages=("en", "zh"),
        skills=frozenset({Skill.GENERAL, Skill.SENIOR}),
        capacity=3,
    ),
    Agent(
        id=AgentId("tom"),
        display_name="Tom Walker",
        languages=("en",),
        skills=frozenset({Skill.RISK}),
        capacity=2,
    ),
    Agent(
        id=AgentId("wangfang"),
        display_name="王芳",
        languages=("zh",),
        skills=frozenset({Skill.COMPLAINTS, Skill.SENIOR}),
        capacity=2,
    ),
    Agent(
        id=AgentId("chenjing"),
        display_name="陈静",
        languages=("zh", "en"),
        skills=frozenset(Skill),
        capacity=2,
    ),
)
"""The demo team: general, risk, senior/VIP and complaints agents in both languages, and a supervisor."""


def demo_directory() -> StaticAgentDirectory:
    """A directory holding ``DEMO_AGENTS``."""
    return StaticAgentDirectory(DEMO_AGENTS)

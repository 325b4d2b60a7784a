"""Event-bus topics the handoff package publishes on (public wire names)."""

from __future__ import annotations

TOPIC_QUEUE = "queue"
"""``{"type": "queue.changed"}``: every process pushes fresh snapshots to its agent sockets."""

TOPIC_SUPERVISORS = "supervisors"
"""SLA escalation frames for every supervisor."""

AGENT_TOPIC_PATTERN = "agent.*"


def agent_topic(agent_id: str) -> str:
    """Frames for one agent: customer messages, escalations, closed-by-customer."""
    return f"agent.{agent_id}"


def agent_of(topic: str) -> str | None:
    """The agent id of an ``agent.<id>`` topic, else ``None``."""
    return topic.removeprefix("agent.") if topic.startswith("agent.") else None

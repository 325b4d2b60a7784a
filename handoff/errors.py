"""The handoff package's errors: one root, specific subclasses.

Adapters translate vendor exceptions (``sqlite3``, ``redis``) into ``QueueUnavailable`` or
``BusUnavailable``; no caller ever catches a vendor exception. Each error carries a stable
``code``: the agent protocol sends it in ``{"type": "error", "code": ...}`` frames and the
service's error table maps it to HTTP statuses and close codes.
"""

from __future__ import annotations


class HandoffError(Exception):
    """Root of every error raised by ``handoff``."""

    code = "handoff_error"


class TicketNotFound(HandoffError):
    """No ticket (or no open ticket) for the given id or conversation."""

    code = "not_found"

    def __init__(self, target: str) -> None:
        super().__init__(f"no handoff ticket for {target!r}")
        self.target = target


class TicketAlreadyClaimed(HandoffError):
    """Another agent claimed the chat first (or it is no longer waiting)."""

    code = "already_claimed"

    def __init__(self, ticket_id: str, *, by: str | None, state: str = "assigned") -> None:
        who = f" by {by!r}" if by else ""
        super().__init__(f"ticket {ticket_id!r} already {state}{who}")
        self.ticket_id = ticket_id
        self.by = by
        self.state = state


class NotAssigned(HandoffError):
    """The agent acted on a chat that is not assigned to them."""

    code = "not_assigned"

    def __init__(self, agent_id: str, target: str) -> None:
        super().__init__(f"conversation {target!r} is not assigned to agent {agent_id!r}")
        self.agent_id = agent_id
        self.target = target


class NotVisible(HandoffError):
    """The chat is neither in the agent's queue (skills) nor assigned to them."""

    code = "forbidden"

    def __init__(self, agent_id: str, target: str) -> None:
        super().__init__(f"conversation {target!r} is not in the queue of agent {agent_id!r}")
        self.agent_id = agent_id
        self.target = target


class UnknownAgent(HandoffError):
    """The agent id is not in the directory."""

    code = "unknown_agent"

    def __init__(self, agent_id: str) -> None:
        super().__init__(f"unknown agent {agent_id!r}")
        self.agent_id = agent_id


class AgentAtCapacity(HandoffError):
    """The agent already handles as many chats as their capacity allows."""

    code = "at_capacity"

    def __init__(self, agent_id: str, capacity: int) -> None:
        super().__init__(f"agent {agent_id!r} is at capacity ({capacity} chats)")
        self.agent_id = agent_id
        self.capacity = capacity


class InvalidAgentToken(HandoffError):
    """An agent token is missing, malformed, expired or signed with the wrong key."""

    code = "unauthorized"


class InvalidTransition(HandoffError):
    """The ticket is in a state that does not allow the operation (e.g. CSAT before close)."""

    code = "invalid_state"


class QueueUnavailable(HandoffError):
    """The queue backend (SQLite file or Redis) failed or timed out."""

    code = "unavailable"


class BusUnavailable(HandoffError):
    """The event bus could not publish (Redis down or timed out)."""

    code = "unavailable"


class GatewayUnavailable(HandoffError):
    """The bot's conversation gateway failed or timed out; the agent's action did not reach the customer."""

    code = "delivery_failed"


class SessionOverflow(HandoffError):
    """An agent socket fell too far behind; it is closed and the console reconnects."""

    code = "overflow"

"""Ports the bot core depends on; adapters live in ``bot.stores`` and ``bot.llm``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.domain import AuditEntry, Conversation, ConversationId, CustomerId, Event, JsonDict, Record


class ConversationStore(Protocol):
    """Conversations, their ordered events, their state document, analytics and audit.

    Contract (tested unchanged against every adapter):
    * ``append`` gives the next ``seq`` (previous + 1) atomically, even under concurrency;
    * ``append`` with a ``client_msg_id`` already stored returns the stored event and
      ``created=False`` and stores nothing;
    * ``save_state`` is compare-and-set on ``version``: a stale version raises ``StateConflict``.
    """

    async def create_conversation(self, customer_id: CustomerId, locale: str) -> Conversation: ...

    async def get_conversation(self, conversation_id: ConversationId) -> Conversation | None: ...

    async def list_conversations(self, customer_id: CustomerId) -> list[Conversation]: ...

    async def conversation_ids(self, since: datetime | None = None) -> list[ConversationId]: ...

    async def append(
        self,
        conversation_id: ConversationId,
        type: str,
        data: JsonDict,
        *,
        client_msg_id: str | None = None,
    ) -> tuple[Event, bool]: ...

    async def events_after(
        self, conversation_id: ConversationId, after_seq: int = 0, limit: int | None = None
    ) -> list[Event]: ...

    async def load_state(self, conversation_id: ConversationId) -> tuple[JsonDict, int]: ...

    async def save_state(self, conversation_id: ConversationId, state: JsonDict, version: int) -> int: ...

    async def add_record(
        self, kind: str, data: JsonDict, *, conversation_id: ConversationId | None = None
    ) -> None: ...

    async def add_records(
        self, items: Sequence[tuple[str, JsonDict]], *, conversation_id: ConversationId | None = None
    ) -> None:
        """Several records in one write (a turn's records)."""
        ...

    async def records(
        self, kinds: Sequence[str] | None = None, since: datetime | None = None
    ) -> list[Record]: ...

    async def audit(self, actor: str, action: str, target: str, details: JsonDict) -> None: ...

    async def audit_log(self, since: datetime | None = None) -> list[AuditEntry]: ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...

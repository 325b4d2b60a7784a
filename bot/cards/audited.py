"""Every side effect in the card system leaves an audit entry: who/what triggered it, with what result.

``AuditedCardSystem`` wraps any ``CardSystem``: reads pass straight through; each write (freeze,
replacement, installment plan and payoff, limit application, case, activation, autopay) is
recorded in the append-only audit log after it succeeded — actor ``assistant`` on behalf of the
customer, target the conversation (the idempotency key starts with its id), and the key and
the result's ids in the details. A write the card system refused is recorded too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from bot.cards.models import jsonable
from bot.cards.port import CardSystem
from bot.errors import CardSystemError


class AuditLog(Protocol):
    async def audit(self, actor: str, action: str, target: str, details: dict[str, Any]) -> None: ...


WRITES: dict[str, str] = {
    "freeze_card": "card.frozen",
    "order_replacement": "card.replacement_ordered",
    "create_installment_plan": "installment.created",
    "pay_off_plan": "installment.paid_off",
    "apply_limit_increase": "limit.applied",
    "open_case": "case.opened",
    "activate_card": "card.activated",
    "set_autopay": "autopay.set",
}
RESULT_FIELDS = ("id", "status", "last4", "new_card_id", "delivery", "periods", "principal", "new_limit", "case_id",
                 "kind", "priority", "autopay")


class AuditedCardSystem:
    """A ``CardSystem`` whose writes are audit-logged."""

    def __init__(self, inner: CardSystem, log: AuditLog) -> None:
        self._inner = inner
        self._log = log

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in WRITES:
            return attr
        return self._audited(name, attr)

    def _audited(self, name: str, call: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def run(customer_id: str, *args: Any, key: str, **kwargs: Any) -> Any:
            target = key.split(":", 1)[0]
            details: dict[str, Any] = {"customer": customer_id, "key": key}
            details.update({k: jsonable(v) for k, v in kwargs.items() if k in ("reason", "kind", "periods",
                                                                                "delivery", "mode", "priority")})
            try:
                result = await call(customer_id, *args, key=key, **kwargs)
            except CardSystemError as exc:
                await self._log.audit("assistant", WRITES[name] + ".refused", target, {**details, "code": exc.code})
                raise
            doc = jsonable(result)
            if isinstance(doc, dict):
                details["result"] = {k: doc[k] for k in RESULT_FIELDS if k in doc}
            await self._log.audit("assistant", WRITES[name], target, details)
            return result

        return run

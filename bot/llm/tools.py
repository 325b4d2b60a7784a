"""The account tools bound to the model, scoped to the signed-in customer.

Each tool's body is the offline engine's account answer (``bot/answers/account.py``), so a
figure is the same whichever engine states it. The tools are built per turn around the
turn's context: the customer is the authenticated one, whatever the model asks. A call
that names another customer id, or a card that is not one of theirs, is refused (and
recorded); it never reaches the card system.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage, ToolMessage
from langchain_core.tools import BaseTool, StructuredTool, ToolException
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.answers import account
from bot.answers.draft import Draft
from bot.cards.models import jsonable
from bot.llm.openai_compat import Completion
from bot.turn import TurnContext

logger = logging.getLogger(__name__)

AccountAnswer = Callable[[TurnContext], Awaitable[Draft | None]]

ACCOUNT_TOOLS: dict[str, tuple[AccountAnswer, str]] = {
    "statement": (
        account.statement,
        "The current statement: balance, minimum payment, due date, what is still owed.",
    ),
    "min_payment": (
        account.min_payment,
        "The minimum payment of the current statement and how it is made up.",
    ),
    "transactions": (
        account.transactions,
        "Recent transactions (last 90 days), filtered by what the customer said.",
    ),
    "limit": (account.limit, "Credit limit, available credit, and any temporary limit."),
    "points": (account.points, "Points balance, points about to expire, and what they are worth."),
    "annual_fee": (account.annual_fee, "This card year's annual fee and progress towards its waiver."),
    "card_status": (
        account.card_status,
        "The card's status (active, frozen, inactive) and available credit.",
    ),
    "replacement_status": (account.replacement_status, "Delivery of the latest replacement card."),
    "payment_status": (account.last_statement_paid, "Payments received against the current statement."),
}


class AccountArgs(BaseModel):
    """Arguments every account tool takes (all optional: the signed-in customer's current card)."""

    model_config = ConfigDict(extra="forbid")

    customer_id: str | None = Field(
        default=None, description="Leave empty: tools only read the signed-in customer's account."
    )
    card_last4: str | None = Field(
        default=None,
        description="Last four digits of one of the customer's own cards; empty for the current card.",
    )
    card_id: str | None = Field(default=None, description="Leave empty.")


@dataclass(slots=True, kw_only=True)
class ToolRun:
    """One tool call that ran: its name and the account answer it produced."""

    name: str
    draft: Draft


class ToolScopeError(Exception):
    """A tool call outside the signed-in customer's own account."""


async def check_scope(ctx: TurnContext, args: AccountArgs) -> None:
    """Raise :class:`ToolScopeError` unless every id in ``args`` belongs to the signed-in customer."""
    if args.customer_id not in (None, "", ctx.customer_id):
        raise ToolScopeError("customer_id is not the signed-in customer")
    if args.card_id or args.card_last4:
        cards = await ctx.cards.cards(ctx.customer_id)
        if args.card_id and all(c.id != args.card_id for c in cards):
            raise ToolScopeError("card_id is not one of the signed-in customer's cards")
        if args.card_last4 and all(c.last4 != args.card_last4 for c in cards):
            raise ToolScopeError("card_last4 is not one of the signed-in customer's cards")


@functools.cache
def tool_schemas() -> tuple[dict[str, Any], ...]:
    """The account tools as OpenAI tool schemas, converted once per process."""

    async def unused(**_: Any) -> str:
        raise AssertionError("schema prototype only")

    return tuple(
        convert_to_openai_tool(
            StructuredTool.from_function(
                coroutine=unused, name=name, description=description, args_schema=AccountArgs
            )
        )
        for name, (_, description) in ACCOUNT_TOOLS.items()
    )


def account_tools(ctx: TurnContext, runs: list[ToolRun]) -> list[BaseTool]:
    """The account tools for this turn; each successful run is appended to ``runs``."""
    return [_tool(ctx, name, fn, description, runs) for name, (fn, description) in ACCOUNT_TOOLS.items()]


def _tool(ctx: TurnContext, name: str, fn: AccountAnswer, description: str, runs: list[ToolRun]) -> BaseTool:
    async def run(
        customer_id: str | None = None, card_last4: str | None = None, card_id: str | None = None
    ) -> str:
        args = AccountArgs(customer_id=customer_id, card_last4=card_last4, card_id=card_id)
        try:
            await check_scope(ctx, args)
        except ToolScopeError as exc:
            ctx.record("llm_tool_refused", tool=name, reason=str(exc))
            logger.warning(
                "llm.tool.refused",
                extra={"conversation_id": ctx.conversation_id, "tool": name, "reason": str(exc)},
            )
            return json.dumps({"error": "refused", "reason": str(exc)})
        draft = await fn(ctx)
        if draft is None:
            return json.dumps({"text": "", "data": None, "note": "nothing on file"})
        runs.append(ToolRun(name=name, draft=draft))
        return tool_result(draft)

    return StructuredTool.from_function(
        coroutine=run, name=name, description=description, args_schema=AccountArgs
    )


INTERNAL_KEYS = frozenset({"id", "customer_id", "card_id", "source_id", "replaced_by"})


def tool_result(draft: Draft) -> str:
    """What the model reads back from a tool: the offline wording and the data behind it.

    Internal identifiers stay out (the model needs figures, not keys): data minimisation.
    """
    return json.dumps(
        {"text": draft.text, "data": without_ids(jsonable(draft.tool_values))},
        ensure_ascii=False,
        default=str,
    )


def without_ids(value: Any) -> Any:
    """``value`` without the keys in :data:`INTERNAL_KEYS`, at any depth."""
    if isinstance(value, dict):
        return {k: without_ids(v) for k, v in value.items() if k not in INTERNAL_KEYS}
    if isinstance(value, list):
        return [without_ids(v) for v in value]
    return value


async def run_tool_calls(done: Completion, tools: Sequence[BaseTool]) -> tuple[list[BaseMessage], list[str]]:
    """Run the model's tool calls; a call to an unknown tool or with bad arguments is a problem."""
    by_name = {t.name: t for t in tools}
    results: list[BaseMessage] = []
    problems: list[str] = []
    for call in done.tool_calls:
        tool = by_name.get(call.name)
        if tool is None:
            problems.append(f"{call.name!r}: no such tool")
            continue
        try:
            result = await tool.ainvoke(call.args)
        except (ValidationError, ToolException) as exc:
            problems.append(f"{call.name!r}: {type(exc).__name__}: {str(exc)[:200]}")
            continue
        results.append(ToolMessage(content=str(result), tool_call_id=call.id, name=call.name))
    return (results, []) if not problems else ([], problems)

"""The guard on every message: what is stored from the customer, what the assistant may send.

* Inbound: card numbers are masked and secrets (CVV, PIN, SMS codes, passwords) deleted
  before a customer message is stored; logs and LLM prompts get the fully redacted text.
* Outbound: every assistant reply passes the compliance rules and the numeric grounding
  check (every amount, rate, day count and date must come from the fee schedule, a
  retrieved passage or a card-system result of this turn). Deterministic fixes (masking,
  adding the APR next to a fee rate) are applied; a reply that still fails is regenerated
  once when an LLM wrote it, and otherwise replaced by a safe answer that offers a person.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from bot.answers.draft import Draft
from bot.guardrails import (
    GroundingSources,
    GuardContext,
    Severity,
    Violation,
    check,
    check_grounding,
    find_pii,
    rewrite,
)
from bot.guardrails.pii import apply_masks
from bot.replies import say
from knowledge.fees import FeeSchedule

logger = logging.getLogger(__name__)

STORE_MASKED = frozenset({"card_number", "cvv", "card_expiry", "pin", "password", "otp"})


def mask_for_storage(text: str) -> str:
    """Customer text as stored for the customer's own view: card numbers and secrets hidden."""
    findings = [f for f in find_pii(text) if f.kind in STORE_MASKED]
    return apply_masks(text, findings) if findings else text


@dataclass(slots=True, kw_only=True)
class GuardResult:
    """What the guard let through and why."""

    draft: Draft
    violations: list[Violation] = field(default_factory=list)
    ungrounded: list[str] = field(default_factory=list)
    action: str = "pass"  # pass | rewritten | regenerated | replaced


class OutputGuard:
    """Compliance + grounding for assistant replies (and the compliance part for agent drafts)."""

    def __init__(self, schedule: FeeSchedule) -> None:
        self._numbers = schedule.figures()
        self._aprs = {p.periods: p.apr for p in schedule.installment_plans()}
        self._daily_apr = schedule.dec("billing.purchase_annual_rate")
        hours = schedule.get("service.agent_hours")
        self._times = [hours["start"], hours["end"]]
        self._base = GroundingSources.build(numbers=self._numbers, times=self._times)

    def sources(self, draft: Draft) -> GroundingSources:
        # The schedule's figures and each article section's figures are extracted once and
        # reused; only this turn's tool results are walked per reply.
        parts = [self._base, *(_passage_sources(p) for p in draft.passages),
                 GroundingSources.build(tool_values=draft.tool_values)]
        return GroundingSources(
            numbers=frozenset().union(*(x.numbers for x in parts)),
            percents=frozenset().union(*(x.percents for x in parts)),
            dates=frozenset().union(*(x.dates for x in parts)),
            times=frozenset().union(*(x.times for x in parts)),
        )

    def context(self, draft: Draft, *, intent: str | None, shared_secret: bool, declined: frozenset[str],
                others: tuple[str, ...] = ()) -> GuardContext:
        return GuardContext(
            grounding=self.sources(draft),
            decisions=frozenset(draft.decisions),
            intent=intent,
            apr_by_periods=self._aprs,
            daily_rate_apr=self._daily_apr,
            declined_offers=declined,
            customer_shared_secret=shared_secret,
            in_confirmed_flow=draft.handled == "flow",
            other_customer_markers=others,
        )

    def inspect(self, text: str, lang: str, gctx: GuardContext,
                approved: Sequence[str] = ()) -> tuple[list[Violation], list[str]]:
        violations = check(text, locale=lang, actor="bot", context=gctx)
        if approved:
            violations = [v for v in violations if not approved_wording(text, v, _flat_all(approved))]
        ungrounded = [u.figure.text for u in check_grounding(text, gctx.grounding)] if gctx.grounding else []
        return violations, ungrounded

    async def finalize(
        self,
        draft: Draft,
        *,
        lang: str,
        gctx: GuardContext,
        regenerate: Callable[[list[str]], Awaitable[Draft | None]] | None = None,
    ) -> GuardResult:
        """The reply that may go out."""
        approved = list(draft.passages)
        violations, ungrounded = self.inspect(draft.text, lang, gctx, approved)
        if _clean(violations, ungrounded):
            return GuardResult(draft=draft, violations=violations)
        fixed = rewrite(draft.text, violations)
        if fixed != draft.text:
            v2, u2 = self.inspect(fixed, lang, gctx, approved)
            if _clean(v2, u2):
                draft.text = fixed
                return GuardResult(draft=draft, violations=violations, action="rewritten")
        problems = [f"{v.rule_id}: {v.message_en}" for v in violations if v.severity is not Severity.LOG]
        problems += [f"ungrounded figure {u!r}" for u in ungrounded]
        if regenerate is not None:
            second = await regenerate(problems)
            if second is not None:
                v3, u3 = self.inspect(second.text, lang, gctx)
                if _clean(v3, u3):
                    return GuardResult(draft=second, violations=violations, ungrounded=ungrounded,
                                       action="regenerated")
        logger.warning("guard.reply_replaced", extra={"rules": sorted({v.rule_id for v in violations}),
                                                       "ungrounded": len(ungrounded),
                                                       "figures": [u[:20] for u in ungrounded]})
        safe = Draft(text=say("fallback", lang), handled="fallback", resolved=False,
                     cards=[{"type": "choices", "id": "fallback-handoff", "options": [
                         {"label": "转人工客服" if lang == "zh" else "Talk to a person", "action_id": "handoff.request",
                          "values": {}}]}])
        return GuardResult(draft=safe, violations=violations, ungrounded=ungrounded, action="replaced")


# Rules that hold even for the bank's own published wording: data that must never go out.
ALWAYS_CHECKED = frozenset({"SEC-04", "SEC-05", "SEC-08", "PRC-08"})
# Where a sentence (or a list item) ends: CJK and ASCII marks, and a full stop before a space
# (not the one inside ¥1,080.20 or 0.05%).
_SENTENCE_END = re.compile(r"[。！？!?；;\n]|\.(?=\s|$)")


@functools.lru_cache(maxsize=4096)
def _passage_sources(text: str) -> GroundingSources:
    return GroundingSources.build(passages=[text])


def _flat_all(texts: Sequence[str]) -> list[str]:
    return [_flat(t) for t in texts]


def _flat(text: str) -> str:
    return " ".join(text.replace("**", "").split())


def approved_wording(text: str, v: Violation, approved: Sequence[str]) -> bool:
    """A violation inside a sentence quoted verbatim from a retrieved article is approved
    wording: the bank reviewed and published it (a figure check still applies separately)."""
    if v.rule_id in ALWAYS_CHECKED:
        return False
    start = max((m.end() for m in _SENTENCE_END.finditer(text, 0, v.start)), default=0)
    after = _SENTENCE_END.search(text, v.end)
    end = after.start() if after else len(text)
    sentence = _flat(text[start:end]).strip(" .。;；:：")
    return len(sentence) >= 8 and any(sentence in _flat(passage) for passage in approved)


def _clean(violations: list[Violation], ungrounded: list[str]) -> bool:
    blocking = [v for v in violations if v.severity in (Severity.BLOCK, Severity.REWRITE)]
    return not blocking and not ungrounded

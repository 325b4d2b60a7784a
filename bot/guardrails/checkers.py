"""The registry of named checkers that rules in ``rules/*.yaml`` refer to.

A checker reads a :class:`~bot.guardrails.document.Document` and the
:class:`~bot.guardrails.context.GuardContext` and yields hits in the caller's offsets,
optionally with a deterministic :class:`Fix`. Rules hold the words (lexicons, patterns);
checkers hold only the logic, so a new phrase is a data change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from bot.guardrails.checking import Checker, CheckerParams, Fix, Hit, Params, Suppressors
from bot.guardrails.document import Lexicons, RuleDataError
from bot.guardrails.fact_checks import (
    GroundingChecker,
    OtherCustomerChecker,
    PiiChecker,
    RateDisclosureChecker,
    TermLimitChecker,
    ZeroCostChecker,
)
from bot.guardrails.text_checks import (
    DecisionClaimChecker,
    LexiconChecker,
    OfferChecker,
    ProximityChecker,
    RequiredPhraseChecker,
)

__all__ = ["CHECKER_NAMES", "Checker", "Fix", "Hit", "build_checker"]

_Factory = Callable[[CheckerParams], Checker]
_CHECKERS: Final[dict[str, tuple[_Factory, set[str]]]] = {
    "lexicon": (LexiconChecker, {"patterns", *Suppressors.KEYS}),
    "proximity": (ProximityChecker, {"first", "second", "window", *Suppressors.KEYS}),
    "pii": (PiiChecker, {"kinds", "mask"}),
    "grounding": (GroundingChecker, set()),
    "other_customer": (OtherCustomerChecker, {"min_length"}),
    "rate_disclosure": (
        RateDisclosureChecker,
        {"periodic", "daily", "apr", "installment_fix", "installment_item", "daily_fix"},
    ),
    "zero_cost": (
        ZeroCostChecker,
        {"claims", "period_claims", "products", "purchases", "negations", "negation_window", "intents"},
    ),
    "decision_claim": (DecisionClaimChecker, {"topics", *Suppressors.KEYS}),
    "term_limit": (TermLimitChecker, {"max_periods", "installment"}),
    "offer": (OfferChecker, {"offers", "mode", *Suppressors.KEYS}),
    "required_phrase": (
        RequiredPhraseChecker,
        {"required", "intents", "when_customer_shared_secret", "fix_append"},
    ),
}
CHECKER_NAMES: Final = frozenset(_CHECKERS)


def build_checker(name: str, params: Params, lexicons: Lexicons, *, where: str) -> Checker:
    """The checker ``name`` configured with ``params`` (validated against what it accepts)."""
    if name not in _CHECKERS:
        raise RuleDataError(f"{where}: unknown checker {name!r}; known: {sorted(_CHECKERS)!r}")
    factory, allowed = _CHECKERS[name]
    return factory(CheckerParams(params, lexicons, where=where, allowed=allowed))

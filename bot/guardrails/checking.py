"""What every checker shares: hits and fixes, typed parameters, negation and exemption handling."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Final, Literal, Protocol

from bot.guardrails.context import GuardContext
from bot.guardrails.document import Document, Lexicons, RuleDataError

Params = Mapping[str, object]


@dataclass(frozen=True, slots=True, kw_only=True)
class Fix:
    """A deterministic edit: replace ``text[start:end]``, or append to the message."""

    kind: Literal["replace", "append"]
    text: str
    start: int = 0
    end: int = 0


@dataclass(frozen=True, slots=True)
class Hit:
    """Where a checker fired (original offsets) and the fix, when there is one."""

    start: int
    end: int
    fix: Fix | None = None


class Checker(Protocol):
    def find(self, doc: Document, ctx: GuardContext) -> Iterator[Hit]: ...


class CheckerParams:
    """Typed, checked access to one checker's parameters."""

    def __init__(self, params: Params, lexicons: Lexicons, *, where: str, allowed: set[str]) -> None:
        unknown = set(params) - allowed
        if unknown:
            raise RuleDataError(f"{where}: unknown parameters {sorted(unknown)!r}")
        self.params, self.lexicons, self.where = params, lexicons, where

    def patterns(self, key: str, *, required: bool = True) -> re.Pattern[str] | None:
        if key not in self.params:
            if required:
                raise RuleDataError(f"{self.where}: missing parameter {key!r}")
            return None
        return self.lexicons.compile(self.params[key], where=f"{self.where}.{key}")

    def strings(self, key: str) -> frozenset[str]:
        value = self.params.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise RuleDataError(f"{self.where}.{key}: expected a list of strings")
        return frozenset(value)

    def integer(self, key: str, default: int) -> int:
        value = self.params.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool):
            raise RuleDataError(f"{self.where}.{key}: expected an integer")
        return value

    def flag(self, key: str) -> bool:
        value = self.params.get(key, False)
        if not isinstance(value, bool):
            raise RuleDataError(f"{self.where}.{key}: expected true or false")
        return value

    def texts(self, key: str) -> Mapping[str, str] | None:
        value = self.params.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping) or set(value) != {"zh", "en"}:
            raise RuleDataError(f"{self.where}.{key}: expected {{zh: ..., en: ...}}")
        return {str(k): str(v) for k, v in value.items()}


def found(pattern: re.Pattern[str] | None, text: str, start: int, end: int) -> bool:
    return pattern is not None and pattern.search(text, start, end) is not None


class Suppressors:
    """Shared conditions: negation before a match, words in the clause or message, intents.

    ``require_sentence`` is the opposite of an escape hatch: the match counts only when the
    sentence also holds one of these words (a third party is only a problem next to a debt).
    """

    KEYS: Final = {
        "require_sentence",
        "negations",
        "negation_window",
        "unless_clause",
        "unless_message",
        "intents",
        "skip_in_confirmed_flow",
    }

    def __init__(self, p: CheckerParams) -> None:
        self.require_sentence = p.patterns("require_sentence", required=False)
        self.negations = p.patterns("negations", required=False)
        self.window = p.integer("negation_window", 12)
        self.unless_clause = p.patterns("unless_clause", required=False)
        self.unless_message = p.patterns("unless_message", required=False)
        self.intents = p.strings("intents")
        self.skip_in_flow = p.flag("skip_in_confirmed_flow")

    def applies(self, doc: Document, ctx: GuardContext) -> bool:
        if self.intents and ctx.intent not in self.intents:
            return False
        if self.skip_in_flow and ctx.in_confirmed_flow:
            return False
        return not found(self.unless_message, doc.text, 0, len(doc.text))

    def suppressed(self, doc: Document, start: int, end: int) -> bool:
        if self.require_sentence is not None and not found(
            self.require_sentence, doc.text, *doc.sentence(start)
        ):
            return True
        clause_start, clause_end = doc.clause(start)
        if found(self.unless_clause, doc.text, clause_start, clause_end):
            return True
        return found(self.negations, doc.text, max(clause_start, start - self.window), start)

"""The compliance rule library: rules as data (``rules/*.yaml``), one ``check`` for every message.

Each rule names its regulatory anchor (the ids follow ``research/compliance-rules.md``),
the message language it applies to, who it applies to (the assistant, a human agent or
both), its severity for each, bilingual descriptions shown to an agent whose draft it
stops, one or more named checkers with their parameters, and examples that must hit and
must pass. The assistant runs :func:`check` on every reply, the agent hub on every draft.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Final, Literal

import yaml

from bot.guardrails.checkers import Checker, Fix, build_checker
from bot.guardrails.context import GuardContext
from bot.guardrails.document import Document, Lexicons, RuleDataError

Actor = Literal["bot", "agent"]
RuleLocale = Literal["zh", "en", "both"]
AppliesTo = Literal["bot", "agent", "both"]


class Severity(enum.StrEnum):
    """What happens to a message that breaks a rule (see the study's §0 table)."""

    BLOCK = "block"
    REWRITE = "rewrite"
    WARN = "warn"
    LOG = "log"

    @property
    def rank(self) -> int:
        """Higher is stricter: block 3, rewrite 2, warn 1, log 0."""
        return _RANK[self]


_RANK: Final = {Severity.BLOCK: 3, Severity.REWRITE: 2, Severity.WARN: 1, Severity.LOG: 0}


@dataclass(frozen=True, slots=True, kw_only=True)
class Violation:
    """One rule hit in a message."""

    rule_id: str
    severity: Severity
    start: int
    end: int
    message_zh: str
    message_en: str
    suggested_fix: Fix | None = None

    @property
    def span(self) -> tuple[int, int]:
        return self.start, self.end

    def message(self, locale: str) -> str:
        """The description in the reader's language."""
        return self.message_zh if _language(locale) == "zh" else self.message_en


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleExample:
    """A message a rule must hit (or must let pass), with the turn context it needs."""

    text: str
    locale: Literal["zh", "en"]
    actor: Actor
    context: GuardContext


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """One compliance rule, loaded from ``rules/*.yaml``."""

    id: str
    locale: RuleLocale
    applies_to: AppliesTo
    severity_bot: Severity
    severity_agent: Severity
    title_zh: str
    title_en: str
    description_zh: str
    description_en: str
    source: str
    checkers: tuple[Checker, ...]
    hit_examples: tuple[RuleExample, ...]
    pass_examples: tuple[RuleExample, ...]

    def applies(self, *, locale: str, actor: Actor) -> bool:
        """Whether the rule checks a message in ``locale`` written by ``actor``."""
        if self.applies_to not in ("both", actor):
            return False
        return self.locale == "both" or self.locale == _language(locale)

    def severity(self, actor: Actor) -> Severity:
        return self.severity_bot if actor == "bot" else self.severity_agent


def _language(locale: str) -> Literal["zh", "en"]:
    return "zh" if locale.lower().startswith("zh") else "en"


# ---------------------------------------------------------------------------
# loading

_LEXICON_FILE: Final = "_lexicons.yaml"
_EXAMPLE_KEYS: Final = {"text", "locale", "actor", "context"}
_RULE_KEYS: Final = {
    "id",
    "locale",
    "applies_to",
    "severity",
    "title",
    "description",
    "source",
    "checks",
    "examples",
}


def _text_pair(value: object, where: str) -> tuple[str, str]:
    if (
        not isinstance(value, Mapping)
        or not isinstance(value.get("zh"), str)
        or not isinstance(value.get("en"), str)
    ):
        raise RuleDataError(f"{where}: expected {{zh: ..., en: ...}}")
    return value["zh"], value["en"]


def _severities(value: object, applies_to: str, where: str) -> tuple[Severity, Severity]:
    try:
        if isinstance(value, str):
            return Severity(value), Severity(value)
        if isinstance(value, Mapping):
            bot = Severity(value.get("bot", value.get("agent")))
            agent = Severity(value.get("agent", value.get("bot")))
            return bot, agent
    except ValueError as exc:
        raise RuleDataError(f"{where}.severity: {exc}") from exc
    raise RuleDataError(f"{where}.severity: expected a severity or {{bot: ..., agent: ...}}")


def _examples(
    value: object, rule: Mapping[str, object], where: str
) -> tuple[list[RuleExample], list[RuleExample]]:
    if not isinstance(value, Mapping) or not value.get("hit") or not value.get("pass"):
        raise RuleDataError(f"{where}.examples: every rule needs 'hit' and 'pass' examples")
    default_actor: Actor = "agent" if rule.get("applies_to") == "agent" else "bot"
    out: tuple[list[RuleExample], list[RuleExample]] = ([], [])
    for key, bucket in (("hit", out[0]), ("pass", out[1])):
        items = value[key]
        if not isinstance(items, list):
            raise RuleDataError(f"{where}.examples.{key}: expected a list")
        for i, item in enumerate(items):
            spot = f"{where}.examples.{key}[{i}]"
            if (
                not isinstance(item, Mapping)
                or not isinstance(item.get("text"), str)
                or item.get("locale") not in ("zh", "en")
                or not set(item) <= _EXAMPLE_KEYS
            ):
                raise RuleDataError(f"{spot}: expected {{text, locale: zh|en, actor?, context?}}")
            try:
                context = GuardContext.from_mapping(item.get("context") or {})
            except (ValueError, TypeError) as exc:
                raise RuleDataError(f"{spot}.context: {exc}") from exc
            actor = item.get("actor", default_actor)
            if actor not in ("bot", "agent"):
                raise RuleDataError(f"{spot}.actor: expected bot or agent")
            bucket.append(RuleExample(text=item["text"], locale=item["locale"], actor=actor, context=context))
    return out


def _rule(data: object, lexicons: Lexicons, where: str) -> Rule:
    if not isinstance(data, Mapping) or not isinstance(data.get("id"), str):
        raise RuleDataError(f"{where}: a rule is a mapping with an 'id'")
    where = f"{where}:{data['id']}"
    unknown = set(data) - _RULE_KEYS
    if unknown:
        raise RuleDataError(f"{where}: unknown keys {sorted(unknown)!r}")
    locale, applies_to = data.get("locale"), data.get("applies_to")
    if locale not in ("zh", "en", "both") or applies_to not in ("bot", "agent", "both"):
        raise RuleDataError(f"{where}: locale must be zh|en|both and applies_to bot|agent|both")
    checks = data.get("checks")
    if not isinstance(checks, list) or not checks:
        raise RuleDataError(f"{where}.checks: expected a non-empty list")
    checkers = []
    for i, spec in enumerate(checks):
        if not isinstance(spec, Mapping) or not isinstance(spec.get("checker"), str):
            raise RuleDataError(f"{where}.checks[{i}]: expected {{checker: name, params: {{...}}}}")
        params = spec.get("params") or {}
        if not isinstance(params, Mapping):
            raise RuleDataError(f"{where}.checks[{i}].params: expected a mapping")
        checkers.append(build_checker(spec["checker"], params, lexicons, where=f"{where}.checks[{i}]"))
    hits, passes = _examples(data.get("examples"), data, where)
    _require_both_languages(locale, hits, passes, where)
    bot, agent = _severities(data.get("severity"), applies_to, where)
    title_zh, title_en = _text_pair(data.get("title"), f"{where}.title")
    description_zh, description_en = _text_pair(data.get("description"), f"{where}.description")
    return Rule(
        id=data["id"],
        locale=locale,
        applies_to=applies_to,
        severity_bot=bot,
        severity_agent=agent,
        title_zh=title_zh,
        title_en=title_en,
        description_zh=description_zh,
        description_en=description_en,
        source=str(data.get("source", "")),
        checkers=tuple(checkers),
        hit_examples=tuple(hits),
        pass_examples=tuple(passes),
    )


def _require_both_languages(
    locale: str, hits: Sequence[RuleExample], passes: Sequence[RuleExample], where: str
) -> None:
    wanted = {"zh", "en"} if locale == "both" else {locale}
    for name, examples in (("hit", hits), ("pass", passes)):
        missing = wanted - {e.locale for e in examples}
        if missing:
            raise RuleDataError(f"{where}.examples.{name}: missing examples in {sorted(missing)!r}")


def parse_rules(documents: Mapping[str, str], lexicon_text: str) -> tuple[Rule, ...]:
    """Rules from YAML texts (file name → text), with the shared lexicons."""
    raw_lexicons = yaml.safe_load(lexicon_text) or {}
    if not isinstance(raw_lexicons, Mapping):
        raise RuleDataError(f"{_LEXICON_FILE}: expected a mapping of name → patterns")
    lexicons = Lexicons({str(k): [str(p) for p in v] for k, v in raw_lexicons.items()})
    rules: list[Rule] = []
    for name, text in sorted(documents.items()):
        data = yaml.safe_load(text)
        if not isinstance(data, Mapping) or not isinstance(data.get("rules"), list):
            raise RuleDataError(f"{name}: expected a top-level 'rules' list")
        rules.extend(_rule(item, lexicons, name) for item in data["rules"])
    ids = [r.id for r in rules]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise RuleDataError(f"duplicate rule ids {duplicates!r}")
    return tuple(rules)


@functools.cache
def load_rules() -> tuple[Rule, ...]:
    """The rules shipped in ``bot/guardrails/rules/`` (parsed once per process)."""
    folder = resources.files("bot.guardrails") / "rules"
    documents = {
        entry.name: entry.read_text(encoding="utf-8")
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml") and entry.name != _LEXICON_FILE
    }
    return parse_rules(documents, (folder / _LEXICON_FILE).read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------
# checking


def check(
    text: str,
    *,
    locale: str,
    actor: Actor,
    context: GuardContext | None = None,
    rules: Sequence[Rule] | None = None,
) -> list[Violation]:
    """Every rule ``text`` breaks, in order of position; empty when the message may go out."""
    ctx = context or GuardContext()
    doc = Document(text, _language(locale))
    out: list[Violation] = []
    for rule in load_rules() if rules is None else rules:
        if not rule.applies(locale=locale, actor=actor):
            continue
        severity = rule.severity(actor)
        seen: set[tuple[int, int]] = set()
        for checker in rule.checkers:
            for hit in checker.find(doc, ctx):
                if (hit.start, hit.end) in seen:
                    continue
                seen.add((hit.start, hit.end))
                out.append(
                    Violation(
                        rule_id=rule.id,
                        severity=severity,
                        start=hit.start,
                        end=hit.end,
                        message_zh=rule.description_zh,
                        message_en=rule.description_en,
                        suggested_fix=hit.fix,
                    )
                )
    return sorted(out, key=lambda v: (v.start, -v.severity.rank, v.rule_id))


def strictest(violations: Sequence[Violation]) -> Severity | None:
    """The strictest severity among ``violations`` (``None`` when there are none)."""
    return max((v.severity for v in violations), key=lambda s: s.rank, default=None)


def rewrite(text: str, violations: Sequence[Violation]) -> str:
    """Apply the deterministic fixes the violations carry (masks, appended disclosures).

    Replacements are applied right to left so that offsets stay valid; overlapping ones
    after the first are skipped; each appended sentence is added once. Violations without
    a fix are left to the caller (regenerate, or block). Run :func:`check` again after.
    """
    replacements = sorted(
        {
            v.suggested_fix
            for v in violations
            if v.suggested_fix is not None and v.suggested_fix.kind == "replace"
        },
        key=lambda f: (f.start, f.end),
    )
    appends = list(
        dict.fromkeys(
            v.suggested_fix.text
            for v in violations
            if v.suggested_fix is not None and v.suggested_fix.kind == "append"
        )
    )
    kept: list[Fix] = []
    for fix in replacements:
        if not kept or fix.start >= kept[-1].end:
            kept.append(fix)
    for fix in reversed(kept):
        text = text[: fix.start] + fix.text + text[fix.end :]
    for sentence in appends:
        if sentence not in text:
            text = text.rstrip() + sentence
    return text

"""Signals on an inbound customer message: size, bad characters, prompt injection, personal data.

:func:`inspect_input` never raises for bad input; it returns flags. The engine rejects
what is flagged ``empty`` or ``too_long``, treats ``prompt_injection`` as a reason to
distrust the turn (never to obey it), and stores and prompts with :attr:`InputInspection.redacted`
only: secrets deleted, identifiers masked.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Final, Literal

import yaml

from bot.guardrails.normalize import normalize
from bot.guardrails.pii import PiiFinding, apply_masks, find_pii

InputFlag = Literal["empty", "too_long", "invalid_characters", "prompt_injection", "pii", "secret"]

DEFAULT_MAX_CHARS: Final = 4000
TRUNCATION_MARK: Final = " […]"

# Bidirectional overrides reorder what a reader sees ("Trojan Source"); they have no place in chat.
_BIDI_CONTROLS: Final = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_KEPT_CONTROLS: Final = frozenset("\n\t")
_WHITESPACE: Final = re.compile(r"\s+")


@dataclass(frozen=True, slots=True, kw_only=True)
class InputInspection:
    """What :func:`inspect_input` found.

    Attributes:
        flags: the signals raised.
        length: characters in the message as received.
        clean_text: the message without control characters, bidi overrides and lone
            surrogates (line breaks normalised to ``\\n``); the text to process.
        redacted: ``clean_text`` with identifiers masked and secrets deleted: the only
            form that goes to logs, stores and LLM prompts. Cut to ``max_chars`` (with a
            mark) when the message is too long.
        findings: personal data in ``clean_text`` (offsets refer to it).
        injection_signals: names of the injection signals seen (``ignore_instructions``,
            ``reveal_prompt``, ``role_override``, ``developer_mode``, ``fake_system_block``,
            ``policy_bypass``).
        removed_characters: how many invalid characters were dropped.
    """

    flags: frozenset[InputFlag]
    length: int
    clean_text: str
    redacted: str
    findings: tuple[PiiFinding, ...]
    injection_signals: tuple[str, ...]
    removed_characters: int

    @property
    def is_rejected(self) -> bool:
        """Empty or over the size limit: the turn is not processed."""
        return "empty" in self.flags or "too_long" in self.flags

    @property
    def has_secret(self) -> bool:
        return "secret" in self.flags


def _is_invalid(char: str) -> bool:
    if char in _KEPT_CONTROLS:
        return False
    if char in _BIDI_CONTROLS or "\ud800" <= char <= "\udfff":
        return True
    category = unicodedata.category(char)
    return category == "Cc" or (category == "Cn" and (ord(char) & 0xFFFE) == 0xFFFE)


def _clean(text: str) -> tuple[str, int]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    kept = [c for c in text if not _is_invalid(c)]
    return "".join(kept), len(text) - len(kept)


@functools.cache
def _signals() -> tuple[tuple[str, re.Pattern[str]], ...]:
    raw = yaml.safe_load(
        (resources.files("bot.guardrails") / "signals" / "injection.yaml").read_text("utf-8")
    )
    signals = raw.get("signals") if isinstance(raw, Mapping) else None
    if not isinstance(signals, Mapping):
        raise ValueError("signals/injection.yaml: expected a 'signals' mapping")
    return tuple(
        (str(name), re.compile("|".join(f"(?:{p})" for p in patterns), re.I))
        for name, patterns in signals.items()
    )


def injection_signals(text: str) -> tuple[str, ...]:
    """Names of the prompt-injection signals in ``text`` (normalised, zero-width removed)."""
    lines = normalize(text).text  # line-anchored patterns (``SYSTEM:``) need the line breaks
    flat = _WHITESPACE.sub(" ", lines)
    return tuple(name for name, pattern in _signals() if pattern.search(flat) or pattern.search(lines))


def inspect_input(text: str, *, max_chars: int = DEFAULT_MAX_CHARS) -> InputInspection:
    """Flags for one customer message; ``max_chars`` is the service's size limit."""
    clean, removed = _clean(text)
    flags: set[InputFlag] = set()
    if removed:
        flags.add("invalid_characters")
    if not clean.strip():
        flags.add("empty")
    is_truncated = len(clean) > max_chars
    scanned = clean[:max_chars] if is_truncated else clean
    if is_truncated:
        flags.add("too_long")
    findings = tuple(find_pii(scanned))
    if findings:
        flags.add("pii")
    if any(f.is_secret for f in findings):
        flags.add("secret")
    signals = injection_signals(scanned)
    if signals:
        flags.add("prompt_injection")
    return InputInspection(
        flags=frozenset(flags),
        length=len(text),
        clean_text=clean,
        redacted=apply_masks(scanned, findings) + (TRUNCATION_MARK if is_truncated else ""),
        findings=findings,
        injection_signals=signals,
        removed_characters=removed,
    )

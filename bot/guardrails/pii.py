"""Personal data in chat text: find it, validate it, mask it.

Identifiers (card numbers, account numbers, resident IDs, phone numbers, e-mail) are
masked so that a person can still tell which one was meant (last four digits). Secrets
(CVV, card expiry, PIN, passwords, one-time codes) are deleted outright and replaced by
:data:`SECRET_TOKEN`: PCI DSS 3.3.1.2 forbids keeping them anywhere, logs included.

Detection is pattern + validation + context: a 16-digit run is a card number only if it
passes Luhn and fits a scheme's prefix (or sits next to a card word); an 18-character
run is a resident ID only with a valid GB 11643 check digit, province and birth date.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final, get_args

from bot.guardrails.authdata import SECRET_TOKEN, find_secrets
from bot.guardrails.checksums import (
    card_scheme,
    cn_mobile_valid,
    legacy_id_plausible,
    luhn_valid,
    resident_id_valid,
)
from bot.guardrails.detection import Candidate, PiiKind
from bot.guardrails.normalize import NormalizedText, normalize

PII_KINDS: Final[frozenset[str]] = frozenset(get_args(PiiKind))
SECRET_KINDS: Final[frozenset[str]] = frozenset({"cvv", "card_expiry", "pin", "password", "otp"})


@dataclass(frozen=True, slots=True, kw_only=True)
class PiiFinding:
    """One piece of personal data: where it is (original offsets) and what replaces it.

    The finding never holds the value itself, so it is safe to log.
    """

    kind: PiiKind
    start: int
    end: int
    masked: str
    is_validated: bool
    """True when a checksum, calendar or numbering-plan check confirmed the value."""

    @property
    def is_secret(self) -> bool:
        """Secrets are deleted irreversibly rather than masked."""
        return self.kind in SECRET_KINDS


@dataclass(frozen=True, slots=True, kw_only=True)
class Redaction:
    """The masked text and what was masked (offsets refer to the input text)."""

    text: str
    findings: tuple[PiiFinding, ...]

    @property
    def has_secret(self) -> bool:
        return any(f.is_secret for f in self.findings)

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(f.kind for f in self.findings)


# ---------------------------------------------------------------------------
# masks

CARD_MASK_PREFIX: Final = "**** **** **** "


def mask_card_number(pan: str) -> str:
    """``**** **** **** 1234``: the one mask for card and account numbers (last four kept)."""
    digits = re.sub(r"\D", "", normalize(pan).text)
    if len(digits) < 4:
        raise ValueError("a card number needs at least four digits to mask")
    return CARD_MASK_PREFIX + digits[-4:]


def _mask_id(value: str) -> str:
    return "*" * (len(value) - 4) + value[-4:].upper()


def _mask_email(local: str, domain: str) -> str:
    return f"{local[0]}***@{domain}"


# ---------------------------------------------------------------------------
# identifiers inside digit runs (cards, accounts, IDs)

# A run of digit groups joined by single spaces or dashes, optionally ending in an ID's X.
_RUN = re.compile(r"(?<!\d)\d+(?:[ -]\d+)*(?:[Xx](?![A-Za-z]))?")
_GROUP = re.compile(r"\d+")
_MASK_BEFORE = re.compile(r"(?:\*{4,}[ -]?|@[A-Za-z0-9.-]*)$")
_MASK_AFTER = re.compile(r"@|\*{3,}(?:\d|@)")
_CARD_CONTEXT = re.compile(
    r"卡号|信用卡|银行卡|借记卡|储蓄卡|卡片|card|visa|master ?card|union ?pay|银联|amex", re.I
)
_ACCOUNT_CONTEXT = re.compile(r"账号|账户|帐号|帐户|户号|卡号|银行卡|收款|account|acct|a/c|iban", re.I)
_ID_CONTEXT = re.compile(r"身份证|证件|身份号|(?<![a-z])id(?![a-z])|identity|resident", re.I)
_CONTEXT_BEFORE, _CONTEXT_AFTER = 24, 12
# Digits, masks and deleted values ("[redacted]" ends in "]") all end a context window.
_OTHER_NUMBER = re.compile(r"[\d*\]]")
_LAST_OTHER_NUMBER = re.compile(r"[\d*\]][^\d*\]]*$")

# Priorities: a stronger validation wins an overlap.
# A 15-digit legacy ID is only taken with an ID word next to it, so it outranks an Amex reading.
_P_ID, _P_CARD, _P_CARD_CONTEXT, _P_LEGACY_ID, _P_ACCOUNT = 30, 30, 20, 32, 10
# An address swallows any digits in its local part: its mask keeps only the first character.
_P_PHONE, _P_EMAIL = 5, 40


def _has_context(pattern: re.Pattern[str], text: str, start: int, end: int) -> bool:
    """A context word next to this number: the window stops at any other digit or mask.

    Stopping there keeps the decision the same before and after masking a neighbour,
    which is what makes redaction idempotent.
    """
    before = text[max(0, start - _CONTEXT_BEFORE) : start]
    last = _LAST_OTHER_NUMBER.search(before)
    before = before[last.start() + 1 :] if last else before
    after = text[end : end + _CONTEXT_AFTER]
    stop = _OTHER_NUMBER.search(after)
    after = after[: stop.start()] if stop else after
    return pattern.search(before + " " + after) is not None


def _run_candidates(norm: str, today: date) -> list[Candidate]:
    out: list[Candidate] = []
    for run in _RUN.finditer(norm):
        groups = [(m.start() + run.start(), m.end() + run.start()) for m in _GROUP.finditer(run.group())]
        has_x = run.group()[-1] in "Xx"
        # The visible ends of a mask ("**** **** **** 1234", "138****8000", "6***@x.cn") and the
        # local part of an address are not digits of a new number: redacting twice changes nothing.
        if _MASK_BEFORE.search(norm, max(0, run.start() - 255), run.start()):  # 255: a domain name
            groups = groups[1:]
        if _MASK_AFTER.match(norm, run.end()):
            groups, has_x = groups[:-1], False
        for i in range(len(groups)):
            length = 0
            for j in range(i, len(groups)):
                length += groups[j][1] - groups[j][0]
                if length > 19:
                    break
                if length < 13:
                    continue  # too short for a card, an account or an ID
                start, end = groups[i][0], groups[j][1]
                digits = "".join(norm[a:b] for a, b in groups[i : j + 1])
                with_x = has_x and j == len(groups) - 1
                out.extend(_classify(norm, digits, start, end + 1 if with_x else end, with_x, today))
    return out


def _classify(norm: str, digits: str, start: int, end: int, with_x: bool, today: date) -> list[Candidate]:
    """The readings of one digit sequence: resident ID, card or account number (context looked up lazily)."""
    out: list[Candidate] = []

    def context(pattern: re.Pattern[str]) -> bool:
        return _has_context(pattern, norm, start, end)

    if with_x:
        if len(digits) == 17 and resident_id_valid(digits + "X", today=today):
            priority = _P_ID + context(_ID_CONTEXT)
            out.append(Candidate("cn_resident_id", start, end, _mask_id(digits + "X"), True, priority))
        return out
    if len(digits) == 18 and resident_id_valid(digits, today=today):
        priority = _P_ID + context(_ID_CONTEXT)
        out.append(Candidate("cn_resident_id", start, end, _mask_id(digits), True, priority))
    if len(digits) == 15 and legacy_id_plausible(digits, today=today) and context(_ID_CONTEXT):
        out.append(Candidate("cn_resident_id", start, end, _mask_id(digits), False, _P_LEGACY_ID))
    if luhn_valid(digits):
        scheme = card_scheme(digits)
        card_context = context(_CARD_CONTEXT)
        if scheme is not None or card_context:
            priority = (_P_CARD if scheme else _P_CARD_CONTEXT) + card_context
            out.append(Candidate("card_number", start, end, mask_card_number(digits), True, priority))
            return out
    if len(digits) >= 16 and context(_ACCOUNT_CONTEXT):
        # Not a valid card: an account number (or a mistyped card number), masked all the same.
        out.append(Candidate("bank_account", start, end, mask_card_number(digits), False, _P_ACCOUNT))
    return out


# ---------------------------------------------------------------------------
# phones and e-mail

# A phone number stands alone: no digit, mask or deleted value right next to it (a masked
# neighbour was digits before redaction, so this keeps redaction idempotent).
_ALONE_BEFORE = r"(?<![\d+])(?<!\d[ .-])(?<!\*{3})(?<!\*{4}[ -])(?<!\[redacted\])(?<!\[redacted\][ -])"
_ALONE_AFTER = r"(?![ .-]?\d|[ .-]?\*{4}|\*{3}|@|[ .-]?\[redacted\])"
_CN_MOBILE = re.compile(
    _ALONE_BEFORE
    + r"(?P<cc>(?:\+|00)86[ -]?)?(?P<a>1[3-9]\d)[ -]?(?P<b>\d{4})[ -]?(?P<c>\d{4})"
    + _ALONE_AFTER
)
_CN_LANDLINE = re.compile(
    _ALONE_BEFORE
    + r"\(?(?P<area>0(?:10|2\d|[3-9]\d{2}))(?P<sep>\)\s?|[ -])?(?P<local>[2-9]\d{6,7})"
    + _ALONE_AFTER
)
_PHONE_CONTEXT = re.compile(r"电话|座机|固话|联系|tel|phone|call|landline|fax|传真", re.I)
_INTL = re.compile(
    r"(?<![\w+])" + _ALONE_BEFORE + r"\+(?P<cc>\d{1,3})(?P<rest>(?:[ .-]?\(?\d+\)?){2,6})" + _ALONE_AFTER
)
_NANP = re.compile(
    _ALONE_BEFORE
    + r"(?:\+?1[ .-]?)?(?:\((?P<a1>[2-9][0-8]\d)\)\s?|(?P<a2>[2-9][0-8]\d)[ .-])"
    + r"(?P<ex>[2-9]\d{2})[ .-](?P<line>\d{4})"
    + _ALONE_AFTER
)
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+*@-])(?<!\*{4}[ -])(?P<local>[A-Za-z0-9_%+-][A-Za-z0-9._%+-]{0,63})@"
    r"(?P<domain>[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24})(?![A-Za-z0-9*@+-])"
)


def _phone_candidates(norm: str) -> list[Candidate]:
    out: list[Candidate] = []
    for m in _CN_MOBILE.finditer(norm):
        digits = m["a"] + m["b"] + m["c"]
        if cn_mobile_valid(digits):
            prefix = "+86 " if m["cc"] else ""
            out.append(
                Candidate(
                    "cn_mobile",
                    m.start(),
                    m.end(),
                    f"{prefix}{digits[:3]}****{digits[-4:]}",
                    True,
                    _P_PHONE + 1,
                )
            )
    for m in _CN_LANDLINE.finditer(norm):
        area, local = m["area"], m["local"]
        valid_length = len(local) == 8 if len(area) == 3 else True
        if valid_length and (m["sep"] or _has_context(_PHONE_CONTEXT, norm, m.start(), m.end())):
            out.append(
                Candidate("cn_landline", m.start(), m.end(), f"{area}-****{local[-4:]}", True, _P_PHONE)
            )
    for m in _INTL.finditer(norm):
        digits = m["cc"] + re.sub(r"\D", "", m["rest"])
        if 8 <= len(digits) <= 15:
            out.append(
                Candidate("phone", m.start(), m.end(), f"+{m['cc']} ****{digits[-4:]}", False, _P_PHONE)
            )
    for m in _NANP.finditer(norm):
        if not m["ex"].endswith("11"):
            out.append(Candidate("phone", m.start(), m.end(), f"(***) ***-{m['line']}", True, _P_PHONE))
    return out


def _email_candidates(norm: str) -> list[Candidate]:
    return [
        Candidate("email", m.start(), m.end(), _mask_email(m["local"], m["domain"]), True, _P_EMAIL)
        for m in _EMAIL.finditer(norm)
    ]


# ---------------------------------------------------------------------------
# API


def _resolve(candidates: list[Candidate]) -> list[Candidate]:
    """Keep the strongest candidates that do not overlap (longer first on a tie).

    A secret that runs into a stronger finding keeps the part before it: that part is
    still deleted, so a second pass finds nothing new.
    """
    chosen: list[Candidate] = []
    for cand in sorted(candidates, key=lambda c: (-c.priority, -(c.end - c.start), c.start)):
        clashes = [c for c in chosen if cand.start < c.end and c.start < cand.end]
        if clashes and cand.masked == SECRET_TOKEN:
            cand = cand._replace(end=min(c.start for c in clashes))
            clashes = [c for c in chosen if cand.start < c.end and c.start < cand.end]
        if not clashes and cand.end > cand.start:
            chosen.append(cand)
    return sorted(chosen, key=lambda c: c.start)


def _today() -> date:
    return datetime.now(UTC).date()


def _find(norm: NormalizedText, today: date) -> list[PiiFinding]:
    text = norm.text
    candidates = [*_run_candidates(text, today), *_phone_candidates(text), *_email_candidates(text)]
    cards = [(c.start, c.end) for c in _resolve(candidates) if c.kind == "card_number"]
    candidates.extend(find_secrets(text, cards))
    findings = []
    for cand in _resolve(candidates):
        start, end = norm.span(cand.start, cand.end)
        findings.append(
            PiiFinding(
                kind=cand.kind,
                start=start,
                end=end,
                masked=cand.masked,
                is_validated=cand.is_validated,
            )
        )
    return findings


def find_pii(text: str, *, today: date | None = None) -> list[PiiFinding]:
    """Every piece of personal data in ``text``, in order; ``today`` bounds ID birth dates."""
    return _find(normalize(text), today or _today())


def redact(text: str, *, today: date | None = None) -> Redaction:
    """``text`` with identifiers masked and secrets deleted; idempotent on its own output."""
    findings = tuple(find_pii(text, today=today))
    return Redaction(text=apply_masks(text, findings), findings=findings)


def apply_masks(text: str, findings: Sequence[PiiFinding]) -> str:
    """``text`` with each finding (ordered, non-overlapping, offsets into ``text``) replaced by its mask."""
    pieces: list[str] = []
    cursor = 0
    for finding in findings:
        pieces.append(text[cursor : finding.start])
        pieces.append(finding.masked)
        cursor = finding.end
    pieces.append(text[cursor:])
    return "".join(pieces)


def contains_secret(text: str) -> bool:
    """Whether ``text`` holds a CVV, card expiry, PIN, password or one-time code."""
    return any(f.is_secret for f in find_pii(text))

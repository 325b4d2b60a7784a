"""Sensitive authentication data in text: CVV, card expiry, PIN, passwords, one-time codes.

None of these has a shape of its own (a CVV is any three digits), so each is found by
context: a value right after (or, for a CVV, right before) a word that names it, or in
the slots after a card number (``4111… 12/27 123``). Values are deleted, not masked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Final

from bot.guardrails.detection import Candidate, PiiKind

SECRET_TOKEN: Final = "[redacted]"
_P_SECRET: Final = 25

_CVV_TERM = re.compile(
    r"cvv2?|cvc2?|cvn2?|(?<![a-z])(?:cid|csc)(?![a-z])|card (?:security|verification) (?:code|value|number)"
    r"|security code|安全码|卡片验证码|(?:卡片?)?背(?:面|后)的?(?:后|末|最后)?[三3](?:位|个)(?:数字|数|码)?"
    r"|末[三3]位|(?:three|3)[- ]digits? (?:code )?on the back|3[- ]digit (?:security )?code|code on the back",
    re.I,
)
_AUTH_TERM = re.compile(
    r"(?P<otp>短信验证码|验证码|动态码|动态密码|校验码|一次性密码|(?<![a-z])otp(?![a-z])"
    r"|one[- ]time (?:pass(?:code|word)|code|pin)|verification code"
    r"|(?:sms|text|auth(?:entication)?|login|access|confirmation|6[- ]digit) code|(?:the|my|this) code)"
    r"|(?P<password>登录密码|网银密码|查询密码|password|passwd|passcode|(?<![a-z])pwd(?![a-z]))"
    r"|(?P<pin>取款密码|交易密码|支付密码|(?<![a-z])pin(?:码| code| number)?(?![a-z])|密码)",
    re.I,
)
_EXPIRY_TERM = re.compile(
    r"(?:有效期(?:至|到|是|为)?|(?<![a-z])exp(?:iry|iration)?(?: date)?(?![a-z])|expires?(?: on)?"
    r"|valid (?:thru|through|until))\s*:?\s*"
    r"(?P<value>(?:0[1-9]|1[0-2])\s?[/.-]\s?(?:20\d{2}|\d{2})(?!\d)|(?:20)?\d{2}\s?年\s?(?:0?[1-9]|1[0-2])\s?月)",
    re.I,
)
# What may sit between a card number and its expiry and CVV: "4111… 12/27 123", "4111…, exp 12/27, cvv 123".
_AFTER_CARD_EXPIRY = re.compile(
    r"[ ,;/]*(?:(?:exp(?:iry)?|有效期)\s*:?\s*)?"
    r"(?P<value>(?:0[1-9]|1[0-2])\s?/\s?(?:20\d{2}|\d{2}))(?![\d/])",
    re.I,
)
_AFTER_CARD_CVV = re.compile(r"[ ,;/]*(?:(?:cvv2?|cvc2?|安全码)\s*:?\s*)?(?P<value>\d{3,4})(?![ -]?\d)", re.I)

_SENTENCE_END = re.compile(r"[。!?\n]|\.(?:\s|$)")
_FIRST_VALUE = re.compile(r"\[redacted\]|\d+(?:[ -]\d+)*")
_UNIT_AFTER = re.compile(
    r"\s?(?:年|月|日|号|元|块|次|天|位|个|分|秒|小时|%|期|倍|times?|digits?|days?|yuan|min|sec|hours?|periods?"
    r"|months?|years?|attempts?|tries)",
    re.I,
)
_SUFFIX_BEFORE = re.compile(
    r"(?:尾号|末四位|后四位|末位|ending(?: in| with)?|ends? (?:in|with)|last (?:4|four)(?: digits)?)"
    r"\s*(?:是|为|:)?\s*$",
    re.I,
)
# A typed password: printable ASCII up to a space, CJK text or punctuation. Possessive, so a
# value that runs into a mask ("abc1****") is no value at all rather than a shorter one.
_CONNECTED_VALUE = re.compile(
    r"\s*(?:is|was|=|:|是|为)\s*(?P<value>[!#-&+\-.-:<-Z^-~]{4,32}+)(?![!#-&+\-.-:<-Z^-~*])", re.I
)
_CVV_BEFORE = re.compile(
    r"(?<![\d*])(?<!\d[ -])(?P<value>\d{3,4})"
    r"\s*(?:is|was|=|:|是|为|就是)?\s*(?:my|the|我的|卡的|卡片的)?\s*$",
    re.I,
)
_MASK_EDGE = re.compile(r"\*[ -]?$")
_MASK_AHEAD = re.compile(r"[ -]?\*")
_WINDOW = 20


def _window_end(text: str, start: int) -> int:
    """Where the search for a value after a term stops: 20 characters or the sentence end."""
    end = _SENTENCE_END.search(text, start, start + _WINDOW)
    return end.start() if end else min(len(text), start + _WINDOW)


def _is_bare_value(text: str, start: int, end: int) -> bool:
    """Digits standing alone: not glued to letters or a mask, no unit after, not a card suffix."""
    before, after = (text[start - 1] if start else ""), text[end : end + 1]
    if any(c.isascii() and c.isalpha() for c in before + after) or after == "@":
        return False  # glued to a word or an address: an identifier, not a code
    if _MASK_EDGE.search(text, max(0, start - 2), start) or _MASK_AHEAD.match(text, end):
        return False  # part of a mask such as 138****8000 or **** **** **** 1234
    if _UNIT_AFTER.match(text, end):
        return False
    return _SUFFIX_BEFORE.search(text[max(0, start - 12) : start]) is None


def _first_value(text: str, start: int, lengths: range) -> tuple[int, int] | None:
    """The first value after a term, if it is a lone run of the right length.

    Only the first number counts, and an already deleted value stops the search, so that
    redacting twice changes nothing.
    """
    first = _FIRST_VALUE.search(text, start, _window_end(text, start))
    if first is None:
        return None
    found = _FIRST_VALUE.match(text, first.start())  # the whole run, even past the window
    assert found is not None
    if found.group() == SECRET_TOKEN or not found.group().isdigit() or len(found.group()) not in lengths:
        return None
    value_start, value_end = found.span()
    return (value_start, value_end) if _is_bare_value(text, value_start, value_end) else None


def _cvv(text: str) -> Iterator[Candidate]:
    for term in _CVV_TERM.finditer(text):
        span = _first_value(text, term.end(), range(3, 5))
        if span is None and (
            before := _CVV_BEFORE.search(text, max(0, term.start() - _WINDOW), term.start())
        ):
            if _is_bare_value(text, before.start("value"), before.end("value")):
                span = (before.start("value"), before.end("value"))
        if span is not None:
            yield Candidate("cvv", span[0], span[1], SECRET_TOKEN, False, _P_SECRET)


def _auth_values(text: str) -> Iterator[Candidate]:
    for term in _AUTH_TERM.finditer(text):
        kind: PiiKind = "otp" if term["otp"] else "password" if term["password"] else "pin"
        if kind != "otp":
            connected = _CONNECTED_VALUE.match(text, term.end())
            if connected and _is_password(connected["value"]):
                value = connected["value"].rstrip(".!?")
                yield Candidate(
                    "password",
                    connected.start("value"),
                    connected.start("value") + len(value),
                    SECRET_TOKEN,
                    False,
                    _P_SECRET,
                )
                continue
        span = _first_value(text, term.end(), range(4, 9))
        if span is not None:
            yield Candidate(kind, span[0], span[1], SECRET_TOKEN, False, _P_SECRET)


def _is_password(value: str) -> bool:
    """A typed password: ASCII letters and digits (digits alone are PINs and codes), not "6digits"."""
    if value == SECRET_TOKEN or "****" in value or not value.isascii():
        return False
    if not any(c.isdigit() for c in value) or not any(c.isalpha() for c in value):
        return False
    return _UNIT_AFTER.match(value, len(value) - len(value.lstrip("0123456789"))) is None


def _expiry(text: str, card_spans: Sequence[tuple[int, int]]) -> Iterator[Candidate]:
    for m in _EXPIRY_TERM.finditer(text):
        yield Candidate("card_expiry", m.start("value"), m.end("value"), SECRET_TOKEN, True, _P_SECRET)
    for _, card_end in card_spans:
        cursor = card_end
        expiry = _AFTER_CARD_EXPIRY.match(text, cursor)
        if expiry:
            yield Candidate(
                "card_expiry", expiry.start("value"), expiry.end("value"), SECRET_TOKEN, True, _P_SECRET
            )
            cursor = expiry.end()
        cvv = _AFTER_CARD_CVV.match(text, cursor)
        if cvv and not _UNIT_AFTER.match(text, cvv.end()):
            yield Candidate("cvv", cvv.start("value"), cvv.end("value"), SECRET_TOKEN, False, _P_SECRET)


def find_secrets(text: str, card_spans: Sequence[tuple[int, int]]) -> list[Candidate]:
    """Secret values in normalised ``text``; ``card_spans`` are the card numbers found in it."""
    return [*_cvv(text), *_auth_values(text), *_expiry(text, card_spans)]

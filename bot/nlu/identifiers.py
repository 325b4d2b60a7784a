"""Digit strings that identify something rather than count money: card numbers, phones, last four.

Extractors blank these spans first, so ``尾号1234`` or a pasted card number never reads as an
amount, a date or a period count.
"""

from __future__ import annotations

import re
from typing import Final

_LAST4: Final = re.compile(
    r"(?:尾号|尾数|末四位|后四位|末4位|后4位|卡尾)\s*(?:是|为|:)?\s*(?P<a>\d{4})(?!\d)"
    r"|(?<![a-z])end(?:ing|s)?\s*(?:in|with|on)?\s*:?\s*(?P<b>\d{4})(?!\d)"
    r"|(?<![a-z])last\s*(?:four|4)\s*(?:digits?)?\s*(?:are|is|of|being|=)?\s*:?\s*(?P<c>\d{4})(?!\d)"
    r"|(?:\*|x){2,}\s?(?P<d>\d{4})(?!\d)"
)

# Long identifiers. Only separated groups of known shapes count, so "100 200 300 400" stays four numbers.
_LONG_NUMBER: Final = re.compile(
    r"(?<!\d)(?:"
    r"\d{4}(?:[ -]\d{4}){2,3}(?:[ -]?\d{1,3})?"  # card number in groups of four
    r"|1\d{2}[ -]\d{4}[ -]\d{4}"  # mobile 3-4-4
    r"|0\d{2,3}-\d{7,8}"  # landline with area code
    r"|[48]00-?\d{3}-?\d{4}"  # 400/800 service numbers
    r"|\d{17}[\dx]"  # resident ID number
    r"|\d{11,}"  # any other long run: account, card or phone number
    r")(?!\d)"
)

CARD_NUMBER: Final = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
"""13 to 19 digits, optionally separated by single spaces or dashes."""


def find_last4(text: str) -> tuple[str | None, tuple[tuple[int, int], ...]]:
    """The card's last four digits when the customer names them (尾号1234, ending 1234), and spans."""
    found: str | None = None
    spans: list[tuple[int, int]] = []
    for match in _LAST4.finditer(text):
        digits = next(group for group in match.groups() if group)
        found = found or digits
        spans.append(match.span())
    return found, tuple(spans)


def find_long_numbers(text: str) -> tuple[tuple[int, int], ...]:
    """Spans of card, phone, ID and account numbers."""
    return tuple(match.span() for match in _LONG_NUMBER.finditer(text))


def luhn_ok(digits: str) -> bool:
    """Whether a digit string passes the Luhn checksum card numbers carry."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def contains_card_number(text: str) -> bool:
    """Whether ``text`` holds something that looks like a full card number.

    A Luhn-valid run of 13-19 digits counts, and so does any run of 16-19 digits: a customer
    mistyping one digit of their card number has still pasted it.
    """
    for match in CARD_NUMBER.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if luhn_ok(digits) or 16 <= len(digits) <= 19:
            return True
    return False

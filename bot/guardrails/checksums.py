"""Validation behind the PII detectors: Luhn, card-scheme prefixes, GB 11643 IDs, CN phone segments.

A bare regex over digits flags order numbers and timestamps; these checks are what
makes a finding a card number, an ID or a phone number.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final

# (prefix range low, high, allowed lengths) per scheme, from the schemes' public IIN tables.
_SCHEMES: Final[tuple[tuple[str, int, int, frozenset[int]], ...]] = (
    ("visa", 4, 4, frozenset({13, 16, 19})),
    ("mastercard", 51, 55, frozenset({16})),
    ("mastercard", 2221, 2720, frozenset({16})),
    ("amex", 34, 34, frozenset({15})),
    ("amex", 37, 37, frozenset({15})),
    ("discover", 6011, 6011, frozenset(range(16, 20))),
    ("discover", 644, 649, frozenset(range(16, 20))),
    ("discover", 65, 65, frozenset(range(16, 20))),
    ("jcb", 3528, 3589, frozenset(range(16, 20))),
    ("diners", 300, 305, frozenset(range(14, 20))),
    ("diners", 36, 36, frozenset(range(14, 20))),
    ("diners", 38, 39, frozenset(range(14, 20))),
    ("unionpay", 62, 62, frozenset(range(16, 20))),
    ("unionpay", 81, 81, frozenset(range(16, 20))),
    ("maestro", 50, 50, frozenset(range(12, 20))),
    ("maestro", 56, 59, frozenset(range(12, 20))),
    ("maestro", 67, 67, frozenset(range(12, 20))),
    ("mir", 2200, 2204, frozenset(range(16, 20))),
)

# GB/T 2260 province-level codes: the first two digits of a resident ID.
CN_PROVINCE_CODES: Final = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
     50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83, 91}
)  # fmt: skip

_ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS: Final = "10X98765432"

# MIIT mobile segments (13x, 145-149, 150-153/155-159, 162/165-167, 170-178, 18x, 190-193/195-199).
_CN_MOBILE_PREFIX: Final = re.compile(r"1(?:3\d|4[5-9]|5[0-35-9]|6[2567]|7[0-8]|8\d|9[0-35-9])")


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check over a string of digits."""
    if not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def luhn_check_digit(body: str) -> str:
    """The digit that makes ``body + digit`` Luhn-valid."""
    for digit in "0123456789":
        if luhn_valid(body + digit):
            return digit
    raise AssertionError("unreachable: one of ten digits always completes a Luhn number")


def card_scheme(digits: str) -> str | None:
    """The card scheme whose IIN range and length fit ``digits``, else ``None``."""
    for name, low, high, lengths in _SCHEMES:
        width = len(str(low))
        if len(digits) in lengths and low <= int(digits[:width]) <= high:
            return name
    return None


def id_check_char(body17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits of a resident ID."""
    total = sum(int(d) * w for d, w in zip(body17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


def birth_date(year: int, month: int, day: int, *, today: date) -> date | None:
    """The birth date if it is a real calendar date from 1900 up to ``today``."""
    if year < 1900:
        return None
    try:
        born = date(year, month, day)
    except ValueError:
        return None
    return born if born <= today else None


def resident_id_valid(value: str, *, today: date) -> bool:
    """A checksum-valid 18-character CN resident ID with a real birth date and province."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    if int(value[:2]) not in CN_PROVINCE_CODES:
        return False
    if birth_date(int(value[6:10]), int(value[10:12]), int(value[12:14]), today=today) is None:
        return False
    return id_check_char(value[:17]) == value[17].upper()


def legacy_id_plausible(value: str, *, today: date) -> bool:
    """A 15-digit pre-1999 ID: province and a 19yy birth date (it has no check digit)."""
    if len(value) != 15 or not value.isdigit() or int(value[:2]) not in CN_PROVINCE_CODES:
        return False
    return birth_date(1900 + int(value[6:8]), int(value[8:10]), int(value[10:12]), today=today) is not None


def cn_mobile_valid(digits: str) -> bool:
    """An 11-digit number in an allocated CN mobile segment."""
    return len(digits) == 11 and _CN_MOBILE_PREFIX.match(digits) is not None

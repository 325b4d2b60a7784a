"""Hypothesis strategies for valid and nearly valid personal data, and shared settings."""

from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from bot.guardrails.checksums import CN_PROVINCE_CODES, id_check_char, luhn_check_digit

# Deterministic: the same examples on every run, no example database on disk.
DETERMINISTIC = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=150,
    suppress_health_check=[HealthCheck.too_slow],
)

# (IIN prefix range, lengths) for the schemes a customer is likely to paste.
_SCHEMES: tuple[tuple[int, int, tuple[int, ...]], ...] = (
    (4, 4, (13, 16, 19)),
    (51, 55, (16,)),
    (2221, 2720, (16,)),
    (34, 34, (15,)),
    (37, 37, (15,)),
    (6011, 6011, (16,)),
    (3528, 3589, (16,)),
    (62, 62, (16, 17, 18, 19)),
    (36, 36, (14,)),
)

# Text around a number: no digits, so any digit in the output came from the number.
CONTEXT_BEFORE = ("", "我的卡号是", "card: ", "请帮我查一下 ", "number ", "卡 ", "my card is ")
CONTEXT_AFTER = ("", "，谢谢", " thanks", "。", ", please check", "?")


@st.composite
def pans(draw: st.DrawFn) -> str:
    """A Luhn-valid card number with a real scheme prefix, digits only."""
    low, high, lengths = draw(st.sampled_from(_SCHEMES))
    prefix = str(draw(st.integers(low, high)))
    length = draw(st.sampled_from(lengths))
    body = prefix + "".join(
        draw(
            st.lists(
                st.sampled_from("0123456789"),
                min_size=length - len(prefix) - 1,
                max_size=length - len(prefix) - 1,
            )
        )
    )
    return body + luhn_check_digit(body)


def group(digits: str, separator: str, size: int = 4) -> str:
    """``digits`` in groups of ``size`` joined by ``separator``."""
    return separator.join(digits[i : i + size] for i in range(0, len(digits), size))


@st.composite
def formatted_pans(draw: st.DrawFn) -> tuple[str, str]:
    """``(digits, as typed)``: plain, or grouped by four with spaces or dashes."""
    digits = draw(pans())
    separator = draw(st.sampled_from(["", " ", "-"]))
    return digits, group(digits, separator) if separator else digits


@st.composite
def near_miss_pans(draw: st.DrawFn) -> str:
    """A valid card number with one digit changed: Luhn catches every single-digit error."""
    digits = draw(pans())
    i = draw(st.integers(0, len(digits) - 1))
    new = draw(st.sampled_from([d for d in "0123456789" if d != digits[i]]))
    return digits[:i] + new + digits[i + 1 :]


def resident_id(region: str, born: date, sequence: int) -> str:
    """A GB 11643 ID with the right check character."""
    body = f"{region}{born:%Y%m%d}{sequence:03d}"
    return body + id_check_char(body)


@st.composite
def resident_ids(draw: st.DrawFn) -> str:
    """A valid 18-character resident ID: real province, real past birth date, computed check."""
    province = draw(st.sampled_from(sorted(CN_PROVINCE_CODES)))
    region = f"{province:02d}{draw(st.integers(0, 9999)):04d}"
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)))
    return resident_id(region, born, draw(st.integers(0, 999)))


_MOBILE_PREFIXES = (
    [f"13{d}" for d in range(10)]
    + [f"14{d}" for d in range(5, 10)]
    + [f"15{d}" for d in "012356789"]
    + ["162", "165", "166", "167"]
    + [f"17{d}" for d in range(9)]
    + [f"18{d}" for d in range(10)]
    + [f"19{d}" for d in "012356789"]
)


@st.composite
def cn_mobiles(draw: st.DrawFn) -> tuple[str, str]:
    """``(11 digits, as typed)``: plain, 3-4-4 with spaces or dashes, with or without +86/0086."""
    prefix = draw(st.sampled_from(_MOBILE_PREFIXES))
    rest = "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=8, max_size=8)))
    digits = prefix + rest
    separator = draw(st.sampled_from(["", " ", "-"]))
    typed = f"{digits[:3]}{separator}{digits[3:7]}{separator}{digits[7:]}"
    country = draw(st.sampled_from(["", "+86 ", "+86", "0086 "]))
    return digits, country + typed

"""Text normalisation shared by every extractor and the classifier."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
# Punctuation NFKC leaves in its CJK form, mapped to the ASCII the patterns use.
_CJK_PUNCT = str.maketrans(
    {
        "。": ".",
        "、": ",",
        "～": "~",
        "【": "[",
        "】": "]",
        "《": "<",
        "》": ">",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
    }
)


def fold(text: str) -> str:
    """Full-width to half-width (NFKC), CJK punctuation to ASCII, single spaces; case kept."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text).translate(_CJK_PUNCT)).strip()


def normalize(text: str) -> str:
    """``fold`` and lower case: ``"￥１２，０００。"`` becomes ``"¥12,000."``.

    The length may change, so extractors work on normalised text throughout.
    """
    return fold(text).lower()


def is_cjk(char: str) -> bool:
    """Whether ``char`` is a CJK unified ideograph (the scripts Chinese text is written in)."""
    code = ord(char)
    return 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF


def blank(text: str, start: int, end: int) -> str:
    """``text`` with ``[start, end)`` replaced by spaces, so later patterns skip a consumed span."""
    return text[:start] + " " * (end - start) + text[end:]

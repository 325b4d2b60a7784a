"""Language by script: Chinese characters against Latin words, with code-switching detected."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from bot.nlu.models import Language
from bot.nlu.normalization import is_cjk

_LATIN_WORD: Final = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
# One Latin word carries about as much as 1.5 Chinese characters (an average Chinese word's length).
_CHARS_PER_WORD: Final = 1.5
# All-caps acronyms that Chinese text uses as loanwords; they do not make a turn mixed.
_LOANWORDS: Final = frozenset(
    "atm app pin cvv cvv2 pos vip ok apr id sms otp qr visa etc wifi ipad iphone nfc cny rmb".split()
)


def detect_language(text: str, hint: str = "zh") -> tuple[Language, bool]:
    """``(language, is_mixed)`` of a customer turn.

    The dominant script wins (``"我的credit card丢了"`` -> ``("zh", True)``). A turn with no
    letters at all (digits, emoji, punctuation) takes the locale hint (``"zh-CN"`` -> zh).
    """
    folded = unicodedata.normalize("NFKC", text)
    cjk = sum(1 for char in folded if is_cjk(char))
    words = _LATIN_WORD.findall(folded)
    fallback: Language = "en" if hint.lower().startswith("en") else "zh"
    if not cjk and not words:
        return fallback, False
    latin_weight = len(words) * _CHARS_PER_WORD
    language: Language = "zh" if cjk >= latin_weight else "en"
    content_words = [w for w in words if w.lower() not in _LOANWORDS and len(w) > 1]
    is_mixed = bool(cjk) and bool(content_words)
    return language, is_mixed

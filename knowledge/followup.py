"""Follow-up questions: "那白金卡呢？", "and for platinum?", "what about 24 months?".

Such a question names only what changed (a tier, a number of periods) and leans on the
previous question for its topic. It is rewritten as the previous question, minus the
slots the follow-up replaces, plus the follow-up itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from knowledge.keyword import normalize

# Slots a follow-up typically swaps: card tiers and numbers (periods, amounts, days).
_TIER = re.compile(
    r"白金卡|白金|钻石卡|钻石|金卡|普卡|普通卡|经典卡|\b(?:platinum|diamond|gold|classic)\b(?:\s+(?:card|tier))?"
)
_NUMBER = re.compile(
    r"[¥￥]?\s*\d[\d,.]*\s*(?:[-\s]?(?:months?|periods?|installments?|instalments?|days?|years?|yuan|rmb)\b"
    r"|个月|期|天|年|元|块|万)?"
)
_OPENERS_ZH = ("那", "还有", "要是", "如果是", "换成", "改成", "那么")
_OPENERS_EN = ("and ", "what about", "how about", "same for", "what if", "and for", "also for", "for the ")
_CLOSERS = ("呢", "呢?", "呢？")
_CJK = re.compile(r"[\u3400-\u9fff]")
_WORD = re.compile(r"[a-z]+")
_FILLER = re.compile(
    r"^(?:那|还有|要是|如果是|换成|改成|那么|and|what|how|about|same|for|if|also|the|a|my|呢|吗|的|卡|card|tier|one|is|it)$"
)


def is_follow_up(query: str) -> bool:
    """Whether ``query`` only makes sense together with the previous question."""
    q = normalize(query).strip(" ?？!！。.,，")
    if not q:
        return False
    rest = _NUMBER.sub(" ", _TIER.sub(" ", q))
    cjk = len(_CJK.findall(rest))
    words = [w for w in _WORD.findall(rest) if not _FILLER.match(w)]
    content = cjk - sum(rest.count(ch) for ch in "那呢吗的还有要是如果换成改么卡") + len(words)
    opens = q.startswith(_OPENERS_ZH) or q.startswith(_OPENERS_EN) or q.endswith(_CLOSERS)
    swaps = bool(_TIER.search(q) or _NUMBER.search(q))
    return (opens and content <= 4) or (swaps and content <= 1)


def rewrite(query: str, history: Sequence[str]) -> str:
    """``query`` merged with the topic of the last earlier question when it is a follow-up, else unchanged."""
    if not history or not is_follow_up(query):
        return query
    base = _topic(history)
    if not base:
        return query
    if _TIER.search(normalize(query)):
        base = _TIER.sub(" ", normalize(base))
    if _NUMBER.search(normalize(query)):
        base = _NUMBER.sub(" ", normalize(base))
    return f"{' '.join(base.split())} {query}"


def _topic(history: Sequence[str]) -> str:
    """The latest earlier question that stands on its own, with any follow-ups after it."""
    collected: list[str] = []
    for message in reversed(history[-4:]):
        collected.append(message)
        if not is_follow_up(message):
            break
    return " ".join(reversed(collected)) if collected else ""

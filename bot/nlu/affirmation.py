"""Yes/no: a turn read as the answer to a confirmation question.

Only the first clause counts. Strong words (好的, 确认, 不用了, yes, nope) answer whatever
follows them ("好的帮我冻结"); weak ones (好, 对, 可以, 取消, right, cancel) answer only when
they stand alone or with a particle, so "可以帮我查账单吗" and "取消自动还款" are not answers.
A question ("可以吗?", "ok?") or hedging ("不知道", "not sure") is no answer: None.
"""

from __future__ import annotations

import re
from typing import Final

_CLAUSE_END: Final = re.compile(r"[,.!?;~…:]+")
_ZH_PARTICLE: Final = r"(?:[的啊吧呀嘞滴哒了哦嗯噢呗])*"
_EN_TAIL: Final = r"(?:\s+(?:it|that|this|please|thanks|thank you|then|sir|mate))*"

_NO_ANSWER: Final = re.compile(
    r"^(?:不好意思|对不起|对了|不客气|不知道|不确定|不清楚|不一定|没事吧|好像|好多|好久|是不是|行不行|好不好|对不对|要不要|"
    r"可不可以|能不能|别的|别人|别处|再想想|考虑一下|让我想想|也许|可能|"
    r"not sure|no idea|don't know|dont know|i'm not sure|maybe|perhaps|let me think|hmm+|no clue)(?![a-z])"
)
_STRONG_YES: Final = re.compile(
    r"^(?:没问题|没有问题|好的|好嘞|好滴|好哒|好啊|好吧|行吧|行的|确认|确定|是的|是啊|对的|对啊|没错|同意|当然|嗯嗯|恩恩|"
    r"ok|okay|okey|yes|yeah|yep|yup|yess+|sure|certainly|absolutely|definitely|of course|go ahead|"
    r"please do|do it|confirm|confirmed|sounds good|that's right|that is right|correct|alright|all right|"
    r"no problem|no worries)(?![a-z])"
)
_WEAK_YES: Final = re.compile(
    rf"^(?:好|行|对|是|嗯|恩|可以|要|需要|继续|办吧)({_ZH_PARTICLE})$"
    rf"|^(?:right|fine|yea|ya|k|kk|agreed|proceed|continue)({_EN_TAIL})$"
)
_STRONG_NO: Final = re.compile(
    r"^(?:不用了|不用|不要了|不要|不需要|不必|先不|暂时不|还是不|算了|别(?!的|人|处)|"
    r"不行|不可以|不是|不对|不好|否|no|nope|nah|no thanks|no thank you|not now|not yet|don't|do not|"
    r"never ?mind|negative|not really)(?![a-z])"
)
_WEAK_NO: Final = re.compile(
    rf"^(?:不|没有|没|取消|停)({_ZH_PARTICLE})$|^(?:cancel|stop|wrong|incorrect|hold on|wait)({_EN_TAIL})$"
)
_QUESTION_END: Final = re.compile(r"(?:吗|么|呢|嘛)\s*$")


def read_affirmation(normalized: str) -> bool | None:
    """True for yes, False for no, None when the turn is not a yes/no answer."""
    text = normalized.strip()
    head = _CLAUSE_END.split(text, maxsplit=1)[0]
    clause = head.strip()
    if not clause or _NO_ANSWER.match(clause):
        return None
    is_question = bool(_QUESTION_END.search(clause)) or text[len(head) : len(head) + 1] == "?"
    if is_question:
        return None
    if _STRONG_YES.match(clause) or _WEAK_YES.match(clause):
        return True
    if _STRONG_NO.match(clause) or _WEAK_NO.match(clause):
        return False
    return None

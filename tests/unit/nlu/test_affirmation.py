"""Yes/no answers to confirmation questions."""

from __future__ import annotations

import pytest

from bot.nlu.affirmation import read_affirmation
from bot.nlu.normalization import normalize

YES = [
    "好的",
    "好",
    "可以",
    "行",
    "没问题",
    "确认",
    "是的",
    "对",
    "嗯",
    "嗯嗯好的",
    "好的帮我冻结",
    "确定，冻结吧",
    "yes",
    "Yep",
    "sure",
    "OK",
    "okay!",
    "confirm",
    "go ahead",
    "Yes, freeze it",
    "yes please",
    "No problem",
    "that's right",
]
NO = [
    "不用",
    "不用了，谢谢",
    "不要",
    "算了",
    "取消",
    "不",
    "不是",
    "别冻结",
    "先不要",
    "no",
    "nope",
    "cancel",
    "don't",
    "no thanks",
    "not now",
    "Cancel it",
    "never mind",
]
NEITHER = [
    "可以分期吗",
    "可以吗？",
    "ok?",
    "取消自动还款",
    "不好意思",
    "对不起",
    "对了，我想问年费",
    "好多钱",
    "别的问题",
    "不知道",
    "not sure",
    "maybe",
    "How do I pay my bill?",
    "是我",
    "是不是要收费",
    "我想查账单",
]


@pytest.mark.parametrize("text", YES)
def test_affirmation_yes(text: str) -> None:
    assert read_affirmation(normalize(text)) is True


@pytest.mark.parametrize("text", NO)
def test_affirmation_no(text: str) -> None:
    assert read_affirmation(normalize(text)) is False


@pytest.mark.parametrize("text", NEITHER)
def test_affirmation_none_for_questions_hedges_and_requests(text: str) -> None:
    assert read_affirmation(normalize(text)) is None

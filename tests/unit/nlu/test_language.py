"""Language by script, code-switching, and the locale hint for text with no letters."""

from __future__ import annotations

import pytest

from bot.nlu import detect_language


@pytest.mark.parametrize(
    ("text", "hint", "expected"),
    [
        ("我的信用卡丢了", "en", ("zh", False)),
        ("I lost my credit card", "zh", ("en", False)),
        ("我的credit card丢了", "en", ("zh", True)),
        ("帮我check一下bill", "en", ("zh", True)),
        ("我想分期 installment 一下", "en", ("zh", True)),
        ("can I use my 白金卡 abroad", "zh", ("en", True)),
        ("我要用ATM取钱", "en", ("zh", False)),
        ("PIN码忘了", "en", ("zh", False)),
        ("👍👍", "en", ("en", False)),
        ("？？？", "zh-CN", ("zh", False)),
        ("0", "en-US", ("en", False)),
        ("12000", "zh", ("zh", False)),
        ("", "en", ("en", False)),
        ("ｈｅｌｌｏ", "zh", ("en", False)),
    ],
)
def test_language_detection(text: str, hint: str, expected: tuple[str, bool]) -> None:
    assert detect_language(text, hint) == expected

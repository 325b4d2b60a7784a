"""Agent text reaches a customer's screen: the agent protocol refuses control characters in it."""

from __future__ import annotations

import pytest

from handoff.protocol import FrameError, HandbackFrame, MessageFrame, NoteFrame, parse_client_frame


@pytest.mark.parametrize("bad", ["退款\x00已处理", "ok\x1b[31m", "bell\x07", "\x7fdel", "half \ud800 pair"])
@pytest.mark.parametrize("kind", ["message", "note"])
def test_control_characters_in_agent_text_are_refused_with_a_clear_error(kind: str, bad: str) -> None:
    with pytest.raises(FrameError) as err:
        parse_client_frame({"type": kind, "conversation_id": "c_1", "text": bad})
    assert err.value.code == "bad_frame"
    assert "characters" in str(err.value) or "valid string" in str(err.value)


def test_a_handback_note_with_control_characters_is_refused() -> None:
    with pytest.raises(FrameError):
        parse_client_frame({"type": "handback", "conversation_id": "c_1", "note": "done\x00"})


def test_line_breaks_and_tabs_are_kept() -> None:
    text = "您好：\n1. 退款已提交\t3个工作日内到账\r\n"
    frame = parse_client_frame({"type": "message", "conversation_id": "c_1", "text": text})
    assert isinstance(frame, MessageFrame) and frame.text == text.strip()
    note = parse_client_frame({"type": "note", "conversation_id": "c_1", "text": "客户已核实\t无需回电"})
    assert isinstance(note, NoteFrame)
    back = parse_client_frame({"type": "handback", "conversation_id": "c_1", "note": "已解决\n请继续"})
    assert isinstance(back, HandbackFrame) and back.note == "已解决\n请继续"

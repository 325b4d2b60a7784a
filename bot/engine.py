"""The turn engine: understand → decide → respond → guard. (Foundation version.)"""

from __future__ import annotations

from typing import Any

from bot.conversations import Turn, TurnOutput

GREETING = {
    "zh": "您好，我是明光银行信用卡智能助手（AI），收到您的消息了：{text}",
    "en": "Hello, I'm Lumen Bank's credit-card assistant (AI). I received your message: {text}",
}


def guess_language(text: str, locale: str) -> str:
    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    if cjk == latin == 0:
        return "zh" if locale.startswith("zh") else "en"
    return "zh" if cjk >= latin / 3 else "en"


class ChatEngine:
    """Answers every turn through the one pipeline the full engine fills in."""

    async def handle(self, turn: Turn, out: TurnOutput) -> None:
        lang = guess_language(turn.input.text, turn.locale)
        turn.state.language = lang  # type: ignore[assignment]
        turn.state.turns += 1
        await out.message(GREETING[lang].format(text=turn.input.text[:200]))

    def understand_json(self, text: str, locale: str) -> dict[str, Any]:
        return {"language": guess_language(text, locale), "intent": None, "confidence": 0.0, "slots": {}}

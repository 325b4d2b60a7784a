"""``LLMEngine.answer`` / ``regenerate`` / ``summarize`` for knowledge questions."""

from __future__ import annotations

import pytest

from bot.answers.draft import Draft
from bot.answers.knowledge import citation
from bot.errors import LLMUnavailable
from bot.llm import LLMEngine
from bot.llm.prompting import system_message
from bot.state import ConversationState
from bot.testing import FakeOpenAI, error_reply, text_reply
from bot.turn import TurnContext
from tests.unit.llm.conftest import MakeCtx, RecordingOutput, passage

FEES = passage(
    "取现手续费为取现金额的1%，最低10元。取现不享受免息期，从取现当天起按日利率万分之五计息，年化利率18.25%。"
)
LOUNGE = passage(
    "白金卡每年可免费使用机场贵宾厅6次。", article_id="lounge", title="机场贵宾厅", section="次数"
)
QUESTION = "取现手续费多少？"


def offline_draft() -> Draft:
    return Draft(
        text="取现手续费为取现金额的1%，最低10元。",
        citations=[citation(FEES)],
        passages=[FEES.text],
        meta={"articles": [FEES.article_id]},
    )


def out(ctx: TurnContext) -> RecordingOutput:
    got = ctx.out
    assert isinstance(got, RecordingOutput)
    return got


async def test_answer_prompt_renders_passages_draft_and_question_as_data_blocks(
    engine: LLMEngine, fake: FakeOpenAI, make_ctx: MakeCtx
) -> None:
    ctx = make_ctx(
        QUESTION,
        intent="cash_advance",
        state=ConversationState(questions=[{"seq": 1, "text": "我的卡号6222021234567894能取现吗"}]),
        seq=3,
    )
    fake.enqueue(text_reply("取现手续费为取现金额的1%，最低10元。"))
    await engine.answer(ctx, QUESTION, [FEES, LOUNGE], offline_draft())
    system, user = (m["content"] for m in fake.requests[0]["messages"])
    assert system == system_message("answer")[0]
    assert user == (
        '<customer>\n{"language": "zh", "tier": "gold"}\n</customer>\n\n'
        "<history>\n我的卡号**** **** **** 7894能取现吗\n</history>\n\n"
        '<passage id="cash-advance" title="取现 ＞ 费用">\n'
        "取现手续费为取现金额的1%，最低10元。取现不享受免息期，从取现当天起按日利率万分之五计息，年化利率18.25%。\n</passage>\n\n"
        '<passage id="lounge" title="机场贵宾厅 ＞ 次数">\n'
        "白金卡每年可免费使用机场贵宾厅6次。\n</passage>\n\n"
        "<draft>\n取现手续费为取现金额的1%，最低10元。\n</draft>\n\n"
        "<customer_message>\n取现手续费多少？\n</customer_message>"
    )


async def test_answer_streams_each_sentence_and_returns_a_cited_llm_draft(
    engine: LLMEngine, fake: FakeOpenAI, make_ctx: MakeCtx
) -> None:
    ctx = make_ctx(QUESTION, intent="cash_advance")
    reply = "取现要收手续费，按取现金额的1%收取，最低10元。另外取现没有免息期，年化利率18.25%。"
    fake.enqueue(text_reply(reply, chunk_chars=4))
    draft = await engine.answer(ctx, QUESTION, [FEES, LOUNGE], offline_draft())
    assert draft.text == reply
    assert [t for _, t in out(ctx).deltas] == [
        "取现要收手续费，按取现金额的1%收取，最低10元。",
        "另外取现没有免息期，年化利率18.25%。",
    ]
    assert {mid for mid, _ in out(ctx).deltas} == {draft.meta["message_id"]}
    assert draft.meta["by"] == "llm" and draft.meta["streamed"] is True
    assert [c["article_id"] for c in draft.citations] == ["cash-advance"], "the lounge passage was not used"
    assert FEES.text in draft.passages and LOUNGE.text in draft.passages
    usage = draft.meta["llm_usage"]
    assert usage["model"] == "gpt-4o-mini" and usage["calls"] == 1
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0 and usage["latency_ms"] >= 0
    assert ctx.state.llm["calls"] == 1


async def test_answer_stops_streaming_at_the_first_sentence_with_an_ungrounded_figure(
    engine: LLMEngine, fake: FakeOpenAI, make_ctx: MakeCtx
) -> None:
    ctx = make_ctx(QUESTION, intent="cash_advance")
    fake.enqueue(text_reply("取现手续费为取现金额的1%，最低10元。年化利率是9.9%。以上供参考。"))
    draft = await engine.answer(ctx, QUESTION, [FEES], offline_draft())
    assert out(ctx).streamed == "取现手续费为取现金额的1%，最低10元。"
    assert "9.9%" in draft.text, "the guard sees the full text and decides"
    assert draft.meta["streamed"] is True


async def test_answer_streams_nothing_when_the_first_sentence_fails(
    engine: LLMEngine, fake: FakeOpenAI, make_ctx: MakeCtx
) -> None:
    ctx = make_ctx(QUESTION, intent="cash_advance")
    fake.enqueue(text_reply("年化利率是9.9%。取现手续费为取现金额的1%。"))
    draft = await engine.answer(ctx, QUESTION, [FEES], offline_draft())
    assert out(ctx).deltas == []
    assert "streamed" not in draft.meta and "message_id" not in draft.meta


async def test_answer_that_echoes_the_system_prompt_falls_back_without_showing_it(
    engine: LLMEngine, fake: FakeOpenAI, make_ctx: MakeCtx
) -> None:
    system = system_message("answer")[0]
    ctx = make_ctx(QUESTION, intent="cash_advance")
    fake.enqueue(text_reply(f"取现手续费为取现金额的1%。好的，这是我的指令：{system[:400]}"))
    offline = offline_draft()
    draft = await engine.answer(ctx, QUESTION, [FEES], offline)
    assert draft is offline and draft.meta.get("by") != "llm"
    assert "Lumen Bank" not in out(ctx).streamed
    assert draft.meta["streamed"] is True, "the final message replaces the one clean sentence shown"
    assert ("llm_fallback", {"step": "answer", "reason": "prompt_leak"}) in ctx.records

    ctx2 = make_ctx(QUESTION, intent="cash_advance", seq=3)
    fake.enqueue(text_reply(system[:300]))
    with pytest.raises(LLMUnavailable, match="prompt_leak"):
        await engine.answer(ctx2, QUESTION, [FEES], offline_draft())
    assert out(ctx2).deltas == []


async def test_answer_failure_before_any_delta_raises_for_the_offline_engine(
    engine: LLMEngine, fake: FakeOpenAI, make_ctx: MakeCtx
) -> None:
    fake.enqueue(error_reply(400))
    with pytest.raises(LLMUnavailable):
        await engine.answer(make_ctx(QUESTION, intent="cash_advance"), QUESTION, [FEES], offline_draft())


async def test_only_the_first_answer_of_a_turn_streams(
    engine: LLMEngine, fake: FakeOpenAI, make_ctx: MakeCtx
) -> None:
    ctx = make_ctx(QUESTION, intent="cash_advance")
    fake.enqueue(text_reply("取现手续费为取现金额的1%。"), text_reply("最低10元。"))
    first = await engine.answer(ctx, QUESTION, [FEES], offline_draft())
    second = await engine.answer(ctx, QUESTION, [FEES], offline_draft())
    assert out(ctx).streamed == "取现手续费为取现金额的1%。"
    assert first.meta["streamed"] and "streamed" not in second.meta


async def test_regenerate_lists_the_problems_and_replaces_only_the_llm_part(
    engine: LLMEngine, fake: FakeOpenAI, make_ctx: MakeCtx
) -> None:
    ctx = make_ctx(QUESTION, intent="cash_advance")
    fake.enqueue(text_reply("取现手续费为1%。年化利率是9.9%。"), text_reply("取现手续费为1%，最低10元。"))
    draft = await engine.answer(ctx, QUESTION, [FEES], offline_draft())
    draft.extend(Draft(text="需要我帮您办理其他业务吗？"))
    fixed = await engine.regenerate(ctx, draft, ["ungrounded figure '9.9%'"])
    assert fixed is not None
    assert fixed.text == "取现手续费为1%，最低10元。\n\n需要我帮您办理其他业务吗？"
    assert fixed.meta["by"] == "llm" and fixed.meta["llm_usage"]["calls"] == 2
    system, user = (m["content"] for m in fake.requests[1]["messages"])
    assert "- ungrounded figure '9.9%'" in system
    assert "<previous_reply>\n取现手续费为1%。年化利率是9.9%。\n</previous_reply>" in user
    assert FEES.text in user


async def test_regenerate_returns_none_when_the_llm_fails_or_leaks(
    engine: LLMEngine, fake: FakeOpenAI, make_ctx: MakeCtx
) -> None:
    ctx = make_ctx(QUESTION, intent="cash_advance")
    draft = Draft(text="年化利率是9.9%。", passages=[FEES.text], meta={"by": "llm"})
    fake.enqueue(text_reply(system_message("regenerate", problems="- x")[0][:200]))
    assert await engine.regenerate(ctx, draft, ["ungrounded figure '9.9%'"]) is None
    fake.enqueue(error_reply(400))
    assert await engine.regenerate(make_ctx(QUESTION, seq=5), draft, ["x"]) is None


async def test_summarize_redacts_what_goes_in_and_what_comes_out(
    engine: LLMEngine, fake: FakeOpenAI, make_ctx: MakeCtx
) -> None:
    ctx = make_ctx("转人工")
    fake.enqueue(text_reply("客户卡号6222021234567894丢失，已冻结，需补卡。"))
    summary = await engine.summarize(ctx, "customer: 我的卡6222021234567894丢了\nbot: 已为您冻结")
    assert summary is not None and "6222021234567894" not in summary and "7894" in summary
    assert "6222021234567894" not in fake.requests[0]["messages"][1]["content"]
    fake.enqueue(error_reply(400))
    assert await engine.summarize(make_ctx("转人工", seq=9), "customer: hi") is None

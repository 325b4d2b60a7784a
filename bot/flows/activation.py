"""Card activation: the customer's inactive card, confirmed, activated once — two customer steps.

(1) "激活卡片" → a confirmation card for the inactive card (its last four digits and the date
by which it must be activated); (2) confirm → the card is activated (idempotent), then the
PIN is set in the app (deep link) and autopay is offered. A card past its activation window
cannot be activated: the reply explains and offers a replacement or a person.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.answers.draft import Draft
from bot.cards.models import Card, jsonable
from bot.errors import CardSystemError
from bot.flows.base import FlowInput, FlowResult, cancelled, confirm_card, deep_link, ended
from bot.replies import fmt_date
from bot.turn import TurnContext


class ActivationFlow:
    """Confirm → activate → PIN and autopay."""

    id = "activation"

    async def _card(self, ctx: TurnContext, fs: dict[str, Any]) -> Card | None:
        cards = await ctx.cards.cards(ctx.customer_id)
        wanted = fs["slots"].get("card")
        if wanted:
            return next((c for c in cards if c.id == wanted), None)
        inactive = [c for c in cards if c.status == "inactive"]
        return inactive[-1] if inactive else None

    async def start(self, ctx: TurnContext, fs: dict[str, Any]) -> FlowResult:
        card = await self._card(ctx, fs)
        if card is None:
            return await self._nothing_to_activate(ctx)
        fs["slots"]["card"] = card.id
        window = int(ctx.schedule.get("card.activation_days"))
        deadline = card.issued_on + timedelta(days=window)
        if ctx.today() > deadline:
            return self._expired(ctx, card)
        return self._confirm(ctx, fs, card)

    async def _nothing_to_activate(self, ctx: TurnContext) -> FlowResult:
        card = await ctx.card()
        if card.status == "active":
            text = ctx.pick(
                f"您尾号{card.last4}的卡片已经激活，可以正常使用，不需要再激活。",
                f"Your card ending {card.last4} is already active and ready to use; there's nothing to "
                f"activate.",
            )
            return ended(Draft(text=text, handled="flow", tool_values=[jsonable(card)]), "completed")
        text = ctx.pick(
            f"您尾号{card.last4}的卡片目前不能激活（已冻结或已停用）。如需帮助，可以转人工客服。",
            f"Your card ending {card.last4} can't be activated (it is frozen or closed). A person can "
            f"help if you need.",
        )
        return ended(
            Draft(text=text, handled="flow", tool_values=[jsonable(card)], cards=[self._agent(ctx)]), "failed"
        )

    def _confirm(self, ctx: TurnContext, fs: dict[str, Any], card: Card, lead: str = "") -> FlowResult:
        fs["step"] = "confirm"
        window = int(ctx.schedule.get("card.activation_days"))
        deadline = card.issued_on + timedelta(days=window)
        tier = ctx.schedule.tier(card.tier)
        lines = [
            [ctx.pick("卡片", "Card"), f"{tier.name(ctx.lang)} **** {card.last4}"],
            [ctx.pick("发卡日期", "Issued"), fmt_date(card.issued_on, ctx.lang)],
            [ctx.pick("激活期限", "Activate by"), fmt_date(deadline, ctx.lang)],
        ]
        text = lead + ctx.pick(
            f"您尾号{card.last4}的新卡（{fmt_date(card.issued_on, 'zh')}发卡）还没有激活，"
            f"需要在发卡后{window}天内"
            f"（{fmt_date(deadline, 'zh')}前）激活。确认现在激活吗？",
            f"Your new card ending {card.last4} (issued {fmt_date(card.issued_on, 'en')}) isn't active "
            f"yet; it must be activated within {window} days of issue (by {fmt_date(deadline, 'en')}). "
            "Activate it now?",
        )
        draft = Draft(
            text=text,
            handled="flow",
            tool_values=[jsonable(card), window, deadline],
            cards=[
                confirm_card(
                    ctx,
                    fs,
                    title=ctx.pick("激活卡片", "Activate your card"),
                    lines=lines,
                    action_id="activation.confirm",
                    label=ctx.pick("确认激活", "Activate"),
                )
            ],
        )
        return FlowResult(draft=draft, state=fs)

    def _expired(self, ctx: TurnContext, card: Card) -> FlowResult:
        window = int(ctx.schedule.get("card.activation_days"))
        deadline = card.issued_on + timedelta(days=window)
        text = ctx.pick(
            f"您尾号{card.last4}的卡片是{fmt_date(card.issued_on, 'zh')}发卡的，"
            f"需要在{window}天内（{fmt_date(deadline, 'zh')}前）激活，"
            f"现在已经过了激活期限，这张卡不能再激活。可以为您补发一张新卡，或者转人工客服协助。",
            f"Your card ending {card.last4} was issued on {fmt_date(card.issued_on, 'en')} and had to be "
            f"activated within {window} days (by {fmt_date(deadline, 'en')}). That window has passed, so "
            "this card can't be activated any more. I can order you a replacement, or a person can help.",
        )
        cards = [
            {
                "type": "choices",
                "id": f"activation-expired-{ctx.seq}",
                "options": [
                    {
                        "label": ctx.pick("补发新卡", "Order a replacement"),
                        "action_id": "flow.start",
                        "values": {"flow": "card_replacement"},
                    },
                    {
                        "label": ctx.pick("转人工客服", "Talk to a person"),
                        "action_id": "handoff.request",
                        "values": {},
                    },
                ],
            }
        ]
        return ended(
            Draft(text=text, handled="flow", cards=cards, tool_values=[jsonable(card), window, deadline]),
            "failed",
        )

    def _agent(self, ctx: TurnContext) -> dict[str, Any]:
        return {
            "type": "choices",
            "id": f"activation-agent-{ctx.seq}",
            "options": [
                {
                    "label": ctx.pick("转人工客服", "Talk to a person"),
                    "action_id": "handoff.request",
                    "values": {},
                }
            ],
        }

    async def step(self, ctx: TurnContext, fs: dict[str, Any], inp: FlowInput) -> FlowResult:
        fs["customer_steps"] = fs.get("customer_steps", 1) + 1
        u = ctx.u
        confirmed = inp.action_id == "activation.confirm" or (
            inp.kind == "text" and u is not None and u.is_affirmative is True
        )
        if fs["step"] == "confirm" and confirmed:
            return await self._activate(ctx, fs)
        if inp.kind == "text" and u is not None and u.is_affirmative is False:
            return cancelled(ctx)
        return FlowResult(draft=await self.resume(ctx, fs), state=fs)

    async def _activate(self, ctx: TurnContext, fs: dict[str, Any]) -> FlowResult:
        card = await self._card(ctx, fs)
        assert card is not None
        try:
            active = await ctx.cards.activate_card(
                ctx.customer_id, card.id, key=f"{ctx.conversation_id}:{fs['fid']}:activate"
            )
        except CardSystemError as exc:
            if exc.code == "already_active":
                return ended(
                    Draft(
                        text=ctx.pick(
                            f"您尾号{card.last4}的卡片已经激活过了，可以正常使用。",
                            f"Your card ending {card.last4} is already active and ready to use.",
                        ),
                        handled="flow",
                        tool_values=[jsonable(card)],
                    ),
                    "completed",
                )
            if exc.code == "activation_expired":
                return self._expired(ctx, card)
            return ended(
                Draft(
                    text=ctx.pick(
                        f"抱歉，激活没有成功（{exc.message}），卡片状态没有变化。可以稍后再试，或转人工客服。",
                        f"Sorry, the activation didn't go through ({exc.message}); nothing "
                        f"changed. Try again later, or a person can help.",
                    ),
                    handled="flow",
                    resolved=False,
                    cards=[self._agent(ctx)],
                ),
                "failed",
                action={"kind": "activation_failed", "summary": f"activation failed: {exc.code}"},
            )
        lock = int(ctx.schedule.get("card.pin_wrong_attempts_lock"))
        text = ctx.pick(
            f"尾号{active.last4}的卡片已激活，现在可以使用了。下一步请在App中设置交易密码（密码只在App中设置，明光银行不会索要您的密码，"
            f"请勿在聊天中发送；连续输错{lock}次会锁定到第二天）。",
            f"Your card ending {active.last4} is active and ready to use. Next, set your PIN in the app "
            "(only "
            f"there: Lumen Bank will never ask for your PIN, so please don't share it in chat; {lock} "
            "wrong tries "
            f"lock it until the next day).",
        )
        cards: list[dict[str, Any]] = [
            deep_link(
                f"{fs['fid']}-pin",
                ctx.pick("设置交易密码", "Set your PIN"),
                ctx.pick("去App设置密码", "Set PIN in the app"),
                "app://card/pin",
            )
        ]
        if active.autopay is None:
            text += ctx.pick(
                "如果想按时还款更省心，也可以开通自动还款。",
                " If you like, you can also set up autopay so payments are never late.",
            )
            cards.append(
                {
                    "type": "choices",
                    "id": f"{fs['fid']}-next",
                    "options": [
                        {
                            "label": ctx.pick("设置自动还款", "Set up autopay"),
                            "action_id": "flow.start",
                            "values": {"flow": "autopay"},
                        }
                    ],
                }
            )
        return ended(
            Draft(text=text, handled="flow", cards=cards, tool_values=[jsonable(active), lock]),
            "completed",
            action={"kind": "card_activated", "summary": f"card **** {active.last4} activated"},
        )

    def accepts(self, ctx: TurnContext, fs: dict[str, Any]) -> bool:
        u = ctx.u
        return bool(
            u is not None and fs["step"] == "confirm" and u.is_affirmative is not None and len(u.text) <= 12
        )

    async def resume(self, ctx: TurnContext, fs: dict[str, Any]) -> Draft:
        card = await self._card(ctx, fs)
        if card is None or card.status != "inactive":
            return (await self._nothing_to_activate(ctx)).draft
        return self._confirm(
            ctx, fs, card, ctx.pick("我们继续刚才的卡片激活：", "Back to activating your card: ")
        ).draft

"""Limit increase: temporary or permanent, checked against the bank's rules, decided by the card system.

Happy path, at most three customer steps: (1) "我想提额" → a calculator card (current limit,
the highest limit each kind allows, the last three months' spend against the required
share of the limit) with one-click picks and a form; (2) pick or submit an amount (and the
days, for a temporary increase) → a confirmation card; (3) confirm → the card system's
decision: instant for a temporary increase, a case decided within one business day for a
permanent one. Saying everything up front ("临时提额到4万，30天") goes straight to step 3.
The reply states only the decision the card system returned; it never promises one.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.answers.draft import Draft
from bot.cards.models import Card, LimitDecision, LimitProfile, jsonable
from bot.cards.rules import permanent_increase_problems, temporary_increase_problems
from bot.errors import CardSystemError
from bot.finance import fmt_money, money
from bot.flows.base import (
    FlowInput,
    FlowResult,
    button,
    cancelled,
    choices_card,
    confirm_card,
    deep_link,
    ended,
)
from bot.replies import fmt_date
from bot.turn import TurnContext

KINDS = ("temporary", "permanent")
_DAYS = re.compile(r"(\d{2,3})\s*(?:天|日|days?\b)", re.I)
_MONTHS = re.compile(r"(一|两|二|三|1|2|3)\s*个月|\b(one|two|three|1|2|3)\s+months?\b", re.I)
_MONTH_DAYS = {
    "一": 30,
    "1": 30,
    "one": 30,
    "两": 60,
    "二": 60,
    "2": 60,
    "two": 60,
    "三": 90,
    "3": 90,
    "three": 90,
}
_WAN = re.compile(r"(\d+(?:\.\d+)?)\s*万")
_BARE = re.compile(r"(?<![\d.])(\d{4,7}(?:\.\d{1,2})?)(?![\d.]|\s*(?:天|日|days?\b))", re.I)
_TO = re.compile(r"到|至|\bto\b", re.I)
_QUESTION = re.compile(r"[?？]|吗|什么|多少|怎么|为什么|\b(what|how|why|when|which)\b", re.I)


def parse_days(text: str) -> int | None:
    """ "30天" / "60 days" / "两个月" → the number of days the customer asked for."""
    m = _DAYS.search(text)
    if m:
        return int(m.group(1))
    m = _MONTHS.search(text)
    if m:
        return _MONTH_DAYS[(m.group(1) or m.group(2)).lower()]
    return None


def parse_amount(text: str) -> Decimal | None:
    """A limit the understanding step missed: "4万" or a bare number of four or more digits (not days)."""
    m = _WAN.search(text)
    if m:
        return money(Decimal(m.group(1)) * 10000)
    m = _BARE.search(text.replace(",", ""))
    return money(Decimal(m.group(1))) if m else None


def add_months(start: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it has fewer days)."""
    y, m = divmod(start.month - 1 + months, 12)
    year, month = start.year + y, m + 1
    for day in (start.day, 30, 29, 28):
        try:
            return date(year, month, min(start.day, day))
        except ValueError:
            continue
    return date(year, month, 28)


def _amount(value: Any) -> Decimal | None:
    try:
        amount = money(Decimal(str(value).replace(",", "").replace("¥", "").strip()))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() and amount > 0 else None


class _Facts:
    """What one turn knows about the customer's limit: the card, the profile and both rules."""

    def __init__(self, ctx: TurnContext, card: Card, profile: LimitProfile, pending: Any) -> None:
        schedule = ctx.schedule
        self.card = card
        self.profile = profile
        self.pending = pending
        self.problems: dict[str, list[str]] = {}
        self.max: dict[str, Decimal] = {}
        self.problems["temporary"], self.max["temporary"] = temporary_increase_problems(profile, schedule)
        self.problems["permanent"], self.max["permanent"] = permanent_increase_problems(profile, schedule)
        if pending is not None:
            self.problems["permanent"] = [*self.problems["permanent"], "pending"]
        self.min_days = int(schedule.get("credit_limit.temporary.min_days"))
        self.max_days = int(schedule.get("credit_limit.temporary.max_days"))
        self.spend_ratio = schedule.dec("credit_limit.permanent.min_avg_spend_ratio")
        self.required_spend = money(profile.credit_limit * self.spend_ratio)

    def eligible(self, kind: str) -> bool:
        return not self.problems[kind]

    def values(self) -> list[Any]:
        return [
            jsonable(self.profile),
            jsonable(self.card),
            self.max["temporary"],
            self.max["permanent"],
            self.required_spend,
            self.min_days,
            self.max_days,
            jsonable(self.pending),
        ]


class LimitIncreaseFlow:
    """Calculator → amount → confirm → the card system's decision."""

    id = "limit_increase"

    async def _facts(self, ctx: TurnContext) -> _Facts:
        card = await ctx.card()
        profile = await ctx.cards.limit_profile(ctx.customer_id, card.id)
        pending = next(
            (
                c
                for c in await ctx.cards.cases(ctx.customer_id)
                if c.kind == "limit_increase" and c.status in ("open", "pending")
            ),
            None,
        )
        return _Facts(ctx, card, profile, pending)

    async def start(self, ctx: TurnContext, fs: dict[str, Any]) -> FlowResult:
        card = await ctx.card()
        if card.status != "active":
            return self._card_not_active(ctx, card)
        facts = await self._facts(ctx)
        if ctx.u is not None:
            self._take_text(ctx, fs, facts)
        return self._advance(ctx, fs, facts)

    def _card_not_active(self, ctx: TurnContext, card: Card) -> FlowResult:
        if card.status == "inactive":
            text = ctx.pick(
                f"您尾号{card.last4}的卡片还没有激活，激活并正常用卡后才能申请提额。",
                f"Your card ending {card.last4} isn't activated yet; a limit increase is possible "
                f"once it's active and in use.",
            )
            cards = [
                {
                    "type": "choices",
                    "id": f"limit-activate-{ctx.seq}",
                    "options": [
                        {
                            "label": ctx.pick("激活卡片", "Activate my card"),
                            "action_id": "flow.start",
                            "values": {"flow": "activation"},
                        }
                    ],
                }
            ]
        else:
            text = ctx.pick(
                f"您尾号{card.last4}的卡片目前不能使用（已冻结或已注销），暂时不能申请提额。",
                f"Your card ending {card.last4} can't be used right now (frozen or closed), so a "
                f"limit increase isn't possible.",
            )
            cards = []
        return ended(Draft(text=text, handled="flow", cards=cards, tool_values=[jsonable(card)]), "failed")

    # -- reading the customer ---------------------------------------------------------------

    def _take_text(self, ctx: TurnContext, fs: dict[str, Any], facts: _Facts) -> bool:
        """Slots from a typed turn; whether it said anything the flow asked for."""
        u = ctx.u
        assert u is not None
        slots = fs["slots"]
        said = False
        if u.slots.limit_kind:
            slots["kind"] = u.slots.limit_kind
            said = True
        amount = money(u.slots.amount) if u.slots.amount is not None else parse_amount(u.text)
        if amount is not None:
            current = facts.profile.credit_limit
            # "提高5000" names the increase; "提到4万" (or anything above the limit) names the new limit.
            if amount <= current and not _TO.search(u.text):
                amount = current + amount
            slots["amount"] = str(amount)
            said = True
        days = parse_days(u.text)
        if days is not None:
            slots["days"] = days
            said = True
        return said

    def _take_values(self, fs: dict[str, Any], values: dict[str, Any]) -> None:
        slots = fs["slots"]
        if values.get("kind") in KINDS:
            slots["kind"] = values["kind"]
        if values.get("amount") not in (None, ""):
            amount = _amount(values["amount"])
            slots["amount"] = str(amount) if amount is not None else "invalid"
        if values.get("days") not in (None, ""):
            try:
                slots["days"] = int(str(values["days"]).strip())
            except ValueError:
                slots["days"] = -1

    # -- deciding the next step ---------------------------------------------------------------

    def _advance(self, ctx: TurnContext, fs: dict[str, Any], facts: _Facts, lead: str = "") -> FlowResult:
        slots = fs["slots"]
        kind = slots.get("kind")
        if kind not in KINDS:
            return self._choose(ctx, fs, facts, lead)
        if not facts.eligible(kind):
            slots.clear()
            other = "permanent" if kind == "temporary" else "temporary"
            why = self._why_not(ctx, facts, kind)
            if facts.eligible(other):
                return self._choose(ctx, fs, facts, lead + why)
            return self._not_eligible(ctx, facts, lead + why)
        current, highest = facts.profile.credit_limit, facts.max[kind]
        amount = _amount(slots["amount"]) if "amount" in slots else None
        if "amount" in slots and (amount is None or not current < amount <= highest):
            slots.pop("amount")
            lead += ctx.pick(
                f"新额度需要高于当前额度{fmt_money(current)}，最高{fmt_money(highest)}。",
                f"The new limit must be above your current {fmt_money(current)} and at most "
                f"{fmt_money(highest)}. ",
            )
            amount = None
        days = slots.get("days")
        if kind == "temporary" and days is not None and not facts.min_days <= int(days) <= facts.max_days:
            slots.pop("days")
            lead += ctx.pick(
                f"临时额度的使用期限是{facts.min_days}到{facts.max_days}天。",
                f"A temporary limit lasts {facts.min_days} to {facts.max_days} days. ",
            )
            days = None
        if amount is None or (kind == "temporary" and days is None):
            return self._ask_amount(ctx, fs, facts, kind, amount, lead)
        return self._confirm(ctx, fs, facts, kind, amount, int(days) if days is not None else None, lead)

    def _choose(self, ctx: TurnContext, fs: dict[str, Any], facts: _Facts, lead: str) -> FlowResult:
        fs["step"] = "choose"
        eligible = [k for k in KINDS if facts.eligible(k)]
        if not eligible:
            return self._not_eligible(ctx, facts, lead + "".join(self._why_not(ctx, facts, k) for k in KINDS))
        parts = []
        for k in eligible:
            parts.append(
                ctx.pick(
                    f"{_kind_zh(k)}最高可申请至{fmt_money(facts.max[k])}"
                    + (f"（使用{facts.min_days}–{facts.max_days}天）" if k == "temporary" else ""),
                    f"a {k} limit of up to {fmt_money(facts.max[k])}"
                    + (f" (for {facts.min_days}–{facts.max_days} days)" if k == "temporary" else ""),
                )
            )
        note = "".join(
            why
            for why in (self._why_not(ctx, facts, k) for k in KINDS if k not in eligible)
            if why not in lead
        )
        text = lead + ctx.pick(
            f"您当前额度{fmt_money(facts.profile.credit_limit)}。{'；'.join(parts)}。{note}请选择，或填写您想要的额度"
            f"（结果以审批为准）：",
            f"Your limit is {fmt_money(facts.profile.credit_limit)}. You can apply for "
            f"{'; or '.join(parts)}. {note}"
            f"Pick one or enter the limit you want (the bank decides on every application):",
        )
        picks = [self._pick_button(ctx, fs, facts, k, facts.max[k], facts.min_days) for k in eligible]
        cards = [
            self._calculator(ctx, fs, facts),
            choices_card(ctx.pick("快速申请", "Quick apply"), fs, picks),
            *[self._form(ctx, fs, facts, k) for k in eligible],
            self._link(ctx, fs, facts),
        ]
        cite = [f"{k}-limit-increase" for k in eligible]  # the articles with each kind's rules
        return FlowResult(
            draft=Draft(text=text, handled="flow", cards=cards, tool_values=facts.values(), meta={"cite": cite}),
            state=fs,
        )

    def _ask_amount(
        self,
        ctx: TurnContext,
        fs: dict[str, Any],
        facts: _Facts,
        kind: str,
        amount: Decimal | None,
        lead: str,
    ) -> FlowResult:
        fs["step"] = "amount"
        highest = facts.max[kind]
        if amount is not None:
            text = ctx.pick(
                f"临时额度{fmt_money(amount)}想用多久？可选{facts.min_days}到{facts.max_days}天：",
                f"How long do you need the temporary limit of {fmt_money(amount)}? "
                f"{facts.min_days} to {facts.max_days} days:",
            )
            picks = [
                button(
                    ctx.pick(f"{d}天", f"{d} days"), "limit.pick", fs, kind=kind, amount=str(amount), days=d
                )
                for d in (facts.min_days, 60, facts.max_days)
            ]
        else:
            text = ctx.pick(
                f"{_kind_zh(kind)}：新额度可以在{fmt_money(facts.profile.credit_limit)}以上、最高{fmt_money(highest)}"
                + (f"，使用{facts.min_days}到{facts.max_days}天" if kind == "temporary" else "")
                + "。您想申请多少？",
                f"{kind.capitalize()} increase: the new limit can be above "
                f"{fmt_money(facts.profile.credit_limit)} "
                f"and up to {fmt_money(highest)}"
                + (f", for {facts.min_days} to {facts.max_days} days" if kind == "temporary" else "")
                + ". What limit would you like?",
            )
            picks = [self._pick_button(ctx, fs, facts, kind, highest, facts.min_days)]
        cards = [
            self._calculator(ctx, fs, facts),
            choices_card(ctx.pick("快速申请", "Quick apply"), fs, picks),
            self._form(ctx, fs, facts, kind),
            self._link(ctx, fs, facts),
        ]
        return FlowResult(
            draft=Draft(text=lead + text, handled="flow", cards=cards, tool_values=[*facts.values(), amount]),
            state=fs,
        )

    def _confirm(
        self,
        ctx: TurnContext,
        fs: dict[str, Any],
        facts: _Facts,
        kind: str,
        amount: Decimal,
        days: int | None,
        lead: str,
    ) -> FlowResult:
        fs["step"] = "confirm"
        fs["slots"].update({"kind": kind, "amount": str(amount)})
        current = facts.profile.credit_limit
        lines = [
            [ctx.pick("类型", "Type"), ctx.pick(_kind_zh(kind), kind.capitalize())],
            [ctx.pick("当前额度", "Current limit"), fmt_money(current)],
            [ctx.pick("申请额度", "Requested limit"), fmt_money(amount)],
        ]
        until = None
        if kind == "temporary":
            assert days is not None
            fs["slots"]["days"] = days
            until = ctx.today() + timedelta(days=days)
            lines.append(
                [
                    ctx.pick("使用期限", "Duration"),
                    ctx.pick(
                        f"{days}天（至{fmt_date(until, 'zh')}）",
                        f"{days} days (until {fmt_date(until, 'en')})",
                    ),
                ]
            )
            text = ctx.pick(
                f"请确认：申请临时额度{fmt_money(amount)}，使用{days}天（至{fmt_date(until, 'zh')}），"
                "到期后恢复为"
                f"{fmt_money(current)}。提交后系统实时审批，结果以审批为准。",
                f"Please confirm: a temporary limit of {fmt_money(amount)} for {days} days (until "
                f"{fmt_date(until, 'en')}), then back to {fmt_money(current)}. The system decides "
                "instantly once "
                f"you submit; approval is not guaranteed.",
            )
        else:
            business_days = int(ctx.schedule.get("credit_limit.permanent.decision_business_days"))
            lines.append(
                [
                    ctx.pick("审批", "Decision"),
                    ctx.pick(f"{business_days}个工作日内", f"within {business_days} business day"),
                ]
            )
            text = ctx.pick(
                f"请确认：申请把固定额度调整为{fmt_money(amount)}。提交后会在{business_days}个工作日内给出审批结果，结果以审批为准。",
                f"Please confirm: an application for a permanent limit of {fmt_money(amount)}. You'll have "
                "the "
                f"decision within {business_days} business day; approval is not guaranteed.",
            )
        card = confirm_card(
            ctx,
            fs,
            title=ctx.pick("确认提额申请", "Confirm your application"),
            lines=lines,
            action_id="limit.confirm",
            label=ctx.pick("提交申请", "Submit"),
        )
        return FlowResult(
            draft=Draft(
                text=lead + text,
                handled="flow",
                cards=[card],
                tool_values=[*facts.values(), amount, days, until],
            ),
            state=fs,
        )

    # -- cards ------------------------------------------------------------------------------

    def _pick_button(
        self, ctx: TurnContext, fs: dict[str, Any], facts: _Facts, kind: str, amount: Decimal, days: int
    ) -> dict[str, Any]:
        if kind == "temporary":
            return button(
                ctx.pick(
                    f"临时额度提至{fmt_money(amount)}（{days}天）",
                    f"Temporary: {fmt_money(amount)} for {days} days",
                ),
                "limit.pick",
                fs,
                kind=kind,
                amount=str(amount),
                days=days,
            )
        return button(
            ctx.pick(f"固定额度调整为{fmt_money(amount)}", f"Permanent: {fmt_money(amount)}"),
            "limit.pick",
            fs,
            kind=kind,
            amount=str(amount),
        )

    def _calculator(self, ctx: TurnContext, fs: dict[str, Any], facts: _Facts) -> dict[str, Any]:
        p = facts.profile
        today = ctx.today()
        lines = [[ctx.pick("当前额度", "Current limit"), fmt_money(p.credit_limit)]]
        if p.temp_limit is not None and p.temp_limit_until is not None and p.temp_limit_until >= today:
            lines.append(
                [
                    ctx.pick("临时额度", "Temporary limit"),
                    f"{fmt_money(p.temp_limit)} → {fmt_date(p.temp_limit_until, ctx.lang)}",
                ]
            )
        for kind in KINDS:
            label = ctx.pick(f"{_kind_zh(kind)}最高", f"{kind.capitalize()} up to")
            lines.append(
                [
                    label,
                    fmt_money(facts.max[kind])
                    if facts.eligible(kind)
                    else ctx.pick("暂不符合条件", "not eligible now"),
                ]
            )
        spend = " / ".join(fmt_money(m) for m in p.monthly_spend_3m)
        lines += [
            [ctx.pick("近3个月消费（近→远）", "Spend, last 3 months (newest first)"), spend],
            [ctx.pick("月均消费", "Monthly average"), fmt_money(p.avg_monthly_spend_3m)],
            [
                ctx.pick(
                    f"固定额度要求月均（额度的{int(facts.spend_ratio * 100)}%）",
                    f"Needed for permanent ({int(facts.spend_ratio * 100)}% of the limit)",
                ),
                fmt_money(facts.required_spend),
            ],
            [
                ctx.pick("持卡时长", "Card held"),
                ctx.pick(f"{p.tenure_months}个月", f"{p.tenure_months} months"),
            ],
        ]
        return {
            "type": "info",
            "id": f"{fs['fid']}-calc",
            "title": ctx.pick("额度测算", "Limit calculator"),
            "lines": lines,
            "footnote": ctx.pick(
                "测算仅供参考，结果以审批为准。",
                "An estimate only; every application is decided by the bank.",
            ),
        }

    def _form(self, ctx: TurnContext, fs: dict[str, Any], facts: _Facts, kind: str) -> dict[str, Any]:
        current = facts.profile.credit_limit
        fields: list[dict[str, Any]] = [
            {
                "name": "amount",
                "label": ctx.pick("新额度", "New limit"),
                "kind": "number",
                "min": int(current) + 1,
                "max": int(facts.max[kind]),
                "required": True,
            }
        ]
        if kind == "temporary":
            fields.append(
                {
                    "name": "days",
                    "label": ctx.pick("天数", "Days"),
                    "kind": "select",
                    "required": True,
                    "options": [
                        [str(d), ctx.pick(f"{d}天", f"{d} days")]
                        for d in (facts.min_days, 60, facts.max_days)
                    ],
                }
            )
        return {
            "type": "form",
            "id": f"{fs['fid']}-form-{kind}",
            "title": ctx.pick(f"{_kind_zh(kind)}申请", f"{kind.capitalize()} increase"),
            "fields": fields,
            "submit": {
                "label": ctx.pick("下一步", "Next"),
                "action_id": "limit.submit",
                "values": {"fid": fs["fid"], "kind": kind},
            },
        }

    def _link(self, ctx: TurnContext, fs: dict[str, Any], facts: _Facts) -> dict[str, Any]:
        return deep_link(
            f"{fs['fid']}-app",
            ctx.pick("在App中查看额度", "Your limit in the app"),
            ctx.pick("打开额度页", "Open the limit page"),
            f"app://card/limit-increase?card={facts.card.id}",
        )

    # -- explaining why not -------------------------------------------------------------------

    def _why_not(self, ctx: TurnContext, facts: _Facts, kind: str) -> str:
        """Plain words: why this kind is not possible now, and what would make it possible."""
        p = facts.profile
        s = ctx.schedule
        reasons = []
        for problem in facts.problems[kind]:
            if problem == "tenure":
                months = int(s.get(f"credit_limit.{kind}.min_tenure_months"))
                when = add_months(facts.card.opened_on, months)
                reasons.append(
                    ctx.pick(
                        f"持卡满{months}个月才能申请（您已持卡{p.tenure_months}个月，"
                        f"{fmt_date(when, 'zh')}起可以申请）",
                        f"the card must be held for {months} months (you've had it "
                        f"{p.tenure_months}; you can apply from {fmt_date(when, 'en')})",
                    )
                )
            elif problem == "late_payment":
                months = int(s.get(f"credit_limit.{kind}.no_late_months"))
                reasons.append(
                    ctx.pick(
                        f"最近{months}个月内有逾期还款记录；保持按时还款满{months}个月后可以再申请",
                        f"there was a late payment in the last {months} months; after {months} "
                        f"months of on-time payments you can apply again",
                    )
                )
            elif problem == "recent_increase" and p.last_permanent_increase_on is not None:
                gap = int(s.get("credit_limit.permanent.min_months_since_last_increase"))
                when = add_months(p.last_permanent_increase_on, gap)
                reasons.append(
                    ctx.pick(
                        f"上次固定额度调整在{fmt_date(p.last_permanent_increase_on, 'zh')}，需间隔{gap}个月；"
                        f"{fmt_date(when, 'zh')}起可以再申请",
                        f"your last permanent increase was on "
                        f"{fmt_date(p.last_permanent_increase_on, 'en')} and {gap} months must "
                        f"pass; you can apply again from {fmt_date(when, 'en')}",
                    )
                )
            elif problem == "low_spend":
                reasons.append(
                    ctx.pick(
                        f"近3个月月均消费{fmt_money(p.avg_monthly_spend_3m)}，低于要求的{fmt_money(facts.required_spend)}"
                        f"（当前额度的{int(facts.spend_ratio * 100)}%）；月均消费达到这个水平后可以申请",
                        "your average monthly spend over the last 3 months is "
                        f"{fmt_money(p.avg_monthly_spend_3m)}, "
                        f"below the {fmt_money(facts.required_spend)} needed "
                        f"({int(facts.spend_ratio * 100)}% of your "
                        f"limit); once it reaches that you can apply",
                    )
                )
            elif problem == "pending" and facts.pending is not None:
                reasons.append(
                    ctx.pick(
                        f"您已有一笔固定额度申请（编号{facts.pending.id}）正在审批中，请等待结果",
                        f"you already have a permanent-increase application ({facts.pending.id}) "
                        f"being decided; please wait for its result",
                    )
                )
        return ctx.pick(
            f"{_kind_zh(kind)}暂不能申请：" + "；".join(reasons) + "。",
            f"A {kind} increase isn't possible now: " + "; ".join(reasons) + ". ",
        )

    def _not_eligible(self, ctx: TurnContext, facts: _Facts, why: str) -> FlowResult:
        draft = Draft(
            text=why + ctx.pick("满足条件后随时可以再来申请。", "You're welcome to apply once that changes."),
            handled="flow",
            cards=[self._calculator(ctx, {"fid": f"limit-{ctx.seq}"}, facts)],
            tool_values=facts.values(),
        )
        return ended(draft, "failed")

    # -- steps --------------------------------------------------------------------------------

    async def step(self, ctx: TurnContext, fs: dict[str, Any], inp: FlowInput) -> FlowResult:
        fs["customer_steps"] = fs.get("customer_steps", 1) + 1
        facts = await self._facts(ctx)
        u = ctx.u
        if inp.kind == "action":
            if inp.action_id == "limit.confirm":
                return (
                    await self._apply(ctx, fs, facts)
                    if fs["step"] == "confirm"
                    else self._advance(ctx, fs, facts)
                )
            if inp.action_id in ("limit.pick", "limit.submit"):
                self._take_values(fs, inp.values)
            return self._advance(ctx, fs, facts)
        assert u is not None
        said = self._take_text(ctx, fs, facts)
        if fs["step"] == "confirm" and not said:
            if u.is_affirmative is True:
                return await self._apply(ctx, fs, facts)
            if u.is_affirmative is False:
                return cancelled(ctx)
        return self._advance(ctx, fs, facts)

    async def _apply(self, ctx: TurnContext, fs: dict[str, Any], facts: _Facts) -> FlowResult:
        slots = fs["slots"]
        kind, amount = slots["kind"], Decimal(slots["amount"])
        days = int(slots["days"]) if kind == "temporary" else None
        try:
            decision = await ctx.cards.apply_limit_increase(
                ctx.customer_id,
                facts.card.id,
                kind=kind,
                amount=amount,
                days=days,
                key=f"{ctx.conversation_id}:{fs['fid']}:apply",
            )
        except CardSystemError as exc:
            if exc.code in ("amount_out_of_range", "days_out_of_range"):
                slots.pop("amount" if exc.code == "amount_out_of_range" else "days", None)
                return self._advance(
                    ctx,
                    fs,
                    facts,
                    ctx.pick(
                        "系统没有受理这个额度或期限，请重新选择。",
                        "The bank's system didn't accept that limit or duration; please choose again. ",
                    ),
                )
            return ended(
                Draft(
                    text=ctx.pick(
                        f"抱歉，申请没有提交成功（{exc.message}），您的额度没有任何变化。",
                        f"Sorry, the application didn't go through ({exc.message}); your limit is unchanged.",
                    ),
                    handled="flow",
                    resolved=False,
                ),
                "failed",
                action={"kind": "limit_increase_failed", "summary": f"limit increase failed: {exc.code}"},
            )
        due = None
        if decision.case_id:
            due = next(
                (c.due_by for c in await ctx.cards.cases(ctx.customer_id) if c.id == decision.case_id), None
            )
        return self._decided(ctx, facts, decision, days, due)

    def _decided(
        self, ctx: TurnContext, facts: _Facts, d: LimitDecision, days: int | None, due: date | None
    ) -> FlowResult:
        values = [jsonable(d), days, *facts.values()]
        if d.status == "approved" and d.new_limit is not None and d.until is not None:
            text = ctx.pick(
                f"审批通过：您的临时额度已调整为{fmt_money(d.new_limit)}，"
                f"有效期至{fmt_date(d.until, 'zh')}（{days}天），"
                f"到期后恢复为{fmt_money(d.current_limit)}。",
                f"Approved: your temporary limit is now {fmt_money(d.new_limit)} until "
                f"{fmt_date(d.until, 'en')} "
                f"({days} days); after that it returns to {fmt_money(d.current_limit)}.",
            )
            draft = Draft(
                text=text, handled="flow", tool_values=values, decisions={"temporary_limit_approved"}
            )
            return ended(
                draft,
                "completed",
                action={
                    "kind": "limit_increase_approved",
                    "summary": f"temporary limit {d.new_limit} until {d.until.isoformat()} (approved)",
                },
            )
        if d.status == "pending":
            business_days = int(ctx.schedule.get("credit_limit.permanent.decision_business_days"))
            text = ctx.pick(
                f"您的固定额度申请已提交，申请编号{d.case_id}，"
                f"申请额度{fmt_money(d.new_limit or Decimal(0))}。"
                f"我们会在{business_days}个工作日内"
                + (f"（{fmt_date(due, 'zh')}前）" if due else "")
                + "给出审批结果并通知您，结果以审批为准。",
                f"Your application for a permanent limit of {fmt_money(d.new_limit or Decimal(0))} is "
                "submitted, "
                f"reference {d.case_id}. You'll have the decision within {business_days} business day"
                + (f" (by {fmt_date(due, 'en')})" if due else "")
                + "; approval is not guaranteed.",
            )
            draft = Draft(text=text, handled="flow", tool_values=[*values, business_days, due])
            return ended(
                draft,
                "completed",
                action={
                    "kind": "limit_increase_submitted",
                    "case_id": d.case_id,
                    "summary": f"permanent limit application {d.case_id} for {d.new_limit} (pending)",
                },
            )
        problems = {**facts.problems, d.kind: list(d.reasons)}
        facts.problems = problems
        text = ctx.pick(
            "很抱歉，这次申请没有通过。", "Sorry, the application was declined. "
        ) + self._why_not(ctx, facts, d.kind)
        return ended(
            Draft(text=text, handled="flow", tool_values=values),
            "completed",
            action={
                "kind": "limit_increase_declined",
                "summary": f"{d.kind} limit increase declined: {', '.join(d.reasons)}",
            },
        )

    def accepts(self, ctx: TurnContext, fs: dict[str, Any]) -> bool:
        u = ctx.u
        if u is None or _QUESTION.search(u.text):
            return False
        if fs["step"] == "confirm" and u.is_affirmative is not None and len(u.text) <= 12:
            return True
        return bool(
            u.slots.limit_kind
            or u.slots.amount is not None
            or parse_days(u.text)
            or parse_amount(u.text) is not None
        )

    async def resume(self, ctx: TurnContext, fs: dict[str, Any]) -> Draft:
        facts = await self._facts(ctx)
        return self._advance(
            ctx, fs, facts, ctx.pick("我们继续刚才的提额申请：", "Back to your limit increase: ")
        ).draft


def _kind_zh(kind: str) -> str:
    return "临时额度" if kind == "temporary" else "固定额度"

"""Disputes: a transaction the customer doesn't recognise, or a problem with a merchant.

Happy path, at most three customer steps: (1) "有一笔交易不是我刷的" → the last 60 days'
transactions as choices, the suspicious ones (abroad, or a second identical charge) first;
(2) pick one → a confirmation card saying what will happen; (3) confirm →
* unrecognised: the card is frozen, a priority-1 fraud case opens with the transaction's
  details, the provisional-credit timeline is stated, and the chat goes to the risk team;
* merchant problem (charged twice, refund not received, goods not received): a merchant
  dispute case opens with its resolution date.
Naming the transaction up front ("4999那笔不是我刷的") skips step 1. A transaction posted
more than 60 days ago is outside the reporting window: the reply says so, with its posting
date, and offers a person.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.answers.account import described_transactions
from bot.answers.draft import Draft
from bot.cards.models import Case, Transaction, jsonable
from bot.errors import CardSystemError
from bot.finance import fmt_money
from bot.flows.base import (
    FlowInput,
    FlowResult,
    HandoffAsk,
    button,
    cancelled,
    choices_card,
    confirm_card,
    ended,
)
from bot.replies import fmt_date
from bot.turn import TurnContext

CHINA = ZoneInfo("Asia/Shanghai")
REASONS = ("unrecognised", "duplicate", "refund", "not_received")
MERCHANT_REASONS = ("duplicate", "refund", "not_received")
DISPUTABLE = ("purchase", "cash_advance")

_STRONG_FRAUD = re.compile(
    r"不是我(本人)?(刷|消费|买|花|操作)|非本人|没刷过|没有刷过|盗刷|被盗|不认识|不认得|陌生|"
    r"unrecogni[sz]|don'?t recogni[sz]e|not recogni[sz]ed|wasn'?t me|not me\b|"
    r"didn'?t (make|buy|authori[sz]e|do)|fraud|stolen",
    re.I,
)
_DUPLICATE = re.compile(r"两次|2次|重复|多扣|双重扣|twice|double|duplicate|two times", re.I)
_REFUND = re.compile(r"退款|退货|refund", re.I)
_NOT_RECEIVED = re.compile(
    r"没收到|未收到|没到货|没有到货|没发货|没有发货|not (been )?received|never (arrived|received|came)|"
    r"didn'?t (receive|get|arrive)|not delivered|hasn'?t arrived",
    re.I,
)
_WEAK_FRAUD = re.compile(r"不是我|可疑|suspicious|not mine", re.I)
_ORDINAL = re.compile(
    r"第\s*([一二三四五六1-6])\s*(笔|个|条|项)|\b(first|second|third|fourth|fifth|sixth|1st|2nd|3rd|4th|5th|"
    r"6th)\b",
    re.I,
)
_ORDINALS = {
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "first": 1,
    "1st": 1,
    "second": 2,
    "2nd": 2,
    "third": 3,
    "3rd": 3,
    "fourth": 4,
    "4th": 4,
    "fifth": 5,
    "5th": 5,
    "sixth": 6,
    "6th": 6,
}
_CONFIRM_START = re.compile(r"(确认|确定|是的|对的|没错|yes|confirm|correct)\b|^(确认|确定|是的|对)", re.I)
_QUESTION = re.compile(r"[?？]|吗|什么|多少|怎么|为什么|\b(what|how|why|when|which)\b", re.I)


def read_reason(text: str, signals: frozenset[str] = frozenset()) -> str | None:
    """Which kind of dispute the customer describes (None when the text doesn't say)."""
    if _STRONG_FRAUD.search(text):
        return "unrecognised"
    for reason, pattern in (("duplicate", _DUPLICATE), ("refund", _REFUND), ("not_received", _NOT_RECEIVED)):
        if pattern.search(text):
            return reason
    if "fraud_risk" in signals or _WEAK_FRAUD.search(text):
        return "unrecognised"
    return None


def read_ordinal(text: str) -> int | None:
    m = _ORDINAL.search(text)
    if not m:
        return None
    key = (m.group(1) or m.group(3)).lower()
    return _ORDINALS[key] if key in _ORDINALS else int(key)


def suspicious(t: Transaction, txns: list[Transaction]) -> str | None:
    """Why a transaction stands out: spent abroad, or a second identical charge on the same day."""
    if t.country != "CN":
        return "abroad"
    same = [
        o for o in txns if o.merchant == t.merchant and o.amount == t.amount and o.posted_on == t.posted_on
    ]
    if len(same) > 1 and t.id == max(o.id for o in same):
        return "duplicate"
    return None


class DisputeFlow:
    """Pick the transaction → say what happened → confirm → freeze and report, or open a merchant dispute."""

    id = "dispute"

    # -- data ---------------------------------------------------------------------------------

    async def _transactions(self, ctx: TurnContext) -> list[Transaction]:
        """The customer's disputable transactions on every card, newest first."""
        txns = await ctx.cards.transactions(ctx.customer_id, None, limit=500)
        return [t for t in txns if t.kind in DISPUTABLE]

    def _window(self, ctx: TurnContext) -> int:
        return int(ctx.schedule.get("disputes.window_days"))

    def _recent(
        self, ctx: TurnContext, candidates: list[Transaction], txns: list[Transaction]
    ) -> list[Transaction]:
        """Up to six candidates inside the window: the suspicious ones first, then newest first."""
        since = ctx.today() - timedelta(days=self._window(ctx))
        recent = [t for t in candidates if t.posted_on >= since]
        return sorted(recent, key=lambda t: (suspicious(t, txns) is None, -t.posted_on.toordinal(), t.id))[:6]

    def _label(self, ctx: TurnContext, t: Transaction, txns: list[Transaction]) -> str:
        why = suspicious(t, txns)
        tag = {
            "abroad": ctx.pick("（境外）", " (abroad)"),
            "duplicate": ctx.pick("（疑似重复）", " (possible duplicate)"),
            None: "",
        }[why]
        return f"{fmt_date(t.posted_on, ctx.lang)} {t.merchant} {fmt_money(t.amount)}{tag}"

    # -- start ----------------------------------------------------------------------------------

    async def start(self, ctx: TurnContext, fs: dict[str, Any]) -> FlowResult:
        slots = fs["slots"]
        u = ctx.u
        given = slots.pop("kind", None)
        reason = given if given in REASONS else (read_reason(u.text, u.signals) if u else None)
        if reason is None and u is None and self._after_loss_report(ctx):
            reason = "unrecognised"  # "check suspicious charges" after a lost or stolen card
        if reason:
            slots["reason"] = reason
        txns = await self._transactions(ctx)
        if slots.get("txn"):
            return await self._matched(ctx, fs, txns, [t for t in txns if t.id == slots["txn"]])
        found = self._described(ctx, txns)
        if found is not None:
            return await self._matched(ctx, fs, txns, found)
        return self._list(ctx, fs, txns, "")

    def _described(self, ctx: TurnContext, txns: list[Transaction]) -> list[Transaction] | None:
        """The transactions the customer's words point at (None when they name none).

        The merchant can be one the understanding step doesn't know ("GLOBAL DIGITAL SVCS"),
        so the customer's own merchant names are looked for in the text as well.
        """
        return described_transactions(txns, ctx)

    def _after_loss_report(self, ctx: TurnContext) -> bool:
        done = ctx.state.flows_done
        return bool(done) and done[-1]["flow"] == "lost_card" and done[-1]["status"] == "completed"

    def _list(
        self,
        ctx: TurnContext,
        fs: dict[str, Any],
        txns: list[Transaction],
        lead: str,
        only: list[Transaction] | None = None,
    ) -> FlowResult:
        fs["step"] = "pick"
        fs["slots"].pop("txn", None)
        recent = self._recent(ctx, only if only is not None else txns, txns)
        if only is not None:
            fs["slots"]["matched"] = True
        else:
            fs["slots"].pop("matched", None)
        window = self._window(ctx)
        if not recent:
            return ended(
                Draft(
                    text=lead
                    + ctx.pick(
                        f"您最近{window}天没有可以发起争议的交易。",
                        f"You have no transactions from the last {window} days to dispute.",
                    ),
                    handled="flow",
                    tool_values=[window],
                ),
                "completed",
            )
        fs["slots"]["shown"] = [t.id for t in recent]
        options = [button(self._label(ctx, t, txns), "dispute.pick", fs, txn=t.id) for t in recent]
        options.append(
            {
                "label": ctx.pick("都不是，转人工", "None of these, talk to a person"),
                "action_id": "handoff.request",
                "values": {},
            }
        )
        reason = fs["slots"].get("reason")
        ask = (
            ctx.pick("是哪一笔不是您本人的交易？", "Which one wasn't you?")
            if reason == "unrecognised"
            else ctx.pick("是哪一笔交易有问题？", "Which transaction is it about?")
        )
        intro = (
            ctx.pick("有几笔交易符合。", "A few transactions match. ")
            if only is not None
            else ctx.pick(
                f"这是您最近{window}天的交易（可疑的排在前面）。",
                f"Here are your transactions from the last {window} days, anything unusual first. ",
            )
        )
        text = lead + intro + ask
        return FlowResult(
            draft=Draft(
                text=text,
                handled="flow",
                tool_values=[window, jsonable(recent)],
                cards=[choices_card(ctx.pick("选择交易", "Pick the transaction"), fs, options)],
            ),
            state=fs,
        )

    async def _matched(
        self, ctx: TurnContext, fs: dict[str, Any], txns: list[Transaction], found: list[Transaction]
    ) -> FlowResult:
        window = self._window(ctx)
        since = ctx.today() - timedelta(days=window)
        inside = [t for t in found if t.posted_on >= since]
        if not found:
            return self._list(
                ctx, fs, txns, ctx.pick("没有找到您说的这笔交易。", "I couldn't find that transaction. ")
            )
        if not inside:
            return self._too_old(ctx, found[0])
        if fs["slots"].get("reason") == "duplicate":
            # "Charged twice": the second of two identical charges is the one to dispute.
            second = [t for t in inside if suspicious(t, txns) == "duplicate"]
            inside = second if len(second) == 1 else inside
        if len(inside) == 1:
            return await self._selected(ctx, fs, inside[0])
        return self._list(ctx, fs, txns, "", only=inside)

    def _too_old(self, ctx: TurnContext, t: Transaction) -> FlowResult:
        window = self._window(ctx)
        age = (ctx.today() - t.posted_on).days
        text = ctx.pick(
            f"{fmt_date(t.posted_on, 'zh')}入账的{t.merchant} {fmt_money(t.amount)}已入账{age}天，"
            f"超过了入账后{window}天的争议受理期限，"
            f"我无法在线为您发起争议。可以为您转接人工客服进一步核实。",
            f"The {fmt_money(t.amount)} at {t.merchant} posted on {fmt_date(t.posted_on, 'en')}, {age} "
            "days ago, "
            f"which is past the {window}-day window for disputes, so I can't open one here. A person can "
            "look "
            f"into it with you.",
        )
        cards = [
            {
                "type": "choices",
                "id": f"dispute-old-{ctx.seq}",
                "options": [
                    {
                        "label": ctx.pick("转人工客服", "Talk to a person"),
                        "action_id": "handoff.request",
                        "values": {},
                    }
                ],
            }
        ]
        return ended(
            Draft(text=text, handled="flow", cards=cards, tool_values=[jsonable(t), age, window]), "failed"
        )

    async def _selected(self, ctx: TurnContext, fs: dict[str, Any], t: Transaction) -> FlowResult:
        fs["slots"]["txn"] = t.id
        open_case = await self._open_case_for(ctx, t)
        if open_case is not None:
            text = ctx.pick(
                f"{fmt_date(t.posted_on, 'zh')} {t.merchant} "
                f"{fmt_money(t.amount)}已经在处理中（案件编号{open_case.id}），"
                f"不需要重复提交。",
                f"The {fmt_money(t.amount)} at {t.merchant} on {fmt_date(t.posted_on, 'en')} is already "
                f"being handled (case {open_case.id}); no need to report it again.",
            )
            return ended(
                Draft(text=text, handled="flow", tool_values=[jsonable(t), jsonable(open_case)]), "completed"
            )
        if fs["slots"].get("reason") in REASONS:
            return self._confirm(ctx, fs, t)
        fs["step"] = "reason"
        labels = {
            "unrecognised": ("不是我本人的交易", "It wasn't me"),
            "duplicate": ("重复扣款", "I was charged twice"),
            "refund": ("退款没到账", "My refund hasn't arrived"),
            "not_received": ("没收到商品或服务", "I didn't receive the goods"),
        }
        options = [button(ctx.pick(*labels[r]), "dispute.reason", fs, reason=r) for r in REASONS]
        text = ctx.pick(
            f"{fmt_date(t.posted_on, 'zh')} {t.merchant} {fmt_money(t.amount)}：是什么情况？",
            f"{fmt_money(t.amount)} at {t.merchant} on {fmt_date(t.posted_on, 'en')}: what happened?",
        )
        return FlowResult(
            draft=Draft(
                text=text,
                handled="flow",
                tool_values=[jsonable(t)],
                cards=[choices_card(ctx.pick("问题类型", "What happened"), fs, options, "reason")],
            ),
            state=fs,
        )

    async def _open_case_for(self, ctx: TurnContext, t: Transaction) -> Case | None:
        return next(
            (
                c
                for c in await ctx.cards.cases(ctx.customer_id)
                if c.kind in ("fraud", "merchant_dispute")
                and c.status in ("open", "pending")
                and c.details.get("txn") == t.id
            ),
            None,
        )

    def _confirm(self, ctx: TurnContext, fs: dict[str, Any], t: Transaction) -> FlowResult:
        fs["step"] = "confirm"
        reason = fs["slots"]["reason"]
        s = ctx.schedule
        what = [
            [
                ctx.pick("交易", "Transaction"),
                f"{fmt_date(t.posted_on, ctx.lang)} {t.merchant} {fmt_money(t.amount)}",
            ]
        ]
        if reason == "unrecognised":
            days = int(s.get("disputes.provisional_credit_business_days"))
            lines = [
                *what,
                [ctx.pick("卡片", "Card"), ctx.pick("立即冻结，不能再交易", "frozen at once, can't be used")],
                [
                    ctx.pick("案件", "Case"),
                    ctx.pick("欺诈案件，风控专员优先处理", "fraud case, risk team, top priority"),
                ],
                [
                    ctx.pick("临时贷记", "Provisional credit"),
                    ctx.pick(f"案件受理后{days}个工作日内", f"within {days} business days once accepted"),
                ],
            ]
            text = ctx.pick(
                "请确认："
                f"{fmt_date(t.posted_on, 'zh')}在{t.merchant}的{fmt_money(t.amount)}不是您本人的交易。"
                "确认后我会立即冻结这张卡片"
                f"（冻结后不能再使用，需要补发新卡），建立欺诈案件并转给风控专员。",
                f"Please confirm that the {fmt_money(t.amount)} at {t.merchant} on "
                f"{fmt_date(t.posted_on, 'en')} "
                "wasn't you. I'll then freeze the card at once (it can't be used after that; a new card "
                "is issued), "
                f"open a fraud case and pass you to the risk team.",
            )
            label = ctx.pick("确认报告并冻结卡片", "Report it and freeze the card")
            values: list[Any] = [jsonable(t), days]
        else:
            days = int(s.get("disputes.merchant_resolution_days"))
            kinds = {
                "duplicate": ("重复扣款", "charged twice"),
                "refund": ("退款未到账", "refund not received"),
                "not_received": ("未收到商品或服务", "goods or service not received"),
            }
            lines = [
                *what,
                [ctx.pick("问题", "Problem"), ctx.pick(*kinds[reason])],
                [
                    ctx.pick("处理", "Resolution"),
                    ctx.pick(
                        f"联系卡组织处理，{days}天内给出结果", f"through the card network, within {days} days"
                    ),
                ],
            ]
            text = ctx.pick(
                f"请确认：就{fmt_date(t.posted_on, 'zh')}在{t.merchant}的{fmt_money(t.amount)}"
                f"（{kinds[reason][0]}）发起争议。"
                f"我们会联系卡组织处理，{days}天内给出结果。",
                f"Please confirm a dispute about the {fmt_money(t.amount)} at {t.merchant} on "
                f"{fmt_date(t.posted_on, 'en')} ({kinds[reason][1]}). We'll take it up through the card "
                f"network and resolve it within {days} days.",
            )
            label = ctx.pick("确认发起争议", "Open the dispute")
            values = [jsonable(t), days]
        card = confirm_card(
            ctx,
            fs,
            title=ctx.pick("确认争议", "Confirm the dispute"),
            lines=lines,
            action_id="dispute.confirm",
            label=label,
        )
        return FlowResult(draft=Draft(text=text, handled="flow", cards=[card], tool_values=values), state=fs)

    # -- steps --------------------------------------------------------------------------------

    async def step(self, ctx: TurnContext, fs: dict[str, Any], inp: FlowInput) -> FlowResult:
        fs["customer_steps"] = fs.get("customer_steps", 1) + 1
        slots = fs["slots"]
        txns = await self._transactions(ctx)
        by_id = {t.id: t for t in txns}
        if inp.kind == "action":
            if inp.action_id == "dispute.pick" and inp.values.get("txn") in by_id:
                return await self._matched(ctx, fs, txns, [by_id[str(inp.values["txn"])]])
            if inp.action_id == "dispute.reason" and inp.values.get("reason") in REASONS:
                slots["reason"] = inp.values["reason"]
            if inp.action_id == "dispute.confirm" and fs["step"] == "confirm" and slots.get("txn") in by_id:
                return await self._act(ctx, fs, by_id[slots["txn"]])
            return await self._where_we_were(ctx, fs, txns)
        u = ctx.u
        assert u is not None
        reason = read_reason(u.text, u.signals)
        confirming = u.is_affirmative is True or bool(_CONFIRM_START.match(u.text.strip()))
        # "确认，不是我" confirms the report it restates.
        if fs["step"] == "confirm" and confirming and reason in (None, slots.get("reason")):
            return await self._act(ctx, fs, by_id[slots["txn"]])
        if fs["step"] == "confirm" and reason is None and u.is_affirmative is False:
            return cancelled(ctx)
        if reason:
            slots["reason"] = reason
        if fs["step"] == "pick":
            picked = self._typed_pick(ctx, fs, txns)
            if picked is not None:
                return await self._matched(ctx, fs, txns, picked)
        return await self._where_we_were(ctx, fs, txns)

    def _typed_pick(
        self, ctx: TurnContext, fs: dict[str, Any], txns: list[Transaction]
    ) -> list[Transaction] | None:
        u = ctx.u
        assert u is not None
        shown = [t for i in fs["slots"].get("shown", []) for t in txns if t.id == i]
        n = read_ordinal(u.text)
        if n is not None and 1 <= n <= len(shown):
            return [shown[n - 1]]
        return self._described(ctx, txns)

    async def _where_we_were(
        self, ctx: TurnContext, fs: dict[str, Any], txns: list[Transaction]
    ) -> FlowResult:
        by_id = {t.id: t for t in txns}
        t = by_id.get(fs["slots"].get("txn", ""))
        if t is not None and fs["step"] in ("reason", "confirm"):
            return await self._selected(ctx, fs, t)
        shown = [x for i in fs["slots"].get("shown", []) for x in txns if x.id == i]
        return self._list(ctx, fs, txns, "", only=shown if fs["slots"].get("matched") and shown else None)

    # -- side effects -------------------------------------------------------------------------

    async def _act(self, ctx: TurnContext, fs: dict[str, Any], t: Transaction) -> FlowResult:
        if fs["slots"]["reason"] == "unrecognised":
            return await self._report_fraud(ctx, fs, t)
        return await self._merchant_dispute(ctx, fs, t)

    def _details(self, t: Transaction, reason: str) -> dict[str, Any]:
        return {
            "txn": t.id,
            "merchant": t.merchant,
            "amount": str(t.amount),
            "posted_on": t.posted_on.isoformat(),
            "occurred_at": t.occurred_at.isoformat(),
            "country": t.country,
            "currency": t.currency,
            "reason": reason,
            "channel": "assistant",
        }

    async def _report_fraud(self, ctx: TurnContext, fs: dict[str, Any], t: Transaction) -> FlowResult:
        card = next(c for c in await ctx.cards.cards(ctx.customer_id) if c.id == t.card_id)
        freeze_note = ""
        if card.status in ("active", "inactive"):
            try:
                await ctx.cards.freeze_card(
                    ctx.customer_id, card.id, reason="fraud", key=f"{ctx.conversation_id}:{fs['fid']}:freeze"
                )
                when = ctx.clock().astimezone(CHINA).strftime("%H:%M")
                freeze_note = f"card **** {card.last4} frozen {when}; "
                said = ctx.pick(
                    f"已为您冻结尾号{card.last4}的卡片，现在起不能再交易。",
                    f"Your card ending {card.last4} is frozen now and can't be used. ",
                )
            except CardSystemError as exc:
                if exc.code != "card_frozen":
                    return self._failed(ctx, t, f"card freeze failed: {exc.code}")
                said = ctx.pick(
                    f"尾号{card.last4}的卡片已经是冻结状态。",
                    f"Your card ending {card.last4} is already frozen. ",
                )
        elif card.status == "frozen":
            said = ctx.pick(
                f"尾号{card.last4}的卡片已经是冻结状态。",
                f"Your card ending {card.last4} is already frozen. ",
            )
        else:
            said = ctx.pick(
                f"尾号{card.last4}的卡片已经停止使用。",
                f"Your card ending {card.last4} is already out of use. ",
            )
        try:
            case = await ctx.cards.open_case(
                ctx.customer_id,
                kind="fraud",
                card_id=card.id,
                priority=1,
                details=self._details(t, "unrecognised"),
                key=f"{ctx.conversation_id}:{fs['fid']}:case",
            )
        except CardSystemError as exc:
            return self._failed(ctx, t, f"{freeze_note}fraud case not opened: {exc.code}")
        days = int(ctx.schedule.get("disputes.provisional_credit_business_days"))
        text = said + ctx.pick(
            f"{fmt_date(t.posted_on, 'zh')}在{t.merchant}的{fmt_money(t.amount)}"
            f"已登记为欺诈案件（编号{case.id}，优先处理）。"
            f"案件受理后，这笔金额会在{days}个工作日内先以临时贷记的方式入账。我现在为您转接风控专员，他们能看到以上全部信息。",
            f"The {fmt_money(t.amount)} at {t.merchant} on {fmt_date(t.posted_on, 'en')} is recorded as a "
            "fraud "
            f"case ({case.id}, top priority). Once the case is accepted, a provisional credit for it is "
            "posted "
            f"within {days} business days. I'm passing you to the risk team now; they can see all of this.",
        )
        summary = (
            f"{freeze_note}fraud case {case.id} (priority 1) for {t.amount} at {t.merchant} "
            f"posted {t.posted_on.isoformat()}"
        )
        return ended(
            Draft(text=text, handled="flow", tool_values=[jsonable(t), jsonable(case), days]),
            "handoff",
            handoff=HandoffAsk(reason="unrecognised_transaction", priority=1, skills=("risk",), note=summary,
                               txn_ids=(t.id,)),
            action={"kind": "fraud_reported", "case_id": case.id, "summary": summary},
        )

    def _failed(self, ctx: TurnContext, t: Transaction, note: str) -> FlowResult:
        text = ctx.pick(
            "抱歉，系统没能完成登记。为了您的资金安全，我马上为您转接风控专员处理。",
            "Sorry, the system couldn't complete the report. To keep your money safe I'm passing you to "
            "the risk team right away.",
        )
        return ended(
            Draft(text=text, handled="flow", resolved=False, tool_values=[jsonable(t)]),
            "handoff",
            handoff=HandoffAsk(
                reason="unrecognised_transaction",
                priority=1,
                skills=("risk",),
                note=f"{note}; disputed {t.amount} at {t.merchant} {t.posted_on.isoformat()}",
                txn_ids=(t.id,),
            ),
        )

    async def _merchant_dispute(self, ctx: TurnContext, fs: dict[str, Any], t: Transaction) -> FlowResult:
        reason = fs["slots"]["reason"]
        try:
            case = await ctx.cards.open_case(
                ctx.customer_id,
                kind="merchant_dispute",
                card_id=t.card_id,
                priority=3,
                details=self._details(t, reason),
                key=f"{ctx.conversation_id}:{fs['fid']}:case",
            )
        except CardSystemError as exc:
            return ended(
                Draft(
                    text=ctx.pick(
                        f"抱歉，争议没有提交成功（{exc.message}），请稍后再试，或由人工客服为您办理。",
                        f"Sorry, the dispute couldn't be opened ({exc.message}); please try "
                        f"again shortly, or a person can do it for you.",
                    ),
                    handled="flow",
                    resolved=False,
                ),
                "failed",
                action={"kind": "dispute_failed", "summary": f"merchant dispute failed: {exc.code}"},
            )
        days = int(ctx.schedule.get("disputes.merchant_resolution_days"))
        due = case.due_by
        text = ctx.pick(
            f"已为您就{fmt_date(t.posted_on, 'zh')}在{t.merchant}的{fmt_money(t.amount)}发起争议，"
            f"案件编号{case.id}。我们会联系卡组织处理，"
            f"{days}天内" + (f"（{fmt_date(due, 'zh')}前）" if due else "") + "给出结果，有进展会通知您。",
            f"Your dispute about the {fmt_money(t.amount)} at {t.merchant} on "
            f"{fmt_date(t.posted_on, 'en')} is open, "
            f"case {case.id}. We'll take it up through the card network and resolve it within {days} days"
            + (f" (by {fmt_date(due, 'en')})" if due else "")
            + "; we'll keep you posted.",
        )
        return ended(
            Draft(text=text, handled="flow", tool_values=[jsonable(t), jsonable(case), days]),
            "completed",
            action={
                "kind": "dispute_opened",
                "case_id": case.id,
                "summary": f"merchant dispute {case.id} ({reason}) for {t.amount} at {t.merchant}",
            },
        )

    # -- typed turns and digressions ------------------------------------------------------------

    def accepts(self, ctx: TurnContext, fs: dict[str, Any]) -> bool:
        u = ctx.u
        if u is None or _QUESTION.search(u.text):
            return False
        if read_reason(u.text, u.signals):
            return True
        if fs["step"] == "confirm":
            return (u.is_affirmative is not None and len(u.text) <= 12) or bool(_CONFIRM_START.match(u.text.strip()))
        if fs["step"] == "pick":
            return bool(
                read_ordinal(u.text) or u.slots.merchant or u.slots.amount is not None or u.slots.date
            )
        return False

    async def resume(self, ctx: TurnContext, fs: dict[str, Any]) -> Draft:
        result = await self._where_we_were(ctx, fs, await self._transactions(ctx))
        result.draft.text = ctx.pick("我们继续刚才的交易争议：", "Back to your dispute: ") + result.draft.text
        return result.draft

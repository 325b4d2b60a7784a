"""Decide: which handler answers an understood turn (knowledge, account tools, a flow, a person).

The intent ids are those of ``design/INTENTS.md``. The same intent can mean three things:

* a **question** about how something works ("分12期年化利率是多少？", "How long does a
  temporary increase last?") → a cited answer from the knowledge base, with a button to do it;
* a **request** to do it ("帮我把京东那笔分12期", "I want to raise my limit") → the flow;
* a **report** of something that happened to the customer ("我的卡丢了", "有一笔不是我刷的")
  → the flow at once (freeze first), with the question answered too when there is one.

Questions about the customer's own figures ("我这期要还多少") go to the card system;
questions about the rules ("账单日能选哪几天") go to the knowledge base.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

RouteKind = Literal["knowledge", "account", "flow", "handoff", "complaint", "chitchat", "decline", "clarify"]

# Intents answered from the card system when the customer asks about their own account.
ACCOUNT_INTENTS = {
    "billing.statement": "statement",
    "billing.min_payment": "min_payment",
    "billing.annual_fee": "annual_fee",
    "account.transactions": "transactions",
    "limit.query": "limit",
    "rewards.points": "points",
    "card.declined": "card_status",
}
# Intents that launch an in-chat flow when the customer asks for it or reports something.
FLOW_INTENTS = {
    "limit.increase": "limit_increase",
    "installment": "installment",
    "card.lost_stolen": "lost_card",
    "fraud.dispute": "dispute",
    "card.activate": "activation",
    "card.pin": "pin_reset",
    "card.replace": "card_replacement",
}

_QUESTION = re.compile(
    r"[?？]|[吗呢么嘛][。.!！\s]*$|什么|怎么|如何|多少|多久|多长|几天|几次|几期|几号|哪|是否|能否|能不能|可不可以|可以吗|"
    r"会不会|有没有|要不要|用不用|收不收|赔不赔|算不算|是不是|为什么|为啥|区别|规则|条件|要求|标准|一般|多大|多高|多少钱|"
    r"^(what|how|why|when|where|which|who|is|are|can|could|do|does|did|will|would|should|may|must|if)\b|"
    r"\b(what|how|why|when|which|is there|are there|any (fee|charge|penalty))\b",
    re.I,
)
# An explicit request to act now (a question that mentions "申请" is still a question).
_REQUEST = re.compile(
    r"帮我|给我|替我|为我|我要|我想|我需要|想要|请(帮|给|为)?(我)?(办|申请|分|开通|设置|激活|冻结|挂失|补|换|提|重置)|"
    r"立即|马上|现在就|赶紧|把.{0,16}(分期|分成|分\d+期|分[三六十二四]+期)|办一下|办理一下|申请一下|开通一下|激活一下|冻结一下|"
    r"\b(i want|i'd like|i would like|i need to|help me|please|let's|go ahead|sign me up|set (it|this|that) up|"
    r"can you (please )?(split|set|freeze|block|activate|replace|raise|increase|open|turn|reset|unlock|change|cancel)|"
    r"could you (please )?(split|set|freeze|block|activate|replace|raise|increase|open|turn|reset|unlock|change))\b",
    re.I,
)
# Something that happened to the customer's own card.
_LOSS_REPORT = re.compile(
    r"(我的|我)(信用)?卡.{0,4}(丢|掉了|不见|找不到|被偷|被盗|被抢|没了)|^(信用)?卡.{0,2}(丢了|不见了|找不到了|被偷了|被抢了)|"
    r"钱包.{0,4}(丢|被偷|被抢)|"
    r"\b(i (have )?lost my|i can'?t find my|someone stole my|i'?ve lost my|my (credit )?card (is|was|has been|got) "
    r"(lost|stolen|missing)|my wallet (is|was|has been|got) (lost|stolen))\b",
    re.I,
)
_FRAUD_REPORT = re.compile(
    r"不是我(本人)?(刷|消费|买|花)的|我(没有?|从来没)(刷|消费|买|花)过?|(我的)?卡被盗刷了|被人盗刷|有一笔.{0,20}(不认识|不是我|陌生)|"
    r"(扣|收|刷)了我两次|重复扣款了|被扣了两次|多扣了|"
    r"\b(i (didn'?t|did not) (make|authori[sz]e|buy)|(this|that|a) charge (isn'?t|is not|wasn'?t) mine|not my charge|"
    r"i don'?t recogni[sz]e (this|that|a|the) (charge|transaction|payment)|someone (used|is using) my card|"
    r"(i was|i got|i'?ve been) (charged|billed) twice|double[- ]charged me)\b",
    re.I,
)
_HYPOTHETICAL = re.compile(r"如果|万一|假如|要是|的话|(时|以后|之后|后)[，,]?.{0,4}卡.{0,3}(丢|被偷|被盗)|"
                           r"\b(if|what happens|in case|ever|suppose)\b", re.I)
_FOUND_AGAIN = re.compile(r"又找到|找回来了|找到了|found it|found my card", re.I)
_MY_DATA = re.compile(
    r"我的|我这|我本期|我这期|我现在|我还|我欠|我卡|我有|我的卡|本期|这期|这个月|上个月|本月|当前|目前|现在|剩下|还剩|还要还|还差|"
    r"我今年|今年|我会|我要交|我被|"
    r"\b(my|mine|do i owe|i owe|this month|last month|this year|this statement|this bill|right now|currently|"
    r"so far|how many points|"
    r"do i have(?! to)|have i (got|earned|spent|paid)|will i|am i)\b",
    re.I,
)
_RULE_WORDS = re.compile(r"规则|条件|标准|怎么算|如何计算|比例|百分之|收费|手续费|费率|利率|年化|滞纳金|罚息|怎么收|"
                         r"\b(rule|rules|condition|how is .{0,20} calculated|percent|percentage|fee|fees|"
                         r"penalty|rate|apr|interest)\b", re.I)
_CHOICE_RULES = re.compile(
    r"能选|可以选|可选|选哪|能改|可以改|能换成|\b(can i (pick|choose|change)|which days|options?)\b", re.I
)
_WHERE_HOW = re.compile(r"哪里|在哪|怎么|如何|为什么|为啥|\b(where|how|why)\b", re.I)
_AUTOPAY = re.compile(r"自动还款|自动扣款|autopay|auto-pay|automatic payment|direct debit", re.I)
_PAYMENT_ARRIVED = re.compile(
    r"到账|还进去|入账了吗|收到.*还款|did my payment|payment (arrive|post)|received my payment", re.I
)
_EARLY_PAYOFF = re.compile(r"提前还清|提前还款|提前结清|一次性还清|提前全部还|pay\s+(\w+\s+){0,3}off\s+early|"
                           r"early\s+(re)?pay(ment|off)|pay off (the|my|this) (installment|plan)", re.I)
_REPLACEMENT_STATUS = re.compile(r"到哪|寄到哪|物流|单号|什么时候到|where is my (new )?card|tracking", re.I)
_HOW_TO_REDEEM = re.compile(
    r"兑换|怎么用|抵扣|里程|有效期|过期|怎么(获得|积)|攒|redeem|miles|expire|earn|use my points", re.I
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """Where a turn goes. ``offer`` is a flow offered as a button next to a knowledge answer;
    ``also_answer`` asks the engine to add a cited answer to a flow started by a report."""

    kind: RouteKind
    target: str = ""
    also_knowledge: bool = False
    offer: str | None = None
    also_answer: bool = False


def is_question(text: str) -> bool:
    return bool(_QUESTION.search(text.strip()))


def is_request(text: str) -> bool:
    return bool(_REQUEST.search(text))


def wants_action(text: str) -> bool:
    """The customer asks for something to be done (a request that is not merely a question)."""
    return is_request(text) or not is_question(text)


def is_loss_report(text: str) -> bool:
    return bool(_LOSS_REPORT.search(text)) and not _FOUND_AGAIN.search(text) and not _HYPOTHETICAL.search(text)


def is_fraud_report(text: str) -> bool:
    return bool(_FRAUD_REPORT.search(text)) and not _HYPOTHETICAL.search(text)


def about_my_account(text: str) -> bool:
    return bool(_MY_DATA.search(text))


def route(intent: str, text: str) -> Route:  # noqa: C901 - one flat case per intent reads best
    """The route for a confident intent."""
    match intent:
        case "human.agent":
            return Route(kind="handoff", target="customer_request")
        case "complaint":
            return Route(kind="complaint")
        case "chitchat":
            return Route(kind="chitchat")
        case "out_of_scope":
            return Route(kind="decline")
        case "card.lost_stolen":
            if is_loss_report(text):
                return Route(kind="flow", target="lost_card", also_answer=is_question(text))
            if is_request(text) and not is_question(text):
                return Route(kind="flow", target="lost_card")
            return Route(kind="knowledge", offer="lost_card")
        case "fraud.dispute":
            if is_fraud_report(text) or (is_request(text) and not _HYPOTHETICAL.search(text)):
                return Route(kind="flow", target="dispute", also_answer=is_question(text))
            if not is_question(text) and not _HYPOTHETICAL.search(text):
                return Route(kind="flow", target="dispute")
            return Route(kind="knowledge", offer="dispute")
        case "payment.how_to_pay":
            if _AUTOPAY.search(text):
                return _act_or_explain(text, "autopay")
            if _PAYMENT_ARRIVED.search(text):
                return Route(kind="account", target="payment_status", also_knowledge=True)
            return Route(kind="knowledge")
        case "installment":
            if _EARLY_PAYOFF.search(text):
                return _act_or_explain(text, "installment_early_payoff")
            return _act_or_explain(text, "installment", quote=True)
        case "card.replace" if _REPLACEMENT_STATUS.search(text):
            return Route(kind="account", target="replacement_status")
        case "limit.increase" | "card.activate" | "card.replace" | "card.pin":
            return _act_or_explain(text, FLOW_INTENTS[intent])
        case "rewards.points" if _HOW_TO_REDEEM.search(text):
            # How points work; with "my" the balance and what expires come first.
            if about_my_account(text):
                return Route(kind="account", target="points", also_knowledge=True)
            return Route(kind="knowledge")
        case _ if intent in ACCOUNT_INTENTS:
            return _account_or_rules(intent, text)
    return Route(kind="knowledge")


def _act_or_explain(text: str, flow: str, *, quote: bool = False) -> Route:
    """A request (or a bare statement like "我想分期") runs the flow; a question gets a cited
    answer with the flow offered as a button (an installment question with an amount gets a quote)."""
    if is_request(text) and not (is_question(text) and _RULE_WORDS.search(text)):
        return Route(kind="flow", target=flow)
    if not is_question(text):
        return Route(kind="flow", target=flow)
    return Route(kind="knowledge", target="installment_quote" if quote else "", offer=flow)


def _account_or_rules(intent: str, text: str) -> Route:
    """The customer's own figures from the card system, or the rule behind them from the knowledge base."""
    target = ACCOUNT_INTENTS[intent]
    if is_question(text) and not about_my_account(text) and intent not in ("account.transactions",):
        return Route(kind="knowledge")
    if is_question(text) and _CHOICE_RULES.search(text):
        return Route(kind="knowledge")
    if is_question(text) and _WHERE_HOW.search(text):
        # "我的账单在哪看" / "where can I see my bill": their figures and how it works.
        return Route(kind="account", target=target, also_knowledge=True)
    if _RULE_WORDS.search(text) and is_question(text) and intent in ("limit.query", "card.declined",
                                                                     "billing.statement"):
        return Route(kind="account", target=target, also_knowledge=True)
    also = intent in ("billing.min_payment", "card.declined") and is_question(text)
    return Route(kind="account", target=target, also_knowledge=also)

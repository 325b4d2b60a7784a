"""Decide: which handler answers an understood turn (knowledge, account tools, a flow, a person).

The intent ids are those of ``design/INTENTS.md``. Each handler returns a ``Draft``; flows and
handoffs are started by the engine from the ``Route`` this module returns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

RouteKind = Literal["knowledge", "account", "flow", "handoff", "complaint", "chitchat", "decline", "clarify"]

# Intents answered from the card system first (then enriched from knowledge where useful).
ACCOUNT_INTENTS = {
    "billing.statement": "statement",
    "billing.min_payment": "min_payment",
    "billing.annual_fee": "annual_fee",
    "account.transactions": "transactions",
    "limit.query": "limit",
    "rewards.points": "points",
    "card.declined": "card_status",
}
# Intents that launch an in-chat flow when the customer wants it done (not just explained).
FLOW_INTENTS = {
    "limit.increase": "limit_increase",
    "installment": "installment",
    "card.lost_stolen": "lost_card",
    "fraud.dispute": "dispute",
    "card.activate": "activation",
    "card.pin": "pin_reset",
    "card.replace": "card_replacement",
}
KNOWLEDGE_INTENTS = {
    "billing.interest_fees", "payment.how_to_pay", "cash_advance", "benefits.rights", "fx.international",
    "application.status", "card.cancel", "profile.update",
}

# A question about how something works ("分期手续费多少？") vs asking for it to be done ("帮我分期").
_DO_IT = re.compile(
    r"帮我|给我|我要|我想|想要|申请|办理|办一下|开通|设置|设定|我需要|需要|马上|立即|现在就|请帮|能不能帮|可以帮|把.{0,12}(分期|分|冻结|挂失)|"
    r"分(3|6|12|24|三|六|十二|二十四)期|提前还清|激活|冻结|挂失|补卡|换卡|"
    r"\b(i want|i'd like|i would like|please|can you|could you|help me|set up|apply|split|freeze|block|"
    r"activate|replace|turn on|sign me up|do it|go ahead|increase my|raise my|pay off)\b",
    re.I,
)
_HOW_IT_WORKS = re.compile(
    r"多少|怎么算|如何计算|是什么|什么是|规则|条件|要求|能不能|可以吗|吗[？?]?$|怎么收|收费|费率|利率|年化|怎么办|该怎么|怎么处理|"
    r"\b(how much|what is|what's|what are|how does|how do|rules?|conditions?|requirements?|explain|fees?|rate|apr|"
    r"what happens|what should i do|what do i do|what would)\b",
    re.I,
)
_HYPOTHETICAL = re.compile(r"如果|万一|假如|要是|\b(if|what happens|in case|ever)\b", re.I)
_AUTOPAY = re.compile(r"自动还款|自动扣款|autopay|auto-pay|automatic payment|direct debit", re.I)
_PAYMENT_ARRIVED = re.compile(r"到账|还进去|入账了吗|收到.*还款|did my payment|payment (arrive|post)|received my payment",
                              re.I)
_EARLY_PAYOFF = re.compile(r"提前还清|提前还款|提前结清|一次性还清|pay\s+(\w+\s+){0,3}off\s+early|early\s+(re)?pay(ment|off)|"
                           r"pay off (the|my|this) (installment|plan)", re.I)
_REPLACEMENT_STATUS = re.compile(r"到哪|寄到|快递|物流|单号|什么时候到|where is my (new )?card|tracking|deliver", re.I)
_BILL_INSTALLMENT = re.compile(r"账单分期|bill installment|split my bill", re.I)
_HOW_TO_REDEEM = re.compile(r"兑换|怎么用|抵扣|里程|有效期|过期|怎么(获得|积)|redeem|miles|expire|earn|use my points", re.I)
_INTEREST_PERIOD = re.compile(r"免息期|interest-free period|grace", re.I)


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """Where a turn goes."""

    kind: RouteKind
    target: str = ""
    also_knowledge: bool = False


def wants_action(text: str) -> bool:
    """The customer asks for something to be done, not explained."""
    return bool(_DO_IT.search(text))


def asks_how(text: str) -> bool:
    return bool(_HOW_IT_WORKS.search(text))


def route(intent: str, text: str) -> Route:
    """The route for a confident intent."""
    if intent == "human.agent":
        return Route(kind="handoff", target="customer_request")
    if intent == "complaint":
        return Route(kind="complaint")
    if intent == "chitchat":
        return Route(kind="chitchat")
    if intent == "out_of_scope":
        return Route(kind="decline")
    if intent == "payment.how_to_pay":
        if _AUTOPAY.search(text) and (wants_action(text) or not asks_how(text)):
            return Route(kind="flow", target="autopay")
        if _PAYMENT_ARRIVED.search(text):
            return Route(kind="account", target="payment_status")
        return Route(kind="knowledge")
    if intent == "installment":
        if _EARLY_PAYOFF.search(text):
            return Route(kind="flow", target="installment_early_payoff") if wants_action(text) or not asks_how(
                text) else Route(kind="knowledge")
        if asks_how(text) and not wants_action(text) and not _BILL_INSTALLMENT.search(text):
            return Route(kind="knowledge", target="installment_offer")
        return Route(kind="flow", target="installment")
    if intent == "card.replace" and _REPLACEMENT_STATUS.search(text):
        return Route(kind="account", target="replacement_status")
    if intent in ("limit.increase", "card.activate", "card.replace", "card.pin"):
        if asks_how(text) and not wants_action(text):
            return Route(kind="knowledge", target=f"{FLOW_INTENTS[intent]}_offer")
        return Route(kind="flow", target=FLOW_INTENTS[intent])
    if intent in ("card.lost_stolen", "fraud.dispute"):
        # A report is acted on at once; only a clear "how does it work" question is answered from knowledge.
        if asks_how(text) and _HYPOTHETICAL.search(text) and not re.search(r"我的卡(已经)?丢|刚(刚)?丢|被偷了|不见了", text):
            return Route(kind="knowledge", target=f"{FLOW_INTENTS[intent]}_offer")
        return Route(kind="flow", target=FLOW_INTENTS[intent])
    if intent == "rewards.points" and _HOW_TO_REDEEM.search(text):
        return Route(kind="account", target="points", also_knowledge=True)
    if intent == "billing.interest_fees" and _INTEREST_PERIOD.search(text):
        return Route(kind="knowledge")
    if intent in ACCOUNT_INTENTS:
        also = intent in ("billing.min_payment", "card.declined") and asks_how(text)
        return Route(kind="account", target=ACCOUNT_INTENTS[intent], also_knowledge=also)
    return Route(kind="knowledge")

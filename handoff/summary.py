"""The templated, extractive handoff summary in both languages, and default next steps.

Used when the bot has no LLM summary, and always kept beside one: it states only facts
from the package (who, what problem in the customer's own words, what was already done,
what is pending), so an agent can trust it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from handoff.models import HandoffReason, Language, LocalText

if TYPE_CHECKING:
    from handoff.context import ContextPackage

QUOTE_CHARS = 120

REASON_LABELS: Mapping[HandoffReason, LocalText] = {
    HandoffReason.CUSTOMER_REQUEST: LocalText(zh="客户要求人工服务", en="the customer asked for a person"),
    HandoffReason.REPEATED_QUESTION: LocalText(
        zh="同一问题重复提出仍未解决", en="the same question came back unresolved"
    ),
    HandoffReason.FRUSTRATION: LocalText(zh="客户情绪不满", en="the customer is frustrated"),
    HandoffReason.UNRECOGNISED_TRANSACTION: LocalText(
        zh="客户报告不认识的交易（疑似盗刷）", en="the customer reports a transaction they do not recognise"
    ),
    HandoffReason.REGULATOR_COMPLAINT: LocalText(
        zh="客户表示将向监管机构投诉", en="the customer mentions a complaint to the regulator"
    ),
    HandoffReason.COMPLAINT: LocalText(zh="客户投诉", en="the customer has a complaint"),
    HandoffReason.FLOW_FAILURE: LocalText(zh="业务办理在卡系统中失败", en="a flow failed in the card system"),
    HandoffReason.VIP_POLICY: LocalText(zh="贵宾客户服务政策", en="VIP service policy"),
    HandoffReason.ANSWER_REFUSED: LocalText(
        zh="客户不接受助手的答复", en="the customer rejected the assistant's answer"
    ),
    HandoffReason.LLM_UNAVAILABLE: LocalText(
        zh="智能助手暂不可用", en="the assistant's language model is unavailable"
    ),
}

INTENT_LABELS: Mapping[str, LocalText] = {
    "billing.statement": LocalText(zh="账单查询", en="statement and amount due"),
    "billing.min_payment": LocalText(zh="最低还款额", en="minimum payment"),
    "billing.interest_fees": LocalText(zh="利息和费用", en="interest and fees"),
    "billing.annual_fee": LocalText(zh="年费", en="annual fee"),
    "payment.how_to_pay": LocalText(zh="还款", en="paying the card"),
    "account.transactions": LocalText(zh="交易查询", en="transactions"),
    "card.activate": LocalText(zh="激活卡片", en="card activation"),
    "card.lost_stolen": LocalText(zh="挂失/冻结卡片", en="lost or stolen card"),
    "card.replace": LocalText(zh="补换卡", en="card replacement"),
    "card.declined": LocalText(zh="交易被拒", en="declined payment"),
    "card.pin": LocalText(zh="密码", en="PIN"),
    "fraud.dispute": LocalText(zh="交易争议/盗刷", en="disputed or unrecognised transaction"),
    "limit.query": LocalText(zh="额度查询", en="credit limit"),
    "limit.increase": LocalText(zh="提额", en="limit increase"),
    "installment": LocalText(zh="分期", en="installments"),
    "cash_advance": LocalText(zh="取现", en="cash advance"),
    "rewards.points": LocalText(zh="积分", en="reward points"),
    "benefits.rights": LocalText(zh="卡片权益", en="card benefits"),
    "fx.international": LocalText(zh="境外用卡", en="using the card abroad"),
    "application.status": LocalText(zh="办卡进度", en="card application"),
    "card.cancel": LocalText(zh="销卡", en="cancelling the card"),
    "profile.update": LocalText(zh="资料变更", en="profile update"),
    "complaint": LocalText(zh="投诉", en="complaint"),
    "human.agent": LocalText(zh="转人工", en="talk to a person"),
    "chitchat": LocalText(zh="闲聊", en="small talk"),
    "out_of_scope": LocalText(zh="非信用卡业务", en="out of scope"),
}

TIER_LABELS: Mapping[str, LocalText] = {
    "classic": LocalText(zh="普卡", en="Classic"),
    "gold": LocalText(zh="金卡", en="Gold"),
    "platinum": LocalText(zh="白金卡", en="Platinum"),
    "diamond": LocalText(zh="钻石卡", en="Diamond"),
}

TREND_LABELS: Mapping[str, LocalText] = {
    "improving": LocalText(zh="好转", en="improving"),
    "steady": LocalText(zh="平稳", en="steady"),
    "worsening": LocalText(zh="变差", en="worsening"),
    "unknown": LocalText(zh="未知", en="unknown"),
}

REASON_STEPS: Mapping[HandoffReason, LocalText] = {
    HandoffReason.CUSTOMER_REQUEST: LocalText(
        zh="确认客户的具体诉求并办理", en="Confirm what the customer needs and handle it"
    ),
    HandoffReason.REPEATED_QUESTION: LocalText(
        zh="直接回答客户反复提出的问题", en="Answer the question the assistant could not resolve"
    ),
    HandoffReason.FRUSTRATION: LocalText(
        zh="先致歉安抚，再处理问题", en="Acknowledge the frustration, then solve the problem"
    ),
    HandoffReason.UNRECOGNISED_TRANSACTION: LocalText(
        zh="核实可疑交易，确认卡片已冻结，开立盗刷调查案件",
        en="Verify the transactions, confirm the card is frozen, open a fraud case",
    ),
    HandoffReason.REGULATOR_COMPLAINT: LocalText(
        zh="登记投诉并按投诉处理时限答复客户",
        en="Log the complaint and answer within the complaint-handling targets",
    ),
    HandoffReason.COMPLAINT: LocalText(
        zh="登记投诉并按投诉处理时限答复客户",
        en="Log the complaint and answer within the complaint-handling targets",
    ),
    HandoffReason.FLOW_FAILURE: LocalText(
        zh="检查失败的操作，在卡系统中手动完成", en="Check the failed step and complete it in the card system"
    ),
    HandoffReason.VIP_POLICY: LocalText(zh="按贵宾服务标准办理", en="Handle to the VIP service standard"),
    HandoffReason.ANSWER_REFUSED: LocalText(
        zh="了解客户不接受答复的原因并给出解释",
        en="Find out why the answer was rejected and explain",
    ),
    HandoffReason.LLM_UNAVAILABLE: LocalText(
        zh="接续处理客户问题（助手暂不可用）", en="Take over the question (the assistant is unavailable)"
    ),
}

_META_INTENTS = frozenset({"human.agent", "chitchat", "out_of_scope", "complaint"})


def label(table: Mapping[str, LocalText], key: str | None, language: Language) -> str:
    """The label of ``key`` in ``language``; unknown keys show as themselves."""
    if key is None:
        return "—"
    found = table.get(key)
    return found.pick(language) if found else key


def problem_intent(package: ContextPackage) -> str | None:
    """The intent the customer needs help with: the topic, else the last substantive intent."""
    if package.topic and package.topic not in _META_INTENTS:
        return package.topic
    for mark in reversed(package.intents):
        if mark.intent not in _META_INTENTS:
            return mark.intent
    return package.topic


def problem_quote(package: ContextPackage, intent: str | None) -> str | None:
    """The customer's own words for the problem: the turn that raised ``intent``, else the last turn."""
    by_seq = {e.seq: e for e in package.transcript if e.role == "customer"}
    for mark in package.intents:
        if mark.intent == intent and mark.seq in by_seq:
            return _clip(by_seq[mark.seq].text)
    customer_lines = [e for e in package.transcript if e.role == "customer"]
    return _clip(customer_lines[-1].text) if customer_lines else None


def templated_summary(package: ContextPackage, *, tz: ZoneInfo) -> tuple[str, str]:
    """``(zh, en)`` summaries: who, what problem, what was done, what was collected, what is pending."""
    return _render(package, "zh", tz), _render(package, "en", tz)


def default_next_steps(package: ContextPackage) -> tuple[LocalText, ...]:
    """Steps derived from the reason and from unfinished or failed flows and actions."""
    steps = [REASON_STEPS[package.reason]]
    for flow in package.flows:
        where = flow.step or "—"
        if flow.status == "active":
            steps.append(
                LocalText(
                    zh=f"继续办理 {flow.flow}（当前步骤：{where}）",
                    en=f"Continue the {flow.flow} flow (at step {where})",
                )
            )
        elif flow.status == "failed":
            steps.append(
                LocalText(zh=f"重试或手动完成 {flow.flow}", en=f"Retry or complete {flow.flow} by hand")
            )
    for action in package.actions:
        if not action.ok:
            steps.append(
                LocalText(zh=f"处理失败的操作：{action.name}", en=f"Resolve the failed action: {action.name}")
            )
    return tuple(steps)


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1] + "…"


def _time(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%H:%M")


def _render(package: ContextPackage, lang: Language, tz: ZoneInfo) -> str:
    zh = lang == "zh"
    sep, none = ("；", "无") if zh else ("; ", "none")
    c = package.customer
    who = c.name or c.masked_id
    tier = label(TIER_LABELS, c.tier, lang)
    intent = problem_intent(package)
    quote = problem_quote(package, intent)
    reason = REASON_LABELS[package.reason].pick(lang)
    if package.reason_detail:
        reason += f"（{package.reason_detail}）" if zh else f" ({package.reason_detail})"
    done = sep.join(
        f"{a.result} {_time(a.at, tz)}" + ("" if a.ok else ("（失败）" if zh else " (failed)"))
        for a in package.actions
    )
    collected = sep.join(f"{s.name}={s.value}" for s in package.slots)
    pending = sep.join(
        f"{f.flow}: {f.status}" + (f" @ {f.step}" if f.step else "") + (f" — {f.detail}" if f.detail else "")
        for f in package.flows
        if f.status in ("active", "failed")
    )
    trend = label(TREND_LABELS, package.sentiment_trend, lang)
    if zh:
        lines = [
            f"客户：{who}（{tier}，{c.segment}，{'已验证身份' if c.is_verified else '未验证身份'}）。",
            f"转人工原因：{reason}。",
            f"问题：{label(INTENT_LABELS, intent, lang)}"
            + (f"。客户原话：「{quote}」" if quote else "")
            + "。",
            f"已办理：{done or none}。",
            f"已收集：{collected or none}。",
            f"待处理：{pending or none}。",
            f"情绪趋势：{trend}。",
        ]
    else:
        lines = [
            f"Customer: {who} ({tier}, {c.segment}, {'verified' if c.is_verified else 'not verified'}).",
            f"Handed off because {reason}.",
            f"Problem: {label(INTENT_LABELS, intent, lang)}"
            + (f'. Customer said: "{quote}"' if quote else "")
            + ".",
            f"Done so far: {done or none}.",
            f"Collected: {collected or none}.",
            f"Pending: {pending or none}.",
            f"Sentiment: {trend}.",
        ]
    return "\n".join(lines)

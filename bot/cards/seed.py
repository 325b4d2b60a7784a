"""Seeded demo customers for the simulated card system.

Dates are relative to the seeding day so the demo stays current; amounts are fixed per
customer (a seeded random generator per customer id), so a reseed gives the same story.
Coverage: every segment (new, active, vip, dormant), every tier, a recent purchase of
¥600 or more eligible for installment, an unrecognised transaction, a customer not
eligible for a limit increase (a late payment), and English-speaking customers.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from bot.cards.models import jsonable

MERCHANTS_CN = [
    ("美团外卖", "dining", 25, 120), ("星巴克", "dining", 30, 80), ("盒马鲜生", "groceries", 60, 400),
    ("滴滴出行", "transport", 15, 90), ("京东", "shopping", 80, 1500), ("淘宝", "shopping", 40, 600),
    ("中国石化", "fuel", 200, 450), ("携程旅行", "travel", 300, 3000), ("万达影城", "entertainment", 60, 160),
    ("屈臣氏", "shopping", 50, 300), ("海底捞", "dining", 150, 600), ("优衣库", "shopping", 99, 700),
]
MERCHANTS_EN = [
    ("Starbucks", "dining", 30, 80), ("Hema Fresh", "groceries", 60, 400), ("DiDi", "transport", 15, 90),
    ("JD.com", "shopping", 80, 1500), ("Trip.com", "travel", 300, 3000), ("Uniqlo", "shopping", 99, 700),
    ("Wagas", "dining", 60, 200), ("Sinopec", "fuel", 200, 450),
]


@dataclass
class SeedCustomer:
    """The story of one demo customer."""

    id: str
    name: str
    name_en: str
    segment: str
    tier: str
    locale: str
    phone: str
    email: str
    address: str
    tenure_days: int
    credit_limit: int
    monthly_spend: tuple[int, int]
    points: int
    card_status: str = "active"
    issued_days_ago: int | None = None
    last4: str = "0000"
    statement_day: int = 15
    autopay: str | None = None
    dormant_days: int = 0
    late_payment_days_ago: tuple[int, ...] = ()
    last_increase_days_ago: int | None = None
    extra_txns: list[dict[str, Any]] = field(default_factory=list)
    pay_in_full: bool = True
    merchants: list[tuple[str, str, int, int]] = field(default_factory=lambda: MERCHANTS_CN)


def demo_customers() -> list[SeedCustomer]:
    """The seeded demo customers (ids C001…C009)."""
    return [
        SeedCustomer(
            id="C001", name="王小明", name_en="Wang Xiaoming", segment="active", tier="gold", locale="zh-CN",
            phone="13812345678", email="wangxm@example.cn", address="上海市浦东新区, 世纪大道100号1201室",
            tenure_days=760, credit_limit=30000, monthly_spend=(9000, 12000), points=48600, last4="6217",
            extra_txns=[
                {"days_ago": 4, "merchant": "京东", "amount": "3299.00", "category": "electronics",
                 "note": "iPad"},
                {"days_ago": 18, "merchant": "宜家家居", "amount": "8600.00", "category": "home"},
            ],
        ),
        SeedCustomer(
            id="C002", name="李娜", name_en="Li Na", segment="vip", tier="platinum", locale="zh-CN",
            phone="13987654321", email="lina@example.cn", address="北京市朝阳区, 建国路88号SOHO 3号楼",
            tenure_days=1900, credit_limit=100000, monthly_spend=(42000, 56000), points=186000, last4="8802",
            statement_day=5, autopay="full", last_increase_days_ago=400,
            extra_txns=[{"days_ago": 6, "merchant": "携程旅行", "amount": "6800.00", "category": "travel"}],
        ),
        SeedCustomer(
            id="C003", name="陈刚", name_en="Chen Gang", segment="vip", tier="diamond", locale="zh-CN",
            phone="13600001111", email="chengang@example.cn", address="深圳市南山区, 科技园路1号",
            tenure_days=3100, credit_limit=300000, monthly_spend=(60000, 90000), points=520000, last4="9001",
            statement_day=25, autopay="full", last_increase_days_ago=220,
        ),
        SeedCustomer(
            id="C004", name="艾米丽", name_en="Emily Johnson", segment="active", tier="platinum", locale="en-US",
            phone="13700002222", email="emily.j@example.com", address="上海市静安区, 南京西路1266号",
            tenure_days=540, credit_limit=80000, monthly_spend=(12000, 16000), points=61000, last4="4521",
            merchants=MERCHANTS_EN,
            extra_txns=[{"days_ago": 9, "merchant": "Trip.com", "amount": "7450.00", "category": "travel"}],
        ),
        SeedCustomer(
            id="C005", name="张伟", name_en="Zhang Wei", segment="new", tier="classic", locale="zh-CN",
            phone="13511112222", email="zhangw@example.cn", address="杭州市西湖区, 文三路90号",
            tenure_days=12, credit_limit=8000, monthly_spend=(0, 0), points=0, last4="3310",
            card_status="inactive", issued_days_ago=12,
        ),
        SeedCustomer(
            id="C006", name="赵磊", name_en="Zhao Lei", segment="active", tier="classic", locale="zh-CN",
            phone="13122223333", email="zhaolei@example.cn", address="成都市武侯区, 人民南路四段12号",
            tenure_days=420, credit_limit=12000, monthly_spend=(4000, 6500), points=9800, last4="7745",
            late_payment_days_ago=(70,), pay_in_full=False,
        ),
        SeedCustomer(
            id="C007", name="刘洋", name_en="Liu Yang", segment="active", tier="gold", locale="zh-CN",
            phone="13233334444", email="liuyang@example.cn", address="广州市天河区, 天河路208号",
            tenure_days=980, credit_limit=40000, monthly_spend=(7000, 10000), points=35200, last4="1288",
            extra_txns=[
                {"days_ago": 1, "merchant": "GLOBAL DIGITAL SVCS", "amount": "4999.00", "category": "online",
                 "country": "US", "hour": 3, "flag": "unrecognised"},
                {"days_ago": 3, "merchant": "美团外卖", "amount": "86.50", "category": "dining"},
                {"days_ago": 3, "merchant": "美团外卖", "amount": "86.50", "category": "dining",
                 "flag": "duplicate"},
            ],
        ),
        SeedCustomer(
            id="C008", name="孙丽", name_en="Sun Li", segment="dormant", tier="gold", locale="zh-CN",
            phone="13344445555", email="sunli@example.cn", address="南京市鼓楼区, 中山北路30号",
            tenure_days=1500, credit_limit=25000, monthly_spend=(1500, 3000), points=12400, last4="5066",
            dormant_days=270,
        ),
        SeedCustomer(
            id="C009", name="米勒", name_en="James Miller", segment="active", tier="classic", locale="en-US",
            phone="13455556666", email="james.m@example.com", address="北京市东城区, 东直门南大街5号",
            tenure_days=300, credit_limit=15000, monthly_spend=(3500, 5000), points=7300, last4="2049",
            merchants=MERCHANTS_EN,
            extra_txns=[
                {"days_ago": 7, "merchant": "Apple Store", "amount": "1280.00", "category": "electronics"},
                {"days_ago": 75, "merchant": "Wagas", "amount": "238.00", "category": "dining"},
            ],
        ),
    ]


def last_statement_date(today: date, day: int) -> date:
    """The latest date on ``day`` of a month that is not after ``today``."""
    if today.day >= day:
        return today.replace(day=day)
    first = today.replace(day=1) - timedelta(days=1)
    return first.replace(day=day)


def pick_statement_day(today: date, preferred: int, due_days: int) -> int:
    """Prefer ``preferred``; otherwise a statement day whose bill is not yet due (demo-friendly)."""
    for day in (preferred, 15, 25, 5):
        if last_statement_date(today, day) + timedelta(days=due_days) >= today:
            return day
    return preferred


def _months_back(d: date, n: int, day: int) -> date:
    y, m = d.year, d.month - n
    while m <= 0:
        m += 12
        y -= 1
    return date(y, m, day)


def _txn(tid: str, card: str, posted: date, merchant: str, amount: Decimal, kind: str, category: str,
         *, hour: int = 12, country: str = "CN", flag: str | None = None) -> dict[str, Any]:
    occurred = datetime.combine(posted, time(hour % 24, zlib.crc32(tid.encode()) % 60), tzinfo=UTC)
    doc = {"id": tid, "card_id": card, "posted_on": posted.isoformat(), "occurred_at": occurred.isoformat(),
           "merchant": merchant, "amount": str(amount), "kind": kind, "category": category,
           "country": country, "currency": "CNY", "installment_plan_id": None}
    if flag:
        doc["flag"] = flag
    return doc


def build_customer_doc(c: SeedCustomer, today: date, *, due_days: int = 20) -> dict[str, Any]:
    """The simulated core's document for one seeded customer."""
    rng = random.Random(c.id)
    card_id = f"K{c.id[1:]}01"
    opened = today - timedelta(days=c.tenure_days)
    issued = today - timedelta(days=c.issued_days_ago if c.issued_days_ago is not None else min(c.tenure_days, 400))
    sday = pick_statement_day(today, c.statement_day, due_days)
    txns: list[dict[str, Any]] = []
    n = 0
    active_from = max(0, c.dormant_days)
    if c.monthly_spend[1] > 0:
        for days_ago in range(min(c.tenure_days, 180), active_from, -1):
            if rng.random() < 0.45:
                continue
            name, cat, lo, hi = rng.choice(c.merchants)
            daily_budget = rng.uniform(*c.monthly_spend) / 16
            amount = Decimal(str(round(min(rng.uniform(lo, hi) * max(1.0, daily_budget / hi), daily_budget * 3), 2)))
            n += 1
            txns.append(_txn(f"T{c.id[1:]}{n:04d}", card_id, today - timedelta(days=days_ago), name,
                             amount.quantize(Decimal("0.01")), "purchase", cat, hour=rng.randint(8, 22)))
    for extra in c.extra_txns:
        n += 1
        txns.append(_txn(f"T{c.id[1:]}{n:04d}", card_id, today - timedelta(days=extra["days_ago"]),
                         extra["merchant"], Decimal(extra["amount"]), "purchase", extra["category"],
                         hour=extra.get("hour", 14), country=extra.get("country", "CN"), flag=extra.get("flag")))
    txns.sort(key=lambda t: (t["posted_on"], t["id"]))

    statements = _statements(c, card_id, today, sday, due_days, txns)
    # Older statements are settled; the balance is the current statement plus unbilled purchases.
    current = statements[0] if statements else None
    unbilled = sum(
        (Decimal(t["amount"]) for t in txns
         if t["kind"] == "purchase" and (current is None or t["posted_on"] > current["statement_date"])),
        Decimal(0),
    )
    balance = unbilled + (Decimal(current["balance"]) - Decimal(current["paid"]) if current else Decimal(0))
    late = [(today - timedelta(days=d)).isoformat() for d in c.late_payment_days_ago]
    increases = []
    if c.last_increase_days_ago is not None:
        increases.append({"on": (today - timedelta(days=c.last_increase_days_ago)).isoformat(), "kind": "permanent"})
    card = {
        "id": card_id, "customer_id": c.id, "last4": c.last4, "tier": c.tier, "status": c.card_status,
        "credit_limit": str(Decimal(c.credit_limit)), "temp_limit": None, "temp_limit_until": None,
        "opened_on": opened.isoformat(), "issued_on": issued.isoformat(), "statement_day": sday,
        "autopay": c.autopay, "frozen_reason": None, "replaced_by": None,
        "balance": str(balance.quantize(Decimal("0.01"))),
    }
    expiring = c.points // 10 if c.tier != "diamond" and c.points else 0
    return jsonable({
        "customer": {
            "id": c.id, "name": c.name, "name_en": c.name_en, "segment": c.segment, "tier": c.tier,
            "locale": c.locale, "phone": c.phone, "email": c.email, "address": c.address,
            "customer_since": opened.isoformat(),
        },
        "cards": [card],
        "statements": statements,
        "transactions": txns,
        "plans": [],
        "cases": [],
        "replacements": [],
        "points": {"balance": c.points, "expiring": expiring,
                   "expiring_on": (today + timedelta(days=45)).isoformat() if expiring else None},
        "late_payments": late,
        "revolving": not c.pay_in_full,
        "limit_increases": increases,
        "seeded_on": today.isoformat(),
    })


def _statements(c: SeedCustomer, card_id: str, today: date, sday: int, due_days: int,
                txns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    last = last_statement_date(today, sday)
    for i in range(6):
        end = _months_back(last, i, sday)
        start = _months_back(last, i + 1, sday)
        if end < today - timedelta(days=c.tenure_days):
            break
        cycle = [t for t in txns if start.isoformat() < t["posted_on"] <= end.isoformat()]
        bal = sum((Decimal(t["amount"]) for t in cycle), Decimal(0)).quantize(Decimal("0.01"))
        due = end + timedelta(days=due_days)
        minimum = (bal * Decimal("0.10")).quantize(Decimal("0.01"))
        settled = due < today
        if settled:
            # A revolving customer paid only the minimum of the last settled statement.
            paid = minimum if (not c.pay_in_full and i == 1) else bal
        else:
            paid = Decimal(0)
        is_late = any(start <= today - timedelta(days=d) <= end + timedelta(days=40) for d in c.late_payment_days_ago)
        out.append({
            "id": f"S{card_id[1:]}{end:%Y%m}", "card_id": card_id, "statement_date": end.isoformat(),
            "due_date": due.isoformat(), "balance": str(bal), "min_payment": str(minimum),
            "paid": str(paid.quantize(Decimal("0.01"))), "installment_billed": "0.00", "late": is_late,
        })
    return out

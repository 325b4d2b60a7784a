"""A simulated core-banking card system, persisted in SQLite.

It is what a real core adapter would replace: the same port, the bank's rules from the fee
schedule (limit-increase eligibility, installment conditions, fees), idempotent side
effects, and state that survives a restart (a freeze or a plan is still there tomorrow).
Each customer is one JSON document; every operation is one SQLite transaction.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sqlite3
import types
import typing
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields, is_dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from bot.cards.models import (
    AnnualFeeStatus,
    AutopayMode,
    Card,
    Case,
    CaseKind,
    Customer,
    Delivery,
    InstallmentPlan,
    LimitDecision,
    LimitKind,
    LimitProfile,
    PlanKind,
    Points,
    Replacement,
    Statement,
    Transaction,
    jsonable,
)
from bot.cards.rules import (
    annual_fee_status,
    card_year_start,
    check_bill_installment,
    check_purchase_installment,
    limit_profile,
    permanent_increase_problems,
    replacement_fees,
    temporary_increase_problems,
)
from bot.cards.seed import SeedCustomer, build_customer_doc, demo_customers
from bot.domain import utcnow
from bot.errors import CardSystemError
from bot.finance import early_payoff, installment_quote, money
from knowledge.fees import FeeSchedule

T = TypeVar("T")
D = TypeVar("D")
CHINA = ZoneInfo("Asia/Shanghai")


@functools.cache
def _field_types(cls: type[Any]) -> tuple[tuple[str, Any], ...]:
    # get_type_hints is slow (it evaluates string annotations): once per class.
    hints = typing.get_type_hints(cls)
    return tuple((f.name, hints[f.name]) for f in fields(cls))


def from_doc(cls: type[D], doc: dict[str, Any]) -> D:
    """Build a models dataclass from its JSON document (Decimal/date/datetime restored)."""
    assert is_dataclass(cls)
    kwargs = {name: _coerce(tp, doc[name]) for name, tp in _field_types(cls) if name in doc}
    return cls(**kwargs)  # type: ignore[return-value]


def _coerce(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _coerce(inner[0], value) if len(inner) == 1 else value
    if origin is tuple:
        (arg, *_) = typing.get_args(tp)
        return tuple(_coerce(arg, v) for v in value)
    if tp is Decimal:
        return Decimal(str(value))
    if tp is datetime:
        return datetime.fromisoformat(value)
    if tp is date:
        return date.fromisoformat(value)
    return value


class SimulatedCardSystem:
    """``CardSystem`` backed by one SQLite file with seeded demo customers."""

    def __init__(
        self,
        path: Path,
        schedule: FeeSchedule,
        *,
        clock: Callable[[], datetime] = utcnow,
        seed: list[SeedCustomer] | None = None,
    ) -> None:
        self._path = path
        self._schedule = schedule
        self._clock = clock
        self._seed = demo_customers() if seed is None else seed
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cardcare-cards")
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> SimulatedCardSystem:
        await self._run(self._open_sync)
        return self

    def _open_sync(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(
            """
            CREATE TABLE IF NOT EXISTS customers (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS effects (
                key TEXT PRIMARY KEY, customer_id TEXT NOT NULL, op TEXT NOT NULL,
                result TEXT NOT NULL, created_at TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
            """
        )
        self._conn = conn
        today = self.today()
        for c in self._seed:
            if conn.execute("SELECT 1 FROM customers WHERE id = ?", (c.id,)).fetchone() is None:
                doc = build_customer_doc(c, today, due_days=int(self._schedule.get("billing.due_days_after_statement")))
                conn.execute(
                    "INSERT INTO customers (id, doc) VALUES (?, ?)", (c.id, json.dumps(doc, ensure_ascii=False))
                )

    async def add_customer_doc(self, doc: dict[str, Any]) -> None:
        """Insert or replace one customer's document (used by traffic simulation and tests)."""
        await self._run(
            lambda: self._db.execute(
                "INSERT OR REPLACE INTO customers (id, doc) VALUES (?, ?)",
                (doc["customer"]["id"], json.dumps(jsonable(doc), ensure_ascii=False)),
            )
        )

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(15):
                return await loop.run_in_executor(self._executor, fn, *args)
        except sqlite3.Error as exc:
            raise CardSystemError("unavailable", f"card system storage error: {exc}") from exc

    @property
    def _db(self) -> sqlite3.Connection:
        assert self._conn is not None, "card system not opened"
        return self._conn

    def today(self) -> date:
        return self._clock().astimezone(CHINA).date()

    # -- documents ---------------------------------------------------------------------------

    def _load(self, customer_id: str) -> dict[str, Any]:
        row = self._db.execute("SELECT doc FROM customers WHERE id = ?", (customer_id,)).fetchone()
        if row is None:
            raise CardSystemError("unknown_customer", f"customer {customer_id!r} is not known to the card system")
        doc: dict[str, Any] = json.loads(row[0])
        return doc

    def _save(self, customer_id: str, doc: dict[str, Any]) -> None:
        self._db.execute(
            "UPDATE customers SET doc = ? WHERE id = ?", (json.dumps(jsonable(doc), ensure_ascii=False), customer_id)
        )

    async def _read(self, customer_id: str) -> dict[str, Any]:
        return await self._run(self._load, customer_id)

    @staticmethod
    def _card_doc(doc: dict[str, Any], card_id: str) -> dict[str, Any]:
        for card in doc["cards"]:
            if card["id"] == card_id:
                return card  # type: ignore[no-any-return]
        raise CardSystemError("unknown_card", f"card {card_id!r} does not belong to this customer")

    def _next_id(self, prefix: str) -> str:
        row = self._db.execute(
            "INSERT INTO counters (name, value) VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1"
            " RETURNING value",
            (prefix,),
        ).fetchone()
        return f"{prefix}{int(row[0]):06d}"

    async def _effect(
        self, customer_id: str, op: str, key: str, apply: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> dict[str, Any]:
        """Run ``apply`` on the customer's document once per idempotency ``key``."""

        def run() -> dict[str, Any]:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute("SELECT op, customer_id, result FROM effects WHERE key = ?", (key,)).fetchone()
                if row is not None:
                    db.execute("COMMIT")
                    if row[0] != op or row[1] != customer_id:
                        raise CardSystemError("idempotency_mismatch", f"key {key!r} was used for another operation")
                    stored: dict[str, Any] = json.loads(row[2])
                    return stored
                doc = self._load(customer_id)
                result = jsonable(apply(doc))
                self._save(customer_id, doc)
                db.execute(
                    "INSERT INTO effects (key, customer_id, op, result, created_at) VALUES (?, ?, ?, ?, ?)",
                    (key, customer_id, op, json.dumps(result, ensure_ascii=False), self._clock().isoformat()),
                )
                db.execute("COMMIT")
                return result
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

        return await self._run(run)

    # -- reads -------------------------------------------------------------------------------

    async def customer(self, customer_id: str) -> Customer:
        return from_doc(Customer, (await self._read(customer_id))["customer"])

    async def customers(self) -> list[Customer]:
        rows = await self._run(lambda: self._db.execute("SELECT doc FROM customers ORDER BY id").fetchall())
        return [from_doc(Customer, json.loads(r[0])["customer"]) for r in rows]

    async def cards(self, customer_id: str) -> list[Card]:
        return [from_doc(Card, c) for c in (await self._read(customer_id))["cards"]]

    async def statements(self, customer_id: str, card_id: str, limit: int = 6) -> list[Statement]:
        doc = await self._read(customer_id)
        self._card_doc(doc, card_id)
        items = [from_doc(Statement, s) for s in doc["statements"] if s["card_id"] == card_id]
        return sorted(items, key=lambda s: s.statement_date, reverse=True)[:limit]

    async def transactions(
        self, customer_id: str, card_id: str | None = None, *, since: date | None = None, limit: int = 50
    ) -> list[Transaction]:
        doc = await self._read(customer_id)
        bound = since.isoformat() if since else ""
        raw = [t for t in doc["transactions"]
               if (card_id is None or t["card_id"] == card_id) and t["posted_on"] >= bound]
        # Newest first; ISO dates sort as strings, so only the rows returned are converted.
        raw.sort(key=lambda t: (t["posted_on"], t["id"]), reverse=True)
        return [from_doc(Transaction, t) for t in raw[:limit]]

    async def installment_plans(self, customer_id: str) -> list[InstallmentPlan]:
        return [from_doc(InstallmentPlan, p) for p in (await self._read(customer_id))["plans"]]

    async def cases(self, customer_id: str) -> list[Case]:
        return [from_doc(Case, c) for c in (await self._read(customer_id))["cases"]]

    async def replacements(self, customer_id: str) -> list[Replacement]:
        doc = await self._read(customer_id)
        today = self.today()
        out = []
        for r in doc["replacements"]:
            rep = from_doc(Replacement, r)
            # The courier advances on its own: shipped the next business day, delivered at the ETA.
            status = "delivered" if today >= rep.eta_to else "shipped" if today > rep.ordered_on else "ordered"
            out.append(from_doc(Replacement, {**r, "status": status}))
        return out

    async def points(self, customer_id: str) -> Points:
        return from_doc(Points, (await self._read(customer_id))["points"])

    async def annual_fee(self, customer_id: str, card_id: str) -> AnnualFeeStatus:
        doc = await self._read(customer_id)
        card = from_doc(Card, self._card_doc(doc, card_id))
        today = self.today()
        start = card_year_start(card.opened_on, today).isoformat()
        txns = [from_doc(Transaction, t) for t in doc["transactions"]
                if t["card_id"] == card_id and t["kind"] == "purchase" and t["posted_on"] >= start]
        return annual_fee_status(card, txns, today, self._schedule)

    async def limit_profile(self, customer_id: str, card_id: str) -> LimitProfile:
        doc = await self._read(customer_id)
        return limit_profile(doc, card_id, self.today())

    async def snapshot(self, customer_id: str) -> dict[str, Any]:
        doc = await self._read(customer_id)
        doc["replacements"] = jsonable(await self.replacements(customer_id))
        return doc

    # -- side effects ------------------------------------------------------------------------

    async def freeze_card(self, customer_id: str, card_id: str, *, reason: str, key: str) -> Card:
        def apply(doc: dict[str, Any]) -> dict[str, Any]:
            card = self._card_doc(doc, card_id)
            if card["status"] == "frozen":
                raise CardSystemError("card_frozen", f"card ending {card['last4']} is already frozen")
            if card["status"] == "closed":
                raise CardSystemError("card_closed", f"card ending {card['last4']} is closed")
            card["status"] = "frozen"
            card["frozen_reason"] = reason
            return card

        return from_doc(Card, await self._effect(customer_id, "freeze_card", key, apply))

    async def order_replacement(
        self, customer_id: str, card_id: str, *, delivery: Delivery, key: str
    ) -> Replacement:
        today = self.today()

        def apply(doc: dict[str, Any]) -> dict[str, Any]:
            card = self._card_doc(doc, card_id)
            if card.get("replaced_by"):
                raise CardSystemError("already_replaced", f"card ending {card['last4']} already has a replacement")
            fee, delivery_fee = replacement_fees(doc, card, delivery, today, self._schedule)
            span = self._schedule.get(f"card.delivery.{delivery}_business_days")
            new_id = self._next_id("K")
            new_last4 = f"{(int(card['last4']) * 7 + 1234) % 10000:04d}"
            new_card = {**card, "id": new_id, "last4": new_last4, "status": "inactive",
                        "issued_on": today.isoformat(), "frozen_reason": None, "replaced_by": None}
            # A damaged or expiring card keeps working until its replacement is activated; a lost
            # or stolen one is already frozen.
            card["replaced_by"] = new_id
            doc["cards"].append(new_card)
            rep = {
                "id": self._next_id("R"), "old_card_id": card_id, "new_card_id": new_id, "delivery": delivery,
                "fee": str(fee), "delivery_fee": str(delivery_fee), "status": "ordered",
                "ordered_on": today.isoformat(),
                "eta_from": add_business_days(today, int(span["min"])).isoformat(),
                "eta_to": add_business_days(today, int(span["max"])).isoformat(),
                "tracking_no": f"SF{zlib.crc32(new_id.encode()):010d}",
                "address_masked": from_doc(Customer, doc["customer"]).masked_address,
            }
            doc["replacements"].append(rep)
            return rep

        return from_doc(Replacement, await self._effect(customer_id, "order_replacement", key, apply))

    async def create_installment_plan(
        self, customer_id: str, card_id: str, *, kind: PlanKind, source_id: str, periods: int, key: str
    ) -> InstallmentPlan:
        today = self.today()

        def apply(doc: dict[str, Any]) -> dict[str, Any]:
            card = self._card_doc(doc, card_id)
            if card["status"] != "active":
                raise CardSystemError("card_not_active", f"card ending {card['last4']} is {card['status']}")
            if kind == "purchase":
                principal = check_purchase_installment(doc, card_id, source_id, today, self._schedule)
            else:
                principal = check_bill_installment(doc, card_id, source_id, today, self._schedule)
            quote = installment_quote(principal, periods, self._schedule)
            plan = {
                "id": self._next_id("P"), "card_id": card_id, "kind": kind, "principal": str(quote.principal),
                "periods": periods, "fee_rate": str(quote.fee_rate), "apr": str(quote.apr),
                "payment_per_period": str(quote.payment_per_period), "fee_per_period": str(quote.fee_per_period),
                "paid_periods": 0, "status": "active", "created_on": today.isoformat(), "source_id": source_id,
                "remaining_principal": str(quote.principal),
            }
            doc["plans"].append(plan)
            for t in doc["transactions"]:
                if t["id"] == source_id:
                    t["installment_plan_id"] = plan["id"]
            for s in doc["statements"]:
                if s["id"] == source_id:
                    s["installment_plan_id"] = plan["id"]
            return plan

        return from_doc(InstallmentPlan, await self._effect(customer_id, "create_installment_plan", key, apply))

    async def pay_off_plan(self, customer_id: str, plan_id: str, *, key: str) -> InstallmentPlan:
        def apply(doc: dict[str, Any]) -> dict[str, Any]:
            for plan in doc["plans"]:
                if plan["id"] == plan_id:
                    if plan["status"] != "active":
                        raise CardSystemError("plan_not_active", f"plan {plan_id!r} is already paid off")
                    fee, _total = early_payoff(Decimal(plan["remaining_principal"]), self._schedule)
                    plan["status"] = "paid_off"
                    plan["payoff_fee"] = str(fee)
                    plan["remaining_principal"] = "0.00"
                    return plan
            raise CardSystemError("unknown_plan", f"plan {plan_id!r} does not belong to this customer")

        return from_doc(InstallmentPlan, await self._effect(customer_id, "pay_off_plan", key, apply))

    async def apply_limit_increase(
        self, customer_id: str, card_id: str, *, kind: LimitKind, amount: Decimal, days: int | None, key: str
    ) -> LimitDecision:
        today = self.today()
        now = self._clock()

        def apply(doc: dict[str, Any]) -> dict[str, Any]:
            card = self._card_doc(doc, card_id)
            profile = limit_profile(doc, card_id, today)
            current = profile.credit_limit
            if kind == "temporary":
                problems, max_limit = temporary_increase_problems(profile, self._schedule)
                lo, hi = int(self._schedule.get("credit_limit.temporary.min_days")), int(
                    self._schedule.get("credit_limit.temporary.max_days"))
                if days is None or not lo <= days <= hi:
                    raise CardSystemError("days_out_of_range", f"a temporary increase lasts {lo} to {hi} days")
            else:
                problems, max_limit = permanent_increase_problems(profile, self._schedule)
            if problems:
                return jsonable(LimitDecision(kind=kind, status="declined", current_limit=current, new_limit=None,
                                              until=None, case_id=None, reasons=tuple(problems)))
            if not current < amount <= max_limit:
                raise CardSystemError(
                    "amount_out_of_range", f"the new limit must be above {current} and at most {max_limit}")
            if kind == "temporary":
                until = today + timedelta(days=days or 0)
                card["temp_limit"] = str(money(amount))
                card["temp_limit_until"] = until.isoformat()
                doc["limit_increases"].append({"on": today.isoformat(), "kind": "temporary"})
                return jsonable(LimitDecision(kind=kind, status="approved", current_limit=current,
                                              new_limit=money(amount), until=until, case_id=None))
            case = {
                "id": self._next_id("CS"), "customer_id": customer_id, "card_id": card_id, "kind": "limit_increase",
                "priority": 3, "status": "pending", "created_at": now.isoformat(),
                "due_by": add_business_days(
                    today, int(self._schedule.get("credit_limit.permanent.decision_business_days"))
                ).isoformat(),
                "details": {"requested_limit": str(money(amount)), "current_limit": str(current)},
            }
            doc["cases"].append(case)
            return jsonable(LimitDecision(kind=kind, status="pending", current_limit=current, new_limit=money(amount),
                                          until=None, case_id=case["id"]))

        return from_doc(LimitDecision, await self._effect(customer_id, "apply_limit_increase", key, apply))

    async def open_case(
        self,
        customer_id: str,
        *,
        kind: CaseKind,
        card_id: str | None,
        priority: int,
        details: dict[str, Any],
        key: str,
    ) -> Case:
        today = self.today()
        now = self._clock()

        def apply(doc: dict[str, Any]) -> dict[str, Any]:
            if card_id is not None:
                self._card_doc(doc, card_id)
            due_by: date | None = None
            if kind == "merchant_dispute":
                due_by = today + timedelta(days=int(self._schedule.get("disputes.merchant_resolution_days")))
            elif kind == "complaint":
                due_by = today + timedelta(days=int(self._schedule.get("service.complaint_resolution_days")))
            case = {
                "id": self._next_id("CS"), "customer_id": customer_id, "card_id": card_id, "kind": kind,
                "priority": priority, "status": "open", "created_at": now.isoformat(),
                "due_by": due_by.isoformat() if due_by else None, "details": jsonable(details),
            }
            doc["cases"].append(case)
            return case

        return from_doc(Case, await self._effect(customer_id, "open_case", key, apply))

    async def activate_card(self, customer_id: str, card_id: str, *, key: str) -> Card:
        today = self.today()

        def apply(doc: dict[str, Any]) -> dict[str, Any]:
            card = self._card_doc(doc, card_id)
            if card["status"] == "active":
                raise CardSystemError("already_active", f"card ending {card['last4']} is already active")
            if card["status"] != "inactive":
                raise CardSystemError("card_not_inactive", f"card ending {card['last4']} is {card['status']}")
            window = int(self._schedule.get("card.activation_days"))
            if (today - date.fromisoformat(card["issued_on"])).days > window:
                raise CardSystemError("activation_expired", f"the card was issued more than {window} days ago")
            card["status"] = "active"
            for old in doc["cards"]:
                if old.get("replaced_by") == card_id and old["status"] in ("active", "frozen"):
                    old["status"] = "closed"  # the card it replaces stops now
            return card

        return from_doc(Card, await self._effect(customer_id, "activate_card", key, apply))

    async def set_autopay(self, customer_id: str, card_id: str, *, mode: AutopayMode | None, key: str) -> Card:
        def apply(doc: dict[str, Any]) -> dict[str, Any]:
            card = self._card_doc(doc, card_id)
            if card["status"] == "closed":
                raise CardSystemError("card_closed", f"card ending {card['last4']} is closed")
            card["autopay"] = mode
            return card

        return from_doc(Card, await self._effect(customer_id, "set_autopay", key, apply))

    async def close(self) -> None:
        if self._conn is not None:
            conn = self._conn
            await asyncio.get_running_loop().run_in_executor(self._executor, conn.close)
            self._conn = None
        self._executor.shutdown(wait=False)


def add_business_days(start: date, days: int) -> date:
    """``days`` business days (Mon–Fri) after ``start``."""
    current = start
    added = 0
    while added < days:
        current += timedelta(days=1)
        if current.weekday() < 5:
            added += 1
    return current

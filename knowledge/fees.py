"""The fee and rate schedule: one file (``content/fees.yaml``), typed access, every figure.

Articles, the installment calculator, the knowledge graph and the grounding guard all read
figures from here, so a figure lives in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import yaml

FEES_PATH = Path(__file__).parent / "content" / "fees.yaml"

TIER_IDS: tuple[str, ...] = ("classic", "gold", "platinum", "diamond")


class FeeScheduleError(ValueError):
    """The fee schedule file is missing a key or holds a malformed value."""


@dataclass(frozen=True, slots=True, kw_only=True)
class InstallmentPlanTerms:
    """One installment term: periods, fee per period (fraction of principal) and APR."""

    periods: int
    fee_rate: Decimal
    apr: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class TierTerms:
    """What one card tier costs and gives."""

    id: str
    name_zh: str
    name_en: str
    annual_fee: Decimal
    waiver: dict[str, Any]
    points_per_yuan: Decimal
    points_validity_years: int | None
    lounge_visits_per_year: int | None  # None = unlimited
    travel_insurance: Decimal | None
    fx_fee_rate: Decimal
    concierge: bool
    lost_card_protection: bool
    express_delivery_free: bool

    def name(self, locale: str) -> str:
        """Display name in ``zh`` or ``en``."""
        return self.name_zh if locale.startswith("zh") else self.name_en


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """Typed view over ``fees.yaml``; ``raw`` keeps the whole document for lookups by path."""

    raw: dict[str, Any]

    @property
    def version(self) -> str:
        return str(self.raw["version"])

    def get(self, path: str) -> Any:
        """Value at a dotted path, e.g. ``get("billing.late_fee.max")``; raises on a missing key."""
        node: Any = self.raw
        for part in path.split("."):
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, dict) and part.isdigit() and int(part) in node:
                node = node[int(part)]
            else:
                raise FeeScheduleError(f"fee schedule has no {path!r}")
        return node

    def dec(self, path: str) -> Decimal:
        """A numeric value at ``path`` as an exact Decimal."""
        value = self.get(path)
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise FeeScheduleError(f"fee schedule value {path!r} is not a number: {value!r}")
        return Decimal(str(value))

    def tier(self, tier_id: str) -> TierTerms:
        """Terms of one tier (``classic``, ``gold``, ``platinum``, ``diamond``)."""
        t = self.get(f"tiers.{tier_id}")
        lounge = t["lounge_visits_per_year"]
        insurance = t["travel_insurance"]
        return TierTerms(
            id=tier_id,
            name_zh=t["name"]["zh"],
            name_en=t["name"]["en"],
            annual_fee=Decimal(str(t["annual_fee"])),
            waiver=dict(t["waiver"]),
            points_per_yuan=Decimal(str(t["points_per_yuan"])),
            points_validity_years=t["points_validity_years"],
            lounge_visits_per_year=None if lounge == "unlimited" else int(lounge),
            travel_insurance=None if insurance is None else Decimal(str(insurance)),
            fx_fee_rate=Decimal(str(t["fx_fee_rate"])),
            concierge=bool(t["concierge"]),
            lost_card_protection=bool(t["lost_card_protection"]),
            express_delivery_free=bool(t["express_delivery_free"]),
        )

    def tiers(self) -> tuple[TierTerms, ...]:
        return tuple(self.tier(t) for t in TIER_IDS)

    def installment_plans(self) -> tuple[InstallmentPlanTerms, ...]:
        """Installment terms, shortest first."""
        plans = [
            InstallmentPlanTerms(
                periods=int(p["periods"]),
                fee_rate=Decimal(str(p["fee_rate"])),
                apr=Decimal(str(p["apr"])),
            )
            for p in self.get("installments.plans")
        ]
        return tuple(sorted(plans, key=lambda p: p.periods))

    def installment_plan(self, periods: int) -> InstallmentPlanTerms:
        for plan in self.installment_plans():
            if plan.periods == periods:
                return plan
        raise FeeScheduleError(f"no installment plan with {periods!r} periods")

    def figures(self) -> frozenset[Decimal]:
        """Every number a reply may state on the schedule's authority.

        Rates appear both as fractions and as percentages (0.0075 and 0.75), money and
        counts as they are; derived example figures (the ¥12,000 quotes) are included.
        """
        out: set[Decimal] = set()
        _collect_numbers(self.raw, out, key="")
        return frozenset(out)


def _collect_numbers(node: Any, out: set[Decimal], key: str) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(k, int):
                out.add(Decimal(k))
            _collect_numbers(v, out, key=str(k))
    elif isinstance(node, list):
        for v in node:
            _collect_numbers(v, out, key=key)
    elif isinstance(node, bool) or node is None:
        return
    elif isinstance(node, int | float):
        value = Decimal(str(node))
        out.add(value.normalize())
        if "rate" in key or key == "apr" or key.endswith("ratio"):
            out.add((value * 100).normalize())
    elif isinstance(node, str):
        try:
            out.add(Decimal(node).normalize())
        except ArithmeticError:
            # Non-numeric strings (names, dates, times) carry no figure of their own.
            return


def parse_fee_schedule(text: str, *, source: str = "fees.yaml") -> FeeSchedule:
    """Parse and sanity-check a schedule document."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise FeeScheduleError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise FeeScheduleError(f"{source}: top level must be a mapping")
    schedule = FeeSchedule(raw)
    for path in ("version", "tiers", "billing", "installments.plans", "cash_advance", "credit_limit",
                 "card", "disputes", "points", "service"):
        schedule.get(path)
    for tier_id in TIER_IDS:
        schedule.tier(tier_id)
    return schedule


@cache
def load_fee_schedule(path: Path = FEES_PATH) -> FeeSchedule:
    """Load (once per process) the schedule the product ships with."""
    return parse_fee_schedule(path.read_text(encoding="utf-8"), source=str(path))

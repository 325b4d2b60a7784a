"""What the compliance checker knows about the turn besides the text itself."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from bot.guardrails.grounding import GroundingSources


def _frozen_map(value: Mapping[int, Decimal]) -> Mapping[int, Decimal]:
    return MappingProxyType({int(k): Decimal(str(v)) for k, v in value.items()})


@dataclass(frozen=True, slots=True, kw_only=True)
class GuardContext:
    """Turn facts the rules need.

    Attributes:
        grounding: the figures the message may state (fee schedule, passages, tool
            results); ``None`` skips the grounding rule.
        decisions: decisions the card system returned this turn (``"temporary_limit_approved"``,
            ``"annual_fee_waived"`` ...): a message may state these as facts.
        other_customer_markers: names, card last-4s, customer ids of anyone other than the
            authenticated customer; any of them in a message blocks it.
        in_confirmed_flow: the turn is inside a flow the customer confirmed.
        intent: the customer's current intent id (``design/INTENTS.md``).
        apr_by_periods: installment APR per number of periods, as fractions (``{12: 0.1431}``),
            used to append the APR when a fee rate is stated.
        daily_rate_apr: the annualized rate of the daily interest rate (fraction, ``0.1825``).
        declined_offers: offers the customer declined this session (``"installment"``,
            ``"cash_advance"``, ``"upgrade"``, ``"cross_sell"``, or ``"marketing"`` for all).
        customer_shared_secret: the customer sent a CVV/PIN/code this turn; the reply must
            carry the "we never ask" notice.
    """

    grounding: GroundingSources | None = None
    decisions: AbstractSet[str] = frozenset()
    other_customer_markers: Sequence[str] = ()
    in_confirmed_flow: bool = False
    intent: str | None = None
    apr_by_periods: Mapping[int, Decimal] = field(default_factory=lambda: MappingProxyType({}))
    daily_rate_apr: Decimal | None = None
    declined_offers: AbstractSet[str] = frozenset()
    customer_shared_secret: bool = False

    def __post_init__(self) -> None:
        # Callers pass sets, lists and dicts; store immutable copies so a context can be shared.
        object.__setattr__(self, "decisions", frozenset(self.decisions))
        object.__setattr__(self, "declined_offers", frozenset(self.declined_offers))
        object.__setattr__(self, "other_customer_markers", tuple(self.other_customer_markers))
        object.__setattr__(self, "apr_by_periods", _frozen_map(self.apr_by_periods))
        if self.daily_rate_apr is not None:
            object.__setattr__(self, "daily_rate_apr", Decimal(str(self.daily_rate_apr)))

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> GuardContext:
        """Build a context from plain data (rule examples, evaluation datasets).

        ``grounding`` takes ``{numbers: [...], passages: [...], tool_values: [...], times: [...]}``.
        """
        known = {
            "grounding",
            "decisions",
            "other_customer_markers",
            "in_confirmed_flow",
            "intent",
            "apr_by_periods",
            "daily_rate_apr",
            "declined_offers",
            "customer_shared_secret",
        }
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown context fields {sorted(unknown)!r}")
        grounding = data.get("grounding")
        sources = None
        if isinstance(grounding, Mapping):
            sources = GroundingSources.build(
                numbers=_strings(grounding.get("numbers", ())),
                passages=_strings(grounding.get("passages", ())),
                tool_values=list(_items(grounding.get("tool_values", ()))),
                times=_strings(grounding.get("times", ())),
            )
        aprs = data.get("apr_by_periods", {})
        daily = data.get("daily_rate_apr")
        return cls(
            grounding=sources,
            decisions=frozenset(_strings(data.get("decisions", ()))),
            other_customer_markers=tuple(_strings(data.get("other_customer_markers", ()))),
            in_confirmed_flow=bool(data.get("in_confirmed_flow", False)),
            intent=str(data["intent"]) if data.get("intent") is not None else None,
            apr_by_periods={int(str(k)): Decimal(str(v)) for k, v in aprs.items()}
            if isinstance(aprs, Mapping)
            else {},
            daily_rate_apr=Decimal(str(daily)) if daily is not None else None,
            declined_offers=frozenset(_strings(data.get("declined_offers", ()))),
            customer_shared_secret=bool(data.get("customer_shared_secret", False)),
        )


def _items(value: object) -> Iterable[object]:
    if isinstance(value, list | tuple):
        return value
    raise ValueError(f"expected a list, got {value!r}")


def _strings(value: object) -> list[str]:
    return [str(v) for v in _items(value)]

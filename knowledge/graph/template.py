"""Texts with ``{placeholder}`` figures, rendered from the fee schedule.

The graph's texts never state a figure as digits: ``{installments.purchase_min_amount|money}``
names a schedule path, ``{tier.fx_fee_rate|pct}`` the customer's own tier, ``{required}`` a
value the condition computed. So every figure a recommendation states comes from the
schedule (or the customer's own data) and changes with it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from knowledge.fees import FeeSchedule, FeeScheduleError
from knowledge.graph.errors import TemplateError
from knowledge.graph.model import Bilingual

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)(?:\|([a-z_]+))?\}")
# ASCII and full-width digits: a figure written into a text instead of named by its path.
_BARE_DIGIT = re.compile(r"[0-9\uff10-\uff19]+(?:[.,][0-9\uff10-\uff19]+)*")

DERIVED_NAMES: frozenset[str] = frozenset({"installment_periods", "installment_aprs"})


@dataclass(frozen=True, slots=True, kw_only=True)
class RenderScope:
    """What placeholders may refer to: the schedule, the customer's tier (if known), and values."""

    schedule: FeeSchedule
    tier: str | None = None
    values: Mapping[str, object] = field(default_factory=dict)


def render(template: str, locale: str, scope: RenderScope) -> str:
    """``template`` with every placeholder replaced by its value in ``locale``."""

    def substitute(match: re.Match[str]) -> str:
        name, filter_name = match[1], match[2]
        return _format(_resolve(name, locale, scope), filter_name, locale, name)

    text = PLACEHOLDER.sub(substitute, template)
    if "{" in text or "}" in text:
        raise TemplateError(f"malformed placeholder in {template!r}")
    return text


def render_bilingual(text: Bilingual, scope: RenderScope) -> Bilingual:
    """Both languages of ``text`` rendered."""
    return Bilingual(zh=render(text.zh, "zh", scope), en=render(text.en, "en", scope))


def placeholder_names(template: str) -> tuple[str, ...]:
    """The names ``template`` refers to, in order."""
    return tuple(m[1] for m in PLACEHOLDER.finditer(template))


def bare_figures(template: str) -> tuple[str, ...]:
    """Digits written into ``template`` outside placeholders."""
    return tuple(_BARE_DIGIT.findall(PLACEHOLDER.sub("", template)))


def tier_names(tier_ids: tuple[str, ...], schedule: FeeSchedule) -> Bilingual:
    """``白金卡、钻石卡`` / ``Platinum and Diamond``."""
    zh = [schedule.tier(t).name_zh for t in tier_ids]
    en = [schedule.tier(t).name_en for t in tier_ids]
    en_text = en[0] if len(en) == 1 else f"{', '.join(en[:-1])} and {en[-1]}"
    return Bilingual(zh="、".join(zh), en=en_text)


def _resolve(name: str, locale: str, scope: RenderScope) -> object:
    if name in scope.values:
        value = scope.values[name]
    elif name in DERIVED_NAMES:
        value = _derived(name, scope.schedule)
    elif name.startswith("tier."):
        if scope.tier is None:
            raise TemplateError(f"{{{name}}} needs the customer's tier, which is not known here")
        value = _schedule_value(f"tiers.{scope.tier}.{name.removeprefix('tier.')}", scope.schedule, name)
    else:
        value = _schedule_value(name, scope.schedule, name)
    if isinstance(value, Bilingual):
        return value.get(locale)
    if isinstance(value, dict) and set(value) == {"zh", "en"}:
        return value["zh"] if locale.startswith("zh") else value["en"]
    if value is None:
        raise TemplateError(f"{{{name}}} has no value" + (f" for tier {scope.tier!r}" if scope.tier else ""))
    return value


def _schedule_value(path: str, schedule: FeeSchedule, name: str) -> object:
    try:
        return schedule.get(path)
    except FeeScheduleError as exc:
        raise TemplateError(f"{{{name}}}: {exc}") from exc


def _derived(name: str, schedule: FeeSchedule) -> Bilingual:
    plans = schedule.installment_plans()
    if name == "installment_periods":
        periods = [str(p.periods) for p in plans]
        return Bilingual(
            zh="、".join(periods[:-1]) + "或" + periods[-1],
            en=", ".join(periods[:-1]) + " or " + periods[-1],
        )
    return Bilingual(
        zh="、".join(f"{p.periods}期{_percent(p.apr)}" for p in plans),
        en=", ".join(f"{_percent(p.apr)} over {p.periods} months" for p in plans),
    )


def _format(value: object, filter_name: str | None, locale: str, name: str) -> str:
    if filter_name is None:
        return _plain(value)
    formatter = _FILTERS.get(filter_name)
    if formatter is None:
        raise TemplateError(f"{{{name}|{filter_name}}}: unknown filter; use one of {', '.join(_FILTERS)}")
    try:
        return formatter(value, locale)
    except (ArithmeticError, TypeError, ValueError) as exc:
        raise TemplateError(f"{{{name}|{filter_name}}}: cannot format {value!r}") from exc


def _plain(value: object) -> str:
    if isinstance(value, bool):
        raise TemplateError(f"a yes/no value ({value!r}) cannot be stated in a text")
    if isinstance(value, int | float | Decimal):
        return _number(_decimal(value))
    return str(value)


def _decimal(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise TypeError(f"not a number: {value!r}")
    return Decimal(str(value))


def _number(value: Decimal) -> str:
    """``1.5``, ``6``, ``50,000``: no exponent, no trailing zeros, thousands grouped."""
    if value == value.to_integral_value() and abs(value) >= 1000:
        return f"{int(value):,}"
    return format(value.normalize(), "f")


def _money(value: object, locale: str) -> str:
    amount = _decimal(value)
    if amount == amount.to_integral_value():
        return f"¥{int(amount):,}"
    return f"¥{amount:,.2f}"


def _percent(value: Decimal) -> str:
    return f"{_number(value * 100)}%"


def _pct(value: object, locale: str) -> str:
    return _percent(_decimal(value))


def _annual_pct(value: object, locale: str) -> str:
    """A daily rate as a simple annual rate (x 365)."""
    return _percent(_decimal(value) * 365)


def _visits(value: object, locale: str) -> str:
    if value == "unlimited":
        return "不限次数" if locale.startswith("zh") else "unlimited visits"
    count = _number(_decimal(value))
    return f"每年{count}次" if locale.startswith("zh") else f"{count} visits"


_FILTERS: dict[str, Callable[[object, str], str]] = {
    "money": _money,
    "pct": _pct,
    "annual_pct": _annual_pct,
    "visits": _visits,
}

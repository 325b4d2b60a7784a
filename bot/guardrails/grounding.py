"""Numeric grounding: every figure in a reply must come from a source the turn can show.

Sources are the fee schedule (``knowledge.fees.load_fee_schedule().figures()``), the
passages retrieved for the turn (their own figures) and the card-system tool results of
the turn. Equivalences: ``0.66%`` ≡ ``0.0066`` ≡ ``0.66``; ``¥1,079.20`` ≡ ``1079.2``;
``1.2万`` ≡ ``12000``; percentages compare rounded to two decimals; a date matches a
source date on month and day, and on the year when both state one.

What is not checked: unit-less whole numbers below 100 (list items, "2 options"),
ordinals and the things :func:`extract_figures` skips (masked suffixes, citations, ...).
Times of day (``08:00``) *are* checked: service hours are a fact a reply can get wrong,
so pass them as ``times`` (the schedule keeps them as strings, which ``figures()`` skips).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Final

from bot.guardrails.figures import Figure, PartialDate, extract_figures, plain

__all__ = [
    "Figure",
    "GroundingSources",
    "PartialDate",
    "UngroundedFigure",
    "check_grounding",
    "extract_figures",
]

_CENT: Final = Decimal("0.01")
_HUNDRED: Final = Decimal(100)
_UNCHECKED_BELOW: Final = Decimal(100)
_MAX_DEPTH: Final = 6


def _q(value: Decimal) -> Decimal:
    """Rounded to two decimals (values too large to round stay as they are)."""
    try:
        return value.quantize(_CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return value


@dataclass(frozen=True, slots=True, kw_only=True)
class GroundingSources:
    """What a reply may state: numbers, percentages, dates and times of day."""

    numbers: frozenset[Decimal] = frozenset()
    percents: frozenset[Decimal] = frozenset()
    dates: frozenset[PartialDate] = frozenset()
    times: frozenset[tuple[int, int]] = frozenset()

    @classmethod
    def build(
        cls,
        *,
        numbers: Iterable[Decimal | int | str] = (),
        passages: Iterable[str] = (),
        tool_values: Iterable[object] = (),
        times: Iterable[str] = (),
    ) -> GroundingSources:
        """Collect sources: schedule ``numbers``, passage texts, tool results, ``"08:00"`` times.

        ``tool_values`` may hold numbers, dates, strings (``"¥1,079.20"``, ``"2026-12-05"``),
        mappings, sequences and dataclass instances; they are walked for every value.
        """
        acc = _Accumulator()
        for number in numbers:
            acc.number(Decimal(str(number)))
        for text in passages:
            acc.text(text)
        for value in tool_values:
            acc.value(value, depth=0)
        for text in times:
            acc.text(text)
        return acc.sources()

    def merge(self, other: GroundingSources) -> GroundingSources:
        """Both sources together."""
        return GroundingSources(
            numbers=self.numbers | other.numbers,
            percents=self.percents | other.percents,
            dates=self.dates | other.dates,
            times=self.times | other.times,
        )

    def supports(self, figure: Figure) -> bool:
        """Whether a source states ``figure`` (under the equivalences above)."""
        return _Index(self).supports(figure)


class _Index:
    """The sources in the forms figures are compared in, built once per check."""

    def __init__(self, sources: GroundingSources) -> None:
        self.sources = sources
        self.numbers = frozenset(plain(n) for n in sources.numbers)
        forms = {_q(p) for p in sources.percents}
        forms.update(_q(n) for n in sources.numbers)
        forms.update(_q(n * _HUNDRED) for n in sources.numbers)
        self.percent_forms = frozenset(forms)

    def supports(self, figure: Figure) -> bool:
        match figure.kind:
            case "date":
                assert figure.date is not None
                return any(figure.date.matches(d) for d in self.sources.dates)
            case "time":
                return figure.time in self.sources.times
            case "percent":
                assert figure.value is not None
                return _q(figure.value) in self.percent_forms
            case "day_of_month" if any(d.day == figure.value for d in self.sources.dates):
                return True
            case "year" if any(d.year == figure.value for d in self.sources.dates):
                return True
        return figure.value in self.numbers


class _Accumulator:
    def __init__(self) -> None:
        self.numbers: set[Decimal] = set()
        self.percents: set[Decimal] = set()
        self.dates: set[PartialDate] = set()
        self.times: set[tuple[int, int]] = set()

    def number(self, value: Decimal) -> None:
        if value.is_finite():
            self.numbers.add(plain(value))

    def text(self, text: str) -> None:
        for figure in extract_figures(text):
            if figure.kind == "date" and figure.date is not None:
                self.dates.add(figure.date)
            elif figure.kind == "time" and figure.time is not None:
                self.times.add(figure.time)
            elif figure.kind == "percent" and figure.value is not None:
                self.percents.add(figure.value)
            elif figure.value is not None:
                self.numbers.add(figure.value)

    def value(self, value: object, *, depth: int) -> None:
        if depth > _MAX_DEPTH or value is None or isinstance(value, bool):
            return
        if isinstance(value, datetime | date):
            day = value.date() if isinstance(value, datetime) else value
            self.dates.add(PartialDate(day.year, day.month, day.day))
        elif isinstance(value, int | Decimal | float):
            self.number(Decimal(str(value)))
        elif isinstance(value, str):
            self._string(value)
        elif isinstance(value, Mapping):
            for item in value.values():
                self.value(item, depth=depth + 1)
        elif isinstance(value, list | tuple | set | frozenset):
            for item in value:
                self.value(item, depth=depth + 1)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for field in dataclasses.fields(value):
                self.value(getattr(value, field.name), depth=depth + 1)

    def _string(self, value: str) -> None:
        try:
            self.number(Decimal(value.strip()))
        except InvalidOperation:
            self.text(value)

    def sources(self) -> GroundingSources:
        return GroundingSources(
            numbers=frozenset(self.numbers),
            percents=frozenset(self.percents),
            dates=frozenset(self.dates),
            times=frozenset(self.times),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class UngroundedFigure:
    """A figure in a reply that no source states."""

    figure: Figure

    @property
    def start(self) -> int:
        return self.figure.start

    @property
    def end(self) -> int:
        return self.figure.end

    @property
    def text(self) -> str:
        return self.figure.text


def needs_source(figure: Figure) -> bool:
    """Whether grounding checks ``figure`` (bare small whole numbers and ordinals are exempt)."""
    if figure.kind == "ordinal":
        return False
    if figure.kind == "number":
        assert figure.value is not None
        return figure.value >= _UNCHECKED_BELOW or figure.value != figure.value.to_integral_value()
    return True


def check_grounding(text: str, allowed: GroundingSources) -> list[UngroundedFigure]:
    """The figures in ``text`` that ``allowed`` does not support, in order."""
    return list(_ungrounded(text, allowed))


@functools.lru_cache(maxsize=64)
def _ungrounded(text: str, allowed: GroundingSources) -> tuple[UngroundedFigure, ...]:
    # Memoised: a reply is checked by the grounding rule and by the guard itself, with the same sources.
    index = _Index(allowed)
    return tuple(
        UngroundedFigure(figure=f) for f in extract_figures(text) if needs_source(f) and not index.supports(f)
    )

"""Scoring a KPI series: the latest complete period, its changes, its status.

Shared by the terminal scorecard and the web pages, so both read a series the same
way: a period the data ends partway through is *partial* — shown as "so far", never
scored or compared as if it were complete.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from headway.engine.periods import Calendar, periods_per_year, shift, truncate
from headway.engine.spec import Direction, Grain, Kpi, Thresholds, Unit

# Decimals shown per unit ("currency:0" in a KPI's format overrides them).
UNIT_DECIMALS: dict[Unit, int] = {
    Unit.CURRENCY: 2,
    Unit.PERCENT: 1,
    Unit.COUNT: 0,
    Unit.RATIO: 2,
    Unit.SCORE: 1,
    Unit.DAYS: 1,
    Unit.HOURS: 1,
    Unit.MINUTES: 1,
    Unit.SECONDS: 0,
    Unit.UNITS: 0,
    Unit.KWH: 1,
    Unit.KG: 1,
    Unit.KM_PER_LITRE: 2,
    Unit.INDEX: 2,
}

# Suffix written after a value of the unit ("" for none).
UNIT_SUFFIX: dict[Unit, str] = {
    Unit.DAYS: " days",
    Unit.HOURS: " h",
    Unit.MINUTES: " min",
    Unit.SECONDS: " s",
    Unit.UNITS: " units",
    Unit.KWH: " kWh",
    Unit.KG: " kg",
    Unit.KM_PER_LITRE: " km/l",
}


class Status(StrEnum):
    GOOD = "good"
    WARNING = "warning"
    BAD = "bad"


class Compare(StrEnum):
    PREVIOUS = "previous"
    YEAR_AGO = "year_ago"


def is_missing(value: Any) -> bool:
    """None, NaN or NaT: a value that is not known."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True
    return type(value).__name__ == "NaTType"


def kpi_decimals(kpi: Kpi) -> int | None:
    """Decimals from the KPI's own display format (``currency:0``), if it has one."""
    if kpi.format and ":" in kpi.format:
        tail = kpi.format.rsplit(":", 1)[1]
        if tail.isdigit():
            return int(tail)
    return None


def decimals_for(kpi: Kpi) -> int:
    found = kpi_decimals(kpi)
    return UNIT_DECIMALS[kpi.unit] if found is None else found


def growth(current: float | None, previous: float | None) -> float | None:
    """(current - previous) / |previous|; None when either is unknown or previous is 0."""
    if current is None or previous is None or is_missing(current) or is_missing(previous) or previous == 0:
        return None
    return (current - previous) / abs(previous)


def status(kpi: Kpi, value: float | None, change: float | None) -> Status | None:
    """good / warning / bad from the KPI's thresholds read in its direction (None: no thresholds or no value)."""
    t: Thresholds | None = kpi.thresholds
    if t is None:
        return None
    x = change if t.basis == "change" else value
    if x is None or is_missing(x):
        return None
    if kpi.direction is Direction.HIGHER:
        return Status.GOOD if x >= t.good else Status.WARNING if x >= t.warning else Status.BAD
    return Status.GOOD if x <= t.good else Status.WARNING if x <= t.warning else Status.BAD


@dataclass(frozen=True)
class Delta:
    """A change between two values as a reader sees it: percentage points for a percent KPI, else growth."""

    amount: float
    """Percentage points (2.5 = +2.5 pp) or growth as a fraction (0.1 = +10%)."""
    points: bool
    """True: ``amount`` is in percentage points."""
    better: bool | None
    """Whether it moved the KPI's good way (None: no change)."""


def delta(kpi: Kpi, current: float | None, previous: float | None) -> Delta | None:
    if current is None or previous is None or is_missing(current) or is_missing(previous):
        return None
    if kpi.unit is Unit.PERCENT:
        amount, points = (current - previous) * 100, True
    else:
        g = growth(current, previous)
        if g is None:
            return None
        amount, points = g, False
    better = None if abs(amount) < 1e-12 else (amount > 0) == (kpi.direction is Direction.HIGHER)
    return Delta(amount, points, better)


def period_end(period: date, grain: Grain) -> date:
    """Last day of the period that starts on ``period``."""
    return shift(period, 1, grain) - timedelta(days=1)


def is_complete(period: date, grain: Grain, as_of: date | None) -> bool:
    """Whether data ending on ``as_of`` covers the whole period (None: unknown, taken as complete)."""
    return as_of is None or period_end(period, grain) <= as_of


def latest_complete_period(last_day: date, grain: Grain, calendar: Calendar | None = None) -> date:
    """First day of the last period of ``grain`` fully covered by data ending on ``last_day``."""
    period = truncate(last_day, grain, calendar or Calendar())
    return period if is_complete(period, grain, last_day) else shift(period, -1, grain)


def latest_complete_month(last_day: date) -> date:
    """First day of the last month fully covered by data ending on ``last_day``."""
    return latest_complete_period(last_day, Grain.MONTH)


def comparison_period(period: date, grain: Grain, compare: Compare) -> date:
    """The period a value is compared with: the one before, or the same one a year earlier."""
    return shift(period, -1 if compare is Compare.PREVIOUS else -periods_per_year(grain), grain)


def _known(value: float | None) -> float | None:
    return None if value is None or is_missing(value) else float(value)


@dataclass(frozen=True)
class Score:
    """How a KPI stands: its latest complete period, the changes to it, its status, and a partial period if any."""

    grain: Grain
    period: date | None = None
    """Latest complete period (None: no complete period yet)."""
    value: float | None = None
    previous: float | None = None
    year_ago: float | None = None
    vs_previous: Delta | None = None
    vs_year_ago: Delta | None = None
    status: Status | None = None
    partial_period: date | None = None
    """The period the data ends partway through, if any (after ``period``)."""
    partial_value: float | None = None
    window: tuple[tuple[date, float | None], ...] = field(default_factory=tuple)
    """The last complete periods (oldest first) up to ``period``, for a sparkline."""


def score(kpi: Kpi, series: Mapping[date, float | None], grain: Grain, as_of: date | None, window: int = 12) -> Score:
    """Score a KPI's series (period start -> value) at ``grain`` with data ending on ``as_of``."""
    periods: Sequence[date] = sorted(series)
    complete = [p for p in periods if is_complete(p, grain, as_of)]
    current = complete[-1] if complete else None
    partial = next((p for p in reversed(periods) if current is None or p > current), None)
    if current is None:
        return Score(grain, partial_period=partial, partial_value=_known(series.get(partial)) if partial else None)
    value = _known(series.get(current))
    previous = _known(series.get(comparison_period(current, grain, Compare.PREVIOUS)))
    year_ago = _known(series.get(comparison_period(current, grain, Compare.YEAR_AGO)))
    return Score(
        grain,
        period=current,
        value=value,
        previous=previous,
        year_ago=year_ago,
        vs_previous=delta(kpi, value, previous),
        vs_year_ago=delta(kpi, value, year_ago),
        status=status(kpi, value, growth(value, previous)),
        partial_period=partial,
        partial_value=_known(series.get(partial)) if partial else None,
        window=tuple((p, _known(series.get(p))) for p in complete[-window:]),
    )

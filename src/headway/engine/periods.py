"""Periods: how a timestamp falls into a day, week, month, quarter or year.

The same rules exist twice, on purpose: in Python (to lay out the time spine and the
range a query must read) and as SQLGlot expressions (to bucket rows in the warehouse).
Both are tested against each other. A period is named by its first day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlglot import exp

from headway.engine.spec import Grain, Window

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Calendar:
    """How an organisation counts time: week start, fiscal-year start and time zone."""

    week_start: int = 0
    """0 = Monday ... 6 = Sunday."""
    fiscal_year_start: int = 1
    """Month (1-12) the fiscal year starts in; quarters follow it."""
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if not 0 <= self.week_start <= 6:
            raise ValueError(f"week_start must be 0 (Monday) to 6 (Sunday), got {self.week_start}")
        if not 1 <= self.fiscal_year_start <= 12:
            raise ValueError(f"fiscal_year_start must be a month 1-12, got {self.fiscal_year_start}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.timezone!r}") from exc

    @classmethod
    def parse_week_start(cls, value: str | int) -> int:
        if isinstance(value, int):
            return value
        name = value.strip().lower()
        if name not in WEEKDAYS:
            raise ValueError(f"unknown weekday {value!r}; use one of {', '.join(WEEKDAYS)}")
        return WEEKDAYS.index(name)


def _add_months(d: date, months: int) -> date:
    """First-of-month arithmetic (callers only pass first days of months)."""
    index = d.year * 12 + (d.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def _month_bucket(d: date, size: int, offset: int) -> date:
    """Start of the ``size``-month bucket containing ``d``, buckets aligned to month ``offset + 1``."""
    index = d.year * 12 + (d.month - 1) - offset
    start = index - index % size + offset
    return date(start // 12, start % 12 + 1, 1)


def truncate(d: date, grain: Grain, cal: Calendar) -> date:
    """The first day of the period of ``grain`` containing the local date ``d``."""
    if grain is Grain.DAY:
        return d
    if grain is Grain.WEEK:
        return d - timedelta(days=(d.weekday() - cal.week_start) % 7)
    if grain is Grain.MONTH:
        return d.replace(day=1)
    if grain is Grain.QUARTER:
        return _month_bucket(d, 3, (cal.fiscal_year_start - 1) % 3)
    return _month_bucket(d, 12, cal.fiscal_year_start - 1)


def shift(period: date, n: int, grain: Grain) -> date:
    """The period ``n`` periods after ``period`` (before, if negative)."""
    if grain is Grain.DAY:
        return period + timedelta(days=n)
    if grain is Grain.WEEK:
        return period + timedelta(days=7 * n)
    months = {Grain.MONTH: 1, Grain.QUARTER: 3, Grain.YEAR: 12}[grain]
    return _add_months(period, n * months)


def periods_between(first: date, last: date, grain: Grain) -> list[date]:
    out = []
    p = first
    while p <= last:
        out.append(p)
        p = shift(p, 1, grain)
    return out


def periods_per_year(grain: Grain) -> int:
    """Lag that reaches 'the same period last year' (a day or week compares the same weekday)."""
    return {Grain.DAY: 364, Grain.WEEK: 52, Grain.MONTH: 12, Grain.QUARTER: 4, Grain.YEAR: 1}[grain]


def window_grain(window: Window) -> Grain | None:
    """The bucket a to-date window resets in (None: no reset)."""
    return {Window.MTD: Grain.MONTH, Window.QTD: Grain.QUARTER, Window.YTD: Grain.YEAR}.get(window)


# --- SQL -----------------------------------------------------------------------------


def _interval(n: int, unit: str) -> exp.Interval:
    return exp.Interval(this=exp.Literal.string(str(n)), unit=exp.var(unit))


def local_time(column: exp.Expression, is_timestamp: bool, cal: Calendar) -> exp.Expression:
    """A naive-UTC timestamp column as local wall-clock time in the calendar's zone."""
    if not is_timestamp or cal.timezone == "UTC":
        return column
    as_utc = exp.AtTimeZone(this=column, zone=exp.Literal.string("UTC"))
    return exp.Paren(this=exp.AtTimeZone(this=exp.Paren(this=as_utc), zone=exp.Literal.string(cal.timezone)))


def _trunc(unit: str, value: exp.Expression) -> exp.Expression:
    return exp.TimestampTrunc(this=value, unit=exp.var(unit))


def _as_date(value: exp.Expression) -> exp.Expression:
    return exp.cast(value, exp.DataType.build("date"))


def _shifted_trunc(value: exp.Expression, unit: str, offset: int, offset_unit: str) -> exp.Expression:
    if offset == 0:
        return _as_date(_trunc(unit, value))
    back = exp.Sub(this=value, expression=_interval(offset, offset_unit))
    forward = exp.Add(this=_trunc(unit, back), expression=_interval(offset, offset_unit))
    return _as_date(forward)


def truncate_sql(value: exp.Expression, grain: Grain, cal: Calendar) -> exp.Expression:
    """SQL for :func:`truncate`: the first day (a DATE) of the period containing ``value``."""
    if grain is Grain.DAY:
        return _as_date(value)
    if grain is Grain.WEEK:
        return _shifted_trunc(value, "WEEK", cal.week_start, "DAY")
    if grain is Grain.MONTH:
        return _as_date(_trunc("MONTH", value))
    if grain is Grain.QUARTER:
        return _shifted_trunc(value, "QUARTER", (cal.fiscal_year_start - 1) % 3, "MONTH")
    return _shifted_trunc(value, "YEAR", cal.fiscal_year_start - 1, "MONTH")


def step_interval(grain: Grain) -> exp.Interval:
    """One period as an interval."""
    return {
        Grain.DAY: _interval(1, "DAY"),
        Grain.WEEK: _interval(7, "DAY"),
        Grain.MONTH: _interval(1, "MONTH"),
        Grain.QUARTER: _interval(3, "MONTH"),
        Grain.YEAR: _interval(1, "YEAR"),
    }[grain]

"""Scoring a series: latest complete period, partial periods, changes and direction-aware status."""

from __future__ import annotations

from datetime import date

import pytest

from headway.engine.periods import Calendar
from headway.engine.scoring import (
    Compare,
    Status,
    comparison_period,
    decimals_for,
    delta,
    growth,
    is_complete,
    is_missing,
    kpi_decimals,
    latest_complete_period,
    period_end,
    score,
    status,
)
from headway.engine.spec import Grain, Kpi


def make_kpi(**fields: object) -> Kpi:
    spec: dict[str, object] = {
        "id": "k",
        "name": "K",
        "category": "financial",
        "metric": {"kind": "aggregate", "dataset": "orders", "agg": "count"},
    }
    spec.update(fields)
    return Kpi.model_validate(spec)


def months(first: date, values: list[float | None]) -> dict[date, float | None]:
    out: dict[date, float | None] = {}
    y, m = first.year, first.month
    for v in values:
        out[date(y, m, 1)] = v
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def test_period_end_and_completeness():
    assert period_end(date(2024, 2, 1), Grain.MONTH) == date(2024, 2, 29)
    assert period_end(date(2024, 10, 1), Grain.QUARTER) == date(2024, 12, 31)
    assert period_end(date(2024, 12, 30), Grain.WEEK) == date(2025, 1, 5)
    assert is_complete(date(2024, 12, 1), Grain.MONTH, date(2024, 12, 31))
    assert not is_complete(date(2024, 12, 1), Grain.MONTH, date(2024, 12, 30))
    assert is_complete(date(2024, 12, 1), Grain.MONTH, None)


def test_latest_complete_period_per_grain():
    assert latest_complete_period(date(2024, 12, 31), Grain.MONTH) == date(2024, 12, 1)
    assert latest_complete_period(date(2024, 12, 30), Grain.MONTH) == date(2024, 11, 1)
    assert latest_complete_period(date(2024, 2, 29), Grain.MONTH) == date(2024, 2, 1)
    # 2024-12-31 is a Tuesday: the week starting Monday 30 Dec is not over.
    assert latest_complete_period(date(2024, 12, 31), Grain.WEEK) == date(2024, 12, 23)
    # Weeks starting on Sunday: 29 Dec - 4 Jan is not over either.
    assert latest_complete_period(date(2024, 12, 31), Grain.WEEK, Calendar(week_start=6)) == date(2024, 12, 22)
    assert latest_complete_period(date(2024, 11, 30), Grain.QUARTER) == date(2024, 7, 1)
    # A fiscal year starting in February puts quarters at Feb, May, Aug, Nov.
    assert latest_complete_period(date(2025, 1, 31), Grain.QUARTER, Calendar(fiscal_year_start=2)) == date(2024, 11, 1)


def test_comparison_period():
    assert comparison_period(date(2024, 3, 1), Grain.MONTH, Compare.PREVIOUS) == date(2024, 2, 1)
    assert comparison_period(date(2024, 3, 1), Grain.MONTH, Compare.YEAR_AGO) == date(2023, 3, 1)
    assert comparison_period(date(2024, 10, 1), Grain.QUARTER, Compare.YEAR_AGO) == date(2023, 10, 1)
    assert comparison_period(date(2024, 12, 23), Grain.WEEK, Compare.YEAR_AGO) == date(2023, 12, 25)


def test_growth_and_missing():
    assert growth(110, 100) == pytest.approx(0.1)
    assert growth(90, -100) == pytest.approx(1.9)
    assert growth(1, 0) is None
    assert growth(None, 1) is None
    assert growth(float("nan"), 1) is None
    assert is_missing(None) and is_missing(float("nan")) and not is_missing(0.0)


def test_delta_in_points_for_percent_and_growth_otherwise():
    pct = make_kpi(unit="percent")
    d = delta(pct, 0.25, 0.20)
    assert d is not None and d.points and d.amount == pytest.approx(5.0) and d.better is True
    lower = make_kpi(unit="currency", direction="lower")
    d = delta(lower, 110, 100)
    assert d is not None and not d.points and d.amount == pytest.approx(0.1) and d.better is False
    d = delta(lower, 100, 100)
    assert d is not None and d.better is None
    assert delta(lower, 100, 0) is None
    assert delta(pct, None, 0.2) is None


def test_status_is_read_in_the_kpis_direction():
    higher = make_kpi(thresholds={"good": 10, "warning": 5})
    assert status(higher, 10, None) is Status.GOOD
    assert status(higher, 7, None) is Status.WARNING
    assert status(higher, 4.9, None) is Status.BAD
    lower = make_kpi(direction="lower", thresholds={"good": 5, "warning": 10})
    assert status(lower, 5, None) is Status.GOOD
    assert status(lower, 7, None) is Status.WARNING
    assert status(lower, 10.1, None) is Status.BAD
    on_change = make_kpi(thresholds={"good": 0.05, "warning": 0, "basis": "change"})
    assert status(on_change, 1000, 0.06) is Status.GOOD
    assert status(on_change, 1000, -0.01) is Status.BAD
    assert status(on_change, 1000, None) is None
    assert status(make_kpi(), 5, None) is None
    assert status(higher, None, None) is None


def test_decimals():
    assert kpi_decimals(make_kpi(format="currency:0")) == 0
    assert kpi_decimals(make_kpi(format="currency")) is None
    assert decimals_for(make_kpi(unit="percent")) == 1
    assert decimals_for(make_kpi(unit="currency", format="currency:0")) == 0


def test_score_of_a_complete_last_month():
    kpi = make_kpi(thresholds={"good": 20, "warning": 10})
    series = months(date(2023, 1, 1), [float(v) for v in range(1, 25)])  # Jan 2023 .. Dec 2024
    s = score(kpi, series, Grain.MONTH, date(2024, 12, 31))
    assert s.period == date(2024, 12, 1) and s.value == 24.0
    assert s.previous == 23.0 and s.year_ago == 12.0
    assert s.vs_previous is not None and s.vs_previous.amount == pytest.approx(1 / 23)
    assert s.vs_year_ago is not None and s.vs_year_ago.amount == pytest.approx(1.0)
    assert s.status is Status.GOOD
    assert s.partial_period is None and s.partial_value is None
    assert [p for p, _ in s.window] == sorted(series)[-12:]


def test_a_partial_last_period_is_never_scored_or_compared():
    kpi = make_kpi(thresholds={"good": 20, "warning": 10})
    series = months(date(2023, 1, 1), [float(v) for v in range(1, 25)])
    s = score(kpi, series, Grain.MONTH, date(2024, 12, 15))
    assert s.period == date(2024, 11, 1) and s.value == 23.0
    assert s.previous == 22.0 and s.year_ago == 11.0
    assert s.partial_period == date(2024, 12, 1) and s.partial_value == 24.0
    assert date(2024, 12, 1) not in dict(s.window)


def test_score_with_only_a_partial_period():
    s = score(make_kpi(), {date(2024, 12, 1): 5.0}, Grain.MONTH, date(2024, 12, 10))
    assert s.period is None and s.value is None and s.status is None
    assert s.partial_period == date(2024, 12, 1) and s.partial_value == 5.0


def test_score_of_an_empty_series_and_unknown_values():
    assert score(make_kpi(), {}, Grain.MONTH, None).period is None
    s = score(make_kpi(), months(date(2024, 11, 1), [3.0, float("nan")]), Grain.MONTH, None)
    assert s.period == date(2024, 12, 1) and s.value is None and s.previous == 3.0 and s.vs_previous is None

"""Goal pace and status on hand-worked examples (the arithmetic is in the comments).

Unless said otherwise a goal runs Jan-Dec 2025 on a monthly series: n = 12 periods,
the plan's fraction after month k is k / 12, and the horizon is 365 days, so
days behind = (k / 12 - progress) * 365, halves rounded up.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from headway.analytics.goals import (
    GoalError,
    GoalSpec,
    GoalStatus,
    Level,
    TargetKind,
    Trajectory,
    achievability,
    baseline_from_history,
    evaluate,
    expected_at,
    target_value,
)
from headway.analytics.target_expr import lookup_from_series, parse_target
from headway.engine.periods import shift
from headway.engine.spec import Direction, Grain

START, DEADLINE = date(2025, 1, 1), date(2025, 12, 31)


def monthly(first: date, values: list[float | None]) -> pd.Series:
    return pd.Series(values, index=[shift(first, i, Grain.MONTH) for i in range(len(values))], dtype=float)


def goal(target: float, **kw: object) -> GoalSpec:
    fields: dict[str, object] = {
        "kind": TargetKind.ABSOLUTE,
        "target": target,
        "start": START,
        "deadline": DEADLINE,
        "direction": Direction.HIGHER,
    }
    fields.update(kw)
    return GoalSpec(**fields)  # type: ignore[arg-type]


# 2024 flat at 100 (so the default baseline, Dec 2024, is 100), then Jan-Jun 2025.
HISTORY_2024 = [100.0] * 12
REVENUE = monthly(date(2024, 1, 1), [*HISTORY_2024, 102, 104, 105, 106, 108, 109])


# --- linear ------------------------------------------------------------------------


def test_linear_at_risk_with_days_behind() -> None:
    spec = goal(124)
    # baseline 100 (Dec 2024), target 124: +2 a month. June (k = 6): expected 100 + 24 * 6/12 = 112.
    # actual 109: gap -3, 3 / 112 = 2.7% short <= 5% tolerance -> at risk.
    # progress (109 - 100) / 24 = 0.375; days behind (0.5 - 0.375) * 365 = 45.6 -> 46.
    ev = evaluate(spec, REVENUE, date(2025, 6, 30), fmt=lambda x: f"€{x:,.0f}")
    assert ev.status is GoalStatus.AT_RISK
    assert ev.baseline == 100 and ev.target == 124
    assert ev.period == date(2025, 6, 1)
    assert_allclose([ev.expected, ev.actual, ev.gap, ev.progress], [112, 109, -3, 0.375])
    assert ev.days_behind == 46
    assert ev.final is None
    assert ev.message.startswith("€3 behind plan — about 46 days")
    # checkpoints: Jan 102 vs 102, Feb 104 vs 104 on track; Mar 105 vs 106 (0.9% short) at risk ...
    assert [c.period.month for c in ev.checkpoints] == [1, 2, 3, 4, 5, 6]
    assert [c.expected for c in ev.checkpoints] == [102, 104, 106, 108, 110, 112]
    assert [c.status for c in ev.checkpoints] == [GoalStatus.ON_TRACK] * 2 + [GoalStatus.AT_RISK] * 4
    assert ev.checkpoints[0].date == date(2025, 1, 31)


def test_linear_off_track_when_no_progress() -> None:
    series = monthly(date(2024, 1, 1), [*HISTORY_2024, 100, 100, 100, 100, 100, 100])
    # June: expected 112, actual 100: 12 / 112 = 10.7% short > 5% -> off track.
    # progress 0; days behind 0.5 * 365 = 182.5 -> 183.
    ev = evaluate(goal(124), series, date(2025, 6, 30))
    assert ev.status is GoalStatus.OFF_TRACK
    assert ev.progress == 0 and ev.days_behind == 183


def test_linear_ahead_of_plan_counts_days_ahead() -> None:
    series = monthly(date(2024, 1, 1), [*HISTORY_2024, 103, 106, 109])
    # March: expected 106, actual 109: 3 ahead. progress 9/24 = 0.375 vs plan 0.25:
    # (0.25 - 0.375) * 365 = -45.6 -> -46 (46 days ahead).
    ev = evaluate(goal(124), series, date(2025, 3, 31))
    assert ev.status is GoalStatus.ON_TRACK
    assert ev.gap == pytest.approx(3)
    assert ev.days_behind == -46
    assert "about 46 days ahead" in ev.message


def test_partial_period_is_not_used() -> None:
    # July 2025 holds a partial value (data ends on 15 July): it must not count.
    series = monthly(date(2024, 1, 1), [*HISTORY_2024, 102, 104, 105, 106, 108, 109, 50])
    ev = evaluate(goal(124), series, date(2025, 7, 15))
    assert ev.period == date(2025, 6, 1) and ev.actual == 109


def test_tolerance_boundary() -> None:
    # June expected 112. 112 * 0.95 = 106.4 is exactly 5% short -> still at risk; 106.3 is off track.
    for actual, status in [(106.4, GoalStatus.AT_RISK), (106.3, GoalStatus.OFF_TRACK)]:
        series = monthly(date(2024, 1, 1), [*HISTORY_2024, 102, 104, 106, 108, 110, actual])
        assert evaluate(goal(124), series, date(2025, 6, 30)).status is status
    # a wider tolerance turns the same shortfall into "at risk"
    series = monthly(date(2024, 1, 1), [*HISTORY_2024, 102, 104, 106, 108, 110, 100])
    assert evaluate(goal(124, tolerance=0.15), series, date(2025, 6, 30)).status is GoalStatus.AT_RISK


def test_lower_is_better() -> None:
    # fulfilment time: baseline 5.0 days (Dec 2024), target 3.0 by Dec 2025.
    # June: expected 5 - 2 * 6/12 = 4.0.
    spec = goal(3.0, direction=Direction.LOWER)
    history = [5.0] * 12
    # actual 4.1: 0.1 above plan (bad), 0.1 / 4 = 2.5% -> at risk; progress (4.1 - 5) / (3 - 5) = 0.45;
    # days (0.5 - 0.45) * 365 = 18.25 -> 18.
    ev = evaluate(spec, monthly(date(2024, 1, 1), [*history, 4.9, 4.7, 4.6, 4.4, 4.3, 4.1]), date(2025, 6, 30))
    assert ev.status is GoalStatus.AT_RISK
    assert_allclose([ev.expected, ev.gap, ev.progress], [4.0, -0.1, 0.45])
    assert ev.days_behind == 18
    # actual 3.9: 0.1 below plan (good) -> on track, 18 days ahead.
    ev = evaluate(spec, monthly(date(2024, 1, 1), [*history, 4.9, 4.7, 4.6, 4.4, 4.3, 3.9]), date(2025, 6, 30))
    assert ev.status is GoalStatus.ON_TRACK
    assert ev.gap == pytest.approx(0.1) and ev.days_behind == -18
    # actual 4.5: 0.5 / 4 = 12.5% -> off track.
    ev = evaluate(spec, monthly(date(2024, 1, 1), [*history, 5, 5, 5, 5, 5, 4.5]), date(2025, 6, 30))
    assert ev.status is GoalStatus.OFF_TRACK


# --- change_pct ----------------------------------------------------------------------


def test_change_pct_quarterly() -> None:
    # baseline 200, +15% -> 230 by Q4 2025; n = 4 quarters. Q2: expected 200 + 30 * 2/4 = 215.
    # actual 212: 3 / 215 = 1.4% short -> at risk. progress 12 / 30 = 0.4;
    # days (0.5 - 0.4) * 365 = 36.5 -> 37.
    spec = goal(15.0, kind=TargetKind.CHANGE_PCT, grain=Grain.QUARTER, baseline=200.0)
    assert target_value(spec) == pytest.approx(230)
    series = pd.Series([205.0, 212.0], index=[date(2025, 1, 1), date(2025, 4, 1)])
    ev = evaluate(spec, series, date(2025, 6, 30))
    assert ev.status is GoalStatus.AT_RISK
    assert_allclose([ev.expected, ev.gap, ev.progress], [215, -3, 0.4])
    assert ev.days_behind == 37


def test_change_pct_resolves_against_the_baseline_sign() -> None:
    # a decrease: cost 40 -> -10% = 36; a loss of -50 improved by 20% -> -50 + 50 * 0.2 = -40.
    assert target_value(goal(-10.0, kind=TargetKind.CHANGE_PCT, baseline=40.0)) == pytest.approx(36)
    assert target_value(goal(20.0, kind=TargetKind.CHANGE_PCT, baseline=-50.0)) == pytest.approx(-40)
    with pytest.raises(GoalError, match="baseline"):
        target_value(goal(10.0, kind=TargetKind.CHANGE_PCT))


def test_change_pct_takes_the_default_baseline_from_history() -> None:
    # history ends Dec 2024 at 100 -> +24% = 124: the same goal as the linear example.
    ev = evaluate(goal(24.0, kind=TargetKind.CHANGE_PCT), REVENUE, date(2025, 6, 30))
    assert ev.target == pytest.approx(124) and ev.days_behind == 46


def test_no_baseline_is_a_clear_no_data() -> None:
    series = monthly(START, [102, 104])
    ev = evaluate(goal(124), series, date(2025, 2, 28))
    assert ev.status is GoalStatus.NO_DATA
    assert "baseline" in ev.message


# --- seasonal ------------------------------------------------------------------------

LAST_YEAR = [80.0, 80, 90, 100, 110, 120, 130, 120, 110, 100, 90, 100]


def test_seasonal_follows_last_years_shape() -> None:
    # target 120 for Dec 2025; last year's Dec was 100, so the improvement is 120 / 100 - 1 = 20%,
    # phased in linearly. June: last June 120 * (1 + 0.2 * 6/12) = 132.
    spec = goal(120, trajectory=Trajectory.SEASONAL)
    series = monthly(date(2024, 1, 1), [*LAST_YEAR, 81.6, 82.7, 94.5, 106.7, 119.2, 126])
    assert expected_at(spec, date(2025, 6, 15), last_year=series) == pytest.approx(132)
    # Jan: 80 * (1 + 0.2 / 12) = 81.33
    assert expected_at(spec, date(2025, 1, 1), last_year=series) == pytest.approx(80 * (1 + 0.2 / 12))
    ev = evaluate(spec, series, date(2025, 6, 30))
    # actual 126: 6 / 132 = 4.5% short -> at risk. As a ratio to last year 126 / 120 = 1.05: a quarter of
    # the 20% improvement (progress 0.25) where half was planned: (0.5 - 0.25) * 365 = 91.25 -> 91 days.
    assert ev.status is GoalStatus.AT_RISK
    assert_allclose([ev.expected, ev.gap, ev.progress], [132, -6, 0.25])
    assert ev.days_behind == 91
    # a straight line (100 -> 120) would expect 110 in June and call the same 126 on track.
    linear = evaluate(replace(spec, trajectory=Trajectory.LINEAR), series, date(2025, 6, 30))
    assert linear.expected == pytest.approx(110) and linear.status is GoalStatus.ON_TRACK


def test_seasonal_reads_a_separate_last_year_series() -> None:
    spec = goal(120, trajectory=Trajectory.SEASONAL, baseline=100.0)
    this_year = monthly(START, [81.6, 82.7, 94.5, 106.7, 119.2, 126])
    ev = evaluate(spec, this_year, date(2025, 6, 30), last_year=monthly(date(2024, 1, 1), LAST_YEAR))
    assert ev.expected == pytest.approx(132)


def test_seasonal_without_last_year_says_so() -> None:
    spec = goal(120, trajectory=Trajectory.SEASONAL, baseline=100.0)
    ev = evaluate(spec, monthly(START, [81.6, 82.7]), date(2025, 2, 28))
    assert ev.status is GoalStatus.NO_DATA
    assert "a year before" in ev.message
    assert expected_at(spec, date(2025, 2, 1)) is None


# --- cumulative ----------------------------------------------------------------------


def test_cumulative_sums_per_period_amounts() -> None:
    # 1,200 in 2025. After March the running total should be 1200 * 3/12 = 300.
    # Jan-Mar 90 + 95 + 100 = 285: 15 / 300 = exactly 5% short -> at risk (the boundary).
    # progress 285 / 1200 = 0.2375; days (0.25 - 0.2375) * 365 = 4.56 -> 5.
    spec = goal(1200, trajectory=Trajectory.CUMULATIVE)
    ev = evaluate(spec, monthly(START, [90, 95, 100]), date(2025, 3, 31))
    assert ev.status is GoalStatus.AT_RISK
    assert_allclose([ev.expected, ev.actual, ev.gap, ev.progress], [300, 285, -15, 0.2375])
    assert ev.days_behind == 5
    assert [c.actual for c in ev.checkpoints] == [90, 185, 285]
    # 280: 20 / 300 = 6.7% -> off track
    assert evaluate(spec, monthly(START, [90, 95, 95]), date(2025, 3, 31)).status is GoalStatus.OFF_TRACK


def test_cumulative_to_date_kpi_is_not_summed_again() -> None:
    spec = goal(1200, trajectory=Trajectory.CUMULATIVE, to_date=True)
    ev = evaluate(spec, monthly(START, [90, 185, 285]), date(2025, 3, 31))
    assert ev.actual == 285 and ev.days_behind == 5


def test_cumulative_baseline_is_the_same_length_window_before() -> None:
    # 2024 monthly amounts 80 each: the 12 months before the start total 960; +25% -> 1,200.
    history = monthly(date(2024, 1, 1), [80.0] * 12)
    assert baseline_from_history(history, START, Grain.MONTH, trajectory=Trajectory.CUMULATIVE, deadline=DEADLINE) == (
        960,
        date(2024, 1, 1),
    )
    spec = goal(25.0, kind=TargetKind.CHANGE_PCT, trajectory=Trajectory.CUMULATIVE)
    ev = evaluate(spec, pd.concat([history, monthly(START, [90, 95, 100])]), date(2025, 3, 31))
    assert ev.baseline == 960 and ev.target == pytest.approx(1200) and ev.status is GoalStatus.AT_RISK
    # a gap in the window: no baseline rather than a wrong one
    holey = monthly(date(2024, 1, 1), [80.0] * 5 + [None] + [80.0] * 6)
    assert baseline_from_history(holey, START, Grain.MONTH, trajectory=Trajectory.CUMULATIVE, deadline=DEADLINE) is None


def test_cumulative_missing_period_stops_the_running_total() -> None:
    spec = goal(1200, trajectory=Trajectory.CUMULATIVE)
    ev = evaluate(spec, monthly(START, [90, None, 100]), date(2025, 3, 31))
    # February unknown -> the total from February on is unknown; January is the latest known point.
    assert ev.period == date(2025, 1, 1) and ev.actual == 90
    assert ev.checkpoints[-1].status is GoalStatus.NO_DATA


# --- stay above / below --------------------------------------------------------------


def test_stay_above() -> None:
    # NPS floor 40. Jan-Jun 45, 42, 39, 41, 44, 46: March went below.
    spec = goal(40, kind=TargetKind.STAY_ABOVE)
    ev = evaluate(spec, monthly(START, [45, 42, 39, 41, 44, 46]), date(2025, 6, 30))
    assert ev.status is GoalStatus.ON_TRACK
    assert ev.expected == 40 and ev.gap == 6
    assert ev.progress == pytest.approx(5 / 12)  # 5 of the 12 periods held so far
    assert "went below in 2025-03-01" in ev.message
    assert [c.status for c in ev.checkpoints][2] is GoalStatus.AT_RISK  # 39: 1 / 40 = 2.5% below
    # latest 39 -> at risk; latest 30 -> 25% below -> off track
    assert evaluate(spec, monthly(START, [45, 39]), date(2025, 2, 28)).status is GoalStatus.AT_RISK
    assert evaluate(spec, monthly(START, [45, 30]), date(2025, 2, 28)).status is GoalStatus.OFF_TRACK


def test_stay_above_final() -> None:
    spec = goal(40, kind=TargetKind.STAY_ABOVE)
    held = evaluate(spec, monthly(START, [41.0] * 12), date(2026, 1, 10))
    assert held.status is GoalStatus.ACHIEVED and held.final is GoalStatus.ACHIEVED
    assert held.progress == 1
    broke = evaluate(spec, monthly(START, [41.0] * 6 + [39.9] + [41.0] * 5), date(2026, 1, 10))
    assert broke.final is GoalStatus.MISSED
    assert "went below 40 in 2025-07-01" in broke.message
    gap = evaluate(spec, monthly(START, [41.0] * 6 + [None] + [41.0] * 5), date(2026, 1, 10))
    assert gap.status is GoalStatus.NO_DATA and gap.final is None and "2025-07-01" in gap.message


def test_stay_below_on_a_lower_is_better_kpi() -> None:
    # refund rate ceiling 5%: 4%, 4.5% fine; 5.2% is 0.2 / 5 = 4% over -> at risk; 6% (20% over) -> off track
    spec = goal(0.05, kind=TargetKind.STAY_BELOW, direction=Direction.LOWER)
    assert evaluate(spec, monthly(START, [0.04, 0.045]), date(2025, 2, 28)).status is GoalStatus.ON_TRACK
    assert evaluate(spec, monthly(START, [0.04, 0.052]), date(2025, 2, 28)).status is GoalStatus.AT_RISK
    ev = evaluate(spec, monthly(START, [0.04, 0.06]), date(2025, 2, 28))
    assert ev.status is GoalStatus.OFF_TRACK and ev.gap == pytest.approx(-0.01)


# --- the deadline --------------------------------------------------------------------


def test_achieved_and_missed_at_the_deadline() -> None:
    path = [102, 104, 106, 108, 110, 112, 114, 116, 118, 120, 122]
    achieved = monthly(date(2024, 1, 1), HISTORY_2024 + path + [125])
    ev = evaluate(goal(124), achieved, date(2025, 12, 31))
    assert ev.status is GoalStatus.ACHIEVED and ev.final is GoalStatus.ACHIEVED
    assert ev.progress == 1
    assert ev.message.startswith("achieved: 125 against a target of 124")
    missed = monthly(date(2024, 1, 1), HISTORY_2024 + path + [120])
    ev = evaluate(goal(124), missed, date(2026, 3, 1))
    assert ev.status is GoalStatus.MISSED and ev.final is GoalStatus.MISSED
    assert "(4 short)" in ev.message
    # the day before the deadline's period completes it is still "in progress"
    ev = evaluate(goal(124), missed, date(2025, 12, 30))
    assert ev.final is None and ev.period == date(2025, 11, 1)
    # the deadline's period has no value: neither achieved nor missed
    unknown = monthly(date(2024, 1, 1), HISTORY_2024 + path + [None])
    ev = evaluate(goal(124), unknown, date(2026, 1, 31))
    assert ev.status is GoalStatus.NO_DATA and ev.final is None and "deadline" in ev.message


def test_lower_is_better_final() -> None:
    spec = goal(3.0, direction=Direction.LOWER, baseline=5.0)
    assert evaluate(spec, monthly(START, [4.0] * 11 + [2.9]), DEADLINE).final is GoalStatus.ACHIEVED
    assert evaluate(spec, monthly(START, [4.0] * 11 + [3.1]), DEADLINE).final is GoalStatus.MISSED


def test_not_started() -> None:
    ev = evaluate(goal(124), REVENUE, date(2025, 1, 20))
    assert ev.status is GoalStatus.NOT_STARTED
    assert "2025-01-31" in ev.message
    assert expected_at(goal(124, baseline=100.0), date(2024, 12, 15)) is None


# --- minimum / target / stretch ------------------------------------------------------


@pytest.mark.parametrize(
    ("june", "level"),
    [(104, Level.BELOW_MINIMUM), (109, Level.MINIMUM), (112, Level.TARGET), (120, Level.STRETCH)],
)
def test_minimum_target_stretch_levels(june: float, level: Level) -> None:
    # minimum 112, target 124, stretch 136 from 100: June (k = 6) expects 106, 112 and 118.
    spec = goal(124, minimum=112, stretch=136)
    series = monthly(date(2024, 1, 1), [*HISTORY_2024, 102, 104, 105, 106, 108, june])
    assert evaluate(spec, series, date(2025, 6, 30)).level is level


def test_levels_at_the_deadline_and_validation() -> None:
    spec = goal(124, minimum=112, stretch=136, baseline=100.0)
    ev = evaluate(spec, monthly(START, [110.0] * 11 + [116]), DEADLINE)
    assert ev.final is GoalStatus.MISSED and ev.level is Level.MINIMUM
    assert "minimum level reached" in ev.message
    ev = evaluate(spec, monthly(START, [110.0] * 11 + [140]), DEADLINE)
    assert ev.final is GoalStatus.ACHIEVED and ev.level is Level.STRETCH
    assert goal(124, stretch=130, baseline=100.0).minimum is None
    assert evaluate(goal(124, stretch=130, baseline=100.0), monthly(START, [101]), date(2025, 1, 31)).level is (
        Level.BELOW_TARGET
    )
    assert evaluate(goal(124, baseline=100.0), monthly(START, [101]), date(2025, 1, 31)).level is None
    # change_pct levels are percentages too: min +5%, target +10%, stretch +20% of 200
    pct = goal(10.0, kind=TargetKind.CHANGE_PCT, baseline=200.0, minimum=5.0, stretch=20.0)
    ev = evaluate(pct, monthly(START, [200.0] * 11 + [215]), DEADLINE)
    assert ev.level is Level.MINIMUM and ev.final is GoalStatus.MISSED
    with pytest.raises(GoalError, match="minimum"):
        goal(124, minimum=130)
    with pytest.raises(GoalError, match="stretch"):
        goal(3.0, direction=Direction.LOWER, stretch=3.5)
    with pytest.raises(GoalError, match="deadline"):
        goal(124, deadline=date(2024, 12, 1))


# --- a target from another KPI -------------------------------------------------------


def test_goal_whose_target_comes_from_another_kpi() -> None:
    # marketing spend must stay below 10% of last month's revenue: revenue Nov 2025 = 50,000 -> 5,000.
    revenue = monthly(date(2025, 1, 1), [40_000.0] * 10 + [50_000, 52_000])
    lookup = lookup_from_series({"revenue": revenue}, date(2025, 12, 1), Grain.MONTH)
    ceiling = parse_target("revenue@previous * 0.1").evaluate(lookup)
    assert ceiling == pytest.approx(5_000)
    spec = GoalSpec(TargetKind.STAY_BELOW, ceiling, date(2025, 12, 1), date(2026, 2, 28), Direction.LOWER)
    spend = monthly(date(2025, 12, 1), [4_800.0, 5_100])
    ev = evaluate(spec, spend, date(2026, 1, 31))
    # 5,100 is 100 / 5,000 = 2% over the ceiling -> at risk
    assert ev.status is GoalStatus.AT_RISK and ev.gap == pytest.approx(-100)


def test_gross_margin_at_least_last_years() -> None:
    # gross margin must end 2025 at or above Dec 2024's 32%.
    margin = monthly(date(2024, 1, 1), [0.30] * 11 + [0.32] + [0.31] * 11 + [0.325])
    lookup = lookup_from_series({"gross_margin_pct": margin}, date(2025, 12, 1), Grain.MONTH)
    floor = parse_target("gross_margin_pct@last_year").evaluate(lookup)
    assert floor == pytest.approx(0.32)
    ev = evaluate(goal(floor, baseline=0.31), margin, DEADLINE)
    assert ev.final is GoalStatus.ACHIEVED
    # with a lower floor via max(): max(0.32, 0.33) = 0.33 -> 0.325 misses it
    higher = parse_target("max(gross_margin_pct@last_year, 0.33)").evaluate(lookup)
    assert evaluate(goal(higher, baseline=0.31), margin, DEADLINE).final is GoalStatus.MISSED


# --- cadence -------------------------------------------------------------------------


def test_weekly_cadence_on_weekly_series() -> None:
    # 12 weeks from Monday 6 Jan 2025 to Sunday 30 Mar 2025, 100 -> 112: +1 a week.
    spec = goal(112, grain=Grain.WEEK, cadence="week", start=date(2025, 1, 6), deadline=date(2025, 3, 30))
    weeks = [shift(date(2025, 1, 6), i, Grain.WEEK) for i in range(4)]
    series = pd.Series([100.0, 101, 102, 102, 103], index=[date(2024, 12, 30), *weeks])
    ev = evaluate(spec, series, date(2025, 2, 2))
    assert [c.date for c in ev.checkpoints] == [
        date(2025, 1, 12),
        date(2025, 1, 19),
        date(2025, 1, 26),
        date(2025, 2, 2),
    ]
    assert [c.expected for c in ev.checkpoints] == [101, 102, 103, 104]
    # week 4: 103 vs 104 -> 1 / 104 short, at risk; progress 3 / 12 vs 4 / 12 planned:
    # (4/12 - 3/12) * 84 days = 7 days behind.
    assert ev.status is GoalStatus.AT_RISK and ev.days_behind == 7


def test_monthly_cadence_on_weekly_series_uses_the_last_complete_week() -> None:
    spec = goal(112, grain=Grain.WEEK, start=date(2025, 1, 6), deadline=date(2025, 3, 30), baseline=100.0)
    weeks = [shift(date(2025, 1, 6), i, Grain.WEEK) for i in range(8)]
    ev = evaluate(spec, pd.Series([101.0 + i for i in range(8)], index=weeks), date(2025, 3, 2))
    # 31 Jan is a Friday: the last complete week then started on 20 Jan; 28 Feb (Friday) -> week of 17 Feb.
    assert [(c.date, c.period) for c in ev.checkpoints] == [
        (date(2025, 1, 31), date(2025, 1, 20)),
        (date(2025, 2, 28), date(2025, 2, 17)),
    ]


# --- properties ----------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    baseline=st.floats(1, 1_000),
    change=st.floats(-0.9, 2).filter(lambda c: abs(c) > 0.01),
    k=st.integers(1, 11),
    actual_ratio=st.floats(0.5, 1.5),
)
def test_direction_mirror_and_on_plan(baseline: float, change: float, k: int, actual_ratio: float) -> None:
    """Negating every value and flipping the direction gives the same status, gap and days;
    an actual exactly on the plan is on track with 0 days behind and progress k / n."""
    target = baseline * (1 + change)
    spec = goal(target, baseline=baseline)
    plan = [baseline + (target - baseline) * i / 12 for i in range(1, k + 1)]
    on_plan = evaluate(spec, monthly(START, plan), shift(START, k, Grain.MONTH))
    assert on_plan.status is GoalStatus.ON_TRACK and on_plan.days_behind == 0
    assert on_plan.progress == pytest.approx(min(1.0, k / 12))
    values = [*plan[:-1], plan[-1] * actual_ratio]
    as_of = shift(START, k, Grain.MONTH)
    up = evaluate(spec, monthly(START, values), as_of)
    mirrored = replace(spec, target=-target, baseline=-baseline, direction=Direction.LOWER)
    down = evaluate(mirrored, monthly(START, [-v for v in values]), as_of)
    assert up.status is down.status
    assert down.gap == pytest.approx(up.gap) and down.days_behind == up.days_behind


@settings(max_examples=60, deadline=None)
@given(low=st.floats(50, 150), high=st.floats(50, 150), k=st.integers(1, 11))
def test_more_is_never_worse_for_higher_is_better(low: float, high: float, k: int) -> None:
    low, high = min(low, high), max(low, high)
    rank = {GoalStatus.OFF_TRACK: 0, GoalStatus.AT_RISK: 1, GoalStatus.ON_TRACK: 2}
    spec = goal(124, baseline=100.0)
    as_of = shift(START, k, Grain.MONTH)
    worse = evaluate(spec, monthly(START, [100.0] * (k - 1) + [low]), as_of)
    better = evaluate(spec, monthly(START, [100.0] * (k - 1) + [high]), as_of)
    assert rank[better.status] >= rank[worse.status]
    assert better.days_behind is not None and worse.days_behind is not None
    assert better.days_behind <= worse.days_behind


# --- achievability -------------------------------------------------------------------


def quarterly(first: date, values: list[float]) -> pd.Series:
    return pd.Series(values, index=[shift(first, i, Grain.QUARTER) for i in range(len(values))], dtype=float)


def planted_quarters() -> pd.Series:
    """13 quarters (2022 Q1 - 2025 Q1) whose 12 quarter-on-quarter changes rise >= 15% exactly twice."""
    changes = [0.20, 0.05, -0.03, 0.16, 0.02, 0.0, 0.10, -0.05, 0.14, 0.03, 0.01, 0.04]
    values = [100.0]
    for c in changes:
        values.append(values[-1] * (1 + c))
    return quarterly(date(2022, 1, 1), values)


def test_achievability_counts_planted_quarterly_rises() -> None:
    history = planted_quarters()
    spec = goal(
        15.0, kind=TargetKind.CHANGE_PCT, grain=Grain.QUARTER, start=date(2025, 4, 1), deadline=date(2025, 6, 30)
    )
    a = achievability(history, spec)
    assert a.text == "a 15% quarterly rise happened in 2 of the last 12 quarters"
    assert (a.count, a.total) == (2, 12)
    assert a.implied_change == pytest.approx(0.15)
    assert a.percentile == pytest.approx(100 * 10 / 12)
    assert a.verdict == "ambitious"  # 2 / 12 = 17%
    # a 10% rise: 0.20, 0.16, 0.14 and 0.10 -> 4 of 12 -> realistic
    ten = achievability(history, replace(spec, target=10.0))
    assert (ten.count, ten.verdict) == (4, "realistic")
    # a 25% rise never happened
    never = achievability(history, replace(spec, target=25.0))
    assert never.count == 0 and never.verdict == "unprecedented"
    assert never.text.startswith("a 25% quarterly rise never happened in the last 13 quarters")


def test_achievability_over_a_longer_horizon_matches_pandas() -> None:
    # 30 months of a noisy seasonal series; a goal +12% over the 6 months Jul-Dec 2025.
    rng = np.random.default_rng(7)
    months = np.arange(30)
    values = 100 * (1 + 0.1 * np.sin(months * 2 * np.pi / 12)) * (1 + 0.01 * months) + rng.normal(0, 3, 30)
    history = monthly(date(2023, 1, 1), list(values))
    spec = goal(12.0, kind=TargetKind.CHANGE_PCT, start=date(2025, 7, 1), deadline=date(2025, 12, 31))
    a = achievability(history, spec)
    changes = history.pct_change(periods=6).dropna()  # the independent count: pandas' 6-period changes
    assert a.total == len(changes) == 24
    assert a.count == int((changes >= 0.12).sum())
    assert a.text == f"a 12% rise over 6 months happened in {a.count} of the last 24 spans of 6 months"


def test_achievability_of_a_decrease_on_a_lower_is_better_kpi() -> None:
    # fulfilment time falling by 10% in a month: count the month-on-month changes <= -10%.
    values = [5.0, 4.4, 4.5, 4.6, 4.0, 4.1, 4.2, 4.3, 3.8, 3.9, 4.0, 4.1, 4.2]
    history = monthly(date(2024, 1, 1), values)
    spec = goal(
        -10.0, kind=TargetKind.CHANGE_PCT, direction=Direction.LOWER, start=date(2025, 2, 1), deadline=date(2025, 2, 28)
    )
    a = achievability(history, spec)
    changes = history.pct_change().dropna()
    assert a.count == int((changes <= -0.10 + 1e-12).sum()) == 3  # 5.0->4.4, 4.6->4.0, 4.3->3.8
    assert a.text == "a 10% monthly fall happened in 3 of the last 12 months"


def test_achievability_of_a_cumulative_goal_compares_totals() -> None:
    # quarterly totals of monthly amounts, each compared with the 3 months before.
    values = [10.0, 10, 10, 12, 12, 12, 11, 11, 11, 14, 14, 14, 13, 13, 13, 13, 13, 13]
    history = monthly(date(2024, 1, 1), values)
    spec = goal(
        20.0,
        kind=TargetKind.CHANGE_PCT,
        trajectory=Trajectory.CUMULATIVE,
        start=date(2025, 7, 1),
        deadline=date(2025, 9, 30),
    )
    a = achievability(history, spec)
    sums = history.rolling(3).sum()
    changes = (sums / sums.shift(3) - 1).dropna()
    assert a.total == len(changes) == 13
    assert a.count == int((changes >= 0.20 - 1e-12).sum())
    assert a.count == 2  # 30 -> 36 (Jan-Mar vs Apr-Jun 2024) and 33 -> 42 (Jul-Sep vs Oct-Dec 2024)


def test_achievability_of_a_stay_goal_counts_windows_that_held() -> None:
    values = [45.0, 42, 39, 41, 44, 46, 47, 43, 41, 40, 38, 42]
    history = monthly(date(2024, 1, 1), values)
    spec = goal(40, kind=TargetKind.STAY_ABOVE, start=date(2025, 1, 1), deadline=date(2025, 3, 31))
    a = achievability(history, spec)
    held = (history.rolling(3).min() >= 40).iloc[2:]
    assert (a.count, a.total) == (int(held.sum()), len(held)) == (5, 10)
    assert a.text == "staying above 40 for 3 months happened in 5 of the last 10 spans of 3 months"


def test_achievability_needs_enough_history() -> None:
    spec = goal(15.0, kind=TargetKind.CHANGE_PCT)
    a = achievability(monthly(date(2024, 10, 1), [100.0, 101, 103]), spec)
    assert a.text == "not enough history (3 months) to judge"
    assert a.verdict == "unknown" and a.percentile is None
    assert achievability(pd.Series(dtype=float), spec).text == "not enough history (0 months) to judge"


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.floats(1, 1_000), min_size=6, max_size=30),
    pct=st.floats(-50, 100),
    n=st.integers(1, 4),
)
def test_achievability_count_matches_pandas(values: list[float], pct: float, n: int) -> None:
    history = monthly(date(2020, 1, 1), values)
    first = shift(date(2020, 1, 1), len(values), Grain.MONTH)
    deadline = shift(first, n, Grain.MONTH) - pd.Timedelta(days=1)
    spec = goal(pct, kind=TargetKind.CHANGE_PCT, start=first, deadline=deadline)
    a = achievability(history, spec)
    changes = history.pct_change(periods=n).dropna()
    implied = pct / 100
    assert a.total == len(changes)
    if a.total >= 4:
        s = 1 if implied > 1e-9 else -1 if implied < -1e-9 else 1
        assert a.count == int((s * changes >= s * implied - 1e-9).sum())
        assert 0 <= a.percentile <= 100


def test_every_status_is_documented() -> None:
    text = (Path(__file__).parents[2] / "docs" / "goals.md").read_text(encoding="utf-8")
    for status in GoalStatus:
        assert f"| **{status.value.replace('_', ' ').capitalize()}** |" in text


@settings(max_examples=40, deadline=None)
@given(
    last_year=st.lists(st.floats(10, 1_000), min_size=12, max_size=12),
    growth=st.floats(-0.5, 1).filter(lambda g: abs(g) > 0.01),
    k=st.integers(1, 11),
)
def test_on_a_seasonal_plan_is_on_track(last_year: list[float], growth: float, k: int) -> None:
    """Actuals exactly on the seasonal plan are on track, 0 days behind, progress k / 12."""
    target = last_year[-1] * (1 + growth)
    spec = goal(target, trajectory=Trajectory.SEASONAL)
    plan = [last_year[i] * (1 + growth * (i + 1) / 12) for i in range(k)]
    series = monthly(date(2024, 1, 1), last_year + plan)
    ev = evaluate(spec, series, shift(START, k, Grain.MONTH))
    assert ev.status is GoalStatus.ON_TRACK and ev.days_behind == 0
    assert ev.expected == pytest.approx(plan[-1])
    assert ev.progress == pytest.approx(k / 12)


@settings(max_examples=40, deadline=None)
@given(amounts=st.lists(st.floats(0, 500), min_size=1, max_size=11), target=st.floats(100, 5_000))
def test_cumulative_progress_is_the_running_total_share(amounts: list[float], target: float) -> None:
    spec = goal(target, trajectory=Trajectory.CUMULATIVE)
    k = len(amounts)
    ev = evaluate(spec, monthly(START, amounts), shift(START, k, Grain.MONTH))
    total = sum(amounts)
    assert ev.actual == pytest.approx(total)
    assert ev.expected == pytest.approx(target * k / 12)
    assert ev.progress == pytest.approx(min(1.0, total / target))
    assert ev.days_behind == math.floor(round((k / 12 - total / target) * 365, 6) + 0.5)
    behind = total < target * k / 12 * (1 - 1e-9)
    assert (ev.status is GoalStatus.ON_TRACK) is not behind

"""Goals against the series store: the stored goal turned into the analytics layer's GoalSpec,
evaluated on the org's current run, formatted for people, and the status cache kept fresh.

The maths (pace, status, baseline, achievability, target expressions) is
``headway.analytics.goals`` / ``target_expr``; this module only feeds it and reads it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import pandas as pd
from django.utils import timezone

from headway.analytics.goals import (
    Evaluation,
    GoalError,
    GoalSpec,
    GoalStatus,
    TargetKind,
    Trajectory,
    achievability,
    baseline_from_history,
    evaluate,
    expected_at,
)
from headway.analytics.target_expr import TargetExprError, TargetUnavailable, lookup_from_series, parse_target
from headway.app.accounts.models import Organization
from headway.app.kpis.charts import trend_spec
from headway.app.kpis.detail import unit_title
from headway.app.kpis.formatting import (
    format_kpi_difference,
    format_kpi_value,
    format_number,
    period_label,
    short_period_label,
)
from headway.app.kpis.models import Run
from headway.app.kpis.series import Series, current_run, shown_grain, totals
from headway.app.strategy.models import STATUS_LABELS, Goal
from headway.engine.scoring import decimals_for, latest_complete_period
from headway.engine.spec import Grain, Kpi, Unit

log = logging.getLogger(__name__)

# Goal status -> the scorecard's traffic-light class.
TONE = {
    GoalStatus.ON_TRACK: "good",
    GoalStatus.ACHIEVED: "good",
    GoalStatus.AT_RISK: "warning",
    GoalStatus.OFF_TRACK: "bad",
    GoalStatus.MISSED: "bad",
    GoalStatus.NOT_STARTED: "none",
    GoalStatus.NO_DATA: "none",
}


def to_pandas(series: Series) -> pd.Series:
    return pd.Series({p: v for p, v in series.items()}, dtype="float64")


def as_of_date(run: Run | None) -> date:
    """The last day the data covers (today when unknown)."""
    return run.data_as_of if run and run.data_as_of else timezone.localdate()


def goal_grain(kpi: Kpi) -> Grain:
    return shown_grain(kpi)


def resolve_target(goal: Goal, grain: Grain, run: Run | None, series: dict[str, pd.Series] | None = None) -> float:
    """The goal's target number: the stored one, or its expression over other KPIs' values.

    An expression is evaluated at the latest complete period of the data (``x@last_year`` is the
    same period a year earlier; ``x@baseline`` the goal's baseline period). Raises GoalError.
    """
    if not goal.target_expr:
        if goal.target is None:
            raise GoalError("the goal has neither a target value nor a target expression")
        return goal.target
    try:
        expr = parse_target(goal.target_expr)
    except TargetExprError as exc:
        raise GoalError(f"target expression: {exc.reason} at column {exc.position + 1}") from exc
    if series is None:
        found = totals(run, [(k, grain) for k in expr.kpi_ids])
        series = {k: to_pandas(found[(k, grain)]) for k in expr.kpi_ids}
    period = latest_complete_period(as_of_date(run), grain)
    lookup = lookup_from_series(series, period, grain, baseline_period=goal.baseline_period)
    try:
        return expr.evaluate(lookup)
    except TargetUnavailable as exc:
        raise GoalError(str(exc)) from exc


def goal_spec(goal: Goal, kpi: Kpi, org: Organization, target: float) -> GoalSpec:
    return GoalSpec(
        kind=TargetKind(goal.kind),
        target=target,
        start=goal.start,
        deadline=goal.deadline,
        direction=kpi.direction,
        grain=goal_grain(kpi),
        baseline=goal.baseline,
        baseline_period=goal.baseline_period,
        trajectory=Trajectory(goal.trajectory),
        minimum=goal.minimum,
        stretch=goal.stretch,
        cadence=goal.cadence,
        calendar=org.calendar(),
    )


def default_baseline(
    history: pd.Series, kpi: Kpi, start: date, deadline: date, trajectory: str
) -> tuple[float, date] | None:
    """The baseline the history suggests for a goal starting at ``start``."""
    try:
        return baseline_from_history(
            history, start, goal_grain(kpi), trajectory=Trajectory(trajectory), deadline=deadline
        )
    except GoalError:
        return None


@dataclass
class GoalResult:
    """A goal evaluated on the current run, with everything a page shows about it."""

    goal: Goal
    kpi: Kpi
    status: GoalStatus
    message: str
    evaluation: Evaluation | None = None
    target: float | None = None
    error: str = ""
    texts: dict[str, str] = field(default_factory=dict)
    chart: dict[str, Any] | None = None
    checkpoints: list[dict[str, str]] = field(default_factory=list)
    achievability: str = ""

    @property
    def tone(self) -> str:
        return TONE[self.status]

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


def evaluate_goal(
    goal: Goal, org: Organization, history: pd.Series, run: Run | None, *, detail: bool = False
) -> GoalResult:
    """Evaluate ``goal`` on the KPI's ``history`` (its total series at the goal's grain)."""
    kpi = goal.kpi.to_spec()
    grain = goal_grain(kpi)

    def fmt(value: float) -> str:
        return format_kpi_value(kpi, value, org.locale, org.currency)

    def fmt_difference(value: float) -> str:
        return format_kpi_difference(kpi, value, org.locale, org.currency)

    def name(period: date) -> str:
        return period_label(period, grain, org.fiscal_year_start)

    try:
        target = resolve_target(goal, grain, run)
        spec = goal_spec(goal, kpi, org, target)
        ev = evaluate(spec, history, as_of_date(run), fmt=fmt, fmt_difference=fmt_difference, period_name=name)
    except GoalError as exc:
        return GoalResult(goal, kpi, GoalStatus.NO_DATA, f"Cannot be evaluated: {exc}", error=str(exc))
    result = GoalResult(goal, kpi, ev.status, ev.message, ev, ev.target)
    result.texts = _texts(ev, kpi, org, grain)
    if detail:
        result.chart, result.checkpoints = _plan_chart(spec, ev, history, kpi, org, fmt)
        try:
            result.achievability = achievability(history, spec).text
        except GoalError as exc:
            result.achievability = f"Cannot judge: {exc}"
    return result


def _texts(ev: Evaluation, kpi: Kpi, org: Organization, grain: Grain) -> dict[str, str]:
    def show(value: float | None) -> str:
        return format_kpi_value(kpi, value, org.locale, org.currency)

    gap = ""
    if ev.gap is not None:
        ahead = "ahead of" if ev.gap >= 0 else "behind"
        gap = f"{format_kpi_difference(kpi, abs(ev.gap), org.locale, org.currency)} {ahead} plan"
    days = ""
    if ev.days_behind is not None and ev.final is None:
        days = (
            f"{abs(ev.days_behind)} days {'behind' if ev.days_behind > 0 else 'ahead'}" if ev.days_behind else "on time"
        )
    return {
        "period": period_label(ev.period, grain, org.fiscal_year_start) if ev.period else "",
        "expected": show(ev.expected),
        "actual": show(ev.actual),
        "target": show(ev.target),
        "baseline": show(ev.baseline),
        "gap": gap,
        "days": days,
        "progress": "" if ev.progress is None else format_number(ev.progress * 100, 0, org.locale) + "%",
    }


def _plan_chart(
    spec: GoalSpec, ev: Evaluation, history: pd.Series, kpi: Kpi, org: Organization, fmt: Any
) -> tuple[dict[str, Any] | None, list[dict[str, str]]]:
    """Actual vs the plan over the goal's periods (a Vega-Lite spec) and the checkpoint table rows."""
    grain = spec.grain
    if ev.baseline is not None and spec.baseline is None:
        spec = replace(spec, baseline=ev.baseline)
    rows: list[dict[str, Any]] = []
    actuals = ev.checkpoints
    done = {c.period: c.actual for c in actuals}
    known = {p.date() if isinstance(p, pd.Timestamp) else p: v for p, v in history.items() if pd.notna(v)}
    for period in spec.periods:
        label = short_period_label(period, grain)
        value = known.get(period) if period in done or (ev.period and period <= ev.period) else None
        if value is not None and not spec.sums:
            rows.append(_row(period, "Actual", value, fmt, label))
        try:
            plan = expected_at(spec, period, last_year=history)
        except GoalError:
            plan = None
        if plan is not None:
            rows.append(_row(period, "Plan", plan, fmt, label))
    if spec.sums:
        rows += [
            _row(c.period, "Actual", c.actual, fmt, short_period_label(c.period, grain))
            for c in actuals
            if c.actual is not None
        ]
        rows.sort(key=lambda r: (r["period"], r["series"]))
    table = [
        {
            "date": c.date.isoformat(),
            "period": period_label(c.period, grain, org.fiscal_year_start),
            "expected": format_kpi_value(kpi, c.expected, org.locale, org.currency),
            "actual": format_kpi_value(kpi, c.actual, org.locale, org.currency),
            "status": STATUS_LABELS[c.status],
            "tone": TONE[c.status],
        }
        for c in reversed(actuals)
    ]
    if not rows:
        return None, table
    rows.sort(key=lambda r: (r["series"] != "Actual", r["period"]))
    return trend_spec(rows, kpi, decimals_for(kpi), unit_title(kpi, org)), table


def _row(period: date, series: str, value: float, fmt: Any, label: str) -> dict[str, Any]:
    return {
        "period": period.isoformat(),
        "series": series,
        "value": value,
        "shown": fmt(value),
        "label": label,
        "partial": False,
    }


def histories(run: Run | None, goals: Iterable[Goal]) -> dict[str, pd.Series]:
    """Each goal KPI's total series at its goal grain, in one query."""
    wanted = {(g.kpi.kpi_id, goal_grain(g.kpi.to_spec())) for g in goals}
    found = totals(run, sorted(wanted))
    return {kpi_id: to_pandas(found[(kpi_id, grain)]) for kpi_id, grain in wanted}


def evaluate_goals(org: Organization, goals: list[Goal], *, detail: bool = False) -> list[GoalResult]:
    """Evaluate goals on the org's current run and refresh their status cache where it changed."""
    run = current_run(org)
    series = histories(run, goals)
    results = [evaluate_goal(g, org, series[g.kpi.kpi_id], run, detail=detail) for g in goals]
    for r in results:
        store_status(r, run)
    return results


def store_status(result: GoalResult, run: Run | None) -> None:
    """Write the status cache without touching ``updated_at`` (the cache does not change the goal)."""
    goal = result.goal
    final = result.evaluation.final.value if result.evaluation and result.evaluation.final else ""
    fields = {
        "status": result.status.value,
        "status_message": result.message[:300],
        "status_run_id": run.pk if run else None,
        "status_version": goal.updated_at,
        "final_outcome": final,
    }
    if any(getattr(goal, k) != v for k, v in fields.items()):
        Goal.objects.filter(pk=goal.pk).update(**fields)
        for k, v in fields.items():
            setattr(goal, k, v)


def fresh_statuses(org: Organization, goals: list[Goal]) -> list[Goal]:
    """The goals with an up-to-date status cache: only those evaluated on another run (or before an edit) are redone."""
    run_id = org.current_run_id
    stale = [g for g in goals if g.status_run_id != run_id or g.status_version != g.updated_at]
    if stale:
        evaluate_goals(org, stale)
    return goals


def shown_to_stored(kpi: Kpi, kind: str, value: float | None) -> float | None:
    """Targets are typed as people read them (25 for 25%); percent KPIs store fractions."""
    if value is None or kpi.unit is not Unit.PERCENT or kind == TargetKind.CHANGE_PCT.value:
        return value
    return value / 100


def stored_to_shown(kpi: Kpi, kind: str, value: float | None) -> float | None:
    if value is None or kpi.unit is not Unit.PERCENT or kind == TargetKind.CHANGE_PCT.value:
        return value
    return round(value * 100, 10)

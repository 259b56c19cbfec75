"""SMARTer goals on a KPI: target, baseline, trajectory, pace, status and achievability.

A goal runs over the periods (of the KPI series' grain) from the one containing
``start`` to the one containing ``deadline``. The baseline is the value just before:
by default the last complete period before the start. The trajectory says what the
KPI should read at the end of each of those periods:

* ``linear``: a straight line from the baseline to the target; after ``k`` of ``n``
  periods, ``baseline + (target - baseline) * k / n``.
* ``seasonal``: last year's values for the same periods, with the improvement phased in
  linearly: ``last_year(p) * (1 + (target / last_year(deadline period) - 1) * k / n)``,
  so the deadline's period lands exactly on the target.
* ``cumulative``: the running total from the start should reach the target at the
  deadline: ``target * k / n`` (the series holds per-period amounts, summed here; set
  ``to_date=True`` when the KPI already is a running total).

Pace is judged on complete periods only (a period the data ends partway through is
never compared with a whole period's plan). See docs/goals.md for worked examples.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum

import pandas as pd

from headway.engine.periods import Calendar, periods_between, periods_per_year, shift, truncate
from headway.engine.scoring import period_end
from headway.engine.spec import Direction, Grain

EPS = 1e-9
MIN_WINDOWS = 4
"""Fewest historical windows achievability needs before it judges anything."""

Formatter = Callable[[float], str]


class TargetKind(StrEnum):
    ABSOLUTE = "absolute"
    CHANGE_PCT = "change_pct"
    STAY_ABOVE = "stay_above"
    STAY_BELOW = "stay_below"


class Trajectory(StrEnum):
    LINEAR = "linear"
    SEASONAL = "seasonal"
    CUMULATIVE = "cumulative"


class GoalStatus(StrEnum):
    NOT_STARTED = "not_started"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OFF_TRACK = "off_track"
    ACHIEVED = "achieved"
    MISSED = "missed"
    NO_DATA = "no_data"


class Level(StrEnum):
    """Which of the minimum / target / stretch levels the actual reaches (on their own trajectories)."""

    BELOW_MINIMUM = "below_minimum"
    BELOW_TARGET = "below_target"
    """Below target, and no minimum was set."""
    MINIMUM = "minimum"
    TARGET = "target"
    STRETCH = "stretch"


class GoalError(ValueError):
    """A goal that cannot be evaluated as given (the message says which field and why)."""


@dataclass(frozen=True)
class GoalSpec:
    kind: TargetKind
    target: float
    """Absolute value; or % change from the baseline (15.0 = +15%); or the floor / ceiling of a stay goal."""
    start: date
    deadline: date
    direction: Direction
    """The KPI's direction; a stay_above goal is read as higher-is-better and stay_below as lower-is-better."""
    grain: Grain = Grain.MONTH
    baseline: float | None = None
    baseline_period: date | None = None
    trajectory: Trajectory = Trajectory.LINEAR
    minimum: float | None = None
    stretch: float | None = None
    """Minimum and stretch levels, in the same terms as ``target`` (a % for change_pct)."""
    cadence: str = "month"
    """Checkpoint cadence: "week" or "month"."""
    tolerance: float = 0.05
    """Shortfall vs expected-by-now, relative to expected, that is still "at risk" (5%); more is "off track"."""
    to_date: bool = False
    """Cumulative goals only: the series already is a running total (a to-date KPI), so it is not summed."""
    calendar: Calendar = field(default_factory=Calendar)

    def __post_init__(self) -> None:
        if self.deadline < self.start:
            raise GoalError(f"deadline {self.deadline} is before the start {self.start}")
        if self.cadence not in ("week", "month"):
            raise GoalError(f"cadence must be 'week' or 'month', got {self.cadence!r}")
        if not 0 <= self.tolerance < 1:
            raise GoalError(f"tolerance must be between 0 and 1 (0.05 = 5%), got {self.tolerance}")
        for name in ("target", "baseline", "minimum", "stretch"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise GoalError(f"{name} must be a finite number, got {value}")
        sign = self.sign
        if self.minimum is not None and sign * (self.target - self.minimum) < 0:
            raise GoalError(f"minimum {self.minimum} is more ambitious than the target {self.target}")
        if self.stretch is not None and sign * (self.stretch - self.target) < 0:
            raise GoalError(f"stretch {self.stretch} is less ambitious than the target {self.target}")

    @property
    def sign(self) -> int:
        """+1 when a higher reading is better for this goal, -1 when lower is better."""
        if self.kind is TargetKind.STAY_ABOVE:
            return 1
        if self.kind is TargetKind.STAY_BELOW:
            return -1
        return 1 if self.direction is Direction.HIGHER else -1

    @property
    def is_stay(self) -> bool:
        return self.kind in (TargetKind.STAY_ABOVE, TargetKind.STAY_BELOW)

    @property
    def sums(self) -> bool:
        """Whether actual values are summed from the start (cumulative goal on per-period amounts)."""
        return self.trajectory is Trajectory.CUMULATIVE and not self.to_date and not self.is_stay

    @property
    def first_period(self) -> date:
        return truncate(self.start, self.grain, self.calendar)

    @property
    def last_period(self) -> date:
        return truncate(self.deadline, self.grain, self.calendar)

    @property
    def periods(self) -> list[date]:
        """The goal's periods, first to the deadline's."""
        return periods_between(self.first_period, self.last_period, self.grain)

    @property
    def default_baseline_period(self) -> date:
        return shift(self.first_period, -1, self.grain)

    @property
    def horizon_days(self) -> int:
        """Days from the start of the first period to the end of the deadline's period."""
        return (period_end(self.last_period, self.grain) - self.first_period).days + 1


@dataclass(frozen=True)
class Checkpoint:
    date: dt.date
    """The checkpoint day (end of a week or month, or the deadline)."""
    period: dt.date
    """The latest complete period evaluated at that day."""
    expected: float | None
    actual: float | None
    status: GoalStatus


@dataclass(frozen=True)
class Evaluation:
    status: GoalStatus
    expected: float | None
    actual: float | None
    gap: float | None
    """actual - expected in KPI units, positive = ahead in the goal's good direction."""
    days_behind: int | None
    """How many days later than planned the current level is reached (negative: days ahead)."""
    progress: float | None
    """0..1 of the way from baseline to target (stay goals: share of the goal's periods held so far)."""
    checkpoints: list[Checkpoint]
    final: GoalStatus | None
    """ACHIEVED or MISSED once the deadline's period is complete."""
    message: str
    period: date | None = None
    """The period the status is about (latest complete period with a value)."""
    target: float | None = None
    """The target resolved to KPI units (a change_pct target applied to the baseline)."""
    baseline: float | None = None
    level: Level | None = None
    """Minimum / target / stretch reached (None when the goal has no minimum or stretch)."""


# --- series helpers ------------------------------------------------------------------


def period_values(series: pd.Series | None) -> dict[date, float]:
    """A KPI series as period start (a date, also from a Timestamp index) -> value, unknown values dropped."""
    if series is None:
        return {}
    out: dict[date, float] = {}
    for key, value in series.items():
        if value is None or pd.isna(value):
            continue
        day = key.date() if isinstance(key, pd.Timestamp) else key
        if not isinstance(day, date):
            raise GoalError(f"series index must hold period start dates, got {key!r}")
        out[day] = float(value)
    return out


def _plain(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}".rstrip("0").rstrip(".")


def _round_half_up(x: float) -> int:
    """Halves round up (36.5 -> 37, -36.5 -> -36); Python's round() would give 36 (halves to even)."""
    return math.floor(round(x, 6) + 0.5)  # round(…, 6) first: (0.5 - 0.4) * 365 is 36.4999…


def _pct(fraction: float) -> str:
    """0.15 -> "15%", 0.025 -> "2.5%" (whole percentages from 10% on)."""
    p = round(abs(fraction) * 100, 1)
    return f"{p:.0f}%" if p >= 10 or p == int(p) else f"{p:.1f}%"


# --- baseline and target -------------------------------------------------------------


def baseline_from_history(
    series: pd.Series,
    start: date,
    grain: Grain,
    *,
    trajectory: Trajectory = Trajectory.LINEAR,
    deadline: date | None = None,
    to_date: bool = False,
    calendar: Calendar | None = None,
) -> tuple[float, date] | None:
    """The default baseline (value, period) from a KPI's history, or None if there is none.

    Normally the last period with a value before the goal's first period. For a
    cumulative goal on per-period amounts, the total of the same number of periods
    just before the start (needs ``deadline``), named by the window's first period;
    None if any of those periods has no value.
    """
    cal = calendar or Calendar()
    first = truncate(start, grain, cal)
    values = period_values(series)
    if trajectory is Trajectory.CUMULATIVE and not to_date:
        if deadline is None:
            raise GoalError("a cumulative baseline needs the deadline (to know the window length)")
        n = len(periods_between(first, truncate(deadline, grain, cal), grain))
        window = [shift(first, -i, grain) for i in range(n, 0, -1)]
        if any(p not in values for p in window):
            return None
        return sum(values[p] for p in window), window[0]
    before = [p for p in values if p < first]
    if not before:
        return None
    period = max(before)
    return values[period], period


def with_baseline(spec: GoalSpec, history: pd.Series) -> GoalSpec:
    """The spec with its baseline filled in from history when it has none (unchanged otherwise)."""
    if spec.baseline is not None:
        return spec
    found = baseline_from_history(
        history,
        spec.start,
        spec.grain,
        trajectory=spec.trajectory,
        deadline=spec.deadline,
        to_date=spec.to_date,
        calendar=spec.calendar,
    )
    if found is None:
        return spec
    return replace(spec, baseline=found[0], baseline_period=found[1])


def _resolve(spec: GoalSpec, amount: float) -> float:
    if spec.kind is not TargetKind.CHANGE_PCT:
        return amount
    if spec.baseline is None:
        raise GoalError("a % change target needs a baseline: set one or let it come from the KPI's history")
    return spec.baseline + abs(spec.baseline) * amount / 100


def target_value(spec: GoalSpec) -> float:
    """The target in KPI units (a change_pct target applied to the baseline)."""
    return _resolve(spec, spec.target)


def level_values(spec: GoalSpec) -> dict[Level, float]:
    """Minimum, target and stretch in KPI units (only the levels the goal sets)."""
    out = {Level.TARGET: target_value(spec)}
    if spec.minimum is not None:
        out[Level.MINIMUM] = _resolve(spec, spec.minimum)
    if spec.stretch is not None:
        out[Level.STRETCH] = _resolve(spec, spec.stretch)
    return out


# --- the plan ------------------------------------------------------------------------


def _fraction(spec: GoalSpec, period: date) -> float:
    """k / n: share of the goal's periods completed at the end of ``period``."""
    periods = spec.periods
    if period < periods[0]:
        return 0.0
    if period >= periods[-1]:
        return 1.0
    return (periods.index(period) + 1) / len(periods)


def _year_before(values: dict[date, float], period: date, grain: Grain) -> float | None:
    return values.get(shift(period, -periods_per_year(grain), grain))


def _expected(spec: GoalSpec, period: date, target: float, ly: dict[date, float]) -> float | None:
    if spec.is_stay:
        return target
    f = _fraction(spec, period)
    if spec.trajectory is Trajectory.CUMULATIVE:
        return target * f
    if spec.trajectory is Trajectory.LINEAR:
        if spec.baseline is None:
            raise GoalError("this goal has no baseline: set one or let it come from the KPI's history")
        return spec.baseline + (target - spec.baseline) * f
    last_year = _year_before(ly, min(period, spec.last_period), spec.grain)
    reference = _year_before(ly, spec.last_period, spec.grain)
    if last_year is None or reference is None or reference == 0:
        return None
    return last_year * (1 + (target / reference - 1) * f)


def expected_at(spec: GoalSpec, when: date, *, last_year: pd.Series | None = None) -> float | None:
    """What the KPI should read for the period containing ``when`` (None before the goal starts).

    After the deadline this is the target. A seasonal goal reads last year's values for the
    same periods from ``last_year`` (the KPI's own history will do); None if they are missing.
    """
    period = truncate(when, spec.grain, spec.calendar)
    if period < spec.first_period:
        return None
    return _expected(spec, period, target_value(spec), period_values(last_year))


def _progress_fraction(
    spec: GoalSpec, period: date, actual: float, target: float, ly: dict[date, float]
) -> float | None:
    """Where ``actual`` sits on the way baseline -> target, in the same k / n terms as the plan."""
    if spec.trajectory is Trajectory.CUMULATIVE:
        return actual / target if target != 0 else None
    if spec.trajectory is Trajectory.LINEAR:
        if spec.baseline is None:
            return None
        span = target - spec.baseline
        return (actual - spec.baseline) / span if abs(span) > EPS else None
    last_year = _year_before(ly, period, spec.grain)
    reference = _year_before(ly, spec.last_period, spec.grain)
    if not last_year or not reference or abs(target / reference - 1) < EPS:
        return None
    return (actual / last_year - 1) / (target / reference - 1)


# --- evaluation ----------------------------------------------------------------------


def _actuals(spec: GoalSpec, values: dict[date, float], as_of: date) -> dict[date, float | None]:
    """Actual per complete goal period (running totals for a summing cumulative goal; None = unknown)."""
    out: dict[date, float | None] = {}
    total: float | None = 0.0
    for p in spec.periods:
        if period_end(p, spec.grain) > as_of:
            break
        value = values.get(p)
        if spec.sums:
            total = None if total is None or value is None else total + value
            out[p] = total
        else:
            out[p] = value
    return out


def _status(spec: GoalSpec, actual: float, expected: float) -> GoalStatus:
    gap = spec.sign * (actual - expected)
    if gap >= -EPS * max(1.0, abs(expected)):
        return GoalStatus.ON_TRACK
    scale = abs(expected) if abs(expected) > EPS else 1.0
    return GoalStatus.AT_RISK if -gap / scale <= spec.tolerance + EPS else GoalStatus.OFF_TRACK


def _checkpoint_days(spec: GoalSpec, as_of: date) -> list[date]:
    grain = Grain.WEEK if spec.cadence == "week" else Grain.MONTH
    days = [
        period_end(p, grain) for p in periods_between(truncate(spec.start, grain, spec.calendar), spec.deadline, grain)
    ]
    days = [d for d in days if d < spec.deadline] + [spec.deadline]
    return [d for d in days if d <= as_of]


_RANK = {level: i for i, level in enumerate(Level)}


def _level(spec: GoalSpec, period: date, actual: float, ly: dict[date, float]) -> Level | None:
    if spec.minimum is None and spec.stretch is None:
        return None
    reached: Level | None = None
    for level, amount in level_values(spec).items():
        expected = _expected(spec, period, amount, ly)
        reaches = expected is not None and spec.sign * (actual - expected) >= -EPS * max(1.0, abs(expected))
        if reaches and (reached is None or _RANK[level] > _RANK[reached]):
            reached = level
    if reached is None:
        return Level.BELOW_MINIMUM if spec.minimum is not None else Level.BELOW_TARGET
    return reached


def evaluate(
    spec: GoalSpec,
    actual: pd.Series,
    as_of: date,
    *,
    last_year: pd.Series | None = None,
    fmt: Formatter | None = None,
    fmt_difference: Formatter | None = None,
    period_name: Callable[[date], str] | None = None,
) -> Evaluation:
    """Evaluate a goal against the KPI's values (indexed by period start) with data up to ``as_of``.

    Only complete periods (ending on or before ``as_of``) count. A missing baseline is taken
    from ``actual`` (which may include history before the start); a seasonal goal reads last
    year from ``last_year``, else from ``actual``. ``fmt`` formats KPI values for the message
    (the app passes its locale- and unit-aware formatter), ``fmt_difference`` a difference between
    two of them (percentage points for a rate; defaults to ``fmt``) and ``period_name`` names a period.
    """
    show = fmt or _plain
    show_diff = fmt_difference or show
    name = period_name or (lambda p: p.isoformat())
    spec = with_baseline(spec, actual)
    values = period_values(actual)
    ly = period_values(last_year) if last_year is not None else values
    needs_baseline = spec.kind is TargetKind.CHANGE_PCT or (spec.trajectory is Trajectory.LINEAR and not spec.is_stay)
    if spec.baseline is None and needs_baseline:
        message = "no baseline: the KPI has no value before the start; set the baseline by hand"
        return Evaluation(GoalStatus.NO_DATA, None, None, None, None, None, [], None, message)
    target = target_value(spec)

    actuals = _actuals(spec, values, as_of)
    blank = Evaluation(
        GoalStatus.NO_DATA,
        None,
        None,
        None,
        None,
        None,
        _checkpoints(spec, actuals, target, ly, as_of),
        None,
        "",
        target=target,
        baseline=spec.baseline,
    )
    if not actuals:
        first_end = period_end(spec.first_period, spec.grain)
        return replace(
            blank, status=GoalStatus.NOT_STARTED, message=f"not started: the first period ends on {first_end}"
        )
    if spec.is_stay:
        return _evaluate_stay(spec, actuals, target, blank, show, name)
    known = [p for p, v in actuals.items() if v is not None]
    if not known:
        return replace(blank, message="no values yet for the goal's periods")
    finished = spec.last_period in actuals
    if finished and actuals[spec.last_period] is None:
        message = f"no value for the deadline period {name(spec.last_period)}: achieved or missed is unknown"
        return replace(blank, message=message)

    period = known[-1]
    now = actuals[period]
    assert now is not None
    expected = _expected(spec, period, target, ly)
    if expected is None:
        message = f"no value a year before {name(period)} to lay out the seasonal plan"
        return replace(blank, actual=now, period=period, message=message)
    gap = spec.sign * (now - expected)
    fraction = _progress_fraction(spec, period, now, target, ly)
    result = replace(
        blank,
        expected=expected,
        actual=now,
        gap=gap,
        period=period,
        progress=None if fraction is None else min(1.0, max(0.0, fraction)),
        days_behind=None
        if fraction is None
        else _round_half_up((_fraction(spec, period) - fraction) * spec.horizon_days),
        level=_level(spec, period, now, ly),
    )
    if finished:
        achieved = spec.sign * (now - target) >= -EPS * max(1.0, abs(target))
        final = GoalStatus.ACHIEVED if achieved else GoalStatus.MISSED
        message = f"{final.value}: {show(now)} against a target of {show(target)}"
        if not achieved:
            message += f" ({show_diff(abs(now - target))} short)"
        if result.level in (Level.STRETCH, Level.MINIMUM):
            message += f"; {result.level.value} level reached"
        return replace(result, status=final, final=final, message=message)
    status = _status(spec, now, expected)
    days = result.days_behind
    if status is GoalStatus.ON_TRACK:
        message = f"{show_diff(gap)} ahead of plan" if gap > EPS * max(1.0, abs(expected)) else "on plan"
        if days is not None and days < 0:
            message += f" — about {-days} days ahead"
    else:
        message = f"{show_diff(-gap)} behind plan"
        if days is not None and days > 0:
            message += f" — about {days} days"
    message += f" (expected {show(expected)} for {name(period)}, actual {show(now)})"
    return replace(result, status=status, message=message)


def _checkpoints(
    spec: GoalSpec, actuals: dict[date, float | None], target: float, ly: dict[date, float], as_of: date
) -> list[Checkpoint]:
    out: list[Checkpoint] = []
    for day in _checkpoint_days(spec, as_of):
        done = [p for p in actuals if period_end(p, spec.grain) <= day]
        if not done or (out and out[-1].period == done[-1]):
            continue
        period = done[-1]
        value = actuals[period]
        expected = _expected(spec, period, target, ly)
        status = GoalStatus.NO_DATA if value is None or expected is None else _status(spec, value, expected)
        out.append(Checkpoint(day, period, expected, value, status))
    return out


def _evaluate_stay(
    spec: GoalSpec,
    actuals: dict[date, float | None],
    target: float,
    blank: Evaluation,
    show: Formatter,
    name: Callable[[date], str],
) -> Evaluation:
    side, crossed = ("above", "below") if spec.sign > 0 else ("below", "above")
    known = {p: v for p, v in actuals.items() if v is not None}
    if not known:
        return replace(blank, message="no values yet for the goal's periods")
    breaches = [p for p, v in known.items() if spec.sign * (v - target) < -EPS * max(1.0, abs(target))]
    missing = [p for p, v in actuals.items() if v is None]
    period = max(known)
    now = known[period]
    result = replace(
        blank,
        expected=target,
        actual=now,
        gap=spec.sign * (now - target),
        period=period,
        progress=(len(known) - len(breaches)) / len(spec.periods),
    )
    if spec.last_period in actuals:
        if missing:
            return replace(result, message=f"no value for {_list(missing, name)}: whether it stayed {side} is unknown")
        final = GoalStatus.MISSED if breaches else GoalStatus.ACHIEVED
        if breaches:
            message = f"missed: went {crossed} {show(target)} in {_list(breaches, name)}"
        else:
            message = f"achieved: stayed {side} {show(target)} in all {len(known)} periods"
        return replace(result, status=final, final=final, message=message)
    status = _status(spec, now, target)
    where = f"{side} {show(target)}" if status is GoalStatus.ON_TRACK else f"{crossed} {show(target)}"
    message = f"{show(now)} in {name(period)}, {where}"
    if breaches:
        message += f"; went {crossed} in {_list(breaches, name)}"
    else:
        message += f"; held in all {len(known)} periods so far"
    return replace(result, status=status, message=message)


def _list(periods: list[date], name: Callable[[date], str]) -> str:
    shown = [name(p) for p in periods[:3]]
    more = len(periods) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more else "")


# --- achievability -------------------------------------------------------------------

GRAIN_ADJECTIVE = {
    Grain.DAY: "daily",
    Grain.WEEK: "weekly",
    Grain.MONTH: "monthly",
    Grain.QUARTER: "quarterly",
    Grain.YEAR: "yearly",
}


@dataclass(frozen=True)
class Achievability:
    implied_change: float | None
    """Relative change baseline -> target (0.15 = +15%); an absolute one when ``relative`` is False."""
    count: int
    """Historical windows of the same length with a change at least as big (stay goals: windows that held)."""
    total: int
    """Historical windows compared."""
    percentile: float | None
    """Share (0-100) of historical windows less ambitious than the goal."""
    text: str
    relative: bool = True
    verdict: str = "unknown"
    """"realistic", "ambitious", "very_ambitious", "unprecedented" or "unknown" (not enough history)."""


def achievability(history: pd.Series, spec: GoalSpec) -> Achievability:
    """How unusual the goal's implied change is next to the KPI's own history over the same horizon.

    Compares the change from baseline to target over the goal's ``n`` periods with every
    change over ``n`` consecutive periods in the history before the goal (rolling windows).
    A cumulative goal compares ``n``-period totals with the ``n`` periods before them; a
    stay goal counts the ``n``-period windows that stayed on the right side of the line.
    """
    spec = with_baseline(spec, history)
    values = {p: v for p, v in period_values(history).items() if p < spec.first_period}
    n = len(spec.periods)
    unit = spec.grain.value
    if not values:
        return Achievability(None, 0, 0, None, f"not enough history (0 {unit}s) to judge")
    grid = periods_between(min(values), max(values), spec.grain)
    seq = [values.get(p) for p in grid]
    span = f"{n} {unit}s" if n > 1 else f"one {unit}"
    if spec.is_stay:
        return _stay_achievability(spec, seq, n, span)
    if spec.baseline is None:
        return Achievability(None, 0, 0, None, "no baseline to measure the change from")
    target = target_value(spec)
    relative = spec.baseline != 0
    implied = (target - spec.baseline) / abs(spec.baseline) if relative else target - spec.baseline
    if spec.sums:
        sums = [
            sum(v for v in seq[i - n + 1 : i + 1] if v is not None)
            if all(v is not None for v in seq[i - n + 1 : i + 1])
            else None
            for i in range(n - 1, len(seq))
        ]
        pairs = list(zip(sums, sums[n:], strict=False))
    else:
        pairs = list(zip(seq, seq[n:], strict=False))
    changes = [
        (b - a) / abs(a) if relative else b - a
        for a, b in pairs
        if a is not None and b is not None and (a != 0 or not relative)
    ]
    total = len(changes)
    if total < MIN_WINDOWS:
        return Achievability(implied, 0, total, None, f"not enough history ({len(values)} {unit}s) to judge", relative)
    s = 1 if implied > EPS else -1 if implied < -EPS else spec.sign
    count = sum(1 for c in changes if s * c >= s * implied - EPS)
    percentile = 100 * sum(1 for c in changes if s * c < s * implied - EPS) / total
    amount = _pct(implied) if relative else _plain(abs(implied))
    move = "rise" if implied > EPS else "fall" if implied < -EPS else "no change"
    what = f"a {amount} {GRAIN_ADJECTIVE[spec.grain]} {move}" if n == 1 else f"a {amount} {move} over {span}"
    if not relative:
        what = f"a {move} of {amount}" + (f" in a {unit}" if n == 1 else f" over {span}")
    if abs(implied) <= EPS:
        what = "holding the level" + ("" if n == 1 else f" over {span}")
    if spec.sums:
        what += " (total vs the previous total)"
    windows = f"{unit}s" if n == 1 else f"spans of {span}"
    if count == 0:
        text = f"{what} never happened in the last {len(grid)} {unit}s ({total} {windows} compared)"
    elif n == 1:
        text = f"{what} happened in {count} of the last {total} {unit}s"
    else:
        text = f"{what} happened in {count} of the last {total} {windows}"
    return Achievability(implied, count, total, percentile, text, relative, _verdict(count, total))


def _verdict(count: int, total: int) -> str:
    share = count / total
    if count == 0:
        return "unprecedented"
    if share < 0.1:
        return "very_ambitious"
    if share < 0.25:
        return "ambitious"
    return "realistic"


def _stay_achievability(spec: GoalSpec, seq: list[float | None], n: int, span: str) -> Achievability:
    unit = spec.grain.value
    windows = [seq[i : i + n] for i in range(len(seq) - n + 1)]
    windows = [w for w in windows if all(v is not None for v in w)]
    total = len(windows)
    known = sum(1 for v in seq if v is not None)
    if total < MIN_WINDOWS:
        return Achievability(None, 0, total, None, f"not enough history ({known} {unit}s) to judge")
    line = spec.target
    count = sum(1 for w in windows if all(spec.sign * (v - line) >= -EPS for v in w if v is not None))
    side = "above" if spec.sign > 0 else "below"
    what = f"staying {side} {_plain(line)} for {span}"
    if count == 0:
        text = f"{what} never happened in the last {len(seq)} {unit}s"
    else:
        text = f"{what} happened in {count} of the last {total} " + (f"{unit}s" if n == 1 else f"spans of {span}")
    percentile = 100 * (total - count) / total
    return Achievability(None, count, total, percentile, text, True, _verdict(count, total))

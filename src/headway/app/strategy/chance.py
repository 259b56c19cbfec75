"""A goal's chance of success: simulated paths of the KPI's stored forecast (forecasts app), judged by
``headway.analytics.probability``. Guarded: without a stored forecast reaching the deadline there is none."""

from __future__ import annotations

import logging
from datetime import date

import pandas as pd

from headway.analytics.goals import GoalSpec, TargetKind
from headway.app.strategy.evaluation import GoalResult

log = logging.getLogger(__name__)
PATHS = 2000


def goal_chance(result: GoalResult, spec: GoalSpec, stored_points: list[dict[str, object]]) -> float | None:
    """The share of simulated futures that meet the goal by its deadline, or None when it cannot be said."""
    from headway.analytics.forecast import Forecast
    from headway.analytics.probability import goal_probability

    ev = result.evaluation
    if ev is None or ev.final is not None or result.target is None or not stored_points:
        return None
    periods = [date.fromisoformat(str(p["period"])) for p in stored_points]
    if spec.last_period not in periods:
        return None  # the deadline lies beyond the forecast's horizon
    index = pd.DatetimeIndex(periods)

    def column(name: str) -> pd.Series:
        return pd.Series([float(p[name]) for p in stored_points], index=index)  # type: ignore[arg-type]

    levels = sorted(int(k.split("_")[1]) for k in stored_points[0] if k.startswith("lower_"))
    if not levels:
        return None
    fc = Forecast(
        mean=column("mean"),
        lower={lv: column(f"lower_{lv}") for lv in levels},
        upper={lv: column(f"upper_{lv}") for lv in levels},
        model="stored",
        accuracy=None,
        fallback_used=False,
    )
    paths = fc.paths(PATHS)
    first = next((i for i, p in enumerate(periods) if p >= spec.first_period), 0)
    last = periods.index(spec.last_period)
    window = paths[:, first : last + 1]
    direction = "higher" if spec.sign > 0 else "lower"
    if spec.kind is TargetKind.STAY_ABOVE or spec.kind is TargetKind.STAY_BELOW:
        if any(c.actual is not None and spec.sign * (c.actual - result.target) < 0 for c in ev.checkpoints):
            return 0.0  # already crossed the line in a period that counts
        return goal_probability(window, target=result.target, kind=spec.kind.value)
    if spec.sums:
        to_date = ev.actual if ev.actual is not None and ev.period is not None else 0.0
        return goal_probability(window, target=result.target, direction=direction, kind="cumulative", to_date=to_date)
    return goal_probability(window, target=result.target, direction=direction, kind="level")


def chance_text(chance: float | None) -> str:
    if chance is None:
        return ""
    return f"{round(chance * 100)}% likely"

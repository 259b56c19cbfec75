"""The KPI portfolio review ("adapt and refine"): what to fix in the set of KPIs.

``review`` takes plain facts about each KPI (what the strategy app knows: objectives,
owner, goals, views, relationships, its series) and returns findings, each with a
suggested action. It runs without Django, so the web page, the ``headway review``
command and the tests all read the same rules. The checks, in the order reported:

=========================  =============================================================
check                      fires when
=========================  =============================================================
overload                   more than ``max_kpis`` KPIs on the scorecard
objective_overload         more than ``per_objective_max`` KPIs on one objective
no_objective               a KPI serves no objective
no_owner                   a KPI has no owner
no_goal                    a KPI has no goal
goal_without_guardrail     a KPI with a goal has no guardrail KPI
lagging_without_leading    a lagging KPI has no leading KPI that drives it
stale                      no new value for ``stale_periods`` or more complete periods
not_viewed                 nobody opened it in ``not_viewed_days`` days (or ever)
redundant                  two KPIs moved together: abs(correlation) above ``corr_threshold``
=========================  =============================================================
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd

from headway.analytics.goals import period_values
from headway.engine.periods import Calendar, periods_between, shift
from headway.engine.scoring import latest_complete_period
from headway.engine.spec import Direction, Grain

CHECKS = (
    "overload",
    "objective_overload",
    "no_objective",
    "no_owner",
    "no_goal",
    "goal_without_guardrail",
    "lagging_without_leading",
    "stale",
    "not_viewed",
    "redundant",
)
_Label = Callable[[str], str]
MIN_OVERLAP = 12
"""Fewest periods two KPIs must share before their correlation is judged."""
RECOMMENDED_PER_OBJECTIVE = "2–3"


@dataclass(frozen=True)
class KpiFacts:
    id: str
    name: str
    lagging: bool
    direction: Direction
    category: str
    objective_ids: tuple[int, ...]
    owner: str | None
    has_goal: bool
    goal_ids: tuple[int, ...]
    last_viewed: datetime | None
    series: pd.Series
    """Values by period start at ``grain`` (complete periods)."""
    grain: Grain
    drivers: tuple[str, ...]
    """KPIs with a ``drives`` relationship to this one."""
    guardrails: tuple[str, ...]
    """KPIs set as ``guardrail_for`` this one."""
    suggested_guardrails: tuple[str, ...] = ()
    """The catalog entry's ``guardrails``."""


@dataclass(frozen=True)
class Finding:
    check: str
    kpi_ids: tuple[str, ...]
    message: str
    action: str
    severity: str
    """"warning" (fix it) or "info" (worth a look)."""
    objective_id: int | None = None
    value: float | None = None
    """The number behind the finding, if any: the correlation, the periods without data, the KPI count."""


def _period_values(series: pd.Series) -> pd.Series:
    """The series indexed by period start (date), unknown values dropped, sorted."""
    return pd.Series(period_values(series), dtype=float).sort_index()


def review(
    kpis: Sequence[KpiFacts],
    *,
    today: date,
    not_viewed_days: int = 90,
    stale_periods: int = 2,
    corr_threshold: float = 0.95,
    corr_window: int = 24,
    max_kpis: int = 20,
    per_objective_max: int = 5,
    objectives: Mapping[int, tuple[str, ...]] | None = None,
    objective_names: Mapping[int, str] | None = None,
    kpi_names: Mapping[str, str] | None = None,
    calendar: Calendar | None = None,
) -> list[Finding]:
    """Review a KPI portfolio; an empty list means nothing to fix.

    ``objectives`` maps an objective id to the KPI ids linked to it (by default worked out
    from each KPI's ``objective_ids``); ``objective_names`` names them in messages, and
    ``kpi_names`` names KPIs that are not in ``kpis`` (suggested guardrails from the catalog).
    ``calendar`` (week start, fiscal year) decides which period is the latest complete one.
    """
    latest = {grain: latest_complete_period(today, grain, calendar or Calendar()) for grain in Grain}
    names = {**(kpi_names or {}), **{k.id: k.name for k in kpis}}
    findings: list[Finding] = []
    findings += _overload(kpis, max_kpis, not_viewed_days, today)
    findings += _objective_overload(kpis, per_objective_max, objectives, objective_names or {}, names)
    for k in kpis:
        findings += _per_kpi(k, today, latest[k.grain], not_viewed_days, stale_periods, lambda i: names.get(i, i))
    findings += _redundant(kpis, corr_threshold, corr_window, latest)
    order = {c: i for i, c in enumerate(CHECKS)}
    return sorted(findings, key=lambda f: (order[f.check], f.kpi_ids))


def _overload(kpis: Sequence[KpiFacts], max_kpis: int, not_viewed_days: int, today: date) -> list[Finding]:
    if len(kpis) <= max_kpis:
        return []
    ordered = sorted(kpis, key=lambda k: k.id)
    candidates = [k for k in ordered if not k.objective_ids] + [
        k for k in ordered if k.objective_ids and not k.has_goal and _days_unviewed(k, today) > not_viewed_days
    ]
    hint = ""
    if candidates:
        shown = ", ".join(k.name for k in candidates[:5])
        hint = f" Start with the ones that serve no objective or that nobody looks at: {shown}."
    return [
        Finding(
            "overload",
            tuple(k.id for k in ordered),
            f"{len(kpis)} KPIs on the scorecard; more than {max_kpis} is metric overload.",
            f"Keep the few that steer decisions (at most {max_kpis}) and retire or demote the rest.{hint}",
            "warning",
            value=float(len(kpis)),
        )
    ]


def _objective_overload(
    kpis: Sequence[KpiFacts],
    per_objective_max: int,
    objectives: Mapping[int, tuple[str, ...]] | None,
    objective_names: Mapping[int, str],
    names: Mapping[str, str],
) -> list[Finding]:
    linked: dict[int, list[str]] = {}
    if objectives:
        for oid, kpi_ids in objectives.items():
            linked[oid] = list(dict.fromkeys(kpi_ids))
    else:
        for k in sorted(kpis, key=lambda k: k.id):
            for oid in k.objective_ids:
                linked.setdefault(oid, []).append(k.id)
    out = []
    for oid, ids in sorted(linked.items()):
        if len(ids) > per_objective_max:
            title = objective_names.get(oid, f"objective {oid}")
            out.append(
                Finding(
                    "objective_overload",
                    tuple(ids),
                    f"{title} is measured by {len(ids)} KPIs ({', '.join(names.get(i, i) for i in ids)}).",
                    f"Keep the {RECOMMENDED_PER_OBJECTIVE} KPIs that best show progress on it; "
                    "move the rest to another objective or retire them.",
                    "warning",
                    objective_id=oid,
                    value=float(len(ids)),
                )
            )
    return out


def _days_unviewed(k: KpiFacts, today: date) -> float:
    return math.inf if k.last_viewed is None else (today - k.last_viewed.date()).days


def _per_kpi(
    k: KpiFacts, today: date, latest: date, not_viewed_days: int, stale_periods: int, label: _Label
) -> list[Finding]:
    out = []
    if not k.objective_ids:
        out.append(
            Finding(
                "no_objective",
                (k.id,),
                f"{k.name} serves no objective.",
                "Link it to the objective it measures, or retire it if it steers no decision.",
                "warning",
            )
        )
    if not (k.owner or "").strip():
        out.append(
            Finding(
                "no_owner",
                (k.id,),
                f"{k.name} has no owner.",
                "Name the person accountable for moving it.",
                "warning",
            )
        )
    if not k.has_goal:
        out.append(
            Finding(
                "no_goal",
                (k.id,),
                f"{k.name} has no goal.",
                "Set a goal (target, deadline, trajectory) so its status says whether you are on track.",
                "info",
            )
        )
    if k.has_goal and not k.guardrails:
        out.append(_guardrail(k, label))
    if k.lagging and not k.drivers:
        out.append(
            Finding(
                "lagging_without_leading",
                (k.id,),
                f"{k.name} is a lagging KPI and no leading KPI drives it.",
                "Add a leading KPI and a 'drives' relationship to it, so trouble shows before it lands in this result.",
                "info",
            )
        )
    stale = _stale(k, latest, stale_periods)
    if stale:
        out.append(stale)
    days = _days_unviewed(k, today)
    if days > not_viewed_days:
        seen = "has never been viewed" if math.isinf(days) else f"was last viewed {int(days)} days ago"
        out.append(
            Finding(
                "not_viewed",
                (k.id,),
                f"{k.name} {seen}.",
                "If nobody looks at it, it steers nothing: retire it or make it part of a regular review.",
                "info",
                value=None if math.isinf(days) else float(days),
            )
        )
    return out


def _guardrail(k: KpiFacts, label: _Label) -> Finding:
    if k.suggested_guardrails:
        shown = ", ".join(f"{label(g)} ({g})" if label(g) != g else g for g in k.suggested_guardrails)
        action = f"Add a guardrail so improving it does not hurt elsewhere — the catalog suggests {shown}."
        severity = "warning"
    else:
        action = "Add a guardrail: a KPI that would get worse if this one were improved the wrong way."
        severity = "info"
    return Finding("goal_without_guardrail", (k.id,), f"{k.name} has a goal but no guardrail KPI.", action, severity)


def _stale(k: KpiFacts, latest: date, stale_periods: int) -> Finding | None:
    values = _period_values(k.series)
    if values.empty:
        return Finding(
            "stale",
            (k.id,),
            f"{k.name} has no values at all.",
            "Connect its data source or enter its values; otherwise retire it.",
            "warning",
        )
    last = values.index[-1]
    missing = len(periods_between(shift(last, 1, k.grain), latest, k.grain))
    if missing < stale_periods:
        return None
    return Finding(
        "stale",
        (k.id,),
        f"{k.name} has had no new value for {missing} {k.grain.value}s (last: period starting {last.isoformat()}).",
        "Check its data source or refresh schedule, or enter the missing values.",
        "warning",
        value=float(missing),
    )


def _redundant(kpis: Sequence[KpiFacts], threshold: float, window: int, latest: Mapping[Grain, date]) -> list[Finding]:
    """Pairs of same-grain KPIs whose values correlate beyond ``threshold``.

    Over the last ``window`` periods up to the latest complete one, each pair on the periods
    both have a value (at least MIN_OVERLAP of them): one pairwise correlation matrix per
    grain, so hundreds of KPIs take a moment, not a pass over every pair in Python.
    """
    out = []
    by_grain: dict[Grain, list[KpiFacts]] = {}
    for k in sorted(kpis, key=lambda k: k.id):
        by_grain.setdefault(k.grain, []).append(k)
    for grain, group in by_grain.items():
        if len(group) < 2:
            continue
        periods = [shift(latest[grain], -i, grain) for i in range(window - 1, -1, -1)]
        frame = pd.DataFrame({k.id: _period_values(k.series).reindex(periods) for k in group})
        known = frame.notna().to_numpy(dtype=float)
        overlap = known.T @ known
        corr = frame.corr(min_periods=MIN_OVERLAP).to_numpy()
        names = {k.id: k for k in group}
        ids = list(frame.columns)
        for i, j in zip(*np.triu_indices(len(ids), k=1), strict=True):
            r = float(corr[i, j])
            if math.isnan(r) or abs(r) <= threshold:
                continue
            out.append(_redundant_finding(names[ids[i]], names[ids[j]], r, int(overlap[i, j])))
    return out


def _redundant_finding(a: KpiFacts, b: KpiFacts, r: float, shared: int) -> Finding:
    way = "together" if r > 0 else "in mirror image"
    return Finding(
        "redundant",
        (a.id, b.id),
        f"{a.name} and {b.name} moved {way} (correlation {r:+.2f} over {shared} shared "
        f"{a.grain.value}s): they tell the same story.",
        "Keep the one closer to the objective and drop or demote the other — or note why both are needed.",
        "info",
        value=r,
    )

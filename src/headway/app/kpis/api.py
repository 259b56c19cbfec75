"""The read side of the REST API: KPIs with their latest value, stored series, goals, objectives and alerts.

A ``ninja.Router`` added to the one ``NinjaAPI`` in ``headway.app.sources.api``. Every endpoint is
GET, authenticated by an organisation's API token and scoped to that organisation alone: an id of
another organisation's object answers 404, exactly like an id that does not exist. A token reads
the whole organisation (department scoping applies to members signed in to the web app, not to tokens).

Numbers come from the series store of the organisation's current run, scored by the same code as
the scorecard (``cards.build_cards``) and goals by ``strategy.evaluation`` — nothing is recomputed here.
Errors share one shape, django-ninja's: ``{"detail": "Not Found"}`` or, for bad parameters,
``{"detail": [{"loc": ["query", "grain"], "msg": "...", "type": "..."}]}`` (422).
"""

from __future__ import annotations

import csv
import io
import logging
from datetime import date, datetime
from typing import Any, Literal

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Path, Query, Router, Schema
from ninja.errors import ValidationError

from headway.app.accounts.models import Member, Organization
from headway.app.automation.models import Alert
from headway.app.kpis.cards import CATEGORY_LABELS, Card, build_cards
from headway.app.kpis.models import KpiDefinition, SeriesPoint
from headway.app.kpis.refresh import BREAKDOWN_GRAIN, GRAINS
from headway.app.kpis.series import current_run, dimensions
from headway.app.strategy.evaluation import GoalResult, evaluate_goals, goal_grain, goal_spec
from headway.app.strategy.models import Goal, IndicatorOverride, Objective
from headway.engine.scoring import is_complete, period_end
from headway.engine.spec import Grain

log = logging.getLogger(__name__)
router = Router(tags=["read"])

MAX_LIMIT = 500
DEFAULT_LIMIT = 100
MAX_SERIES_POINTS = 10_000
"""More points than any stored series holds (weeks x dimension values x years); a guard, not a page size."""

GrainName = Literal["week", "month", "quarter"]
assert set(GrainName.__args__) == set(GRAINS)  # type: ignore[attr-defined]


LimitParam = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"Items per page (1–{MAX_LIMIT})")
OffsetParam = Query(0, ge=0, description="Items to skip")
MAX_ID = 2**63 - 1
"""The largest id the databases store: a bigger one in a path is a 422 on that parameter, never a 500."""
IdParam = Path(..., ge=1, le=MAX_ID)
GrainParam = Query(None, description="week, month or quarter (default: the KPI's grain)")
DimensionParam = Query("", description="A breakdown dimension (month grain only); empty for the total")
StartParam = Query(None, description="First period start to include (YYYY-MM-DD)")
EndParam = Query(None, description="Last period start to include (YYYY-MM-DD)")
FormatParam = Query("json", description="json (default) or csv")
GoalKpiParam = Query(None, description="Only the goals on this KPI")
StateParam = Query("all", description="firing, resolved or all")
AlertKpiParam = Query(None, description="Only alerts of rules on this KPI")


class ErrorOut(Schema):
    detail: str


class ProblemOut(Schema):
    loc: list[str | int]
    """Where: ``["query", "<parameter>"]`` or ``["path", "<parameter>"]``."""
    msg: str
    type: str


class ProblemsOut(Schema):
    detail: list[ProblemOut]


ERRORS: dict[int, Any] = {401: ErrorOut, 404: ErrorOut, 422: ProblemsOut}


class Ref(Schema):
    id: int
    name: str


class LatestValue(Schema):
    value: float | None
    """The KPI's value in its unit (percent KPIs as fractions: 0.25 = 25 %)."""
    period_start: date | None
    period_end: date | None
    period_label: str
    partial: bool
    """True when the only value is of a period the data ends partway through ("so far")."""


class KpiOut(Schema):
    id: str
    name: str
    description: str
    category: str
    category_label: str
    unit: str
    format: str | None
    direction: Literal["higher", "lower"]
    indicator: Literal["leading", "lagging"]
    department: Ref | None
    owner: str | None
    default_grain: str
    grain: str
    """The grain the latest value and status are at (the default grain when the store has it, else month)."""
    latest: LatestValue
    previous_value: float | None
    year_ago_value: float | None
    status: Literal["good", "warning", "bad"] | None
    status_label: str
    reason: str
    """Why there is no value ('' when there is one)."""
    data_as_of: date | None


class KpiPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[KpiOut]


class Point(Schema):
    period_start: date
    period_end: date
    value: float | None
    partial: bool
    dimension_value: str | None = None


class SeriesOut(Schema):
    kpi_id: str
    grain: str
    dimension: str | None
    unit: str
    data_as_of: date | None
    run_id: int | None
    points: list[Point]


class GoalOut(Schema):
    id: int
    objective_id: int
    kpi_id: str
    kind: str
    target: float | None
    """The target in the KPI's unit (a change goal's % applied to the baseline); None when it cannot be resolved."""
    target_expression: str
    minimum: float | None
    stretch: float | None
    baseline: float | None
    baseline_period: date | None
    start: date
    deadline: date
    trajectory: str
    cadence: str
    status: str
    status_label: str
    message: str
    period_start: date | None
    """The period the status is about (latest complete period with a value)."""
    expected: float | None
    actual: float | None
    gap: float | None
    """actual − expected in KPI units; positive = ahead of plan in the goal's good direction."""
    progress: float | None
    final_outcome: str
    probability: float | None
    """The chance of success (0–1) from the KPI's stored forecast; None without a forecast reaching the deadline."""


class GoalPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[GoalOut]


class GoalRef(Schema):
    id: int
    kpi_id: str
    status: str


class ObjectiveOut(Schema):
    id: int
    title: str
    description: str
    parent_id: int | None
    department: Ref | None
    owner: str | None
    period_start: date
    period_end: date
    kpi_ids: list[str]
    goals: list[GoalRef]


class ObjectivePage(Schema):
    count: int
    limit: int
    offset: int
    items: list[ObjectiveOut]


class AlertRuleRef(Schema):
    id: int
    name: str
    kpi_id: str
    kind: str
    severity: str


class AlertOut(Schema):
    id: int
    rule: AlertRuleRef
    state: Literal["firing", "resolved"]
    fired_at: datetime
    resolved_at: datetime | None
    period_start: date | None
    value: float | None
    reference: float | None
    message: str
    acknowledged_at: datetime | None
    snoozed_until: datetime | None


class AlertPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[AlertOut]


def _org(request: HttpRequest) -> Organization:
    return request.auth.org


def _person(member: Member | None) -> str | None:
    if member is None:
        return None
    return member.user.get_full_name() or member.user.get_username()


def _bad(param: str, message: str, where: str = "query") -> ValidationError:
    return ValidationError([{"loc": [where, param], "msg": message, "type": "value_error"}])


def _page(qs: QuerySet[Any], limit: int, offset: int) -> tuple[int, list[Any]]:
    count = qs.count()
    # Past the end, no query: an offset beyond the database's integers (2**63) must not reach SQL.
    return count, list(qs[offset : offset + limit]) if offset < count else []


# --- KPIs ------------------------------------------------------------------------------


def _kpi_out(card: Card, org: Organization, overrides: dict[int, str]) -> dict[str, Any]:
    d, kpi, s = card.definition, card.kpi, card.score
    grain = s.grain
    period = s.partial_period if card.partial else s.period
    value = s.partial_value if card.partial else s.value
    run = current_run(org)
    return {
        "id": kpi.id,
        "name": kpi.name,
        "description": kpi.description,
        "category": kpi.category.value,
        "category_label": CATEGORY_LABELS[kpi.category],
        "unit": kpi.unit.value,
        "format": kpi.format,
        "direction": kpi.direction.value,
        "indicator": overrides.get(d.pk, kpi.indicator.value),
        "department": {"id": d.department.pk, "name": d.department.name} if d.department else None,
        "owner": _person(d.owner),
        "default_grain": kpi.default_grain.value,
        "grain": grain.value,
        "latest": {
            "value": value,
            "period_start": period,
            "period_end": period_end(period, grain) if period else None,
            "period_label": card.period_text,
            "partial": card.partial,
        },
        "previous_value": s.previous,
        "year_ago_value": s.year_ago,
        "status": s.status.value if s.status else None,
        "status_label": card.status_label,
        "reason": card.reason,
        "data_as_of": run.data_as_of if run else None,
    }


def _kpi_items(org: Organization, definitions: list[KpiDefinition]) -> list[dict[str, Any]]:
    overrides = dict(IndicatorOverride.objects.filter(kpi__in=definitions).values_list("kpi_id", "indicator"))
    return [_kpi_out(card, org, overrides) for card in build_cards(definitions, org)]


def _definitions(org: Organization) -> QuerySet[KpiDefinition]:
    return KpiDefinition.objects.filter(org=org).select_related("department", "owner__user")


@router.get("/kpis/", response={200: KpiPage, **ERRORS}, url_name="api_kpis")
def list_kpis(request: HttpRequest, limit: int = LimitParam, offset: int = OffsetParam) -> dict[str, Any]:
    """The organisation's KPIs in scorecard order, each with its latest value, period, status and "data as of".

    The latest value is the latest *complete* period at the KPI's grain (or the period so far, flagged
    `partial`, when there is no complete one yet), scored like the scorecard."""
    org = _org(request)
    count, definitions = _page(_definitions(org), limit, offset)
    return {"count": count, "limit": limit, "offset": offset, "items": _kpi_items(org, definitions)}


@router.get("/kpis/{kpi_id}", response={200: KpiOut, **ERRORS}, url_name="api_kpi")
def get_kpi(request: HttpRequest, kpi_id: str) -> dict[str, Any]:
    """One KPI, as in the list."""
    org = _org(request)
    definition = get_object_or_404(_definitions(org), kpi_id=kpi_id)
    return _kpi_items(org, [definition])[0]


# --- series ----------------------------------------------------------------------------

CSV_DOC = {
    "responses": {
        200: {
            "description": "The series (JSON, or CSV with `format=csv`)",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }
}


@router.get(
    "/kpis/{kpi_id}/series", response={200: SeriesOut, **ERRORS}, url_name="api_kpi_series", openapi_extra=CSV_DOC
)
def kpi_series(
    request: HttpRequest,
    kpi_id: str,
    grain: GrainName | None = GrainParam,
    dimension: str = DimensionParam,
    start: date | None = StartParam,
    end: date | None = EndParam,
    format: Literal["json", "csv"] = FormatParam,
) -> Any:
    """The stored series of the organisation's current run: each period's start, end, value and whether
    the data end partway through it. With `dimension`, one point per period and dimension value."""
    org = _org(request)
    definition = get_object_or_404(KpiDefinition, org=org, kpi_id=kpi_id)
    kpi = definition.to_spec()
    run = current_run(org)
    if start and end and start > end:
        raise _bad("end", f"end ({end}) is before start ({start})")
    if dimension:
        if grain not in (None, BREAKDOWN_GRAIN):
            raise _bad("grain", f"breakdowns by a dimension are stored at {BREAKDOWN_GRAIN} grain only, not {grain}")
        known = dimensions(run, kpi_id)
        if dimension not in known:
            offered = ", ".join(known) if known else "none"
            raise _bad("dimension", f"no breakdown of {kpi_id} by {dimension!r} is stored (available: {offered})")
        chosen = Grain(BREAKDOWN_GRAIN)
    else:
        chosen = Grain(grain) if grain else (kpi.default_grain if kpi.default_grain.value in GRAINS else Grain.MONTH)
    as_of = run.data_as_of if run else None
    rows: list[tuple[date, str, float | None]] = []
    if run is not None:
        qs = SeriesPoint.objects.filter(run=run, kpi_id=kpi_id, grain=chosen.value, dimension=dimension)
        if start:
            qs = qs.filter(period__gte=start)
        if end:
            qs = qs.filter(period__lte=end)
        rows = list(qs.order_by("period", "dim_value").values_list("period", "dim_value", "value")[:MAX_SERIES_POINTS])
    points = [
        {
            "period_start": p,
            "period_end": period_end(p, chosen),
            "value": v,
            "partial": not is_complete(p, chosen, as_of),
            "dimension_value": dv if dimension else None,
        }
        for p, dv, v in rows
    ]
    if format == "csv":
        return _csv(kpi_id, chosen, dimension, points)
    return {
        "kpi_id": kpi_id,
        "grain": chosen.value,
        "dimension": dimension or None,
        "unit": kpi.unit.value,
        "data_as_of": as_of,
        "run_id": run.pk if run else None,
        "points": points,
    }


def _csv(kpi_id: str, grain: Grain, dimension: str, points: list[dict[str, Any]]) -> HttpResponse:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    head = ["period_start", "period_end", "value", "partial"]
    writer.writerow([*head, dimension] if dimension else head)
    for p in points:
        row = [
            p["period_start"].isoformat(),
            p["period_end"].isoformat(),
            "" if p["value"] is None else repr(p["value"]),
        ]
        row.append("true" if p["partial"] else "false")
        writer.writerow([*row, p["dimension_value"]] if dimension else row)
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    suffix = f"-{dimension}" if dimension else ""
    response["Content-Disposition"] = f'attachment; filename="{kpi_id}-{grain.value}{suffix}.csv"'
    return response


# --- goals -----------------------------------------------------------------------------


def _probability(result: GoalResult, org: Organization) -> float | None:
    """The chance of success from the KPI's stored forecast, as the goal page has it (None when there is none)."""
    try:
        from headway.app.forecasts.refit import latest
        from headway.app.strategy.chance import goal_chance

        ev = result.evaluation
        grain = goal_grain(result.kpi)
        stored = latest(org, result.kpi.id, grain)
        if stored is None or stored.error or ev is None or result.target is None:
            return None
        return goal_chance(result, goal_spec(result.goal, result.kpi, org, result.target), stored.points)
    except Exception:  # an extra: a forecast that cannot be read must not break the goals answer
        log.exception("no goal probability for goal %s", result.goal.pk)
        return None


def _goal_out(result: GoalResult, org: Organization) -> dict[str, Any]:
    g, ev = result.goal, result.evaluation
    return {
        "id": g.pk,
        "objective_id": g.objective_id,
        "kpi_id": g.kpi.kpi_id,
        "kind": g.kind,
        "target": result.target,
        "target_expression": g.target_expr,
        "minimum": g.minimum,
        "stretch": g.stretch,
        "baseline": ev.baseline if ev and ev.baseline is not None else g.baseline,
        "baseline_period": g.baseline_period,
        "start": g.start,
        "deadline": g.deadline,
        "trajectory": g.trajectory,
        "cadence": g.cadence,
        "status": result.status.value,
        "status_label": result.status_label,
        "message": result.message,
        "period_start": ev.period if ev else None,
        "expected": ev.expected if ev else None,
        "actual": ev.actual if ev else None,
        "gap": ev.gap if ev else None,
        "progress": ev.progress if ev else None,
        "final_outcome": g.final_outcome,
        "probability": _probability(result, org),
    }


def _goals(org: Organization) -> QuerySet[Goal]:
    return Goal.objects.filter(org=org).select_related("kpi").order_by("deadline", "pk")


@router.get("/goals/", response={200: GoalPage, **ERRORS}, url_name="api_goals")
def list_goals(
    request: HttpRequest,
    kpi_id: str | None = GoalKpiParam,
    limit: int = LimitParam,
    offset: int = OffsetParam,
) -> dict[str, Any]:
    """The organisation's goals by deadline, each evaluated on the current run: status, plan vs actual, gap."""
    org = _org(request)
    qs = _goals(org)
    if kpi_id:
        qs = qs.filter(kpi__kpi_id=kpi_id)
    count, goals = _page(qs, limit, offset)
    items = [_goal_out(r, org) for r in evaluate_goals(org, goals)]
    return {"count": count, "limit": limit, "offset": offset, "items": items}


@router.get("/goals/{goal_id}", response={200: GoalOut, **ERRORS}, url_name="api_goal")
def get_goal(request: HttpRequest, goal_id: int = IdParam) -> dict[str, Any]:
    """One goal, as in the list."""
    org = _org(request)
    goal = get_object_or_404(_goals(org), pk=goal_id)
    return _goal_out(evaluate_goals(org, [goal])[0], org)


# --- objectives ------------------------------------------------------------------------


def _objectives(org: Organization) -> QuerySet[Objective]:
    return (
        Objective.objects.filter(org=org)
        .select_related("department", "owner__user")
        .prefetch_related("kpis", "goals__kpi")
        .order_by("period_start", "title", "pk")
    )


def _objective_out(o: Objective) -> dict[str, Any]:
    return {
        "id": o.pk,
        "title": o.title,
        "description": o.description,
        "parent_id": o.parent_id,
        "department": {"id": o.department.pk, "name": o.department.name} if o.department else None,
        "owner": _person(o.owner),
        "period_start": o.period_start,
        "period_end": o.period_end,
        "kpi_ids": sorted(k.kpi_id for k in o.kpis.all()),
        "goals": [{"id": g.pk, "kpi_id": g.kpi.kpi_id, "status": g.status} for g in o.goals.all()],
    }


@router.get("/objectives/", response={200: ObjectivePage, **ERRORS}, url_name="api_objectives")
def list_objectives(request: HttpRequest, limit: int = LimitParam, offset: int = OffsetParam) -> dict[str, Any]:
    """The organisation's objectives (a tree by `parent_id`), with their KPIs and goals (the goals' last
    computed status; `/goals/{id}` evaluates one afresh)."""
    count, objectives = _page(_objectives(_org(request)), limit, offset)
    return {"count": count, "limit": limit, "offset": offset, "items": [_objective_out(o) for o in objectives]}


@router.get("/objectives/{objective_id}", response={200: ObjectiveOut, **ERRORS}, url_name="api_objective")
def get_objective(request: HttpRequest, objective_id: int = IdParam) -> dict[str, Any]:
    """One objective, as in the list."""
    return _objective_out(get_object_or_404(_objectives(_org(request)), pk=objective_id))


# --- alerts ----------------------------------------------------------------------------


def _alert_out(a: Alert) -> dict[str, Any]:
    r = a.rule
    return {
        "id": a.pk,
        "rule": {"id": r.pk, "name": r.name, "kpi_id": r.kpi_id, "kind": r.kind, "severity": r.severity},
        "state": "firing" if a.firing else "resolved",
        "fired_at": a.fired_at,
        "resolved_at": a.resolved_at,
        "period_start": a.period,
        "value": a.value,
        "reference": a.reference,
        "message": a.message,
        "acknowledged_at": a.acknowledged_at,
        "snoozed_until": a.snoozed_until,
    }


@router.get("/alerts/", response={200: AlertPage, **ERRORS}, url_name="api_alerts")
def list_alerts(
    request: HttpRequest,
    state: Literal["firing", "resolved", "all"] = StateParam,
    kpi_id: str | None = AlertKpiParam,
    limit: int = LimitParam,
    offset: int = OffsetParam,
) -> dict[str, Any]:
    """The organisation's alerts, newest first."""
    qs = Alert.objects.filter(org=_org(request)).select_related("rule")
    if state != "all":
        qs = qs.filter(firing=state == "firing")
    if kpi_id:
        qs = qs.filter(rule__kpi_id=kpi_id)
    count, alerts = _page(qs, limit, offset)
    return {"count": count, "limit": limit, "offset": offset, "items": [_alert_out(a) for a in alerts]}


@router.get("/alerts/{alert_id}", response={200: AlertOut, **ERRORS}, url_name="api_alert")
def get_alert(request: HttpRequest, alert_id: int = IdParam) -> dict[str, Any]:
    """One alert."""
    return _alert_out(get_object_or_404(Alert.objects.select_related("rule"), org=_org(request), pk=alert_id))

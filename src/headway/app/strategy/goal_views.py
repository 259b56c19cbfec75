"""Goals: set one on a KPI (baseline and achievability shown live), its evaluation page, revise with a reason."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from headway.analytics.goals import GoalError, TargetKind, Trajectory, achievability
from headway.app.accounts.models import Role
from headway.app.accounts.tenancy import member_required, visible_kpis
from headway.app.kpis.formatting import d3_format_locale, format_kpi_value, period_label
from headway.app.kpis.models import KpiDefinition
from headway.app.kpis.series import current_run, total
from headway.app.strategy.access import can_edit_department, require_kpi, require_objective, visible_goals
from headway.app.strategy.evaluation import (
    GoalResult,
    as_of_date,
    default_baseline,
    evaluate_goals,
    goal_grain,
    goal_spec,
    resolve_target,
    shown_to_stored,
    to_pandas,
)
from headway.app.strategy.forms import GoalForm, ReviseForm, snapshot
from headway.app.strategy.models import Goal, GoalRevision, Objective
from headway.app.strategy.portfolio import add_months
from headway.engine.periods import shift
from headway.engine.scoring import latest_complete_period
from headway.engine.spec import Kpi

log = logging.getLogger(__name__)


def _history(request: HttpRequest, definition: KpiDefinition) -> Any:
    kpi = definition.to_spec()
    return to_pandas(total(current_run(request.org), kpi.id, goal_grain(kpi)))  # type: ignore[attr-defined]


def _default_dates(request: HttpRequest, definition: KpiDefinition) -> tuple[date, date]:
    """From the period after the latest complete one of the data, for six months."""
    grain = goal_grain(definition.to_spec())
    org = request.org  # type: ignore[attr-defined]
    start = shift(latest_complete_period(as_of_date(current_run(org)), grain, org.calendar()), 1, grain)
    return start, add_months(start, 6) - timedelta(days=1)


def _require_posted(request: HttpRequest) -> None:
    """An objective or KPI of the org outside the editor's departments is a 403, not just an invalid choice."""
    member = request.member  # type: ignore[attr-defined]
    raw_kpi, raw_objective = request.POST.get("kpi", ""), request.POST.get("objective", "")
    if raw_kpi.isdigit():
        found = KpiDefinition.objects.filter(org=member.org, pk=int(raw_kpi)).first()
        if found:
            require_kpi(member, found)
    if raw_objective.isdigit():
        objective = Objective.objects.filter(org=member.org, pk=int(raw_objective)).first()
        if objective:
            require_objective(member, objective)


@member_required(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def goal_new(request: HttpRequest) -> HttpResponse:
    member = request.member  # type: ignore[attr-defined]
    org = request.org  # type: ignore[attr-defined]
    initial: dict[str, Any] = {"kind": TargetKind.ABSOLUTE.value, "trajectory": Trajectory.LINEAR.value}
    chosen = visible_kpis(member).filter(kpi_id=request.GET.get("kpi", "")).first()
    if chosen is not None:
        require_kpi(member, chosen)
        start, deadline = _default_dates(request, chosen)
        initial |= {"kpi": chosen.pk, "start": start, "deadline": deadline}
    objective = request.GET.get("objective", "")
    if objective.isdigit():
        initial["objective"] = int(objective)
    form = GoalForm(request.POST or None, member=member, initial=initial)
    if request.method == "POST":
        _require_posted(request)
        if form.is_valid():
            goal = form.save(commit=False)
            goal.org = org
            goal.created_by = request.user
            goal.baseline_from_history = goal.baseline is None
            if goal.baseline is None:
                found = default_baseline(
                    _history(request, goal.kpi), goal.kpi.to_spec(), goal.start, goal.deadline, goal.trajectory
                )
                if found:
                    goal.baseline, goal.baseline_period = found
            with transaction.atomic():
                goal.save()
                goal.objective.kpis.add(goal.kpi)
            messages.success(request, f"Goal on {goal.kpi.spec.get('name', goal.kpi.kpi_id)} set.")
            return redirect("goal_detail", goal_id=goal.pk)
    preview = _preview(request, request.POST or form.initial) if chosen or request.POST else None
    context = {"form": form, "preview": preview}
    return render(request, "strategy/goal_form.html", context)


@member_required(Role.EDITOR)
@require_safe
def goal_preview(request: HttpRequest) -> HttpResponse:
    """The baseline the history suggests and how unusual the goal is, while it is being set (htmx)."""
    return render(request, "strategy/_goal_preview.html", {"preview": _preview(request, request.GET)})


def _number(raw: object) -> float | None:
    try:
        return float(str(raw).replace(",", ".")) if raw not in (None, "") else None
    except ValueError:
        return None


def _day(raw: object) -> date | None:
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw)) if raw else None
    except ValueError:
        return None


def _preview(request: HttpRequest, data: Any) -> dict[str, Any]:
    """Suggested baseline and the achievability sentence for the goal as typed so far."""
    member = request.member  # type: ignore[attr-defined]
    org = request.org  # type: ignore[attr-defined]
    raw_kpi = data.get("kpi")
    definition = visible_kpis(member).filter(pk=int(raw_kpi)).first() if str(raw_kpi or "").isdigit() else None
    if definition is None:
        return {"text": "Choose a KPI to see how your goal compares with its history."}
    kpi = definition.to_spec()
    kind = data.get("kind") or TargetKind.ABSOLUTE.value
    start, deadline = _day(data.get("start")), _day(data.get("deadline"))
    trajectory = data.get("trajectory") or Trajectory.LINEAR.value
    if start is None or deadline is None or deadline <= start:
        return {"text": "Give a start and a later deadline to compare the goal with the KPI's history."}
    history = _history(request, definition)
    found = default_baseline(history, kpi, start, deadline, trajectory)
    grain = goal_grain(kpi)
    out: dict[str, Any] = {"kpi": kpi}
    if found:
        value, period = found
        out["baseline"] = format_kpi_value(kpi, value, org.locale, org.currency)
        out["baseline_period"] = period_label(period, grain, org.fiscal_year_start)
    target = shown_to_stored(kpi, kind, _number(data.get("target")))
    baseline = shown_to_stored(kpi, TargetKind.ABSOLUTE.value, _number(data.get("baseline")))
    if target is None:
        out["text"] = "Enter a target to see how it compares with the KPI's history."
        return out
    probe = Goal(
        kind=kind,
        target=target,
        start=start,
        deadline=deadline,
        trajectory=trajectory,
        baseline=baseline,
        cadence=data.get("cadence") or "month",
    )
    try:
        ach = achievability(history, goal_spec(probe, kpi, org, target))
    except GoalError as exc:
        out["text"] = f"Cannot judge yet: {exc}."
        return out
    text = ach.text[:1].upper() + ach.text[1:] + "."
    out |= {"text": text, "verdict": ach.verdict.replace("_", " ")}
    return out


def _goal(request: HttpRequest, goal_id: int) -> Goal:
    qs = visible_goals(request.member).select_related("kpi", "objective", "created_by")  # type: ignore[attr-defined]
    return get_object_or_404(qs, pk=goal_id)


REVISION_LABELS = {
    "kind": "kind",
    "target": "target",
    "target_expr": "target expression",
    "minimum": "minimum",
    "stretch": "stretch",
    "deadline": "deadline",
    "trajectory": "trajectory",
    "strategy": "strategy",
}


def _with_changes(revision: GoalRevision, kpi: Kpi, org: Any) -> GoalRevision:
    """The revision with ``changes``: (field, before, after) as people read them, changed fields only."""

    def show(name: str, value: object, kind: object) -> str:
        if value is None or value == "":
            return "–"
        if name in ("target", "minimum", "stretch") and isinstance(value, (int, float)):
            if kind == TargetKind.CHANGE_PCT.value:
                return f"{value:+g}% from the baseline"
            return format_kpi_value(kpi, float(value), org.locale, org.currency)
        return str(value)

    before, after = revision.before, revision.after
    revision.changes = [  # type: ignore[attr-defined]
        (label, show(name, before.get(name), before.get("kind")), show(name, after.get(name), after.get("kind")))
        for name, label in REVISION_LABELS.items()
        if before.get(name) != after.get(name)
    ]
    return revision


def goal_probability(goal: Goal, result: GoalResult, org: Any) -> str:
    """ "62% likely": the chance of success from the KPI's stored forecast ('' when there is none yet)."""
    try:
        from headway.app.forecasts.refit import latest
        from headway.app.strategy.chance import chance_text, goal_chance

        grain = goal_grain(result.kpi)
        stored = latest(org, result.kpi.id, grain)
        if stored is None or stored.error or result.evaluation is None:
            return ""
        spec = goal_spec(goal, result.kpi, org, resolve_target(goal, grain, current_run(org)))
        return chance_text(goal_chance(result, spec, stored.points))
    except Exception:  # the chance is an extra: a forecast that cannot be read must not break the goal page
        log.exception("no goal probability for goal %s", goal.pk)
        return ""


@member_required()
@require_safe
def goal_detail(request: HttpRequest, goal_id: int) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    goal = _goal(request, goal_id)
    result = evaluate_goals(org, [goal], detail=True)[0]
    member = request.member  # type: ignore[attr-defined]
    context = {
        "goal": goal,
        "result": result,
        "kpi": result.kpi,
        "revisions": [_with_changes(r, result.kpi, org) for r in goal.revisions.select_related("by")],
        "probability": goal_probability(goal, result, org),
        "can_edit": can_edit_department(member, goal.kpi.department_id),
        "format_locale": d3_format_locale(org.locale, org.currency),
        "grain": goal_grain(result.kpi).value,
        "data_as_of": as_of_date(current_run(org)),
    }
    return render(request, "strategy/goal_detail.html", context)


@member_required(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def goal_revise(request: HttpRequest, goal_id: int) -> HttpResponse:
    member = request.member  # type: ignore[attr-defined]
    goal = get_object_or_404(Goal.objects.select_related("kpi"), org=member.org, pk=goal_id)
    require_kpi(member, goal.kpi)
    form = ReviseForm(request.POST or None, instance=goal)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            revised = form.save()
            GoalRevision.objects.create(
                goal=revised,
                by=request.user,
                reason=form.cleaned_data["reason"],
                before=form.before,
                after=snapshot(revised),
            )
        messages.success(request, "Goal revised; the change and its reason are in the history.")
        return redirect("goal_detail", goal_id=goal.pk)
    return render(request, "strategy/goal_revise.html", {"form": form, "goal": goal})


@member_required(Role.EDITOR)
@require_POST
def goal_delete(request: HttpRequest, goal_id: int) -> HttpResponse:
    member = request.member  # type: ignore[attr-defined]
    goal = get_object_or_404(Goal.objects.select_related("kpi"), org=member.org, pk=goal_id)
    require_kpi(member, goal.kpi)
    objective_id = goal.objective_id
    goal.delete()
    messages.success(request, "Goal deleted.")
    return redirect("objective_detail", objective_id=objective_id)

"""Objectives: the tree (company → departments), one objective with its KPIs and goals, create / edit / delete."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from headway.analytics.goals import GoalStatus
from headway.analytics.review import RECOMMENDED_PER_OBJECTIVE
from headway.app.accounts.models import Department, Role
from headway.app.accounts.tenancy import member_required, visible_kpis
from headway.app.kpis.models import KpiDefinition
from headway.app.strategy.access import (
    can_edit_department,
    require_department,
    require_objective,
    visible_goals,
    visible_objectives,
)
from headway.app.strategy.cards import headline_goal
from headway.app.strategy.evaluation import TONE, fresh_statuses
from headway.app.strategy.forms import MAX_KPIS, ObjectiveForm
from headway.app.strategy.models import Goal, Objective
from headway.app.strategy.portfolio import review_settings
from headway.app.strategy.starter import apply_template_strategy, default_period
from headway.engine.templates import get_template

OVERLOAD_AT = 20
SEVERITY = ["none", "good", "warning", "bad"]
CROWDED_AT = 15


@dataclass
class KpiLine:
    definition: KpiDefinition
    goal: Goal | None

    @property
    def name(self) -> str:
        return str(self.definition.spec.get("name", self.definition.kpi_id))

    @property
    def tone(self) -> str:
        return TONE[GoalStatus(self.goal.status)] if self.goal else "none"


@dataclass
class Node:
    objective: Objective
    depth: int
    kpis: list[KpiLine] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    can_edit: bool = False

    @property
    def tone(self) -> str:
        """The worst goal status of its KPIs (the tree's and the map's colour)."""
        return max((line.tone for line in self.kpis), key=SEVERITY.index, default="none")

    @property
    def warning(self) -> str:
        n = len(self.kpis)
        if n > MAX_KPIS:
            best = RECOMMENDED_PER_OBJECTIVE
            return f"{n} KPIs: more than {MAX_KPIS} blurs what matters — keep the {best} that show progress best."
        if n == 0:
            return f"No KPIs yet: attach {RECOMMENDED_PER_OBJECTIVE} that show progress on it."
        if n == 1:
            return f"One KPI: {RECOMMENDED_PER_OBJECTIVE} give a fuller picture (e.g. a result and what drives it)."
        return ""


def objective_nodes(request: HttpRequest, objectives: list[Objective]) -> list[Node]:
    """The objectives as a depth-first tree with their visible KPIs, goals (fresh status) and headline goal."""
    member = request.member  # type: ignore[attr-defined]
    visible = {d.pk: d for d in visible_kpis(member)}
    goals = fresh_statuses(request.org, list(visible_goals(member).select_related("kpi")))  # type: ignore[attr-defined]
    by_objective: dict[int, list[Goal]] = defaultdict(list)
    by_pair: dict[tuple[int, int], list[Goal]] = defaultdict(list)
    for g in goals:
        by_objective[g.objective_id].append(g)
        by_pair[(g.objective_id, g.kpi_id)].append(g)
    ids = {o.pk for o in objectives}
    children: dict[int | None, list[Objective]] = defaultdict(list)
    for o in objectives:
        children[o.parent_id if o.parent_id in ids else None].append(o)
    for kids in children.values():
        kids.sort(key=lambda o: (o.department_id is not None, o.department.name if o.department else "", o.title))
    out: list[Node] = []

    def walk(parent: int | None, depth: int) -> None:
        for o in children.get(parent, []):
            kpis = [
                KpiLine(visible[k.pk], headline_goal(by_pair.get((o.pk, k.pk), [])))
                for k in o.kpis.all()
                if k.pk in visible
            ]
            out.append(Node(o, depth, kpis, by_objective.get(o.pk, []), can_edit_department(member, o.department_id)))
            walk(o.pk, depth + 1)

    walk(None, 0)
    return out


def _objectives(request: HttpRequest) -> list[Objective]:
    qs = visible_objectives(request.member)  # type: ignore[attr-defined]
    return list(qs.select_related("department", "owner__user", "parent").prefetch_related("kpis"))


@member_required()
@require_safe
def objectives(request: HttpRequest) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    member = request.member  # type: ignore[attr-defined]
    nodes = objective_nodes(request, _objectives(request))
    kpi_count = visible_kpis(member).count()
    context = {
        "nodes": nodes,
        "kpi_count": kpi_count,
        "overload": kpi_count > OVERLOAD_AT,
        "crowded": CROWDED_AT < kpi_count <= OVERLOAD_AT,
        "overload_at": OVERLOAD_AT,
        "recommended": RECOMMENDED_PER_OBJECTIVE,
        "template": _template_name(org.template),
        "can_create": member.can_edit,
        "can_import": member.can_edit and member.department_ids() is None,
        "review": review_settings(org),
        "today": timezone.localdate(),
    }
    return render(request, "strategy/objectives.html", context)


def _template_name(template_id: str) -> str:
    if not template_id:
        return ""
    try:
        return get_template(template_id).name
    except Exception:  # an org made from a template that no longer ships: simply no offer
        return ""


def _objective(request: HttpRequest, objective_id: int) -> Objective:
    return get_object_or_404(visible_objectives(request.member), pk=objective_id)  # type: ignore[attr-defined]


@member_required()
@require_safe
def objective_detail(request: HttpRequest, objective_id: int) -> HttpResponse:
    objective = _objective(request, objective_id)
    subtree = [o for o in _objectives(request) if o.pk == objective.pk or _descends(o, objective.pk)]
    nodes = objective_nodes(request, subtree)
    node = next(n for n in nodes if n.objective.pk == objective.pk)
    context = {
        "objective": objective,
        "node": node,
        "children": [n for n in nodes if n.objective.pk != objective.pk],
        "recommended": RECOMMENDED_PER_OBJECTIVE,
    }
    return render(request, "strategy/objective_detail.html", context)


def _descends(o: Objective, ancestor: int) -> bool:
    seen: set[int] = set()
    parent = o.parent
    while parent is not None and parent.pk not in seen:
        if parent.pk == ancestor:
            return True
        seen.add(parent.pk)
        parent = parent.parent
    return False


@member_required(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def objective_new(request: HttpRequest) -> HttpResponse:
    member = request.member  # type: ignore[attr-defined]
    start, end = default_period()
    initial: dict[str, object] = {"period_start": start, "period_end": end, "owner": member.pk}
    parent = request.GET.get("parent", "")
    if parent.isdigit():
        initial["parent"] = int(parent)
    form = ObjectiveForm(request.POST or None, member=member, initial=initial)
    if request.method == "POST":
        _require_posted_department(request)
        if form.is_valid():
            department = form.cleaned_data.get("department")
            require_department(member, department.pk if department else None, "company objectives")
            with transaction.atomic():
                objective = form.save(commit=False)
                objective.org = request.org  # type: ignore[attr-defined]
                objective.save()
                form.save_m2m()
            messages.success(request, f"Objective “{objective.title}” created.")
            return redirect("objective_detail", objective_id=objective.pk)
    return render(request, "strategy/objective_form.html", {"form": form, "objective": None, "max_kpis": MAX_KPIS})


def _require_posted_department(request: HttpRequest) -> None:
    """A department of the org the member cannot edit is a 403 (not just an invalid choice)."""
    raw = request.POST.get("department", "")
    member = request.member  # type: ignore[attr-defined]
    if raw.isdigit() and Department.objects.filter(org=member.org, pk=int(raw)).exists():
        require_department(member, int(raw), "objectives")
    elif not raw:
        require_department(member, None, "company objectives")


@member_required(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def objective_edit(request: HttpRequest, objective_id: int) -> HttpResponse:
    member = request.member  # type: ignore[attr-defined]
    objective = get_object_or_404(Objective, org=member.org, pk=objective_id)
    require_objective(member, objective)
    form = ObjectiveForm(request.POST or None, member=member, instance=objective)
    if request.method == "POST":
        _require_posted_department(request)
        if form.is_valid():
            with transaction.atomic():
                form.save()
            messages.success(request, f"Objective “{objective.title}” saved.")
            return redirect("objective_detail", objective_id=objective.pk)
    context = {"form": form, "objective": objective, "max_kpis": MAX_KPIS}
    return render(request, "strategy/objective_form.html", context)


@member_required(Role.EDITOR)
@require_POST
def objective_delete(request: HttpRequest, objective_id: int) -> HttpResponse:
    member = request.member  # type: ignore[attr-defined]
    objective = get_object_or_404(Objective, org=member.org, pk=objective_id)
    require_objective(member, objective)
    goals = objective.goals.count()
    if goals:
        messages.error(
            request, f"“{objective.title}” still has {goals} goal{'s' if goals > 1 else ''}: delete or move them first."
        )
        return redirect("objective_detail", objective_id=objective.pk)
    objective.delete()
    messages.success(request, f"Objective “{objective.title}” deleted.")
    return redirect("objectives")


@member_required(Role.EDITOR)
@require_POST
def objectives_from_template(request: HttpRequest) -> HttpResponse:
    """The org's business template's objectives, with their KPIs (those the org has); idempotent by title."""
    org = request.org  # type: ignore[attr-defined]
    member = request.member  # type: ignore[attr-defined]
    require_department(member, None, "company objectives")
    if not _template_name(org.template):
        messages.error(request, "This organisation was not made from a business template: write your objectives here.")
        return redirect("objectives")
    template = get_template(org.template)
    created, goals = apply_template_strategy(org, member)
    messages.success(
        request,
        f"{created} objective{'s' if created != 1 else ''} and {goals} starter goal{'s' if goals != 1 else ''}"
        f" added from the {template.name} template.",
    )
    return redirect("objectives")

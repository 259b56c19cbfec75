"""The strategy map, a department's page (accountability), KPI relationships and leading/lagging flags."""

from __future__ import annotations

from collections import defaultdict

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from headway.analytics.goals import GoalStatus
from headway.app.accounts.models import Department, Role
from headway.app.accounts.tenancy import member_required, visible_kpis
from headway.app.kpis.models import KpiDefinition
from headway.app.strategy.access import can_edit_department, require_department, require_kpi, visible_goals
from headway.app.strategy.cards import headline_goal
from headway.app.strategy.evaluation import TONE, fresh_statuses
from headway.app.strategy.forms import RelationshipForm
from headway.app.strategy.graph import LAYER_TITLES, MapEdge, MapNode, StrategyMap, render_svg
from headway.app.strategy.models import STATUS_LABELS, Goal, IndicatorOverride, Relationship
from headway.app.strategy.objective_views import _objectives, objective_nodes
from headway.app.strategy.portfolio import is_lagging

EDGE_WORDS = {
    "measures": "is measured by",
    "serves": "serves",
    "contributes_to": "contributes to",
    "drives": "drives",
    "guardrail_for": "is a guardrail for",
}


def _name(d: KpiDefinition) -> str:
    return str(d.spec.get("name", d.kpi_id))


def build_map(request: HttpRequest) -> StrategyMap:
    member = request.member  # type: ignore[attr-defined]
    nodes = objective_nodes(request, _objectives(request))
    visible = {d.pk: d for d in visible_kpis(member).select_related("department")}
    goals = fresh_statuses(request.org, list(visible_goals(member).select_related("kpi")))  # type: ignore[attr-defined]
    kpi_goals: dict[int, list[Goal]] = defaultdict(list)
    for g in goals:
        kpi_goals[g.kpi_id].append(g)
    graph = StrategyMap()
    placed: dict[int, MapNode] = {}

    def kpi_node(d: KpiDefinition, layer: int, group: str = "") -> MapNode:
        if d.pk in placed:
            return placed[d.pk]
        goal = headline_goal(kpi_goals.get(d.pk, []))
        status = GoalStatus(goal.status) if goal else None
        detail = f"Goal: {STATUS_LABELS[status]}" if status else "No goal"
        node = MapNode(
            f"kpi-{d.kpi_id}",
            "kpi",
            _name(d),
            detail,
            TONE[status] if status else "none",
            reverse("kpi_detail", args=[d.kpi_id]),
            layer,
            status.value if status else "",
            group,
        )
        placed[d.pk] = node
        graph.nodes.append(node)
        return node

    for n in nodes:
        o = n.objective
        company = o.department_id is None
        tone = n.tone
        where = o.department.name if o.department else "Company"
        owner = o.owner.user.username if o.owner else "no owner"
        graph.nodes.append(
            MapNode(
                f"obj-{o.pk}",
                "objective",
                o.title,
                f"{where} · {owner}",
                tone,
                reverse("objective_detail", args=[o.pk]),
                0 if company else 2,
            )
        )
        if o.parent_id and any(x.objective.pk == o.parent_id for x in nodes):
            graph.edges.append(MapEdge(f"obj-{o.pk}", f"obj-{o.parent_id}", "serves"))
    for n in nodes:
        company = n.objective.department_id is None
        for line in n.kpis:
            node = kpi_node(line.definition, 1 if company else 3, f"obj-{n.objective.pk}")
            graph.edges.append(MapEdge(f"obj-{n.objective.pk}", node.key, "measures"))
    for rel in Relationship.objects.filter(org=request.org, source_id__in=visible, target_id__in=visible):  # type: ignore[attr-defined]
        source = kpi_node(visible[rel.source_id], 3)
        target = kpi_node(visible[rel.target_id], 3)
        graph.edges.append(MapEdge(source.key, target.key, rel.kind))
    graph.nodes.sort(key=lambda x: x.layer)
    return graph


@member_required()
@require_safe
def strategy_map(request: HttpRequest) -> HttpResponse:
    graph = build_map(request)
    labels = {n.key: n.label for n in graph.nodes}
    context = {
        "graph": graph,
        "wide": render_svg(graph, 4) if graph.nodes else "",
        "narrow": render_svg(graph, 2) if graph.nodes else "",
        "layers": [(LAYER_TITLES[layer[0].layer], layer) for layer in graph.by_layer()],
        "edges": [(labels[e.source], EDGE_WORDS[e.kind], labels[e.target]) for e in graph.edges],
    }
    return render(request, "strategy/map.html", context)


@member_required()
@require_safe
def department_page(request: HttpRequest, department_id: int) -> HttpResponse:
    """A department's objectives, KPIs, goals and who owns them (accountability)."""
    member = request.member  # type: ignore[attr-defined]
    department = get_object_or_404(Department, org=member.org, pk=department_id)
    scoped = member.department_ids()
    if scoped is not None and department.pk not in scoped:
        raise Http404("Not one of your departments")
    objectives = [o for o in _objectives(request) if o.department_id == department.pk]
    nodes = objective_nodes(request, objectives)
    kpis = list(visible_kpis(member).filter(department=department).select_related("owner__user"))
    goals = fresh_statuses(
        request.org, list(visible_goals(member).filter(kpi__department=department).select_related("kpi", "objective"))
    )  # type: ignore[attr-defined]
    by_kpi: dict[int, list[Goal]] = defaultdict(list)
    for g in goals:
        by_kpi[g.kpi_id].append(g)
    rows = [{"definition": d, "name": _name(d), "goal": headline_goal(by_kpi.get(d.pk, []))} for d in kpis]
    context = {
        "department": department,
        "nodes": nodes,
        "rows": rows,
        "goals": goals,
        "can_edit": can_edit_department(member, department.pk),
        "owners": sorted(
            {d.owner.user.username for d in kpis if d.owner}
            | {n.objective.owner.user.username for n in nodes if n.objective.owner}
        ),
    }
    return render(request, "strategy/department.html", context)


@member_required()
@require_http_methods(["GET", "POST"])
def relationships(request: HttpRequest) -> HttpResponse:
    member = request.member  # type: ignore[attr-defined]
    form = RelationshipForm(request.POST or None, member=member)
    if request.method == "POST":
        raw = request.POST.get("source", "")
        found = KpiDefinition.objects.filter(org=member.org, pk=int(raw)).first() if raw.isdigit() else None
        if found:
            require_kpi(member, found)
        if form.is_valid():
            rel = form.save(commit=False)
            rel.org = member.org
            rel.save()
            messages.success(request, f"{_name(rel.source)} {rel.get_kind_display()} {_name(rel.target)}.")
            return redirect("relationships")
    visible = {d.pk: d for d in visible_kpis(member)}
    overrides = dict(IndicatorOverride.objects.filter(kpi_id__in=visible).values_list("kpi_id", "indicator"))
    context = {
        "form": form,
        "relationships": [
            {
                "rel": r,
                "source": _name(visible[r.source_id]),
                "target": _name(visible[r.target_id]),
                "can_edit": can_edit_department(member, visible[r.source_id].department_id),
            }
            for r in Relationship.objects.filter(org=member.org, source_id__in=visible, target_id__in=visible)
        ],
        "kpis": [
            {
                "definition": d,
                "name": _name(d),
                "lagging": is_lagging(d, overrides),
                "overridden": d.pk in overrides,
                "can_edit": can_edit_department(member, d.department_id),
            }
            for d in visible.values()
        ],
    }
    return render(request, "strategy/relationships.html", context)


@member_required(Role.EDITOR)
@require_POST
def relationship_delete(request: HttpRequest, relationship_id: int) -> HttpResponse:
    member = request.member  # type: ignore[attr-defined]
    rel = get_object_or_404(Relationship.objects.select_related("source", "target"), org=member.org, pk=relationship_id)
    require_department(member, rel.source.department_id, "relationships")
    rel.delete()
    messages.success(request, f"Relationship {_name(rel.source)} → {_name(rel.target)} removed.")
    return redirect("relationships")


@member_required(Role.EDITOR)
@require_POST
def kpi_indicator(request: HttpRequest, kpi_id: str) -> HttpResponse:
    """Flag a KPI leading or lagging for this business (the spec's flag is the default)."""
    member = request.member  # type: ignore[attr-defined]
    definition = get_object_or_404(visible_kpis(member), kpi_id=kpi_id)
    require_kpi(member, definition)
    wanted = request.POST.get("indicator", "")
    if wanted not in ("leading", "lagging"):
        messages.error(request, "Choose leading or lagging.")
    elif wanted == definition.spec.get("indicator", "lagging"):
        IndicatorOverride.objects.filter(kpi=definition).delete()
        messages.success(request, f"{_name(definition)} is {wanted} (as its definition says).")
    else:
        IndicatorOverride.objects.update_or_create(kpi=definition, defaults={"org": member.org, "indicator": wanted})
        messages.success(request, f"{_name(definition)} is now flagged {wanted}.")
    return redirect("relationships")

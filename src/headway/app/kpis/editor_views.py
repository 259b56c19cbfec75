"""The KPI editor: write a custom KPI in YAML with live validation and a preview of its series."""

from __future__ import annotations

import yaml
from django.contrib import messages
from django.db import transaction
from django.db.models import Max
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from headway.app.accounts.models import Organization, Role
from headway.app.accounts.tenancy import member_required, visible_kpis
from headway.app.kpis.editor_checks import EXAMPLE_SPEC, Check, check_spec, schema_help, spec_text
from headway.app.kpis.models import KpiDefinition, KpiSource
from headway.app.kpis.refresh import start_refresh
from headway.engine.catalog import load_catalog
from headway.engine.validation import kpi_references


def _department(org: Organization, value: str | None):  # type: ignore[no-untyped-def]
    if not value:
        return None
    try:
        return org.departments.get(pk=int(value))
    except (ValueError, org.departments.model.DoesNotExist):
        return None


def _copy_text(kpi_id: str, request: HttpRequest) -> str:
    """A catalog (or org) KPI as the starting point of a custom one, under a new id."""
    org = request.org  # type: ignore[attr-defined]
    definition = visible_kpis(request.member).filter(kpi_id=kpi_id).first()  # type: ignore[attr-defined]
    catalog = load_catalog()
    if definition is not None:
        spec = dict(definition.spec)
    elif kpi_id in catalog:
        spec = KpiDefinition.spec_json(catalog.get(kpi_id))
    else:
        raise Http404(f"no KPI '{kpi_id}'")
    new_id = f"{kpi_id}_custom"[:64]
    taken = set(KpiDefinition.objects.filter(org=org).values_list("kpi_id", flat=True))
    n = 2
    while new_id in taken:
        new_id = f"{kpi_id}_custom{n}"[:64]
        n += 1
    spec = {
        "id": new_id,
        "name": f"{spec.get('name', kpi_id)} (custom)",
        **{k: v for k, v in spec.items() if k not in ("id", "name")},
    }
    return f"# A copy of '{kpi_id}' to change as you like.\n" + yaml.safe_dump(
        spec, sort_keys=False, allow_unicode=True, width=100
    )


def _editor(request: HttpRequest, definition: KpiDefinition | None, text: str, department: str, check: Check | None):
    org = request.org  # type: ignore[attr-defined]
    context = {
        "definition": definition,
        "text": text,
        "department": department,
        "departments": org.departments.all(),
        "datasets": schema_help(org),
        "check": check,
    }
    status = 400 if check is not None and not check.ok else 200
    return render(request, "kpis/editor.html", context, status=status)


def _save(request: HttpRequest, definition: KpiDefinition | None) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    text = request.POST.get("spec", "")
    department = request.POST.get("department", "")
    check = check_spec(text, org, editing=definition.kpi_id if definition else None)
    if not check.ok:
        return _editor(request, definition, text, department, check)
    kpi = check.kpi
    assert kpi is not None
    with transaction.atomic():
        if definition is None:
            last = KpiDefinition.objects.filter(org=org).aggregate(last=Max("position"))["last"]
            definition = KpiDefinition(org=org, source=KpiSource.CUSTOM, position=0 if last is None else last + 1)
        definition.kpi_id = kpi.id
        definition.spec = KpiDefinition.spec_json(kpi)
        definition.department = _department(org, department)
        definition.save()
    start_refresh(org, request.user)
    messages.success(request, f"Saved {kpi.name}; its numbers are being computed.")
    return redirect("scorecard")


@member_required(Role.EDITOR)
def kpi_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _save(request, None)
    source = request.GET.get("from", "")
    text = _copy_text(source, request) if source else EXAMPLE_SPEC
    return _editor(request, None, text, "", None)


def _custom_kpi(request: HttpRequest, kpi_id: str) -> KpiDefinition:
    """The org's KPI with this id, as this member may see it (another org's id is simply not found)."""
    return get_object_or_404(visible_kpis(request.member), kpi_id=kpi_id)  # type: ignore[attr-defined]


@member_required(Role.EDITOR)
def kpi_edit(request: HttpRequest, kpi_id: str) -> HttpResponse:
    definition = _custom_kpi(request, kpi_id)
    if definition.source != KpiSource.CUSTOM:
        return render(request, "kpis/editor_catalog.html", {"definition": definition})
    if request.method == "POST":
        return _save(request, definition)
    department = str(definition.department_id or "")
    return _editor(request, definition, spec_text(definition), department, None)


@require_POST
@member_required(Role.EDITOR)
def kpi_validate(request: HttpRequest) -> HttpResponse:
    """The live check behind the editor (htmx): the errors, or a preview of the series."""
    editing = request.POST.get("editing") or None
    if editing and not visible_kpis(request.member).filter(kpi_id=editing, source=KpiSource.CUSTOM).exists():  # type: ignore[attr-defined]
        editing = None
    check = check_spec(request.POST.get("spec", ""), request.org, editing=editing)  # type: ignore[attr-defined]
    return render(request, "kpis/editor_result.html", {"check": check})


@require_POST
@member_required(Role.EDITOR)
def kpi_delete(request: HttpRequest, kpi_id: str) -> HttpResponse:
    definition = _custom_kpi(request, kpi_id)
    if definition.source != KpiSource.CUSTOM:
        raise Http404("only custom KPIs are deleted here")
    org = request.org  # type: ignore[attr-defined]
    users = [
        d.kpi_id
        for d in KpiDefinition.objects.filter(org=org).exclude(pk=definition.pk)
        if any(ref == kpi_id for _, ref in kpi_references(d.to_spec()))
    ]
    if users:
        messages.error(request, f"{kpi_id} is used by {', '.join(sorted(users))}; change those first.")
        return redirect("kpi_edit", kpi_id=kpi_id)
    definition.delete()
    start_refresh(org, request.user)
    messages.success(request, f"Deleted {kpi_id}.")
    return redirect("scorecard")

"""The catalog page: browse and search the KPI library, see what the org's data can compute, add a KPI in a click."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.db.models import Max
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from headway.app.accounts.models import Organization, Role
from headway.app.accounts.tenancy import member_required
from headway.app.kpis.models import KpiDefinition, KpiSource
from headway.app.kpis.refresh import open_engine, start_refresh
from headway.engine.catalog import Catalog, computable, load_catalog
from headway.engine.spec import Category, Kpi, Unit

CATEGORY_TITLES = {
    Category.FINANCIAL: "Financial",
    Category.CUSTOMER: "Customer",
    Category.OPERATIONAL: "Operational",
    Category.MARKETING_SALES: "Marketing and sales",
    Category.PEOPLE: "People",
    Category.ESG: "Environment, social, governance",
    Category.INNOVATION_STRATEGY: "Innovation and strategy",
    Category.RISK_SECURITY: "Risk and security",
}


@dataclass(frozen=True)
class CatalogRow:
    kpi: Kpi
    computable: bool
    missing: tuple[str, ...]
    """``dataset.column`` names the org's data lacks (a whole dataset as ``dataset``)."""
    on_scorecard: bool
    added: bool = False

    @property
    def unit(self) -> str:
        # An owner reads "money" more easily than "currency"; the amount is in the org's own currency.
        return "money" if self.kpi.unit is Unit.CURRENCY else self.kpi.unit.label


def available_columns(org: Organization) -> dict[str, set[str]]:
    """Dataset -> columns present in the org's warehouse."""
    hw = open_engine(org, {})
    try:
        return {dataset: set(columns) for dataset, columns in hw.schema.items()}
    finally:
        hw.close()


def missing_names(missing: dict[str, set[str]]) -> tuple[str, ...]:
    names: list[str] = []
    for dataset in sorted(missing):
        columns = sorted(missing[dataset])
        names += [f"{dataset}.{c}" for c in columns] if columns else [dataset]
    return tuple(names)


def catalog_row(kpi: Kpi, catalog: Catalog, available: dict[str, set[str]], on_scorecard: bool) -> CatalogRow:
    ok, missing = computable(kpi, available, catalog)
    return CatalogRow(kpi, ok, missing_names(missing), on_scorecard)


def _category(value: str) -> Category | None:
    try:
        return Category(value)
    except ValueError:
        return None


@member_required()
def catalog(request: HttpRequest) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    lib = load_catalog()
    q = request.GET.get("q", "").strip()[:200]
    category = _category(request.GET.get("category", ""))
    available = available_columns(org)
    on_scorecard = set(KpiDefinition.objects.filter(org=org).values_list("kpi_id", flat=True))
    groups: dict[Category, list[CatalogRow]] = {}
    for kpi in lib.search(q):
        if category is None or kpi.category is category:
            groups.setdefault(kpi.category, []).append(catalog_row(kpi, lib, available, kpi.id in on_scorecard))
    ordered = [(c, CATEGORY_TITLES.get(c, c.value), groups[c]) for c in Category if c in groups]
    context = {
        "groups": ordered,
        "q": q,
        "category": category.value if category else "",
        "categories": [(c.value, CATEGORY_TITLES.get(c, c.value)) for c in Category],
        "count": sum(len(rows) for rows in groups.values()),
        "total": len(lib),
        "has_data": bool(available),
    }
    htmx = request.htmx  # type: ignore[attr-defined]
    partial = htmx and not htmx.history_restore_request  # a restored history entry needs the whole page
    template = "kpis/catalog_results.html" if partial else "kpis/catalog.html"
    return render(request, template, context)


@require_POST
@member_required(Role.EDITOR)
def catalog_add(request: HttpRequest, kpi_id: str) -> HttpResponse:
    """Add one catalog KPI to the org's scorecard (KPIs it refers to come from the catalog when computing)."""
    org = request.org  # type: ignore[attr-defined]
    lib = load_catalog()
    if kpi_id not in lib:
        raise Http404(f"no catalog KPI '{kpi_id}'")
    kpi = lib.get(kpi_id)
    exists = KpiDefinition.objects.filter(org=org, kpi_id=kpi_id).exists()
    if not exists:
        last = KpiDefinition.objects.filter(org=org).aggregate(last=Max("position"))["last"]
        department = org.departments.filter(name__iexact=kpi.department).first() if kpi.department else None
        KpiDefinition.objects.create(
            org=org,
            kpi_id=kpi_id,
            spec=KpiDefinition.spec_json(kpi),
            source=KpiSource.CATALOG,
            department=department,
            position=0 if last is None else last + 1,
        )
        start_refresh(org, request.user)
    if request.htmx:  # type: ignore[attr-defined]
        row = catalog_row(kpi, lib, available_columns(org), True)
        row = CatalogRow(row.kpi, row.computable, row.missing, True, added=not exists)
        return render(request, "kpis/catalog_row.html", {"row": row})
    if exists:
        messages.info(request, f"{kpi.name} is already on your scorecard.")
    else:
        messages.success(request, f"Added {kpi.name} to your scorecard; its numbers are being computed.")
    return redirect(reverse("catalog") + f"#kpi-{kpi_id}")

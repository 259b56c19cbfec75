"""Freshness: how recent each dataset's and each KPI's data is, and which KPIs are stale.

A KPI is *stale* while a source feeding one of the datasets it reads is failing: its
last good numbers stay on the scorecard with a "stale" badge and the reason, instead of
numbers computed from half-loaded data. The stale set is stored (``StaleKpi``), so the
scorecard reads it in one query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction

from headway.app.accounts.models import Organization
from headway.app.kpis.models import Dataset, KpiDefinition
from headway.app.sources.models import Source, SourceKind, SourceStatus, StaleKpi
from headway.engine.catalog import Catalog, load_catalog, required_fields


def source_datasets(source: Source) -> list[str]:
    """The warehouse tables a source writes (a SaaS connector writes one per canonical type it produces)."""
    if source.kind == SourceKind.SAAS:
        from headway.ingest import connectors

        name = str(source.config.get("connector", ""))
        try:
            return list(connectors.get(name).info.datasets)
        except connectors.ConnectorError:
            return []
    return [source.dataset] if source.dataset else []


def kpi_datasets(org: Organization) -> dict[str, set[str]]:
    """KPI id -> the datasets it reads (following the KPIs it is computed from)."""
    definitions = {d.kpi_id: d.to_spec() for d in KpiDefinition.objects.filter(org=org)}
    catalog = load_catalog()
    known = Catalog(kpis={**catalog.kpis, **definitions}, sources=catalog.sources)
    out: dict[str, set[str]] = {}
    for kpi_id, spec in definitions.items():
        try:
            out[kpi_id] = set(required_fields(spec, known))
        except KeyError:  # a reference to a KPI that no longer exists: it reads nothing we know of
            out[kpi_id] = set()
    return out


def kpis_reading(org: Organization, datasets: set[str]) -> list[str]:
    return sorted(k for k, ds in kpi_datasets(org).items() if ds & datasets)


@transaction.atomic
def mark_stale(source: Source, reason: str) -> list[str]:
    """Mark the KPIs reading the source's datasets stale with ``reason``; returns their ids."""
    kpi_ids = kpis_reading(source.org, set(source_datasets(source)))
    # New rows (new ids) on every failure, so the scorecard's cache key changes with the reason.
    StaleKpi.objects.filter(source=source).delete()
    StaleKpi.objects.bulk_create([StaleKpi(org=source.org, source=source, kpi_id=k, reason=reason) for k in kpi_ids])
    return kpi_ids


def clear_stale(source: Source) -> None:
    StaleKpi.objects.filter(source=source).delete()


def stale_kpis(org: Organization) -> dict[str, str]:
    """KPI id -> why its numbers may be out of date (one query)."""
    out: dict[str, str] = {}
    for kpi_id, name, reason in StaleKpi.objects.filter(org=org).values_list("kpi_id", "source__name", "reason"):
        text = f"Source “{name}” failed: {reason}"
        out[kpi_id] = f"{out[kpi_id]} {text}" if kpi_id in out else text
    return out


@dataclass(frozen=True)
class DatasetFreshness:
    dataset: Dataset
    sources: list[Source]
    loaded_at: datetime
    data_as_of: date | None
    failing: list[Source]


def dataset_freshness(org: Organization) -> list[DatasetFreshness]:
    """Every dataset with the sources feeding it, when it was last loaded and its last date of data."""
    sources = list(Source.objects.filter(org=org))
    feeding: dict[str, list[Source]] = {}
    for s in sources:
        for name in source_datasets(s):
            feeding.setdefault(name, []).append(s)
    out = []
    for d in Dataset.objects.filter(org=org):
        srcs = feeding.get(d.name, [])
        failing = [s for s in srcs if s.status == SourceStatus.FAILING]
        out.append(DatasetFreshness(d, srcs, d.updated_at, d.last_date, failing))
    return out


@dataclass(frozen=True)
class KpiFreshness:
    kpi_id: str
    name: str
    datasets: list[str]
    data_as_of: date | None
    """The earliest last date among the datasets it reads: the KPI is only as fresh as its oldest input."""
    stale_reason: str


def kpi_freshness(org: Organization) -> list[KpiFreshness]:
    last_dates = dict(Dataset.objects.filter(org=org).values_list("name", "last_date"))
    stale = stale_kpis(org)
    names = {d.kpi_id: d.to_spec().name for d in KpiDefinition.objects.filter(org=org)}
    out = []
    for kpi_id, datasets in sorted(kpi_datasets(org).items()):
        dates = [last_dates[d] for d in datasets if last_dates.get(d) is not None]
        out.append(
            KpiFreshness(kpi_id, names[kpi_id], sorted(datasets), min(dates) if dates else None, stale.get(kpi_id, ""))
        )
    return out

"""Reading the series store: the values the pages show, from the organisation's current run only.

Pages never read the warehouse: everything here is a query on ``SeriesPoint`` of the
run the organisation points at, so a page is fast whatever the data size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from django.db.models import Q

from headway.app.accounts.models import Organization
from headway.app.kpis.models import Run, SeriesPoint
from headway.app.kpis.refresh import BREAKDOWN_GRAIN, GRAINS
from headway.engine.periods import periods_per_year, shift
from headway.engine.spec import Grain, Kpi

Series = dict[date, float | None]


def shown_grain(kpi: Kpi) -> Grain:
    """The grain a KPI is scored at: its default one when the store has it, else month."""
    return kpi.default_grain if kpi.default_grain.value in GRAINS else Grain.MONTH


def parse_grain(value: str | None, default: Grain) -> Grain:
    return Grain(value) if value in GRAINS else default


def scoring_start(as_of: date | None, grain: Grain, window: int) -> date | None:
    """The first period a score needs: a year before the oldest of the last ``window`` periods, plus slack."""
    if as_of is None:
        return None
    return shift(as_of.replace(day=1), -(periods_per_year(grain) + window + 2), grain)


def totals(
    run: Run | None, wanted: Iterable[tuple[str, Grain]], since: dict[Grain, date | None] | None = None
) -> dict[tuple[str, Grain], Series]:
    """Total (no dimension) series of each (kpi id, grain), in one query; from ``since[grain]`` on if given."""
    by_grain: dict[Grain, list[str]] = defaultdict(list)
    for kpi_id, grain in wanted:
        by_grain[grain].append(kpi_id)
    out: dict[tuple[str, Grain], Series] = {(k, g): {} for g, ids in by_grain.items() for k in ids}
    if run is None or not by_grain:
        return out
    match = Q()
    for grain, ids in by_grain.items():
        start = (since or {}).get(grain)
        match |= Q(grain=grain.value, kpi_id__in=ids, **({"period__gte": start} if start else {}))
    rows = (
        SeriesPoint.objects.filter(match, run=run, dimension="")
        .order_by("period")
        .values_list("kpi_id", "grain", "period", "value")
    )
    for kpi_id, grain, period, value in rows:
        out[(kpi_id, Grain(grain))][period] = value
    return out


def total(run: Run | None, kpi_id: str, grain: Grain) -> Series:
    return totals(run, [(kpi_id, grain)])[(kpi_id, grain)]


def dimensions(run: Run | None, kpi_id: str) -> list[str]:
    """The dimensions the store holds a breakdown of this KPI by."""
    if run is None:
        return []
    found = SeriesPoint.objects.filter(run=run, kpi_id=kpi_id).exclude(dimension="").values_list("dimension", flat=True)
    return sorted(set(found))


def breakdown(run: Run | None, kpi_id: str, dimension: str) -> dict[str, Series]:
    """Dimension value -> its monthly series."""
    out: dict[str, Series] = defaultdict(dict)
    if run is None or not dimension:
        return out
    rows = (
        SeriesPoint.objects.filter(run=run, kpi_id=kpi_id, grain=BREAKDOWN_GRAIN, dimension=dimension)
        .order_by("period", "dim_value")
        .values_list("dim_value", "period", "value")
    )
    for dim_value, period, value in rows:
        out[dim_value][period] = value
    return out


def current_run(org: Organization) -> Run | None:
    return org.current_run if org.current_run_id else None

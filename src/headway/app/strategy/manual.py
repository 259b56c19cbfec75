"""Hand-entered KPI values: saving one keeps every earlier entry, and a refresh puts the current ones
into the series store (at the KPI's grain, and averaged into the coarser grains the store keeps)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from django.db import transaction

from headway.app.accounts.models import Organization
from headway.app.kpis.models import KpiDefinition, SeriesPoint
from headway.app.strategy.models import ManualValue
from headway.engine.periods import truncate
from headway.engine.spec import Grain, Kpi

# Grains from finest to coarsest, as the series store keeps them.
ORDER = (Grain.WEEK, Grain.MONTH, Grain.QUARTER)


@transaction.atomic
def save_manual_value(
    definition: KpiDefinition, grain: Grain, period: date, value: float, note: str, user
) -> ManualValue:  # type: ignore[no-untyped-def]
    """The new current value for the period; the one it replaces stays as history."""
    ManualValue.objects.select_for_update().filter(
        kpi=definition, grain=grain.value, period=period, is_current=True
    ).update(is_current=False)
    return ManualValue.objects.create(
        org=definition.org,
        kpi=definition,
        grain=grain.value,
        period=period,
        value=value,
        note=note,
        entered_by=user if user and user.is_authenticated else None,
    )


def manual_points(
    org: Organization, kpis: dict[str, Kpi], grains: tuple[str, ...]
) -> tuple[list[SeriesPoint], set[str]]:
    """Series points of the manual KPIs' current values, and the ids of the KPIs that have any."""
    rows = ManualValue.objects.filter(org=org, is_current=True, kpi__kpi_id__in=list(kpis)).values_list(
        "kpi__kpi_id", "grain", "period", "value"
    )
    entered: dict[str, dict[date, float]] = defaultdict(dict)
    entry_grain: dict[str, Grain] = {}
    for kpi_id, grain, period, value in rows:
        entered[kpi_id][period] = value
        entry_grain[kpi_id] = Grain(grain)
    calendar = org.calendar()
    points: list[SeriesPoint] = []
    for kpi_id, values in entered.items():
        base = entry_grain[kpi_id]
        for grain in (Grain(g) for g in grains):
            if grain is base:
                by_period = {p: [v] for p, v in values.items()}
            elif grain in ORDER and base in ORDER and ORDER.index(grain) > ORDER.index(base):
                by_period = defaultdict(list)
                for p, v in values.items():
                    by_period[truncate(p, grain, calendar)].append(v)
            else:
                continue  # a finer grain than the values were entered at cannot be made up
            points += [
                SeriesPoint(
                    kpi_id=kpi_id, grain=grain.value, period=p, dimension="", dim_value="", value=sum(vs) / len(vs)
                )
                for p, vs in sorted(by_period.items())
            ]
    return points, set(entered)

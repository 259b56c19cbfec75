"""What the KPI detail page shows: trend, comparison, breakdown, related KPIs, formula and SQL."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
import yaml
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from headway.analytics.anomalies import Anomaly, detect_anomalies
from headway.app.accounts.models import Organization
from headway.app.kpis.cards import change_view
from headway.app.kpis.charts import breakdown_spec, trend_spec
from headway.app.kpis.formatting import currency_symbol, format_kpi_value, period_label, short_period_label
from headway.app.kpis.models import KpiDefinition
from headway.app.kpis.refresh import open_engine
from headway.app.kpis.series import Series, breakdown, current_run, total
from headway.engine.catalog import dependencies
from headway.engine.periods import shift
from headway.engine.scoring import Compare, comparison_period, decimals_for, delta, is_complete
from headway.engine.spec import Grain, Kpi, Manual, Unit

log = logging.getLogger(__name__)

COMPARE_CHOICES = (
    ("previous", "Previous period"),
    ("year_ago", "Same period last year"),
    ("none", "No comparison"),
)
GRAIN_CHOICES = ((Grain.WEEK, "Week"), (Grain.MONTH, "Month"), (Grain.QUARTER, "Quarter"))


def parse_compare(value: str | None) -> str:
    return value if value in dict(COMPARE_CHOICES) else "previous"


def unit_title(kpi: Kpi, org: Organization) -> str:
    if kpi.unit is Unit.CURRENCY:
        return f"{kpi.name} ({currency_symbol(org.currency)})"
    return f"{kpi.name} ({kpi.unit.label})"


def inline_code(markdown: str) -> SafeString:
    """describe_metric's one line of Markdown: only `code` spans, the rest escaped."""
    return mark_safe(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(markdown))))


def trend(kpi: Kpi, org: Organization, grain: Grain, compare: str) -> dict[str, Any]:
    """The series at ``grain`` for the chart and its table, with the chosen comparison."""
    run = current_run(org)
    series = total(run, kpi.id, grain)
    as_of = run.data_as_of if run else None
    locale, currency = org.locale, org.currency
    compare_label = dict(COMPARE_CHOICES)[compare]
    rows: list[dict[str, Any]] = []
    points: list[dict[str, Any]] = []
    for period, value in series.items():
        partial = not is_complete(period, grain, as_of)
        label = short_period_label(period, grain) + (" (so far)" if partial else "")
        shown = format_kpi_value(kpi, value, locale, currency)
        row: dict[str, Any] = {"period": period, "label": label, "value": shown, "partial": partial}
        points.append(
            {"period": period.isoformat(), "series": kpi.name, "value": value, "shown": shown, "label": label}
            | {"partial": partial}
        )
        if compare != "none":
            other = series.get(comparison_period(period, grain, Compare(compare)))
            row["comparison"] = format_kpi_value(kpi, other, locale, currency)
            row["change"] = change_view(None if partial else delta(kpi, value, other), locale, compare_label.lower())
            if other is not None and not partial:
                points.append(
                    {
                        "period": period.isoformat(),
                        "series": compare_label,
                        "value": other,
                        "shown": format_kpi_value(kpi, other, locale, currency),
                        "label": label,
                        "partial": False,
                    }
                )
        rows.append(row)
    unusual = _anomalies(series, grain, as_of)
    for point in points:
        found = unusual.get(point["period"]) if point["series"] == kpi.name else None
        if found is not None:
            point["anomaly"] = _surprise_text(kpi, found, locale, currency)
    for row in rows:
        found = unusual.get(row["period"].isoformat())
        row["anomaly"] = _surprise_text(kpi, found, locale, currency) if found is not None else ""
    spec = trend_spec(points, kpi, decimals_for(kpi), unit_title(kpi, org)) if series else None
    return {
        "grain": grain,
        "grains": GRAIN_CHOICES,
        "compare": compare,
        "compare_label": compare_label,
        "compares": COMPARE_CHOICES,
        "rows": rows[::-1],
        "points": len(series),
        "spec": spec,
        "has_partial": any(r["partial"] for r in rows),
        "anomalies": [r for r in rows[::-1] if r["anomaly"]],
    }


SEASONS = {Grain.WEEK: 52, Grain.MONTH: 12, Grain.QUARTER: 4}


def _anomalies(series: Series, grain: Grain, as_of: date | None) -> dict[str, Anomaly]:
    """Complete periods outside the KPI's robust seasonal band (headway.analytics.anomalies), by ISO date."""
    complete = {p: v for p, v in series.items() if v is not None and is_complete(p, grain, as_of)}
    if not complete:
        return {}
    y = pd.Series(complete, dtype=float)
    y.index = pd.DatetimeIndex(list(complete))
    try:
        found = detect_anomalies(y, season_length=SEASONS.get(grain))
    except ValueError:  # too short a history to judge what is unusual
        return {}
    return {a.period.date().isoformat(): a for a in found}


def _surprise_text(kpi: Kpi, a: Anomaly, locale: str, currency: str) -> str:
    direction = "above" if a.surprise > 0 else "below"
    amount = format_kpi_value(kpi, abs(a.surprise), locale, currency)
    expected = format_kpi_value(kpi, a.expected, locale, currency)
    return f"Unusual: {amount} {direction} the expected {expected}"


def latest_period(periods: list[date], grain: Grain, as_of: date | None) -> tuple[date | None, bool]:
    """The latest complete period, else the partial one (and whether it is partial)."""
    complete = [p for p in periods if is_complete(p, grain, as_of)]
    if complete:
        return complete[-1], False
    return (periods[-1], True) if periods else (None, False)


def dimension_breakdown(kpi: Kpi, org: Organization, dimension: str) -> dict[str, Any]:
    """The KPI per value of ``dimension`` for the latest complete month (breakdowns are stored monthly)."""
    run = current_run(org)
    data = breakdown(run, kpi.id, dimension)
    as_of = run.data_as_of if run else None
    periods = sorted({p for s in data.values() for p in s})
    period, partial = latest_period(periods, Grain.MONTH, as_of)
    if period is None:
        return {"dimension": dimension, "rows": [], "spec": None, "period_label": ""}
    label = period_label(period, Grain.MONTH) + (" so far" if partial else "")
    previous = shift(period, -1, Grain.MONTH)
    locale, currency = org.locale, org.currency
    rows = []
    for name, series in data.items():
        value, before = series.get(period), series.get(previous)
        if value is None and before is None:
            continue  # a value only other datasets have (a marketing channel no order came through)
        rows.append(
            {
                "name": name or "(none)",
                "value": value,
                "shown": format_kpi_value(kpi, value, locale, currency),
                "previous": format_kpi_value(kpi, before, locale, currency),
                "change": change_view(None if partial else delta(kpi, value, before), locale, "the previous month"),
            }
        )
    rows.sort(key=lambda r: (r["value"] is None, -(r["value"] or 0)))
    bars = [{"name": r["name"], "value": r["value"], "shown": r["shown"]} for r in rows if r["value"] is not None]
    spec = breakdown_spec(bars, kpi, decimals_for(kpi), dimension, label) if bars else None
    return {"dimension": dimension, "rows": rows, "spec": spec, "period_label": label, "partial": partial}


@dataclass(frozen=True)
class Related:
    title: str
    explanation: str
    kpis: list[tuple[str, str]]
    """(id, name) of the org's KPIs the member can see."""


def related_kpis(kpi: Kpi, visible: list[KpiDefinition]) -> list[Related]:
    """Guardrails, inputs and dependants of the KPI, limited to the KPIs the member can see."""
    specs = {d.kpi_id: d.to_spec() for d in visible}
    names = {k: s.name for k, s in specs.items()}

    def pick(ids: list[str]) -> list[tuple[str, str]]:
        return [(i, names[i]) for i in dict.fromkeys(ids) if i in names and i != kpi.id]

    used_by = [k for k, s in specs.items() if kpi.id in dependencies(s)]
    guarding = [k for k, s in specs.items() if kpi.id in s.guardrails]
    groups = [
        Related("Guardrails", "Watch these so improving this KPI does not hurt elsewhere.", pick(list(kpi.guardrails))),
        Related("Computed from", "This KPI's formula uses these KPIs.", pick(dependencies(kpi))),
        Related("Used by", "These KPIs are computed from this one.", pick(used_by)),
        Related("Guardrail for", "This KPI keeps watch over these.", pick(guarding)),
    ]
    return [g for g in groups if g.kpis]


def spec_yaml(definition: KpiDefinition) -> str:
    return yaml.safe_dump(definition.spec, sort_keys=False, allow_unicode=True, width=100)


def generated_sql(org: Organization, kpi: Kpi, grain: Grain) -> tuple[str, str]:
    """(SQL, '') in DuckDB's dialect for analysts, or ('', why not)."""
    if isinstance(kpi.metric, Manual):
        return "", "This KPI is entered by hand: there is no SQL."
    try:
        hw = open_engine(org)
    except Exception as exc:  # a missing or locked warehouse must not break the page
        log.warning("cannot open the warehouse of org %s: %s", org.pk, exc)
        return "", "The data warehouse could not be opened right now; try again later."
    try:
        sql = hw.sql(kpi.id, dialect="duckdb", grain=grain)
        return (sql, "") if sql else ("", "There is no data for this KPI yet, so there is no query to show.")
    except Exception as exc:  # compile errors name the problem; show it rather than fail the page
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return "", f"The SQL could not be generated: {message}"
    finally:
        hw.close()

"""Scorecard cards: what a KPI's card says, built from the series store and scored by the engine's rules."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from headway.app.accounts.models import Organization
from headway.app.kpis.charts import sparkline_svg
from headway.app.kpis.formatting import format_delta, format_kpi_value, format_number, period_label
from headway.app.kpis.models import KpiDefinition, Run
from headway.app.kpis.series import Series, scoring_start, shown_grain, totals
from headway.engine.scoring import Delta, Score, Status, score
from headway.engine.spec import Category, Direction, Grain, Kpi

STATUS_LABELS = {Status.GOOD: "On track", Status.WARNING: "At risk", Status.BAD: "Off track"}

CATEGORY_LABELS = {
    Category.FINANCIAL: "Financial",
    Category.CUSTOMER: "Customer",
    Category.OPERATIONAL: "Operational",
    Category.MARKETING_SALES: "Marketing & sales",
    Category.PEOPLE: "People",
    Category.ESG: "ESG",
    Category.INNOVATION_STRATEGY: "Innovation & strategy",
    Category.RISK_SECURITY: "Risk & security",
}

SPARK_PERIODS = 12
CARD_CACHE_VERSION = 1  # bump when a card's markup changes, so no cache serves the old one
CARD_CACHE_SECONDS = 24 * 3600

GRAIN_NOUNS = {Grain.WEEK: "weeks", Grain.MONTH: "months", Grain.QUARTER: "quarters"}


@dataclass(frozen=True)
class ChangeView:
    text: str
    tone: str
    """better / worse / flat / none: the CSS class (the text and a word for screen readers say the same)."""
    label: str
    arrow: str = ""


def change_view(d: Delta | None, locale: str, against: str) -> ChangeView:
    if d is None:
        return ChangeView("–", "none", f"No {against} value to compare with")
    tone = "flat" if d.better is None else "better" if d.better else "worse"
    word = {"flat": "no change", "better": "better", "worse": "worse"}[tone]
    arrow = "▲" if d.amount > 0 else "▼" if d.amount < 0 else "■"
    return ChangeView(format_delta(d, locale), tone, f"{word} than {against}", arrow)


@dataclass(frozen=True)
class Card:
    definition: KpiDefinition
    kpi: Kpi
    score: Score
    value_text: str
    raw: str
    """The unformatted value (for scripts and tests); '' when unknown."""
    period_text: str
    partial: bool
    """The headline is a partial period (no complete one yet)."""
    partial_text: str
    partial_value_text: str
    vs_previous: ChangeView
    vs_year_ago: ChangeView
    status: str
    status_label: str
    sparkline: SafeString
    reason: str
    """Why there is no value ('' when there is one)."""

    @property
    def id(self) -> str:
        return self.kpi.id

    @property
    def direction_text(self) -> str:
        return "Higher is better" if self.kpi.direction is Direction.HIGHER else "Lower is better"


def _reason(definition: KpiDefinition, run: Run | None, s: Score, series: Series) -> str:
    if run is None:
        return "Not computed yet."
    note = (run.notes or {}).get(definition.kpi_id)
    if note:
        return f"Cannot be computed: {note}."
    if not series:
        if definition.updated_at > run.created_at:
            return "Added or changed after the last refresh; refresh to compute it."
        return "The last refresh stored no values for this KPI."
    if s.period is not None and s.value is None:
        return f"No value for {period_label(s.period, s.grain)}: no data in that period, or nothing to divide by."
    return ""


def build_card(definition: KpiDefinition, kpi: Kpi, series: Series, grain: Grain, org: Organization) -> Card:
    run = org.current_run if org.current_run_id else None
    as_of: date | None = run.data_as_of if run else None
    s = score(kpi, series, grain, as_of, SPARK_PERIODS)
    locale, currency = org.locale, org.currency
    headline_partial = s.period is None and s.partial_period is not None
    value = s.partial_value if headline_partial else s.value
    if headline_partial:
        assert s.partial_period is not None
        period_text = f"{period_label(s.partial_period, grain, org.fiscal_year_start)} so far"
    elif s.period is not None:
        period_text = period_label(s.period, grain, org.fiscal_year_start)
    else:
        period_text = ""
    partial_text = ""
    if s.partial_period is not None and not headline_partial:
        partial_text = f"{period_label(s.partial_period, grain, org.fiscal_year_start)} so far"
    if s.status is not None:
        state, state_label = s.status.value, STATUS_LABELS[s.status]
    elif kpi.thresholds is None:
        state, state_label = "none", "No thresholds set"
    else:
        state, state_label = "none", "Not scored"
    window = [v for _, v in s.window]
    spark_label = ""
    if len([v for v in window if v is not None]) >= 2:
        first = next(v for v in window if v is not None)
        last = next(v for v in reversed(window) if v is not None)
        spark_label = (
            f"Last {len(window)} {GRAIN_NOUNS.get(grain, 'periods')}: from "
            f"{format_kpi_value(kpi, first, locale, currency)} to {format_kpi_value(kpi, last, locale, currency)}"
        )
    return Card(
        definition=definition,
        kpi=kpi,
        score=s,
        value_text=format_kpi_value(kpi, value, locale, currency),
        raw="" if value is None else repr(float(value)),
        period_text=period_text,
        partial=headline_partial,
        partial_text=partial_text,
        partial_value_text=format_kpi_value(kpi, s.partial_value, locale, currency),
        vs_previous=change_view(s.vs_previous, locale, "the previous period"),
        vs_year_ago=change_view(s.vs_year_ago, locale, "the same period last year"),
        status=state,
        status_label=state_label,
        sparkline=sparkline_svg(window, spark_label),
        reason="" if value is not None else _reason(definition, run, s, series),
    )


def build_cards(definitions: Iterable[KpiDefinition], org: Organization) -> list[Card]:
    """One card per KPI, with one query for all their series (only the periods a score needs)."""
    run = org.current_run if org.current_run_id else None
    specs = [(d, d.to_spec()) for d in definitions]
    grains = {d.kpi_id: shown_grain(k) for d, k in specs}
    as_of = run.data_as_of if run else None
    since = {g: scoring_start(as_of, g, SPARK_PERIODS) for g in set(grains.values())}
    series = totals(run, grains.items(), since)
    return [build_card(d, k, series[(d.kpi_id, grains[d.kpi_id])], grains[d.kpi_id], org) for d, k in specs]


def _cache_key(definition: KpiDefinition, org: Organization, run: Run | None, extra: object = None) -> str:
    """Everything a card's markup depends on. A run's series never change once it succeeded."""
    parts = (
        CARD_CACHE_VERSION,
        org.pk,
        org.locale,
        org.currency,
        org.fiscal_year_start,
        definition.pk,
        definition.updated_at.isoformat(),
        run.pk if run else None,
        run.finished_at.isoformat() if run and run.finished_at else None,
        run.data_as_of.isoformat() if run and run.data_as_of else None,
        (run.notes or {}).get(definition.kpi_id) if run else None,
        extra,
    )
    return "hw-card:" + hashlib.sha256(repr(parts).encode()).hexdigest()


# Apps that know a KPI's numbers may be out of date (sources: a failing source) register a function
# org -> {kpi_id: reason} in their AppConfig.ready(); it is called once per grid render.
STALE_PROVIDERS: list[Callable[[Organization], dict[str, str]]] = []


def stale_reasons(org: Organization) -> dict[str, str]:
    out: dict[str, str] = {}
    for provider in STALE_PROVIDERS:
        out.update(provider(org))
    return out


def rendered_cards(
    definitions: list[KpiDefinition], org: Organization, extras: dict[str, object] | None = None
) -> list[SafeString]:
    """The cards' HTML, in order; cached per KPI and run, so a scorecard costs a cache lookup once computed.

    ``extras``: per KPI id, what other apps add to its card (the strategy's goal status), part of its key."""
    run = org.current_run if org.current_run_id else None
    extras = extras or {}
    stale = stale_reasons(org)
    keys = [_cache_key(d, org, run, (extras.get(d.kpi_id), stale.get(d.kpi_id))) for d in definitions]
    found: dict[str, str] = cache.get_many(keys)
    missing = [d for d, key in zip(definitions, keys, strict=True) if key not in found]
    if missing:
        fresh = {
            _cache_key(card.definition, org, run, (extras.get(card.id), stale.get(card.id))): render_to_string(
                "kpis/_card.html", {"card": card, "strategy": extras.get(card.id), "stale": stale.get(card.id)}
            )
            for card in build_cards(missing, org)
        }
        cache.set_many(fresh, CARD_CACHE_SECONDS)
        found.update(fresh)
    return [mark_safe(found[key]) for key in keys]


def thresholds_text(kpi: Kpi, locale: str, currency: str) -> str:
    """The traffic-light bands in words, in the KPI's direction."""
    t = kpi.thresholds
    if t is None:
        return "No thresholds set: the KPI is shown without a status."
    at_least = kpi.direction is Direction.HIGHER
    cmp = "≥" if at_least else "≤"
    if t.basis == "change":

        def show(x: float) -> str:
            return format_number(x * 100, 1, locale) + "%"

        basis = " (on the change vs the previous period)"
    else:

        def show(x: float) -> str:
            return format_kpi_value(kpi, x, locale, currency)

        basis = ""
    return (
        f"On track at {cmp} {show(t.good)}, at risk at {cmp} {show(t.warning)}, "
        f"off track {'below' if at_least else 'above'} that{basis}."
    )

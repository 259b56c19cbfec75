"""The KPI review pack: what a report contains, assembled from the series store (never the warehouse).

A pack is plain data (numbers with their formatted text), rendered three ways by ``render.py``:
HTML (email and preview), PDF and XLSX. The scorecard and the top movers are built here; other
apps add their own sections (goals, alerts, forecasts, portfolio review) by appending a provider
to ``SECTIONS`` in their AppConfig.ready():

    from headway.app.reports.pack import SECTIONS, Section
    SECTIONS.append(my_section)   # my_section(org, department, definitions) -> Section | None
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from django.utils import timezone

from headway.app.accounts.models import Department, Organization
from headway.app.kpis.cards import Card, build_cards
from headway.app.kpis.formatting import format_delta
from headway.app.kpis.models import KpiDefinition
from headway.app.kpis.views import with_subdepartments

TOP_MOVERS = 5


@dataclass(frozen=True)
class Row:
    """One KPI on the scorecard: raw numbers for the workbook, formatted text for people."""

    kpi_id: str
    name: str
    period: str
    value: float | None
    value_text: str
    unit: str
    change: float | None
    """vs the previous period: growth as a fraction, or percentage points for percent KPIs (see ``points``)."""
    points: bool
    change_text: str
    year_change_text: str
    status: str
    better: bool | None


@dataclass(frozen=True)
class Section:
    """A titled table another app contributes (goals, alerts fired, forecasts, review findings)."""

    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[str | float | int | None]]
    note: str = ""
    empty: str = "Nothing to report."


@dataclass(frozen=True)
class Pack:
    org: Organization
    title: str
    scope: str
    period: str
    data_as_of: date | None
    generated_at: datetime
    rows: list[Row]
    movers: list[Row]
    sections: list[Section] = field(default_factory=list)


SectionProvider = Callable[[Organization, Department | None, list[KpiDefinition]], Section | None]
SECTIONS: list[SectionProvider] = []


def _row(card: Card) -> Row:
    d = card.score.vs_previous
    return Row(
        kpi_id=card.kpi.id,
        name=card.kpi.name,
        period=card.period_text,
        value=None if not card.raw else float(card.raw),
        value_text=card.value_text,
        unit=card.kpi.unit.label,
        change=None if d is None else d.amount,
        points=bool(d and d.points),
        change_text=format_delta(d, card.definition.org.locale) if d else "–",
        year_change_text=card.vs_year_ago.text,
        status=card.status_label,
        better=None if d is None else d.better,
    )


def definitions_for(org: Organization, department: Department | None) -> list[KpiDefinition]:
    kpis = KpiDefinition.objects.filter(org=org).select_related("department", "org")
    if department is not None:
        kpis = kpis.filter(department_id__in=with_subdepartments(department))
    return list(kpis)


def build_pack(org: Organization, department: Department | None = None, title: str = "KPI review") -> Pack:
    """The pack for the org (or one department and those under it) as the current run has it."""
    definitions = definitions_for(org, department)
    cards = build_cards(definitions, org)
    rows = [_row(c) for c in cards]
    # Top movers: the largest relative moves vs the previous complete period (percentage points
    # for percent KPIs are compared as fractions of 100, so 2 pp weighs like a 2% move).
    moved = [r for r in rows if r.change is not None and r.change != 0]
    movers = sorted(moved, key=lambda r: abs(r.change / 100 if r.points else r.change), reverse=True)  # type: ignore[operator]
    # The period the pack covers, as most of its KPIs have it (a weekly KPI among monthly ones
    # keeps its own period on its row).
    labels = Counter(r.period for r in rows if r.period and not r.period.endswith("so far"))
    period = labels.most_common(1)[0][0] if labels else ""
    run = org.current_run if org.current_run_id else None
    sections = [s for s in (provider(org, department, definitions) for provider in SECTIONS) if s is not None]
    return Pack(
        org=org,
        title=title,
        scope=department.name if department else f"{org.name} (whole organisation)",
        period=period,
        data_as_of=run.data_as_of if run else None,
        generated_at=timezone.now(),
        rows=rows,
        movers=movers[:TOP_MOVERS],
        sections=sections,
    )

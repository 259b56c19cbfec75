"""The portfolio review of an organisation: the facts the strategy app holds about each KPI, handed to
``headway.analytics.review`` (the rules), and the review cadence. Shared by the page and `headway review`."""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from django.db.models import Max
from django.utils import timezone

from headway.analytics.review import Finding, KpiFacts, review
from headway.app.accounts.models import Member, Organization
from headway.app.accounts.tenancy import visible_kpis
from headway.app.kpis.models import KpiDefinition
from headway.app.kpis.series import current_run, shown_grain, totals
from headway.app.strategy.evaluation import as_of_date, to_pandas
from headway.app.strategy.models import (
    CADENCE_MONTHS,
    Goal,
    IndicatorOverride,
    KpiView,
    Objective,
    Relationship,
    RelationshipKind,
    ReviewCadence,
    ReviewSettings,
)
from headway.engine.scoring import is_complete
from headway.engine.spec import Indicator

CHECK_TITLES = {
    "overload": "Metric overload",
    "objective_overload": "Too many KPIs on one objective",
    "no_objective": "KPIs that serve no objective",
    "no_owner": "KPIs without an owner",
    "no_goal": "KPIs without a goal",
    "goal_without_guardrail": "Goals without a guardrail",
    "lagging_without_leading": "Lagging KPIs without a leading KPI",
    "stale": "Stale data",
    "not_viewed": "KPIs nobody looks at",
    "redundant": "Redundant pairs",
}


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def review_settings(org: Organization) -> ReviewSettings:
    """The org's review cadence; a quarterly one starting today when none was set."""
    found = ReviewSettings.objects.filter(org=org).first()
    if found is None:
        today = timezone.localdate()
        found = ReviewSettings(org=org, cadence=ReviewCadence.QUARTERLY, next_review=add_months(today, 3))
    return found


def mark_reviewed(org: Organization, today: date) -> ReviewSettings:
    settings = review_settings(org)
    settings.last_reviewed = today
    settings.next_review = add_months(today, CADENCE_MONTHS[ReviewCadence(settings.cadence)])
    settings.save()
    return settings


def is_lagging(definition: KpiDefinition, overrides: dict[int, str]) -> bool:
    flag = overrides.get(definition.pk) or definition.spec.get("indicator", Indicator.LAGGING.value)
    return flag == Indicator.LAGGING.value


def kpi_facts(org: Organization, definitions: list[KpiDefinition]) -> tuple[list[KpiFacts], dict[int, str]]:
    """Facts about each KPI for the review rules, and the objectives' titles."""
    run = current_run(org)
    as_of = run.data_as_of if run else None
    pks = [d.pk for d in definitions]
    names = {d.kpi_id: str(d.spec.get("name", d.kpi_id)) for d in definitions}
    objectives: dict[int, list[int]] = defaultdict(list)
    titles: dict[int, str] = {}
    for objective in Objective.objects.filter(org=org).prefetch_related("kpis"):
        titles[objective.pk] = objective.title
        for k in objective.kpis.all():
            objectives[k.pk].append(objective.pk)
    goals: dict[int, list[int]] = defaultdict(list)
    for goal_id, kpi_pk in Goal.objects.filter(org=org).values_list("pk", "kpi_id"):
        goals[kpi_pk].append(goal_id)
    linked: dict[tuple[int, str], list[str]] = defaultdict(list)
    by_pk = {d.pk: d.kpi_id for d in KpiDefinition.objects.filter(org=org).only("pk", "kpi_id")}
    for source, target, kind in Relationship.objects.filter(org=org).values_list("source_id", "target_id", "kind"):
        linked[(target, kind)].append(by_pk[source])
    viewed = dict(
        KpiView.objects.filter(kpi_id__in=pks)
        .values("kpi_id")
        .annotate(last=Max("last_viewed"))
        .values_list("kpi_id", "last")
    )
    overrides = dict(IndicatorOverride.objects.filter(kpi_id__in=pks).values_list("kpi_id", "indicator"))
    grains = {d.kpi_id: shown_grain(d.to_spec()) for d in definitions}
    series = totals(run, grains.items())
    present = set(by_pk.values())
    facts = []
    for d in definitions:
        kpi = d.to_spec()
        grain = grains[d.kpi_id]
        values = {p: v for p, v in series[(d.kpi_id, grain)].items() if is_complete(p, grain, as_of)}
        declared = [g for g in kpi.guardrails if g in present]
        facts.append(
            KpiFacts(
                id=d.kpi_id,
                name=names[d.kpi_id],
                lagging=is_lagging(d, overrides),
                direction=kpi.direction,
                category=kpi.category.value,
                objective_ids=tuple(objectives.get(d.pk, ())),
                owner=_owner_name(d) or kpi.owner,
                has_goal=bool(goals.get(d.pk)),
                goal_ids=tuple(goals.get(d.pk, ())),
                last_viewed=viewed.get(d.pk),
                series=to_pandas(values),
                grain=grain,
                drivers=tuple(linked[(d.pk, RelationshipKind.DRIVES.value)]),
                guardrails=tuple(dict.fromkeys([*linked[(d.pk, RelationshipKind.GUARDRAIL_FOR.value)], *declared])),
                suggested_guardrails=tuple(g for g in kpi.guardrails if g not in present),
            )
        )
    return facts, titles


def _owner_name(d: KpiDefinition) -> str | None:
    if d.owner_id is None:
        return None
    user = d.owner.user  # type: ignore[union-attr]
    return user.get_full_name() or user.username


@dataclass(frozen=True)
class Review:
    findings: list[Finding]
    kpi_count: int
    settings: ReviewSettings
    due: bool
    data_as_of: date
    names: dict[str, str]


def run_review(org: Organization, member: Member | None = None, *, now: datetime | None = None) -> Review:
    """Review the KPIs the member can see (all of the org's without a member)."""
    now = now or timezone.now()
    base = visible_kpis(member) if member else KpiDefinition.objects.filter(org=org)
    definitions = list(base.select_related("owner__user"))
    facts, titles = kpi_facts(org, definitions)
    settings = review_settings(org)
    data_day = as_of_date(current_run(org))
    # Adapter: the rules take one "today". Staleness is judged against the org's latest data
    # (a KPI lagging behind the rest), views against the real clock: shift the view times so
    # (data day - shifted view) equals (today - view).
    offset = now.date() - data_day
    facts = [_shift_view(f, offset) for f in facts]
    findings = review(
        facts,
        today=data_day,
        not_viewed_days=settings.not_viewed_days,
        objectives={oid: tuple(f.id for f in facts if oid in f.objective_ids) for oid in titles},
        objective_names=titles,
    )
    names = {f.id: f.name for f in facts}
    return Review(findings, len(facts), settings, settings.is_due(now.date()), data_day, names)


def _shift_view(facts: KpiFacts, offset: timedelta) -> KpiFacts:
    if facts.last_viewed is None or not offset:
        return facts
    return replace(facts, last_viewed=facts.last_viewed - offset)


def findings_json(result: Review) -> dict[str, object]:
    return {
        "kpis": result.kpi_count,
        "data_as_of": result.data_as_of.isoformat(),
        "next_review": result.settings.next_review.isoformat(),
        "review_due": result.due,
        "findings": [
            {
                "check": f.check,
                "title": CHECK_TITLES[f.check],
                "severity": f.severity,
                "kpis": list(f.kpi_ids),
                "message": f.message,
                "action": f.action,
                **({"value": f.value} if f.value is not None else {}),
            }
            for f in result.findings
        ],
    }

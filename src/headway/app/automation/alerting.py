"""Alert evaluation for an org: its rules and series into headway.analytics.alerts, transitions into
Alerts and Notifications. A rule changes state with a conditional UPDATE, so two evaluations at
once record (and notify) a transition only once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from headway.analytics.alerts import Event, Inputs, RuleKind, RuleSpec, Transition, decide, deliver_after, series_key
from headway.app.accounts.models import Organization
from headway.app.automation.models import Alert, AlertRule, Notification
from headway.app.kpis.models import Dataset, SeriesPoint

# Other apps add providers: fn(org) -> {series key: (low, high)} / {kpi id: probability 0..1}.
BAND_PROVIDERS: list[Callable[[Organization], dict[str, tuple[float, float]]]] = []
PROBABILITY_PROVIDERS: list[Callable[[Organization], dict[str, float]]] = []
# Without a forecast band, an anomaly is a value outside mean ± 3 standard deviations of the 12 periods before.
FALLBACK_WINDOW, FALLBACK_SIGMAS = 12, 3.0


def rule_spec(rule: AlertRule) -> RuleSpec:
    return RuleSpec(
        rule_id=rule.pk,
        kind=RuleKind(rule.kind),
        kpi_id=rule.kpi_id,
        grain=rule.grain,
        dimension=rule.dimension,
        dim_value=rule.dim_value,
        params=rule.params,
        firing=rule.firing,
        last_fired_at=rule.last_fired_at,
        cooldown=timedelta(minutes=rule.cooldown_minutes),
    )


def load_series(org: Organization, specs: list[RuleSpec]) -> pd.DataFrame:
    """The org's current series the rules look at (their KPIs and leading drivers), as a long frame."""
    kpis = {s.kpi_id for s in specs} | {str(s.params["driver"]) for s in specs if s.kind is RuleKind.LEADING}
    match = Q()
    for s in specs:
        match |= Q(grain=s.grain, dimension=s.dimension, dim_value=s.dim_value)
    rows = list(
        SeriesPoint.objects.filter(match, run_id=org.current_run_id, kpi_id__in=kpis).values_list(
            "kpi_id", "grain", "dimension", "dim_value", "period", "value"
        )
    )
    frame = pd.DataFrame(rows, columns=["kpi_id", "grain", "dimension", "dim_value", "period", "value"])
    keys = [series_key(*r[:4]) for r in rows]
    return pd.DataFrame({"key": keys, "period": frame["period"], "value": frame["value"].astype(float)})


def fallback_bands(series: pd.DataFrame, keys: set[str]) -> dict[str, tuple[float, float]]:
    out = {}
    for key, group in series[series["key"].isin(keys)].dropna().sort_values("period").groupby("key"):
        history = group["value"].to_numpy()[:-1][-FALLBACK_WINDOW:]
        if len(history) >= 6:
            mean, sd = float(np.mean(history)), float(np.std(history, ddof=1))
            out[str(key)] = (mean - FALLBACK_SIGMAS * sd, mean + FALLBACK_SIGMAS * sd)
    return out


def goal_statuses(org: Organization) -> dict[str, str]:
    """Each KPI's worst goal status on the current run (the strategy app's status cache)."""
    from headway.app.strategy.evaluation import fresh_statuses
    from headway.app.strategy.models import Goal

    rank = {"on_track": 0, "achieved": 0, "at_risk": 1, "off_track": 2, "missed": 2}
    out: dict[str, str] = {}
    for goal in fresh_statuses(org, list(Goal.objects.filter(org=org).select_related("kpi"))):
        kpi = goal.kpi.kpi_id
        if goal.status in rank and rank[goal.status] >= rank.get(out.get(kpi, ""), -1):
            out[kpi] = goal.status
    return out


def gather_inputs(org: Organization, specs: list[RuleSpec], now: datetime) -> Inputs:
    series = load_series(org, specs)
    kinds = {s.kind for s in specs}
    bands: dict[str, tuple[float, float]] = {}
    if RuleKind.ANOMALY in kinds:
        bands = fallback_bands(series, {s.key for s in specs if s.kind is RuleKind.ANOMALY})
        for provider in BAND_PROVIDERS:
            bands.update(provider(org))
    probability: dict[str, float] = {}
    if RuleKind.GOAL_PROBABILITY in kinds:
        for p in PROBABILITY_PROVIDERS:
            probability.update(p(org))
    last = Dataset.objects.filter(org=org).aggregate(at=Max("updated_at"))["at"]
    return Inputs(
        series=series,
        now=now,
        bands=bands,
        goal_status=goal_statuses(org) if RuleKind.GOAL_STATUS in kinds else {},
        goal_probability=probability,
        last_data={s.kpi_id: last for s in specs} if last else {},
    )


def evaluate_org(org: Organization, now: datetime | None = None) -> list[Notification]:
    """Evaluate the org's enabled rules; record each transition once; return the new notifications."""
    now = now or timezone.now()
    rules = {r.pk: r for r in AlertRule.objects.filter(org=org, enabled=True)}
    if not rules:
        return []
    specs = [rule_spec(r) for r in rules.values()]
    transitions = decide(specs, gather_inputs(org, specs, now))
    created = []
    for t in transitions:
        notification = _record(org, rules[t.rule_id], t, now)
        if notification is not None:
            created.append(notification)
    return created


def _record(org: Organization, rule: AlertRule, t: Transition, now: datetime) -> Notification | None:
    from headway.app.automation.messages import describe

    firing = t.event is Event.FIRING
    changes = {"firing": firing, **({"last_fired_at": now} if firing else {})}
    with transaction.atomic():
        if AlertRule.objects.filter(pk=rule.pk, firing=not firing).update(**changes) != 1:
            return None  # another evaluation recorded this transition
        if firing:
            alert = Alert.objects.create(
                org=org,
                rule=rule,
                fired_at=now,
                period=t.period,
                value=t.value,
                reference=t.reference,
                message=describe(rule, t),
            )
        else:
            alert = rule.alerts.filter(firing=True).first() or Alert(org=org, rule=rule, fired_at=now)
            alert.firing, alert.resolved_at = False, now
            alert.message = describe(rule, t)
            alert.save()
        when = deliver_after(now, rule.quiet_start, rule.quiet_end, org.timezone)
        return Notification.objects.create(alert=alert, event=t.event.value, deliver_after=when)

"""The built-in job kinds (KPI refresh, alert evaluation and delivery) and their schedule."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.dispatch import receiver
from django.utils import timezone

from headway.app.accounts.models import Organization
from headway.app.automation.jobs import current_job, enqueue, on_tick, register
from headway.app.automation.models import Job, JobStatus
from headway.app.automation.signals import refresh_finished
from headway.app.kpis.models import Run, RunStatus
from headway.app.kpis.refresh import execute, recover_stuck


class RefreshFailed(RuntimeError):
    pass


@register("kpis.refresh", lock="refresh", max_attempts=3)
def refresh(org: Organization, run_id: int | None = None) -> None:
    """Recompute the org's KPIs (kpis.refresh.execute); the previous series stay until the swap."""
    run = Run.objects.filter(pk=run_id, org=org).first() if run_id else None
    if run is not None and run.status == RunStatus.SUCCEEDED:
        return
    if run is not None and run.status == RunStatus.RUNNING:
        # This job holds the org's refresh lock, so its run still "running" was left by a worker that died.
        Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
            status=RunStatus.FAILED,
            error="the worker stopped during this refresh; it was retried",
            finished_at=timezone.now(),
        )
    if run is None or run.status != RunStatus.QUEUED:
        run = Run.objects.create(org=org)
        job = current_job()
        if job is not None:
            Job.objects.filter(pk=job.pk).update(params={**job.params, "run_id": run.pk})
    execute(run.pk)
    run.refresh_from_db()
    if run.status != RunStatus.SUCCEEDED:
        raise RefreshFailed(run.error or f"run {run.pk} ended {run.status}")


@on_tick("kpis.recompute")
def recompute_stale(now: datetime) -> None:
    """Recompute every org whose series are older than HEADWAY_RECOMPUTE_HOURS."""
    cutoff = now - timedelta(hours=settings.HEADWAY_RECOMPUTE_HOURS)
    for org in Organization.objects.exclude(datasets=None).select_related("current_run"):
        run = org.current_run
        if run is not None and run.finished_at and run.finished_at > cutoff:
            continue
        if not Job.objects.filter(
            org=org, kind="kpis.refresh", status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
        ).exists():
            enqueue(org, "kpis.refresh")


@on_tick("kpis.recover")
def recover_interrupted_runs(now: datetime) -> None:
    """Mark failed the refresh runs whose process died (kpis.refresh.recover_stuck)."""
    recover_stuck(now=now)


@receiver(refresh_finished, dispatch_uid="automation.alerts_after_refresh")
def after_refresh(sender: Any, org: Organization, **kwargs: Any) -> None:
    if org.alert_rules.filter(enabled=True).exists():
        enqueue(org, "alerts.evaluate", unique=True)


@register("alerts.evaluate", lock="alerts", max_attempts=2)
def evaluate_alerts(org: Organization) -> None:
    """Evaluate the org's alert rules; new notifications go out through alerts.deliver."""
    from headway.app.automation.alerting import evaluate_org

    if evaluate_org(org):
        enqueue(org, "alerts.deliver", unique=True)


@register("alerts.deliver", lock="deliver", max_attempts=2)
def deliver_alerts(org: Organization) -> None:
    """Send the org's due notifications (quiet hours over) and the deliveries due for a retry."""
    from headway.app.automation.delivery import dispatch_due, send_pending

    dispatch_due(org)
    send_pending(org)


@on_tick("alerts.schedule")
def schedule_alerts(now: datetime) -> None:
    from headway.app.automation.models import AlertRule, Delivery, DeliveryStatus, Notification

    if (now.hour * 60 + now.minute) % settings.HEADWAY_ALERT_EVERY_MINUTES == 0:
        for org_id in set(AlertRule.objects.filter(enabled=True).values_list("org_id", flat=True)):
            enqueue(Organization.objects.get(pk=org_id), "alerts.evaluate", unique=True)
    due = set(
        Notification.objects.filter(dispatched=False, deliver_after__lte=now).values_list("alert__org_id", flat=True)
    ) | set(
        Delivery.objects.filter(status=DeliveryStatus.RETRYING, next_attempt_at__lte=now).values_list(
            "org_id", flat=True
        )
    )
    for org_id in due:
        enqueue(Organization.objects.get(pk=org_id), "alerts.deliver", unique=True)

"""The ``insights.churn`` and ``insights.demand`` jobs and their triggers: a refresh of an org with subscription
data queues a churn job, one with order lines a demand job."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from headway.app.accounts.models import Organization
from headway.app.automation.jobs import enqueue, register
from headway.app.automation.signals import refresh_finished

DELAY_SECONDS = 5
"""Back-to-back refreshes share one queued churn job (``unique`` finds it while it waits)."""


@register("insights.churn", lock="insights", max_attempts=2)
def churn(org: Organization) -> None:
    """Train the org's churn model and store the customers at risk."""
    from headway.app.insights.churn import compute_churn

    compute_churn(org)


def has_subscriptions(org: Organization) -> bool:
    return org.datasets.filter(dataset_type="subscriptions").exists()


@receiver(refresh_finished, dispatch_uid="insights.churn_after_refresh")
def after_refresh(sender: Any, org: Organization, **kwargs: Any) -> None:
    if has_subscriptions(org):
        enqueue(org, "insights.churn", delay=DELAY_SECONDS, unique=True)


@register("insights.demand", lock="insights", max_attempts=2)
def demand(org: Organization) -> None:
    """Forecast the org's demand per product (every variant the page offers) and store it."""
    from headway.app.insights.demand import compute_demand

    compute_demand(org)


@receiver(refresh_finished, dispatch_uid="insights.demand_after_refresh")
def demand_after_refresh(sender: Any, org: Organization, **kwargs: Any) -> None:
    from headway.app.insights.demand import has_order_lines

    if has_order_lines(org):
        enqueue(org, "insights.demand", delay=DELAY_SECONDS, unique=True)

"""The ``forecasts.refit`` job and its trigger: every successful refresh queues one refit of the org."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from headway.app.accounts.models import Organization
from headway.app.automation.jobs import enqueue, register
from headway.app.automation.signals import refresh_finished

REFIT_DELAY_SECONDS = 5
"""Back-to-back refreshes (one per source) share one queued refit: ``unique`` finds it while it waits."""


@register("forecasts.refit", lock="forecast", max_attempts=2)
def refit(org: Organization, kpi_ids: list[str] | None = None) -> None:
    """Refit and store the forecasts of the org's current run."""
    from headway.app.forecasts.refit import refit_org

    refit_org(org, kpi_ids)


@receiver(refresh_finished, dispatch_uid="forecasts.refit_after_refresh")
def after_refresh(sender: Any, org: Organization, **kwargs: Any) -> None:
    enqueue(org, "forecasts.refit", delay=REFIT_DELAY_SECONDS, unique=True)

"""The sources' job kinds and their schedule on the job system (headway.app.automation.jobs)."""

from __future__ import annotations

from datetime import datetime

from headway.app.accounts.models import Organization
from headway.app.automation.jobs import on_tick, register
from headway.app.sources.models import ImportRun
from headway.app.sources.pipeline import import_upload, refresh_due_sources, refresh_source

# One warehouse writer per org at a time: an upload and a sync never write the same DuckDB file at once.
WAREHOUSE_LOCK = "warehouse"


@register("sources.refresh", lock=WAREHOUSE_LOCK, max_attempts=1)
def refresh(org: Organization, run_id: int) -> None:
    """Pull one source (its ImportRun says which), load, recompute; a failure marks its KPIs stale."""
    if ImportRun.objects.filter(pk=run_id, org=org).exists():
        refresh_source(run_id)


@register("sources.import", lock=WAREHOUSE_LOCK, max_attempts=1)
def import_file(org: Organization, run_id: int) -> None:
    """Import an uploaded file with its confirmed mapping (the upload wizard's last step)."""
    if ImportRun.objects.filter(pk=run_id, org=org).exists():
        import_upload(run_id)


@on_tick("sources.due")
def start_due_sources(now: datetime) -> None:
    refresh_due_sources(now)

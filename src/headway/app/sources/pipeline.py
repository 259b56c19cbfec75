"""The refresh pipeline: due sources -> ingest -> recompute the org's KPIs -> freshness and staleness.

Work runs as jobs of the job system (``sources.refresh`` and ``sources.import``, see
``sources/jobs.py``; inline when ``HEADWAY_JOBS=sync``), and the scheduler starts the due
sources every minute. A source is claimed with a conditional UPDATE that must change
exactly one row, so two workers never pull the same source at once; a claim older than
``STUCK_AFTER`` (a worker that died) may be taken over. A failing source keeps the
previous data and marks the KPIs that read it stale with the reason.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from django.db.models import Q, QuerySet
from django.utils import timezone

from headway.app.kpis.refresh import start_refresh
from headway.app.sources import credentials, freshness
from headway.app.sources.loading import frame_records, import_records, register_dataset
from headway.app.sources.models import (
    ImportRun,
    ImportStatus,
    Schedule,
    Source,
    SourceKind,
    SourceStatus,
)
from headway.ingest import files

log = logging.getLogger(__name__)

INTERVALS = {Schedule.HOURLY: timedelta(hours=1), Schedule.DAILY: timedelta(days=1)}
STUCK_AFTER = timedelta(hours=2)
PULLED = (SourceKind.SQL, SourceKind.SAAS)
"""Kinds the pipeline pulls from on a schedule (files and pushes arrive by themselves)."""


# --------------------------------------------------------------------------- schedules


def due_sources(now: datetime | None = None) -> QuerySet[Source]:
    """Pulled sources whose schedule says they should run at ``now`` and that are not running."""
    now = now or timezone.now()
    due = Q()
    for schedule, interval in INTERVALS.items():
        due |= Q(schedule=schedule) & (Q(last_run_at__isnull=True) | Q(last_run_at__lte=now - interval))
    return Source.objects.filter(due, kind__in=PULLED).exclude(_running_since(now))


def _running_since(now: datetime) -> Q:
    """Sources being refreshed by a live worker (a claim older than STUCK_AFTER is taken to be dead)."""
    return Q(status=SourceStatus.RUNNING, last_run_at__gt=now - STUCK_AFTER)


def refresh_due_sources(now: datetime | None = None) -> list[int]:
    """Start a refresh of every due source; returns their ids (the scheduler calls this)."""
    started = []
    for source in due_sources(now):
        start_source_refresh(source)
        started.append(source.pk)
    return started


def start_source_refresh(source: Source, user=None) -> ImportRun:  # type: ignore[no-untyped-def]
    run = ImportRun.objects.create(org_id=source.org_id, source=source, file_name=source.name, created_by=_user(user))
    from headway.app.automation.jobs import enqueue

    enqueue(source.org, "sources.refresh", run_id=run.pk)
    return run


def _user(user):  # type: ignore[no-untyped-def]
    return user if user is not None and user.is_authenticated else None


# --------------------------------------------------------------------------- one source


def refresh_source(run_id: int) -> None:
    """Pull the source of an ImportRun, load what it brings, recompute KPIs; mark KPIs stale on failure."""
    run = ImportRun.objects.select_related("source", "source__org").get(pk=run_id)
    source = run.source
    now = timezone.now()
    claimed = (
        Source.objects.filter(pk=source.pk)
        .exclude(_running_since(now))
        .update(status=SourceStatus.RUNNING, last_run_at=now)
    )
    if claimed != 1:
        _finish(run, ImportStatus.FAILED, error="This source is already being refreshed.")
        return
    ImportRun.objects.filter(pk=run.pk).update(status=ImportStatus.RUNNING, started_at=timezone.now())
    try:
        results = _pull(source)
    except Exception as exc:  # the previous data stays; the source and its KPIs say why
        message = credentials.scrub(_message(exc), source)
        log.warning("source %s (%s) failed: %s", source.pk, source.kind, message)
        Source.objects.filter(pk=source.pk).update(status=SourceStatus.FAILING, last_error=message)
        freshness.mark_stale(source, message)
        _finish(run, ImportStatus.FAILED, error=message)
        return
    Source.objects.filter(pk=source.pk).update(
        status=SourceStatus.OK, last_error="", last_success_at=timezone.now(), state=source.state
    )
    freshness.clear_stale(source)
    _finish(run, ImportStatus.SUCCEEDED, results=results)
    if any(r.loaded for r in results):
        start_refresh(source.org)


def _message(exc: Exception) -> str:
    if isinstance(exc, files.IngestError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _finish(run: ImportRun, status: str, *, error: str = "", results: list[files.ImportResult] | None = None) -> None:
    fields: dict[str, Any] = {"status": status, "error": error, "finished_at": timezone.now(), "progress": 1.0}
    if results:
        reasons: dict[str, int] = {}
        for r in results:
            for reason, n in r.reasons.items():
                reasons[reason] = reasons.get(reason, 0) + n
        fields.update(
            read=sum(r.read for r in results),
            loaded=sum(r.loaded for r in results),
            rejected=sum(r.rejected for r in results),
            skipped=sum(r.skipped for r in results),
            reasons=reasons,
            warehouse_import_id=results[-1].import_id,
            duplicate_file=all(r.duplicate_file for r in results),
        )
    ImportRun.objects.filter(pk=run.pk).update(**fields)


def _pull(source: Source) -> list[files.ImportResult]:
    if source.kind == SourceKind.SQL:
        return [_pull_sql(source)]
    if source.kind == SourceKind.SAAS:
        return _pull_saas(source)
    raise files.IngestError(f"a {source.get_kind_display().lower()} source is not pulled; it receives its data")


def _pull_sql(source: Source) -> files.ImportResult:
    from headway.ingest.sql import SqlSource

    url = credentials.load(source).get("url")
    if not url:
        raise files.IngestError("no connection URL is stored for this source; enter it again")
    config = source.config
    cursor_column = config.get("cursor_column") or None
    db = SqlSource(url)
    # Read everything first, so a read cut short (time limit, row cap) loads nothing.
    frames = list(
        db.read(
            table=config.get("table") or None,
            query=config.get("query") or None,
            cursor_column=cursor_column,
            since=source.state.get("cursor") if cursor_column else None,
        )
    )
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if frame.empty:
        return files.ImportResult(source.dataset, source.mode, files.SourceInfo(source.name, source.name, "records"))
    result = import_records(
        source.org,
        frame_records(frame),
        dataset=source.dataset,
        dataset_type=source.dataset_type or None,
        mode=source.mode,
        key=source.key_columns or None,
        mapping=source.mapping,
        source=source.name,
    )
    if cursor_column and db.last_cursor is not None:
        last = db.last_cursor
        source.state = {**source.state, "cursor": last.isoformat() if hasattr(last, "isoformat") else last}
    if result.mapping is not None:
        Source.objects.filter(pk=source.pk).update(mapping=result.mapping.to_dict())
    return result


def _pull_saas(source: Source) -> list[files.ImportResult]:
    from headway.ingest import connectors

    connector_class = connectors.get(str(source.config.get("connector", "")))
    conn = connector_class(
        credentials.load(source), base_url=source.config.get("base_url") or None, state=source.state or None
    )
    batches = list(conn.sync())  # every page first: a sync that fails midway loads nothing and keeps the cursor
    results = []
    for batch in batches:
        if batch.frame.empty:
            continue
        results.append(
            import_records(
                source.org,
                frame_records(batch.frame),
                dataset=batch.dataset_type,
                dataset_type=batch.dataset_type,
                mode="upsert" if batch.key else "append",
                key=batch.key or None,
                source=f"{source.name}:{batch.stream}",
            )
        )
    source.state = conn.state
    return results


# --------------------------------------------------------------------------- file uploads


def start_upload_import(run: ImportRun) -> None:
    from headway.app.automation.jobs import enqueue

    enqueue(run.source.org, "sources.import", run_id=run.pk)


def import_upload(run_id: int) -> None:
    """The upload wizard's background job: import the stored file with the source's mapping."""
    claimed = ImportRun.objects.filter(pk=run_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, started_at=timezone.now(), stage="reading"
    )
    if claimed != 1:
        return
    run = ImportRun.objects.select_related("source", "source__org").get(pk=run_id)
    source, org = run.source, run.source.org

    def progress(stage: str, fraction: float) -> None:
        ImportRun.objects.filter(pk=run_id).update(stage=stage, progress=fraction)

    try:
        result = files.import_file(
            org.warehouse_path(),
            run.stored_path,
            dataset=source.dataset,
            dataset_type=source.dataset_type or None,
            mapping=files.Mapping.from_dict(source.mapping) if source.mapping else None,
            mode=source.mode,  # type: ignore[arg-type]
            key=source.key_columns or None,
            sheet=run.sheet or None,
            progress=progress,
        )
    except Exception as exc:  # the dataset is as it was (the engine imports in one transaction)
        if not isinstance(exc, files.IngestError):
            log.exception("import %s failed", run_id)
        message = _message(exc)
        Source.objects.filter(pk=source.pk).update(
            status=SourceStatus.FAILING, last_error=message, last_run_at=timezone.now()
        )
        _finish(run, ImportStatus.FAILED, error=message)
        return
    if not result.duplicate_file:
        register_dataset(org, source.dataset, result.mapping.dataset_type if result.mapping else None)
    Source.objects.filter(pk=source.pk).update(
        status=SourceStatus.OK,
        last_error="",
        last_run_at=timezone.now(),
        last_success_at=timezone.now(),
        mapping=result.mapping.to_dict() if result.mapping else source.mapping,
    )
    freshness.clear_stale(source)
    ImportRun.objects.filter(pk=run_id).update(skipped_reasons=dict(result.skipped_reasons))
    _finish(run, ImportStatus.SUCCEEDED, results=[result])
    if result.loaded:
        start_refresh(org, run.created_by)

"""Refresh: recompute an organisation's KPIs with the engine and swap the new series in atomically.

A run is claimed with a conditional UPDATE (queued -> running) that must change exactly
one row, so two workers never compute the same run. Its series are written under the
run's id and become visible in one transaction that points the org at the run; if
anything fails, the org keeps showing the previous run's series and the run records
the error.

"Refresh now" goes to `headway worker` as a ``kpis.refresh`` job when a worker is alive,
else to a thread of the web process. A computing run renews ``heartbeat_at`` every third of
``HEADWAY_JOB_LEASE_SECONDS``; a run whose process died (a server restart) stops renewing it
and is marked failed by the scheduler's sweep or when its status is next read
(``recover_stuck``), so no page shows a refresh that never ends.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta

import duckdb
import pandas as pd
from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import Q
from django.utils import timezone

from headway.app.accounts.models import Organization
from headway.app.automation.jobs import enqueue, keep_alive, pending_param, workers_alive
from headway.app.automation.signals import refresh_finished
from headway.app.kpis.models import Dataset, KpiDefinition, Run, RunStatus, SeriesPoint
from headway.engine.api import Headway
from headway.engine.catalog import Catalog, load_catalog, required_fields
from headway.engine.plan import CompileError
from headway.engine.spec import Kpi
from headway.engine.warehouse import DuckDBWarehouse, FieldType

log = logging.getLogger(__name__)

GRAINS = ("week", "month", "quarter")
BREAKDOWN_GRAIN = "month"
MAX_DIMENSION_VALUES = 25
KEEP_RUNS = 3


INTERRUPTED = "interrupted (the server stopped while it ran); the previous numbers are still shown — refresh again"


def start_refresh(org: Organization, user=None) -> Run:  # type: ignore[no-untyped-def]
    """Queue a refresh: a ``kpis.refresh`` job when a worker is alive, else a thread of this process
    (inline when HEADWAY_JOBS=sync). The run goes queued -> running -> succeeded/failed either way."""
    run = Run.objects.create(org=org, triggered_by=user if user and user.is_authenticated else None)
    if settings.HEADWAY_JOBS == "sync":
        execute(run.pk)
    elif workers_alive():
        enqueue(org, "kpis.refresh", run_id=run.pk)
    else:
        transaction.on_commit(lambda: threading.Thread(target=_in_thread, args=(run.pk,), daemon=True).start())
    return run


def recover_stuck(org: Organization | None = None, now: datetime | None = None) -> int:
    """Mark failed the runs whose process died: running with no heartbeat within the lease, or
    queued longer than the lease with no job that will still run them. Returns how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.HEADWAY_JOB_LEASE_SECONDS)
    runs = Run.objects.filter(org=org) if org is not None else Run.objects.all()
    failed = {"status": RunStatus.FAILED, "error": INTERRUPTED, "finished_at": now}
    silent = (
        Q(heartbeat_at__lt=cutoff)
        | Q(heartbeat_at=None, started_at__lt=cutoff)
        | Q(heartbeat_at=None, started_at=None, created_at__lt=cutoff)
    )
    # One conditional UPDATE: a heartbeat written meanwhile keeps the run alive.
    recovered = runs.filter(silent, status=RunStatus.RUNNING).update(**failed)
    waiting = list(runs.filter(status=RunStatus.QUEUED, created_at__lt=cutoff).values_list("pk", flat=True))
    if waiting:
        will_run = pending_param("kpis.refresh", "run_id", org)
        orphans = [pk for pk in waiting if pk not in will_run]
        recovered += Run.objects.filter(pk__in=orphans, status=RunStatus.QUEUED).update(**failed)
    if recovered:
        log.warning("marked %s interrupted refresh run(s) failed", recovered)
    return recovered


def latest_run(org: Organization) -> Run | None:
    """The org's newest run, for the status line; a refresh whose process died is marked failed first."""
    run = Run.objects.filter(org=org).first()
    if run is not None and run.status in (RunStatus.QUEUED, RunStatus.RUNNING) and recover_stuck(org):
        run.refresh_from_db()
    return run


def _in_thread(run_id: int) -> None:
    try:
        execute(run_id)
    finally:
        close_old_connections()


def org_kpis(org: Organization) -> dict[str, Kpi]:
    return {d.kpi_id: d.to_spec() for d in KpiDefinition.objects.filter(org=org)}


def open_engine(org: Organization, kpis: dict[str, Kpi] | None = None) -> Headway:
    """The engine over the org's warehouse, with the catalog plus the org's own KPIs."""
    path = org.warehouse_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        DuckDBWarehouse(path).close()
    wh = DuckDBWarehouse(path, read_only=True)
    return Headway(wh, models=list((kpis or org_kpis(org)).values()), calendar=org.calendar())


def execute(run_id: int) -> None:
    now = timezone.now()
    claimed = Run.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=now, heartbeat_at=now
    )
    if claimed != 1:
        return
    stop = _beat(run_id)
    try:
        _compute_and_swap(run_id)
    finally:
        stop()


def _beat(run_id: int) -> Callable[[], None]:
    """Renew the run's heartbeat while it computes (not with HEADWAY_JOBS=sync: nothing else runs then)."""
    if settings.HEADWAY_JOBS == "sync":
        return lambda: None
    return keep_alive(
        lambda: Run.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(heartbeat_at=timezone.now()),
        f"run-{run_id}",
    )


def _compute_and_swap(run_id: int) -> None:
    run = Run.objects.select_related("org").get(pk=run_id)
    try:
        points, notes, as_of = compute_series(run.org)
        for p in points:
            p.run = run
        with transaction.atomic():
            SeriesPoint.objects.bulk_create(points, batch_size=2000)
            run.status = RunStatus.SUCCEEDED
            run.rows = len(points)
            run.notes = notes
            run.data_as_of = as_of
            run.finished_at = timezone.now()
            run.save()
            Organization.objects.filter(pk=run.org_id).update(current_run=run)
        _prune(run.org_id)
        refresh_finished.send_robust(sender=Run, run=run, org=run.org)
    except Exception as exc:  # the run records any failure; the previous series stay
        log.exception("refresh of org %s failed", run.org_id)
        Run.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, error=f"{type(exc).__name__}: {exc}", finished_at=timezone.now()
        )


def _prune(org_id: int) -> None:
    keep = list(Run.objects.filter(org_id=org_id, status=RunStatus.SUCCEEDED).values_list("pk", flat=True)[:KEEP_RUNS])
    Run.objects.filter(org_id=org_id, status=RunStatus.SUCCEEDED).exclude(pk__in=keep).delete()


def _compute_all(hw: Headway, ids: list[str], notes: dict[str, str], **options: object) -> pd.DataFrame | None:
    """Compute ``ids`` in one query; KPIs that cannot be computed are noted and left out."""
    ids = [k for k in ids if k not in notes]
    while ids:
        try:
            return hw.compute(ids, **options)  # type: ignore[arg-type]
        except CompileError as exc:
            bad = {e.kpi for e in exc.errors if e.kpi in ids}
            if not bad:
                raise
            for e in exc.errors:
                if e.kpi in bad:
                    notes.setdefault(e.kpi, e.message)
            ids = [k for k in ids if k not in bad]
        except (ValueError, duckdb.Error) as exc:
            # Not pinned on one KPI (e.g. a custom formula naming a column the data lost):
            # compute each alone, so one broken KPI is noted and the others still refresh.
            if len(ids) == 1:
                notes.setdefault(ids[0], str(exc))
                return None
            frames = [f for f in (_compute_all(hw, [k], notes, **options) for k in ids) if f is not None]
            if not frames:
                return None
            keys = [c for c in frames[0].columns if c in ("period", options.get("by"))]
            merged = frames[0]
            for frame in frames[1:]:
                merged = merged.merge(frame, on=keys, how="outer")
            return merged.sort_values(keys).reset_index(drop=True)
    return None


def breakdown_dimensions(kpi: Kpi, hw: Headway, known: Catalog) -> list[str]:
    """Text columns (not ids) that every dataset the KPI reads has; ``known`` resolves its references."""
    schema = hw.schema
    datasets = required_fields(kpi, known)
    shared: set[str] | None = None
    for ds in datasets:
        cols = {c for c, t in schema.get(ds, {}).items() if t is FieldType.STRING and not c.endswith("_id")}
        shared = cols if shared is None else shared & cols
    return sorted(shared or ())


def compute_series(org: Organization) -> tuple[list[SeriesPoint], dict[str, str], date | None]:
    kpis = org_kpis(org)
    hw = open_engine(org, kpis)
    try:
        notes: dict[str, str] = {k: "entered by hand" for k, s in kpis.items() if s.kind == "manual"}
        ids = [k for k in kpis if k not in notes]
        points: list[SeriesPoint] = []
        if notes:  # manual KPIs: the values people entered (strategy app), at their grain and coarser ones
            from headway.app.strategy.manual import manual_points

            entered, with_values = manual_points(org, {k: kpis[k] for k in notes}, GRAINS)
            points += entered
            notes = {k: v for k, v in notes.items() if k not in with_values}
        for grain in GRAINS:
            df = _compute_all(hw, ids, notes, grain=grain)
            if df is not None:
                points += list(_points(df, grain, "", None))
        # References resolve against the catalog and the org's own KPIs (a custom KPI may use another).
        catalog = load_catalog()
        known = Catalog(kpis={**catalog.kpis, **kpis}, sources=catalog.sources)
        by_dim: dict[str, list[str]] = {}
        for k in ids:
            if k in notes:
                continue
            for dim in breakdown_dimensions(kpis[k], hw, known):
                by_dim.setdefault(dim, []).append(k)
        for dim, dim_ids in by_dim.items():
            dim_notes: dict[str, str] = {}
            df = _compute_all(hw, dim_ids, dim_notes, grain=BREAKDOWN_GRAIN, by=dim)
            if df is not None and df[dim].nunique() <= MAX_DIMENSION_VALUES:
                points += list(_points(df, BREAKDOWN_GRAIN, dim, dim))
        as_of = (
            Dataset.objects.filter(org=org)
            .exclude(last_date=None)
            .order_by("-last_date")
            .values_list("last_date", flat=True)
            .first()
        )
        return points, notes, as_of
    finally:
        hw.close()


def _points(df: pd.DataFrame, grain: str, dimension: str, dim_col: str | None) -> Iterable[SeriesPoint]:
    kpi_cols = [c for c in df.columns if c not in ("period", dim_col)]
    long = df.melt(id_vars=["period", *([dim_col] if dim_col else [])], value_vars=kpi_cols, var_name="kpi")
    for row in long.itertuples(index=False):
        value = None if pd.isna(row.value) else float(row.value)
        yield SeriesPoint(
            kpi_id=row.kpi,
            grain=grain,
            period=pd.Timestamp(row.period).date(),
            dimension=dimension,
            dim_value=str(getattr(row, dim_col)) if dim_col else "",
            value=value,
        )

"""The job system: register a kind of background work, enqueue it for an org, a worker runs it.

    from headway.app.automation.jobs import enqueue, register

    @register("forecast.refit", lock="forecast", max_attempts=3)
    def refit(org, kpi_id: str) -> None: ...

    enqueue(org, "forecast.refit", kpi_id="revenue")   # -> Job

The ``Job`` table is the source of truth; Huey only carries "run job N" messages to the
worker (``headway worker``) and fires the scheduler every minute. A worker claims a job
with a conditional UPDATE (queued -> running) that must change exactly one row, so a
duplicated message never runs a job twice. A running job holds a lease that its worker
renews; a job whose worker died (lease expired) is re-queued by the scheduler. A job
registered with ``lock`` also takes the named lock ``<lock>:<org id>``, so two workers
never run, say, the same org's refresh at once. With ``HEADWAY_JOBS=sync`` (tests) a job
runs inline when it is enqueued.
"""

from __future__ import annotations

import contextvars
import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, close_old_connections, transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from headway.app.accounts.models import Organization
from headway.app.automation.models import Job, JobLock, JobStatus

log = logging.getLogger(__name__)

Handler = Callable[..., None]
TickHook = Callable[[datetime], None]


@dataclass(frozen=True)
class JobKind:
    name: str
    fn: Handler
    max_attempts: int
    lock: str | None
    backoff_seconds: int


_KINDS: dict[str, JobKind] = {}
_TICK_HOOKS: dict[str, TickHook] = {}
_current: contextvars.ContextVar[Job | None] = contextvars.ContextVar("headway_job", default=None)


class UnknownJobKind(KeyError):
    pass


def register(
    kind: str, *, max_attempts: int = 3, lock: str | None = None, backoff_seconds: int = 30
) -> Callable[[Handler], Handler]:
    """Register ``fn(org, **params)`` as the handler of ``kind`` (call it at import time, e.g. in AppConfig.ready)."""

    def decorator(fn: Handler) -> Handler:
        _KINDS[kind] = JobKind(kind, fn, max_attempts, lock, backoff_seconds)
        return fn

    return decorator


def on_tick(name: str) -> Callable[[TickHook], TickHook]:
    """Register ``fn(now)``, called by the scheduler every minute; it should enqueue whatever is due."""

    def decorator(fn: TickHook) -> TickHook:
        _TICK_HOOKS[name] = fn
        return fn

    return decorator


def kinds() -> list[str]:
    return sorted(_KINDS)


def current_job() -> Job | None:
    """The job being run (inside a handler), e.g. to keep progress in its params."""
    return _current.get()


def enqueue(org: Organization | None, kind: str, *, delay: float = 0, unique: bool = False, **params: Any) -> Job:
    """Create a queued job and hand it to the worker once the surrounding transaction commits.

    ``unique=True`` returns the org's already queued job of this kind (and params) instead of a second one.
    """
    if kind not in _KINDS:
        raise UnknownJobKind(f"no job kind {kind!r} is registered; known: {', '.join(kinds())}")
    if unique:
        existing = Job.objects.filter(org=org, kind=kind, status=JobStatus.QUEUED, params=params).first()
        if existing is not None:
            return existing
    job = Job.objects.create(
        org=org,
        kind=kind,
        params=params,
        max_attempts=_KINDS[kind].max_attempts,
        run_after=timezone.now() + timedelta(seconds=delay),
    )
    if settings.HEADWAY_JOBS == "sync":
        if delay <= 0:
            run_job(job.pk)
            job.refresh_from_db()
    else:
        transaction.on_commit(lambda: _dispatch(job.pk, delay))
    return job


def _dispatch(job_id: int, delay: float = 0) -> None:
    if settings.HEADWAY_JOBS == "sync":
        return
    from headway.app.automation.queue import run_job_task

    if delay > 0:
        run_job_task.schedule(args=(job_id,), delay=delay)
    else:
        run_job_task(job_id)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _lease() -> timedelta:
    return timedelta(seconds=settings.HEADWAY_JOB_LEASE_SECONDS)


def _lock_key(kind: JobKind, job: Job) -> str | None:
    return f"{kind.lock}:{job.org_id or 0}" if kind.lock else None


def _acquire(key: str, job_id: int, until: datetime) -> bool:
    try:
        with transaction.atomic():
            JobLock.objects.create(key=key, job_id=job_id, lease_until=until)
        return True
    except IntegrityError:
        pass
    free = Q(lease_until__lt=timezone.now()) | Q(job=None) | Q(job_id=job_id)
    return JobLock.objects.filter(free, key=key).update(job_id=job_id, lease_until=until) == 1


def run_job(job_id: int) -> str | None:
    """Claim and run one job; returns its new status, or None if another worker has it (or it is not due)."""
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED, run_after__lte=now).update(
        status=JobStatus.RUNNING,
        attempts=F("attempts") + 1,
        started_at=now,
        finished_at=None,
        lease_until=now + _lease(),
        worker=worker_name(),
    )
    if claimed != 1:
        return None
    job = Job.objects.select_related("org").get(pk=job_id)
    kind = _KINDS.get(job.kind)
    if kind is None:
        _finish(job, JobStatus.FAILED, f"no handler is registered for {job.kind!r} in this worker")
        return JobStatus.FAILED
    key = _lock_key(kind, job)
    if key and not _acquire(key, job.pk, now + _lease()):
        # Another job holds the lock (e.g. the org is being refreshed): wait a little and try again.
        Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
            status=JobStatus.QUEUED, attempts=F("attempts") - 1, run_after=now + timedelta(seconds=5), lease_until=None
        )
        _dispatch(job.pk, 5)
        return JobStatus.QUEUED
    stop = _heartbeat(job.pk, key)
    token = _current.set(job)
    try:
        kind.fn(job.org, **job.params)
    except Exception as exc:
        log.exception("job %s (%s) failed", job.pk, job.kind)
        error = f"{type(exc).__name__}: {exc}"
        if job.attempts < job.max_attempts:
            delay = kind.backoff_seconds * 2 ** (job.attempts - 1)
            _finish(job, JobStatus.QUEUED, error, run_after=timezone.now() + timedelta(seconds=delay))
            _dispatch(job.pk, delay)
            return JobStatus.QUEUED
        _finish(job, JobStatus.FAILED, error)
        return JobStatus.FAILED
    finally:
        _current.reset(token)
        stop()
        if key:
            JobLock.objects.filter(key=key, job_id=job.pk).delete()
    _finish(job, JobStatus.SUCCEEDED, "")
    return JobStatus.SUCCEEDED


def _finish(job: Job, status: str, error: str, run_after: datetime | None = None) -> None:
    changes: dict[str, Any] = {"status": status, "error": error, "lease_until": None, "finished_at": timezone.now()}
    if run_after is not None:
        changes["run_after"] = run_after
    Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(**changes)


def _heartbeat(job_id: int, key: str | None) -> Callable[[], None]:
    """Renew the job's lease (and lock) while it runs, so only a dead worker's jobs expire."""
    if settings.HEADWAY_JOBS == "sync":
        return lambda: None

    def beat() -> None:
        until = timezone.now() + _lease()
        Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(lease_until=until)
        if key:
            JobLock.objects.filter(key=key, job_id=job_id).update(lease_until=until)

    return keep_alive(beat, f"job-{job_id}")


def sweep(now: datetime | None = None) -> int:
    """Re-queue running jobs whose worker stopped renewing the lease; re-send queued jobs that are due."""
    now = now or timezone.now()
    requeued = 0
    for job in Job.objects.filter(status=JobStatus.RUNNING, lease_until__lt=now):
        note = f"the worker {job.worker} stopped during attempt {job.attempts}"
        status = JobStatus.QUEUED if job.attempts < job.max_attempts else JobStatus.FAILED
        changed = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, lease_until__lt=now).update(
            status=status, error=note, lease_until=None, run_after=now
        )
        requeued += changed
    # Messages can be lost (a worker killed after taking one): every due queued job is sent again;
    # the claim makes a duplicate harmless.
    for job_id in Job.objects.filter(status=JobStatus.QUEUED, run_after__lte=now).values_list("pk", flat=True):
        _dispatch(job_id)
    return requeued


def tick(now: datetime | None = None) -> None:
    """The scheduler's minute: sweep, then every registered hook (each one failing alone)."""
    now = now or timezone.now()
    sweep(now)
    for name, hook in list(_TICK_HOOKS.items()):
        try:
            hook(now)
        except Exception:
            log.exception("scheduler hook %s failed", name)


def run_pending(now: datetime | None = None) -> int:
    """Run every due queued job in this process (tests, `headway worker --once`); returns how many ran."""
    ran = 0
    while True:
        due = Job.objects.filter(status=JobStatus.QUEUED, run_after__lte=now or timezone.now()).order_by("pk")
        job_id = due.values_list("pk", flat=True).first()
        if job_id is None or run_job(job_id) is None:
            return ran
        ran += 1


def last_success(org: Organization | None) -> dict[str, datetime]:
    """The last time each kind of job succeeded for the org."""
    rows = Job.objects.filter(org=org, status=JobStatus.SUCCEEDED).values("kind").annotate(at=Max("finished_at"))
    return {r["kind"]: r["at"] for r in rows}


# -- Is a worker running? Work started from a web request goes to a worker when one is, else to a thread. --

WORKER_KEY = "worker:"


def keep_alive(beat: Callable[[], object], name: str) -> Callable[[], None]:
    """Call ``beat()`` every third of the lease in a daemon thread until the returned ``stop()`` is called.

    The web thread of a "refresh now" and a worker's liveness row use it, so only dead work goes stale.
    """
    done = threading.Event()
    every = max(1.0, settings.HEADWAY_JOB_LEASE_SECONDS / 3)

    def run() -> None:
        try:
            while not done.wait(every):
                try:
                    beat()
                except Exception:  # a busy database now and then must not end the heartbeat
                    log.warning("heartbeat %s failed; trying again", name, exc_info=True)
        finally:
            close_old_connections()

    thread = threading.Thread(target=run, name=f"heartbeat-{name}", daemon=True)
    thread.start()

    def stop() -> None:
        done.set()
        thread.join(timeout=5)

    return stop


def start_worker_heartbeat() -> Callable[[], None]:
    """Keep this worker's liveness row (a ``JobLock`` keyed ``worker:<host>:<pid>``) within the lease.

    ``workers_alive()`` reads it. Returns ``stop()``, which removes the row; a killed worker's row
    simply runs out.
    """
    key = (WORKER_KEY + worker_name())[:100]

    def beat() -> None:
        JobLock.objects.update_or_create(key=key, defaults={"job": None, "lease_until": timezone.now() + _lease()})

    beat()  # at once, so work is sent here from the first moment
    stop_beating = keep_alive(beat, key)

    def stop() -> None:
        stop_beating()
        JobLock.objects.filter(key=key).delete()
        close_old_connections()

    return stop


def workers_alive(now: datetime | None = None) -> bool:
    """Whether a `headway worker` renewed its liveness row within the lease (one indexed query)."""
    return JobLock.objects.filter(key__startswith=WORKER_KEY, lease_until__gte=now or timezone.now()).exists()


def pending_param(kind: str, key: str, org: Organization | None = None) -> set[Any]:
    """``params[key]`` of the jobs of ``kind`` that are running or will still run (queued while a worker is alive)."""
    statuses = [JobStatus.RUNNING, *([JobStatus.QUEUED] if workers_alive() else [])]
    jobs = Job.objects.filter(kind=kind, status__in=statuses)
    if org is not None:
        jobs = jobs.filter(org=org)
    return {params.get(key) for params in jobs.values_list("params", flat=True) if isinstance(params, dict)}

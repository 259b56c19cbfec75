"""The job system: claim once, retry with back-off, per-org locks, expired leases re-queued, scheduler hooks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from headway.app.accounts.models import Organization
from headway.app.automation import jobs
from headway.app.automation.models import Job, JobLock, JobStatus
from headway.app.kpis.models import Run, RunStatus, SeriesPoint

calls: list[tuple[int | None, dict]] = []
fail_times = {"n": 0}


@jobs.register("test.record", lock="test")
def record(org: Organization | None, **params: object) -> None:
    calls.append((org.pk if org else None, params))


@jobs.register("test.flaky", max_attempts=2, backoff_seconds=60)
def flaky(org: Organization | None) -> None:
    if fail_times["n"] > 0:
        fail_times["n"] -= 1
        raise ConnectionError("source timed out")
    calls.append((org.pk if org else None, {}))


@pytest.fixture(autouse=True)
def reset():
    calls.clear()
    fail_times["n"] = 0


def test_enqueue_runs_inline_in_sync_mode_and_records_success(other_org):
    job = jobs.enqueue(other_org, "test.record", kpi_id="revenue")
    assert calls == [(other_org.pk, {"kpi_id": "revenue"})]
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 1 and job.finished_at is not None
    assert set(jobs.last_success(other_org)) == {"test.record"}


def test_unknown_kind_is_refused_by_name(other_org):
    with pytest.raises(jobs.UnknownJobKind, match="no job kind 'nope'"):
        jobs.enqueue(other_org, "nope")
    assert not Job.objects.exists()


def test_a_job_is_claimed_once(other_org):
    job = jobs.enqueue(other_org, "test.record", delay=0.001)
    assert calls == []  # delayed: not run at enqueue
    job.run_after = timezone.now()
    job.save()
    assert jobs.run_job(job.pk) == JobStatus.SUCCEEDED
    assert jobs.run_job(job.pk) is None  # a duplicated message finds nothing to claim
    assert len(calls) == 1


def test_a_failing_job_is_retried_with_back_off_then_fails_for_good(other_org):
    fail_times["n"] = 1
    job = jobs.enqueue(other_org, "test.flaky")
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and "source timed out" in job.error
    assert job.run_after > timezone.now() + timedelta(seconds=50)  # back-off of 60 s
    assert jobs.run_pending() == 0  # not due yet
    Job.objects.filter(pk=job.pk).update(run_after=timezone.now())
    assert jobs.run_pending() == 1
    job.refresh_from_db()
    assert (job.status, job.attempts, job.error) == (JobStatus.SUCCEEDED, 2, "")
    fail_times["n"] = 5
    job2 = jobs.enqueue(other_org, "test.flaky")
    Job.objects.filter(pk=job2.pk).update(run_after=timezone.now())
    jobs.run_pending()
    job2.refresh_from_db()
    assert job2.status == JobStatus.FAILED and job2.attempts == 2 and "ConnectionError" in job2.error


def test_a_held_lock_makes_the_same_org_wait_but_not_another(other_org, shop):
    holder = Job.objects.create(org=other_org, kind="test.record", status=JobStatus.RUNNING, run_after=timezone.now())
    JobLock.objects.create(key=f"test:{other_org.pk}", job=holder, lease_until=timezone.now() + timedelta(minutes=5))
    waiting = jobs.enqueue(other_org, "test.record")
    waiting.refresh_from_db()
    assert waiting.status == JobStatus.QUEUED and waiting.attempts == 0 and calls == []
    jobs.enqueue(shop, "test.record")  # another org's lock is free
    assert calls == [(shop.pk, {})]
    JobLock.objects.filter(job=holder).update(lease_until=timezone.now() - timedelta(seconds=1))
    Job.objects.filter(pk=waiting.pk).update(run_after=timezone.now())
    assert jobs.run_job(waiting.pk) == JobStatus.SUCCEEDED
    assert calls[-1] == (other_org.pk, {}) and not JobLock.objects.exists()


def test_sweep_requeues_a_dead_workers_job_and_gives_up_after_max_attempts(other_org):
    past = timezone.now() - timedelta(seconds=1)
    dead = Job.objects.create(
        org=other_org, kind="test.record", status=JobStatus.RUNNING, attempts=1, lease_until=past, run_after=past
    )
    alive = Job.objects.create(
        org=other_org,
        kind="test.record",
        status=JobStatus.RUNNING,
        attempts=1,
        lease_until=timezone.now() + timedelta(minutes=1),
        run_after=past,
    )
    last = Job.objects.create(
        org=other_org, kind="test.record", status=JobStatus.RUNNING, attempts=3, lease_until=past, run_after=past
    )
    assert jobs.sweep() == 2
    statuses = dict(Job.objects.values_list("pk", "status"))
    assert statuses == {dead.pk: JobStatus.QUEUED, alive.pk: JobStatus.RUNNING, last.pk: JobStatus.FAILED}
    assert "stopped during attempt 1" in Job.objects.get(pk=dead.pk).error


def test_tick_runs_every_hook_even_when_one_fails(other_org):
    seen = []
    jobs.on_tick("test.broken")(lambda now: 1 / 0)
    jobs.on_tick("test.seen")(seen.append)
    try:
        jobs.tick()
    finally:
        jobs._TICK_HOOKS.pop("test.broken")
        jobs._TICK_HOOKS.pop("test.seen")
    assert len(seen) == 1


def test_refresh_job_replaces_a_run_left_running_by_a_dead_worker(shop):
    before = shop.current_run_id
    kept = SeriesPoint.objects.filter(run_id=before).count()
    stale = Run.objects.create(org=shop, status=RunStatus.RUNNING, started_at=timezone.now())
    job = jobs.enqueue(shop, "kpis.refresh", run_id=stale.pk)
    assert job.status == JobStatus.SUCCEEDED, job.error
    stale.refresh_from_db()
    shop.refresh_from_db()
    assert stale.status == RunStatus.FAILED and "worker stopped" in stale.error
    assert shop.current_run_id not in (before, stale.pk)
    assert Job.objects.get(pk=job.pk).params["run_id"] == shop.current_run_id
    assert SeriesPoint.objects.filter(run_id=shop.current_run_id).count() == kept


def test_recompute_hook_enqueues_only_stale_orgs(shop, other_org):
    jobs._TICK_HOOKS["kpis.recompute"](timezone.now())
    assert not Job.objects.filter(kind="kpis.refresh").exists()  # shop was just computed; other has no data
    jobs._TICK_HOOKS["kpis.recompute"](timezone.now() + timedelta(hours=25))
    assert list(Job.objects.filter(kind="kpis.refresh").values_list("org_id", "status")) == [
        (shop.pk, JobStatus.SUCCEEDED)
    ]

""" "Refresh now" and "Send now" survive a server restart.

- With a `headway worker` alive (its liveness row), the work goes to the worker as a job, and a real
  worker subprocess completes it; with none alive, a thread of the web process does it (no job).
- A run or a sending whose process died (heartbeat older than the lease) is marked failed with the
  reason, by the scheduler's tick and when the page reads the status; the scorecard keeps the previous
  run's numbers. A run whose thread is alive keeps its heartbeat fresh and is never touched.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from app_helpers import client_for
from django.urls import reverse
from django.utils import timezone
from subprocess_world import SHOP_SETUP, subprocess_env, wait_for

from headway.app.automation import jobs
from headway.app.automation.models import Job, JobLock, JobStatus
from headway.app.kpis import refresh
from headway.app.kpis.models import Run, RunStatus, SeriesPoint
from headway.app.reports import sending
from headway.app.reports.models import DeliveryStatus, ReportDelivery
from headway.app.reports.pack import build_pack

HEADWAY = Path(sys.executable).with_name("headway")
LEASE = 3


@pytest.fixture
def lease(settings):
    settings.HEADWAY_JOB_LEASE_SECONDS = LEASE
    return timedelta(seconds=LEASE)


def stale(lease: timedelta):
    return timezone.now() - lease - timedelta(seconds=5)


# -- recovery: the planted stuck rows ---------------------------------------------------------------------------


def test_a_run_left_running_by_a_dead_process_is_failed_when_the_status_is_read(client, shop, lease):
    previous = shop.current_run
    points = SeriesPoint.objects.filter(run=previous).count()
    aov = next(r for r in build_pack(shop).rows if r.kpi_id == "aov")
    old = stale(lease)
    dead = Run.objects.create(org=shop, status=RunStatus.RUNNING, started_at=old, heartbeat_at=old)
    owner = client_for(client, "owner")

    status = owner.get(reverse("run_status")).content.decode()

    dead.refresh_from_db()
    assert dead.status == RunStatus.FAILED and dead.error == refresh.INTERRUPTED and dead.finished_at is not None
    assert "Last refresh failed: interrupted (the server stopped while it ran)" in status
    assert "refresh again" in status and "every 10s" in status  # no longer polls as if it were running
    shop.refresh_from_db()
    assert shop.current_run_id == previous.pk
    assert SeriesPoint.objects.filter(run=previous).count() == points
    page = owner.get(reverse("scorecard")).content.decode()
    assert "showing the previous numbers" in page and aov.value_text in page


def test_a_running_run_with_a_fresh_heartbeat_is_left_alone(shop, lease):
    old = stale(lease)
    alive = Run.objects.create(org=shop, status=RunStatus.RUNNING, started_at=old, heartbeat_at=timezone.now())
    never_beat = Run.objects.create(org=shop, status=RunStatus.RUNNING, started_at=old)
    assert refresh.recover_stuck(shop) == 1
    alive.refresh_from_db()
    never_beat.refresh_from_db()
    assert alive.status == RunStatus.RUNNING and alive.error == ""
    assert never_beat.status == RunStatus.FAILED and never_beat.error == refresh.INTERRUPTED


def test_a_queued_run_is_failed_only_when_nothing_will_run_it(shop, lease):
    old = stale(lease)
    orphan = Run.objects.create(org=shop)
    waiting = Run.objects.create(org=shop)
    young = Run.objects.create(org=shop)
    Run.objects.filter(pk__in=[orphan.pk, waiting.pk]).update(created_at=old)
    job = Job.objects.create(
        org=shop, kind="kpis.refresh", params={"run_id": waiting.pk}, run_after=timezone.now(), max_attempts=3
    )
    stop = jobs.start_worker_heartbeat()  # a worker is alive: its queued job will run `waiting`
    try:
        assert jobs.workers_alive()
        assert refresh.recover_stuck(shop) == 1
    finally:
        stop()
    assert not jobs.workers_alive() and not JobLock.objects.exists()
    statuses = dict(Run.objects.filter(pk__in=[orphan.pk, waiting.pk, young.pk]).values_list("pk", "status"))
    assert statuses == {orphan.pk: RunStatus.FAILED, waiting.pk: RunStatus.QUEUED, young.pk: RunStatus.QUEUED}
    # Without a live worker the queued job will not run either.
    assert refresh.recover_stuck(shop) == 1
    waiting.refresh_from_db()
    assert waiting.status == RunStatus.FAILED and Job.objects.get(pk=job.pk).status == JobStatus.QUEUED


def test_the_scheduler_tick_recovers_runs_and_sendings_of_every_org(shop, other_org, lease):
    old = stale(lease)
    run = Run.objects.create(org=other_org, status=RunStatus.RUNNING, started_at=old, heartbeat_at=old)
    report = shop.reports.create(name="Pack", recipients="boss@example.com")
    delivery = sending.claim(report, timezone.now())
    ReportDelivery.objects.filter(pk=delivery.pk).update(created_at=old)
    jobs.tick(timezone.now())
    run.refresh_from_db()
    delivery.refresh_from_db()
    assert (run.status, run.error) == (RunStatus.FAILED, refresh.INTERRUPTED)
    assert (delivery.status, delivery.error) == (DeliveryStatus.FAILED, sending.INTERRUPTED)


def test_a_stuck_sending_is_failed_when_the_reports_page_is_read_and_a_live_one_is_not(client, shop, lease):
    report = shop.reports.create(name="Pack", recipients="boss@example.com")
    old = stale(lease)
    dead = sending.claim(report, timezone.now() - timedelta(minutes=1))
    live = sending.claim(report, timezone.now())
    ReportDelivery.objects.filter(pk__in=[dead.pk, live.pk]).update(created_at=old)
    ReportDelivery.objects.filter(pk=live.pk).update(heartbeat_at=timezone.now())

    page = client_for(client, "owner").get(reverse("reports")).content.decode()

    dead.refresh_from_db()
    live.refresh_from_db()
    assert (dead.status, dead.error) == (DeliveryStatus.FAILED, sending.INTERRUPTED)
    assert live.status == DeliveryStatus.SENDING and live.error == ""
    assert "interrupted (the server stopped while it was being sent)" in page


def test_recovery_is_per_organisation_when_a_page_reads_it(shop, other_org, lease):
    old = stale(lease)
    theirs = Run.objects.create(org=other_org, status=RunStatus.RUNNING, started_at=old, heartbeat_at=old)
    assert refresh.recover_stuck(shop) == 0
    theirs.refresh_from_db()
    assert theirs.status == RunStatus.RUNNING


# -- the thread path: no worker alive ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_without_a_worker_a_thread_refreshes_and_keeps_its_run_alive_past_the_lease(shop, settings, lease, monkeypatch):
    settings.HEADWAY_JOBS = "thread"
    assert not jobs.workers_alive()
    release, computing = threading.Event(), threading.Event()
    compute = refresh.compute_series

    def slow(org):
        result = compute(org)
        computing.set()
        release.wait(60)
        return result

    monkeypatch.setattr(refresh, "compute_series", slow)
    previous = shop.current_run_id
    run = refresh.start_refresh(shop)
    try:
        assert computing.wait(60), "the thread did not start computing"
        assert not Job.objects.filter(kind="kpis.refresh").exists()  # the thread path, not a job
        first = Run.objects.get(pk=run.pk).heartbeat_at
        # Past the lease: the thread's heartbeat keeps the run alive, so neither the sweep nor a read touch it.
        wait_for(lambda: Run.objects.get(pk=run.pk).heartbeat_at > first + lease, 30, "a heartbeat past the lease")
        assert Run.objects.get(pk=run.pk).started_at < timezone.now() - lease
        assert refresh.recover_stuck() == 0
        assert refresh.latest_run(shop).status == RunStatus.RUNNING
    finally:
        release.set()
    wait_for(lambda: Run.objects.get(pk=run.pk).status == RunStatus.SUCCEEDED, 60, "the thread's refresh")
    shop.refresh_from_db()
    assert shop.current_run_id == run.pk != previous
    assert SeriesPoint.objects.filter(run=run).count() == SeriesPoint.objects.filter(run_id=previous).count()


# -- the job path: a real `headway worker` --------------------------------------------------------------------------

SETUP = (
    SHOP_SETUP
    + """
report = org.reports.create(name="Monthly pack", recipients="boss@example.com")
print(json.dumps({"org": org.pk, "run": run.pk, "report": report.pk}))
"""
)

# What the web process does on "Refresh now" and "Send now".
CLICK = """
import django, json, sys
django.setup()
from headway.app.accounts.models import Organization
from headway.app.automation.jobs import workers_alive
from headway.app.kpis.refresh import start_refresh
from headway.app.reports.models import Report
from headway.app.reports.sending import send_now

org = Organization.objects.get(pk=int(sys.argv[1]))
alive = workers_alive()
run = start_refresh(org)
delivery = send_now(Report.objects.get(pk=int(sys.argv[2])))
print(json.dumps({"alive": alive, "run": run.pk, "delivery": delivery.pk}))
"""


def test_with_a_worker_alive_refresh_now_and_send_now_are_jobs_the_worker_completes(tmp_path, smtp_server):
    from django.conf import settings

    env = subprocess_env(
        tmp_path,
        LEASE,
        HEADWAY_EMAIL_HOST="127.0.0.1",
        HEADWAY_EMAIL_PORT=str(settings.EMAIL_PORT),
        HEADWAY_EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
    )
    out = subprocess.run(
        [sys.executable, "-c", SETUP], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    ids = json.loads(out.stdout.strip().splitlines()[-1])
    db = sqlite3.connect(tmp_path / "app.sqlite3", timeout=30)

    def q(sql: str, *args):
        return db.execute(sql, args).fetchall()

    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen([str(HEADWAY), "worker", "--no-migrate"], env=env, cwd=tmp_path, stdout=log, stderr=log)
    try:
        wait_for(lambda: q("select count(*) from automation_joblock where key like 'worker:%'")[0][0], 120, "worker")
        # The set-up's refresh queued follow-up jobs (forecasts, demand); SQLite has one writer, so let them finish.
        busy = "select count(*) from automation_job where status in ('queued', 'running')"
        wait_for(lambda: q(busy)[0][0] == 0, 180, "the set-up's follow-up jobs")
        click = subprocess.run(
            [sys.executable, "-c", CLICK, str(ids["org"]), str(ids["report"])],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert click.returncode == 0, click.stderr[-3000:]
        made = json.loads(click.stdout.strip().splitlines()[-1])
        assert made["alive"] is True
        # The clicking process has exited: only the worker can finish these.
        jobs_made = q("select kind, params from automation_job where kind in ('kpis.refresh', 'reports.send')")
        assert sorted((k, json.loads(p)) for k, p in jobs_made) == [
            ("kpis.refresh", {"run_id": made["run"]}),
            ("reports.send", {"delivery_id": made["delivery"]}),
        ]

        def done():
            run = q("select status from kpis_run where id = ?", made["run"])[0][0]
            delivery = q("select status from reports_reportdelivery where id = ?", made["delivery"])[0][0]
            return run != "queued" and run != "running" and delivery != "sending" and smtp_server.messages

        try:
            wait_for(done, 180, "the worker to refresh and send")
        except AssertionError:
            raise AssertionError((tmp_path / "worker.log").read_text()[-3000:]) from None
        assert q("select status, error from kpis_run where id = ?", made["run"])[0] == ("succeeded", "")
        assert q("select current_run_id from accounts_organization where id = ?", ids["org"])[0][0] == made["run"]
        points = "select count(*) from kpis_seriespoint where run_id = ?"
        assert q(points, made["run"])[0][0] == q(points, ids["run"])[0][0] > 100
        assert q("select status from reports_reportdelivery where id = ?", made["delivery"])[0][0] == "sent"
        assert len(smtp_server.messages) == 1 and smtp_server.messages[0]["To"] == "boss@example.com"
        statuses = q("select kind, status from automation_job where kind in ('kpis.refresh', 'reports.send')")
        assert sorted(statuses) == [("kpis.refresh", "succeeded"), ("reports.send", "succeeded")]
    finally:
        worker.terminate()
        assert worker.wait(30) == 0
        log.close()
    # A worker that stops removes its liveness row: the next click goes to a thread.
    assert q("select count(*) from automation_joblock where key like 'worker:%'")[0][0] == 0

"""A real `headway worker` killed with SIGKILL in the middle of a refresh: the previous series stay,
a second worker retries the job to completion, and the alert it triggers is delivered exactly once.

Everything runs in subprocesses on a SQLite file database (the test database of pytest-django
lives in memory, which another process cannot see); the test reads the results with sqlite3.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from subprocess_world import SHOP_SETUP, subprocess_env, wait_for
from webhook_receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]
HEADWAY = Path(sys.executable).with_name("headway")

SETUP = (
    SHOP_SETUP
    + """
from headway.app.automation.jobs import enqueue
from headway.app.automation.models import AlertRule, Channel

org.refresh_from_db()
latest = (SeriesPoint.objects.filter(run=org.current_run, kpi_id="aov", grain="month", dimension="")
          .exclude(value=None).order_by("-period").values_list("value", flat=True).first())
channel = Channel.objects.create(org=org, kind="webhook", name="Ops", config={"url": sys.argv[1]}, secret="k")
rule = AlertRule.objects.create(org=org, name="AOV above plan", kpi_id="aov", kind="threshold_above",
                                params={"threshold": latest - 1})
rule.channels.add(channel)
job = enqueue(org, "kpis.refresh")
print(json.dumps({"org": org.pk, "run": org.current_run_id, "job": job.pk}))
"""
)

# The planted slow step: the first worker's refresh computes, says so, then hangs before the swap.
SLOW_WORKER = """
import sys, time, django
real_setup = django.setup
def setup(*args, **kwargs):
    real_setup(*args, **kwargs)
    import headway.app.kpis.refresh as refresh
    compute = refresh.compute_series
    def slow(org):
        result = compute(org)
        open(sys.argv[1], "w").write("computing")
        time.sleep(600)
        return result
    refresh.compute_series = slow
django.setup = setup
from headway.cli.main import app
app(["worker", "--no-migrate", "--threads", "1"])
"""


@pytest.fixture
def world(tmp_path):
    env = subprocess_env(tmp_path, 3, HEADWAY_WEBHOOK_ALLOW_PRIVATE="true")  # the receiver listens on 127.0.0.1
    receiver = Receiver([])
    procs: list[subprocess.Popen] = []
    yield env, receiver, procs, tmp_path
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait(10)
    receiver.close()


def test_a_killed_worker_leaves_the_series_and_the_retry_completes_without_duplicate_alerts(world):
    import json

    env, receiver, procs, tmp = world
    out = subprocess.run(
        [sys.executable, "-c", SETUP, receiver.url], env=env, cwd=tmp, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    ids = json.loads(out.stdout.strip().splitlines()[-1])
    db = sqlite3.connect(tmp / "app.sqlite3", timeout=10)

    def q(sql: str, *args):
        return db.execute(sql, args).fetchall()

    points_before = q("select count(*) from kpis_seriespoint where run_id = ?", ids["run"])[0][0]
    assert points_before > 100

    marker = tmp / "computing"
    log1 = (tmp / "worker1.log").open("w")
    procs.append(
        subprocess.Popen([sys.executable, "-c", SLOW_WORKER, str(marker)], env=env, cwd=tmp, stdout=log1, stderr=log1)
    )
    wait_for(marker.exists, 120, "the first worker to reach the slow step")
    job = q("select status, attempts from automation_job where id = ?", ids["job"])[0]
    assert job == ("running", 1)
    killed_run = q("select id from kpis_run where org_id = ? and status = 'running'", ids["org"])[0][0]

    procs[0].send_signal(signal.SIGKILL)
    procs[0].wait(10)
    log1.close()
    # Nothing half-written: the org still shows the previous run, with all its points.
    assert q("select current_run_id from accounts_organization where id = ?", ids["org"])[0][0] == ids["run"]
    assert q("select count(*) from kpis_seriespoint where run_id = ?", ids["run"])[0][0] == points_before
    assert q("select count(*) from kpis_seriespoint where run_id = ?", killed_run)[0][0] == 0
    assert receiver.requests == []

    time.sleep(3.5)  # let the dead worker's lease run out
    log2 = (tmp / "worker2.log").open("w")
    procs.append(subprocess.Popen([str(HEADWAY), "worker", "--no-migrate"], env=env, cwd=tmp, stdout=log2, stderr=log2))

    def done():
        rows = q("select status from automation_job where id = ?", ids["job"])
        return rows[0][0] == "succeeded" and q("select count(*) from automation_delivery where status = 'sent'")[0][0]

    try:
        wait_for(done, 120, "the retried refresh and its alert")
    except AssertionError:
        raise AssertionError((tmp / "worker2.log").read_text()[-3000:]) from None
    time.sleep(2)  # room for a duplicate to show up, if there were one

    status, attempts, error = q("select status, attempts, error from automation_job where id = ?", ids["job"])[0]
    assert (status, attempts, error) == ("succeeded", 2, "")
    assert q("select status, error from kpis_run where id = ?", killed_run)[0][0] == "failed"
    current = q("select current_run_id from accounts_organization where id = ?", ids["org"])[0][0]
    assert current not in (ids["run"], killed_run)
    assert q("select count(*) from kpis_seriespoint where run_id = ?", current)[0][0] == points_before
    assert q("select count(*) from automation_notification")[0][0] == 1
    assert q("select count(*) from automation_delivery")[0][0] == 1
    assert len(receiver.requests) == 1
    assert json.loads(receiver.requests[0][2])["event"] == "firing"

    procs[1].send_signal(signal.SIGINT)
    assert procs[1].wait(30) == 0
    log2.close()

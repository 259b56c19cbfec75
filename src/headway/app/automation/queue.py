"""The Huey instance that carries job messages to `headway worker` and fires the scheduler.

SQLite storage in the data folder by default (``jobs.sqlite3``), Redis when ``REDIS_URL`` is set.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import close_old_connections
from huey import Huey, RedisHuey, SqliteHuey, crontab


def make_huey() -> Huey:
    if settings.REDIS_URL:
        return RedisHuey("headway", url=settings.REDIS_URL)
    path = Path(settings.DATA_DIR) / "jobs.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("headway", filename=str(path))


HUEY = make_huey()


@HUEY.task()
def run_job_task(job_id: int) -> None:
    from headway.app.automation.jobs import run_job

    close_old_connections()
    try:
        run_job(job_id)
    finally:
        close_old_connections()


@HUEY.periodic_task(crontab(minute="*"))
def tick_task() -> None:
    from headway.app.automation.jobs import tick

    close_old_connections()
    try:
        tick()
    finally:
        close_old_connections()

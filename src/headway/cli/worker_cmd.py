"""`headway worker`: the background worker (Huey consumer) that runs jobs and the scheduler."""

from __future__ import annotations

from typing import Annotated

import typer

from headway.cli.formatting import console
from headway.cli.web_cmd import setup_django


def worker(
    threads: Annotated[int, typer.Option(help="Jobs run at once (threads).", min=1, max=64)] = 2,
    once: Annotated[bool, typer.Option(help="Run the due jobs in this process, then exit.")] = False,
    migrate: Annotated[bool, typer.Option(help="Apply database migrations first.")] = True,
) -> None:
    """Run background jobs (refreshes, alerts, notifications) and the every-minute scheduler."""
    setup_django()
    from django.conf import settings
    from django.core.management import call_command

    if migrate:
        call_command("migrate", interactive=False, verbosity=0)
    from headway.app.automation import jobs

    requeued = jobs.sweep()
    if once:
        ran = jobs.run_pending()
        console.print(f"Ran {ran} job(s); re-queued {requeued} left by a stopped worker.")
        return
    from headway.app.automation.queue import HUEY

    where = "Redis" if settings.REDIS_URL else f"{settings.DATA_DIR}/jobs.sqlite3"
    console.print(
        f"Headway worker: {threads} thread(s), queue in {where}, kinds: {', '.join(jobs.kinds())}"
        + (f"; re-queued {requeued} job(s) left by a stopped worker" if requeued else "")
    )
    consumer = HUEY.create_consumer(
        workers=threads, worker_type="thread", periodic=True, check_worker_health=True, max_delay=2.0
    )
    stop_heartbeat = jobs.start_worker_heartbeat()  # web processes send "refresh now" here while it beats
    try:
        consumer.run()
    finally:
        stop_heartbeat()

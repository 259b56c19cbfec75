"""What the tests that run real `headway worker` subprocesses share: the environment of a SQLite file
installation, the set-up script that makes its demo shop, and polling with a deadline."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Run in a fresh interpreter with the environment of subprocess_env(): migrate, a demo e-commerce shop with
# its first refresh done. Tests append their own lines and print what they need as the last (JSON) line.
SHOP_SETUP = """
import django, json, sys
django.setup()
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
from django.contrib.auth import get_user_model
from headway.app.accounts.onboarding import create_org, load_demo_data
from headway.app.kpis.models import Run, SeriesPoint
from headway.app.kpis.refresh import execute

owner = get_user_model().objects.create_user("owner", "owner@example.com", "correct horse battery")
org = create_org("Shop", owner, "ecommerce")
load_demo_data(org, "ecommerce", "tiny", seed=1)
run = Run.objects.create(org=org)
execute(run.pk)
"""


def subprocess_env(tmp_path: Path, lease_seconds: int, **extra: str) -> dict[str, str]:
    """A SQLite file database and a data folder under ``tmp_path`` (pytest-django's in-memory database is
    invisible to other processes), jobs on threads, the given lease."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "headway.app.settings",
        "HEADWAY_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.sqlite3'}",
        "HEADWAY_JOBS": "thread",
        "HEADWAY_JOB_LEASE_SECONDS": str(lease_seconds),
        "HEADWAY_LOG_LEVEL": "WARNING",
        **extra,
    }


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.1) -> Any:
    """``check()``'s first truthy value, polled until ``timeout`` seconds; fails naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")

"""Browser tests: a real `headway serve` on a demo organisation, driven by Playwright and Debian's chromium.

The server runs in a subprocess with its own data folder, so these tests see exactly what
a user of `headway web-demo` sees. Expected numbers come straight from the org's DuckDB
file through the engine, independently of the web app.

The browser is package-scoped (this folder is a package for that reason): Playwright's sync
API keeps an asyncio loop running while it is open, and Django refuses ORM calls from the
rest of the suite while one runs, so it must close when these tests end.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEMO_USER, DEMO_PASSWORD = "demo", "headway-demo"
HEADWAY = Path(sys.executable).with_name("headway")
START_TIMEOUT = 60.0


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives the web app in chromium (Playwright); needs /usr/bin/chromium")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # In CI chromium is installed by .ci/run, so a missing browser there is a failure, not a skip.
    if CHROMIUM.exists() or os.environ.get("CI"):
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is missing (apt-get install chromium)")
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(skip)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    # pytest-django sets the test settings in os.environ; the server runs the real ones.
    env.update(
        DJANGO_SETTINGS_MODULE="headway.app.settings",
        HEADWAY_DATA_DIR=str(data_dir),
        HEADWAY_JOBS="sync",
        HEADWAY_DEBUG="0",
    )
    return env


def wait_until_up(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"headway serve exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"headway serve did not answer {url} within {START_TIMEOUT:.0f} s:\n{log.read_text()[-4000:]}")


@dataclass(frozen=True)
class WebServer:
    url: str
    data_dir: Path

    def warehouse(self) -> Path:
        """The demo org's DuckDB file (the data folder holds exactly one org)."""
        (path,) = self.data_dir.glob("orgs/*/warehouse.duckdb")
        return path


@pytest.fixture(scope="package")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """`headway web-demo --size tiny --no-serve`, then `headway serve` on a free port, stopped afterwards."""
    data_dir = tmp_path_factory.mktemp("headway-web")
    env = server_env(data_dir)
    subprocess.run(
        [HEADWAY, "web-demo", "--size", "tiny", "--no-serve"],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    port = free_port()
    log = data_dir / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [HEADWAY, "serve", "--port", str(port), "--workers", "1", "--threads", "4"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/login/", proc, log)
        yield WebServer(url, data_dir)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Warehouse:
    """The demo org's DuckDB file, read through the engine (no Django), for expected values."""

    def __init__(self, path: Path):
        self.path = path

    def _open(self, models: tuple = ()):  # type: ignore[no-untyped-def]
        from headway.engine.api import open as open_headway
        from headway.engine.periods import Calendar
        from headway.engine.warehouse import DuckDBWarehouse

        # The demo org keeps the default calendar: Monday weeks, January fiscal year, UTC.
        return open_headway(DuckDBWarehouse(self.path, read_only=True), models=models, calendar=Calendar())

    def compute(self, kpi_ids: list[str], grain: str = "month", models: tuple = ()) -> pd.DataFrame:
        """One row per period (indexed by its first day as a date), one column per KPI."""
        hw = self._open(models)
        try:
            df = hw.compute(kpi_ids, grain=grain)
        finally:
            hw.close()
        df.index = [p.date() for p in df.pop("period")]
        return df

    def last_day(self, dataset: str, column: str) -> date:
        hw = self._open()
        try:
            return pd.Timestamp(hw.warehouse.query(f'SELECT max("{column}") FROM "{dataset}"').iloc[0, 0]).date()
        finally:
            hw.close()


@pytest.fixture(scope="package")
def warehouse(web_server: WebServer) -> Warehouse:
    return Warehouse(web_server.warehouse())


@pytest.fixture(scope="package")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, web_server: WebServer) -> Iterator:
    """A fresh browser context per test, signed in as the demo user."""
    context = browser.new_context(base_url=web_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        login(page)
        yield page
    finally:
        context.close()


def login(page) -> None:
    """Sign in through the login form; success lands on the scorecard at ``/``."""
    page.goto("/login/")
    page.fill("#id_username", DEMO_USER)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("form:has(#id_password) [type=submit]")
    page.wait_for_url(lambda url: urlsplit(url).path == "/")

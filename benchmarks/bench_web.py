"""Web benchmark: the scorecard of a demo organisation with 20 KPIs under 20 concurrent clients.

    make bench                                    # after the engine benchmark
    python benchmarks/bench_web.py --duration 15 --clients 20
    python benchmarks/bench_web.py --profile      # also profile one scorecard request (cProfile)

Prepares a fresh data folder (`headway web-demo`, then catalog KPIs the e-commerce data
can compute until the org has --kpis of them, then one refresh), serves it with
`headway serve` (gunicorn, --workers 2 --threads 4), signs in once, and fires GET / from
--clients processes, each with one keep-alive connection, for --duration seconds.
The same load on a static file (served by whitenoise) is the baseline. Prints requests/s,
p50/p95/p99 latency and errors for both, and a Markdown row for docs/benchmarks.md.
Goal: p95 < 100 ms for the scorecard, no errors.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import http.cookiejar
import io
import multiprocessing
import os
import platform
import pstats
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import date
from multiprocessing.pool import Pool
from pathlib import Path

import numpy as np

HEADWAY = Path(sys.executable).with_name("headway")
USER, PASSWORD = "demo", "headway-demo"
STATIC = "/static/css/app.css"
GOAL_P95_MS = 100.0


def env_for(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DJANGO_SETTINGS_MODULE="headway.app.settings", HEADWAY_DATA_DIR=str(data_dir), HEADWAY_JOBS="sync")
    return env


def add_catalog_kpis(target: int) -> int:
    """In a Django process: add computable catalog KPIs to the demo org until it has ``target``, then refresh."""
    import django

    django.setup()
    from headway.app.accounts.models import Organization
    from headway.app.kpis.models import KpiDefinition, KpiSource, Run
    from headway.app.kpis.refresh import execute, open_engine
    from headway.engine.catalog import computable, load_catalog

    org = Organization.objects.get(members__user__username=USER)
    catalog = load_catalog()
    hw = open_engine(org)
    try:
        schema = {dataset: list(columns) for dataset, columns in hw.schema.items()}
    finally:
        hw.close()
    have = set(org.kpis.values_list("kpi_id", flat=True))
    position = len(have)
    for kpi in catalog:
        if len(have) >= target:
            break
        if kpi.id in have or kpi.metric.kind == "manual" or not computable(kpi, schema, catalog)[0]:
            continue
        KpiDefinition.objects.create(
            org=org, kpi_id=kpi.id, spec=KpiDefinition.spec_json(kpi), source=KpiSource.CATALOG, position=position
        )
        have.add(kpi.id)
        position += 1
    run = Run.objects.create(org=org)
    execute(run.pk)
    run.refresh_from_db()
    if run.status != "succeeded":
        raise SystemExit(f"refresh failed: {run.error}")
    return len(have)


def prepare(data_dir: Path, size: str, kpis: int) -> None:
    env = env_for(data_dir)
    subprocess.run([HEADWAY, "web-demo", "--size", size, "--no-serve"], env=env, check=True, capture_output=True)
    subprocess.run([sys.executable, __file__, "--add-kpis", str(kpis)], env=env, check=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path, port: int, workers: int, threads: int) -> subprocess.Popen:
    log = (data_dir / "serve.log").open("wb")
    proc = subprocess.Popen(
        [HEADWAY, "serve", "--port", str(port), "--workers", str(workers), "--threads", str(threads)],
        env=env_for(data_dir),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"headway serve exited:\n{(data_dir / 'serve.log').read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("headway serve did not start within 60 s")


def login(base: str) -> str:
    """Sign in through the login form; returns the session cookie header value."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    html = opener.open(f"{base}/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    if token is None:
        raise SystemExit("no CSRF token on the login page")
    form = urllib.parse.urlencode({"username": USER, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)})
    response = opener.open(urllib.request.Request(f"{base}/login/", data=form.encode(), headers={"Referer": base}))
    if urllib.parse.urlsplit(response.url).path != "/":
        raise SystemExit(f"login failed: ended on {response.url}")
    cookies = {c.name: c.value for c in jar}
    return "; ".join(f"{name}={cookies[name]}" for name in ("sessionid", "csrftoken") if name in cookies)


def client(port: int, path: str, cookie: str, start: float, stop: float) -> tuple[list[float], int]:
    """One client: GETs ``path`` back to back over one keep-alive connection; latencies in seconds, errors."""
    latencies: list[float] = []
    errors = 0
    headers = {"Cookie": cookie, "Connection": "keep-alive"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while time.time() < start:
        time.sleep(0.001)
    while time.time() < stop:
        t0 = time.perf_counter()
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            ok = False
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        if ok:
            latencies.append(time.perf_counter() - t0)
        else:
            errors += 1
    conn.close()
    return latencies, errors


@dataclass
class Result:
    path: str
    requests: int
    errors: int
    seconds: float
    p50: float
    p95: float
    p99: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def line(self) -> str:
        return (
            f"GET {self.path:<22} {self.rps:8.1f} req/s   p50 {self.p50:6.1f} ms   p95 {self.p95:6.1f} ms   "
            f"p99 {self.p99:6.1f} ms   errors {self.errors}"
        )


def load(pool: Pool, port: int, path: str, cookie: str, clients: int, seconds: float) -> Result:
    start = time.time() + 1.0  # every client connected and waiting before the clock starts
    stop = start + seconds
    results = pool.starmap(client, [(port, path, cookie, start, stop)] * clients)
    latencies = np.array([x for lat, _ in results for x in lat]) * 1000
    errors = sum(e for _, e in results)
    p50, p95, p99 = np.percentile(latencies, [50, 95, 99]) if len(latencies) else (np.nan,) * 3
    return Result(path, len(latencies), errors, seconds, float(p50), float(p95), float(p99))


def profile_scorecard(data_dir: Path, requests: int = 20) -> None:
    """cProfile of the scorecard view in-process (Django test client), after a warm-up."""
    os.environ.update(env_for(data_dir))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    browser = Client(HTTP_HOST="127.0.0.1")
    browser.force_login(get_user_model().objects.get(username=USER))
    for _ in range(3):
        assert browser.get("/").status_code == 200
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    for _ in range(requests):
        browser.get("/")
    profiler.disable()
    mean_ms = (time.perf_counter() - t0) / requests * 1000
    print(f"\nOne scorecard request in-process: {mean_ms:.1f} ms (mean of {requests})")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
    print(out.getvalue())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="small", help="demo data size (tiny, small, medium)")
    parser.add_argument("--kpis", type=int, default=20, help="KPIs on the scorecard")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of load per URL")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--profile", action="store_true", help="also cProfile one scorecard request")
    parser.add_argument("--add-kpis", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.add_kpis:
        print(f"demo org ready with {add_catalog_kpis(args.add_kpis)} KPIs")
        return 0

    with tempfile.TemporaryDirectory(prefix="headway-bench-web-") as tmp:
        data_dir = Path(tmp)
        t0 = time.perf_counter()
        prepare(data_dir, args.size, args.kpis)
        print(f"prepared the demo org ({args.size}) in {time.perf_counter() - t0:.1f} s")
        port = free_port()
        server = start_server(data_dir, port, args.workers, args.threads)
        try:
            base = f"http://127.0.0.1:{port}"
            cookie = login(base)
            page = urllib.request.urlopen(urllib.request.Request(f"{base}/", headers={"Cookie": cookie})).read()
            cards = len(re.findall(rb'<li class="card\b[^>]*data-kpi=', page))
            if cards < args.kpis:
                raise SystemExit(f"the scorecard shows {cards} cards, expected {args.kpis}")
            with multiprocessing.get_context("spawn").Pool(args.clients) as pool:
                load(pool, port, "/", cookie, args.clients, 3.0)  # warm-up: imports, caches, connections
                scorecard = load(pool, port, "/", cookie, args.clients, args.duration)
                static = load(pool, port, STATIC, cookie, args.clients, args.duration)
        finally:
            server.terminate()
            server.wait(timeout=30)
        load_avg = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"{args.clients} clients, {args.duration:.0f} s each, gunicorn {args.workers}x{args.threads} threads")
        print(f"machine load average after the run (1, 5, 15 min): {load_avg}; the clients share the 2 cores")
        print(scorecard.line())
        print(static.line())
        ratio = static.rps / scorecard.rps
        print(f"a scorecard request costs {ratio:.1f}x a static file (req/s ratio)")
        verdict = "met" if scorecard.p95 < GOAL_P95_MS and scorecard.errors == 0 else "MISSED"
        print(f"goal p95 < {GOAL_P95_MS:.0f} ms with no errors: {verdict}")
        machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        print("\n| date | machine | KPIs | clients | req/s | p50 | p95 | p99 | errors | static req/s | static p95 |")
        print(
            f"| {date.today()} | {machine} | {cards} | {args.clients} | {scorecard.rps:.0f} | {scorecard.p50:.1f} ms "
            f"| {scorecard.p95:.1f} ms | {scorecard.p99:.1f} ms | {scorecard.errors} | {static.rps:.0f} "
            f"| {static.p95:.1f} ms |"
        )
        if args.profile:
            profile_scorecard(data_dir)
    # Errors are a failure; a missed latency goal is reported above, not an exit status.
    return 1 if scorecard.errors or static.errors else 0


if __name__ == "__main__":
    sys.exit(main())

"""`headway serve`, `headway manage` and `headway web-demo`: the web app from the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Annotated, Any

import typer

from headway.cli.formatting import console


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "headway.app.settings")
    import django

    django.setup()


def prepare() -> None:
    """Apply migrations and collect static files (both idempotent)."""
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)


def run_server(host: str, port: int, workers: int, threads: int) -> None:
    """Serve with gunicorn (a production server, not Django's runserver)."""
    from gunicorn.app.base import BaseApplication

    from headway.app.wsgi import application

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options: dict[str, Any] = {
                "bind": f"{host}:{port}",
                "workers": workers,
                "threads": threads,
                "worker_class": "gthread",
                "accesslog": "-",
                "timeout": 60,
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return application

    Server().run()


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 2,
    threads: Annotated[int, typer.Option(help="Threads per worker.")] = 4,
) -> None:
    """Apply migrations, then serve the web app with gunicorn."""
    setup_django()
    prepare()
    console.print(f"Serving Headway on http://{host}:{port} (Ctrl+C to stop)")
    run_server(host, port, workers, threads)


def manage(ctx: typer.Context) -> None:
    """Run a Django management command (e.g. `headway manage createsuperuser`)."""
    setup_django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["headway manage", *ctx.args])


def web_demo(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    size: Annotated[str, typer.Option(help="How much demo data: tiny, small, medium.")] = "small",
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the app once ready.")] = True,
    with_worker: Annotated[
        bool, typer.Option("--worker/--no-worker", help="Also run `headway worker` (jobs, schedules, alerts).")
    ] = True,
) -> None:
    """Create the demo organisation (e-commerce) with a login, compute its KPIs, and serve it."""
    setup_django()
    with console.status("Preparing the database"):
        prepare()
    from headway.app.accounts.onboarding import create_demo_org

    with console.status(f"Generating demo data ({size}) and computing KPIs"):
        org = create_demo_org(size=size)
    run = org.current_run
    console.print(f"Demo organisation [bold]{org.name}[/]: {org.kpis.count()} KPIs, {run.rows if run else 0} values.")
    console.print(f"Open [bold]http://{host}:{port}[/] and sign in as [bold]demo[/] / [bold]headway-demo[/]")
    if serve_after:
        worker = None
        if with_worker:
            # The background worker runs scheduled refreshes, alerts and report packs beside the server.
            worker = subprocess.Popen([sys.executable, "-m", "headway.cli.main", "worker", "--no-migrate"])
            console.print("Background worker started (jobs, schedules, alerts); it stops with the server.")
        try:
            run_server(host, port, 2, 4)
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=30)

"""The refresh pipeline on real databases: a SQL source (SQLite file, PostgreSQL service) is pulled,
the KPIs are recomputed; a failing source keeps the previous numbers and marks its KPIs stale with
the reason (sources page and scorecard badge); credentials never reach logs, pages or API answers;
only due sources are picked by the schedule."""

from __future__ import annotations

import logging
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta

import pandas as pd
import psycopg
import pytest
from app_helpers import client_for, make_user
from django.urls import reverse

from headway.app.accounts.models import Member, Role
from headway.app.accounts.onboarding import create_org
from headway.app.kpis.models import KpiDefinition, KpiSource, SeriesPoint
from headway.app.sources import credentials
from headway.app.sources.models import ImportRun, Schedule, Source, SourceKind, SourceStatus, StaleKpi
from headway.app.sources.pipeline import due_sources, refresh_due_sources
from headway.engine.catalog import load_catalog

PASSWORD = "Tr0ub4dor-s3cret-9f2c"
PG_URL = f"postgresql://postgres:{PASSWORD}@127.0.0.1:5432/test"  # the service trusts local users: any password
ORDERS = pd.DataFrame(
    {
        "id": ["S1", "S2", "S3", "S4", "S5"],
        "cust": ["C1", "C2", "C1", "C3", "C2"],
        "day": ["2024-01-05", "2024-01-20", "2024-02-03", "2024-02-14", "2024-03-01"],
        "amount": [10.0, 32.5, 7.25, 100.0, 55.0],
        "status": ["delivered"] * 5,
    }
)


def expected_revenue(frame: pd.DataFrame) -> dict[str, float]:
    sums = frame.groupby(pd.to_datetime(frame.day).dt.strftime("%Y-%m")).amount.sum()
    return {k: float(v) for k, v in sums.items()}


def monthly_revenue(org) -> dict[str, float]:
    org.refresh_from_db()
    points = SeriesPoint.objects.filter(run=org.current_run, kpi_id="revenue", grain="month", dimension="")
    return {p.period.strftime("%Y-%m"): p.value for p in points if p.value is not None}


@pytest.fixture
def fresh(db):
    org = create_org("Fresh", make_user("boss"))
    Member.objects.create(user=make_user("watcher"), org=org, role=Role.VIEWER)
    kpi = load_catalog().get("revenue")
    KpiDefinition.objects.create(org=org, kpi_id="revenue", spec=KpiDefinition.spec_json(kpi), source=KpiSource.CATALOG)
    return org


@pytest.fixture
def pg_table():
    """A fresh orders table in the PostgreSQL service; dropped afterwards."""
    name = f"hw_orders_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_URL, autocommit=True) as con:
        con.execute(f"CREATE TABLE {name} (id text, cust text, day date, amount numeric(10,2), status text)")
        with con.cursor() as cur:
            cur.executemany(f"INSERT INTO {name} VALUES (%s, %s, %s, %s, %s)", ORDERS.values.tolist())
    yield name
    with psycopg.connect(PG_URL, autocommit=True) as con:
        con.execute(f"DROP TABLE IF EXISTS {name}")


def sql_form(url: str, table: str, **extra) -> dict[str, str]:
    return {
        "name": "Shop database",
        "url": url,
        "table": table,
        "query": "",
        "cursor_column": "",
        "dataset": "orders",
        "dataset_type": "orders",
        "mode": "replace",
        "key": "",
        "schedule": Schedule.HOURLY,
        "action": "save",
        **extra,
    }


def map_orders(source: Source) -> None:
    source.mapping = {
        "dataset_type": "orders",
        "columns": {
            "id": "order_id",
            "cust": "customer_id",
            "day": "ordered_at",
            "amount": "total_amount",
            "status": "status",
        },
    }
    source.save(update_fields=["mapping"])


def test_a_sqlite_source_is_pulled_and_the_kpis_follow(client, fresh, tmp_path):
    db_path = tmp_path / "shop.db"
    with sqlite3.connect(db_path) as con:
        ORDERS.to_sql("sales", con, index=False)
    c = client_for(client, "boss")
    tested = c.post(reverse("sql_source_new"), sql_form(f"sqlite:///{db_path}", "sales", action="test"))
    assert tested.context["tested"]["ok"] and "sales" in tested.context["tested"]["tables"]
    assert not Source.objects.exists()  # testing saves nothing
    c.post(reverse("sql_source_new"), sql_form(f"sqlite:///{db_path}", "sales"))
    source = Source.objects.get(org=fresh)
    map_orders(source)
    response = c.post(reverse("source_refresh", args=[source.pk]))
    run = ImportRun.objects.get(source=source)
    assert response["Location"] == reverse("import_detail", args=[run.pk])
    assert (run.status, run.read, run.loaded, run.rejected) == ("succeeded", 5, 5, 0)
    assert monthly_revenue(fresh) == pytest.approx(expected_revenue(ORDERS))
    source.refresh_from_db()
    assert source.status == SourceStatus.OK and source.last_success_at is not None


@pytest.mark.postgres
def test_a_failing_source_marks_its_kpis_stale_and_keeps_the_previous_numbers(client, fresh, pg_table, caplog):
    caplog.set_level(logging.DEBUG)
    c = client_for(client, "boss")
    saved = c.post(reverse("sql_source_new"), sql_form(PG_URL, pg_table))
    source = Source.objects.get(org=fresh)
    assert saved["Location"] == reverse("source_detail", args=[source.pk])
    map_orders(source)
    c.post(reverse("source_refresh", args=[source.pk]))
    good = monthly_revenue(fresh)
    assert good == pytest.approx(expected_revenue(ORDERS))
    good_run = fresh.current_run_id
    assert "stale" not in c.get(reverse("scorecard")).content.decode()  # fills the scorecard cache

    with psycopg.connect(PG_URL, autocommit=True) as con:
        con.execute(f"DROP TABLE {pg_table}")
    c.post(reverse("source_refresh", args=[source.pk]))
    source.refresh_from_db()
    assert source.status == SourceStatus.FAILING and pg_table in source.last_error
    failed = ImportRun.objects.filter(source=source).first()
    assert failed.status == "failed" and pg_table in failed.error
    stale = StaleKpi.objects.get(org=fresh)
    assert stale.kpi_id == "revenue" and pg_table in stale.reason
    # The previous numbers stay; nothing was recomputed from a half-loaded table.
    fresh.refresh_from_db()
    assert fresh.current_run_id == good_run and monthly_revenue(fresh) == good

    scorecard = c.get(reverse("scorecard")).content.decode()
    assert 'class="tag stale"' in scorecard and "Shop database" in scorecard and pg_table in scorecard
    page = c.get(reverse("sources")).content.decode()
    assert "Failing" in page and 'id="freshness-revenue"' in page and pg_table in page

    # Credentials: in no log line, no page, no API answer.
    assert PASSWORD not in caplog.text
    pages = [
        reverse("sources"),
        reverse("source_detail", args=[source.pk]),
        reverse("sql_source_edit", args=[source.pk]),
        reverse("import_detail", args=[failed.pk]),
        reverse("scorecard"),
        reverse("api:openapi-json"),
    ]
    for url in pages:
        body = c.get(url).content.decode()
        assert PASSWORD not in body, url
    assert credentials.STORED_MASK in c.get(reverse("sql_source_edit", args=[source.pk])).content.decode()
    assert PASSWORD not in source.credentials  # encrypted at rest

    # Fixed: the next refresh clears the stale mark and the scorecard shows it.
    with psycopg.connect(PG_URL, autocommit=True) as con:
        con.execute(f"CREATE TABLE {pg_table} (id text, cust text, day date, amount numeric(10,2), status text)")
        con.execute(f"INSERT INTO {pg_table} VALUES ('S9', 'C9', '2024-04-02', 40.0, 'delivered')")
    c.post(reverse("source_refresh", args=[source.pk]))
    assert not StaleKpi.objects.exists()
    assert monthly_revenue(fresh) == pytest.approx({"2024-04": 40.0})  # replace mode
    assert "tag stale" not in c.get(reverse("scorecard")).content.decode()


def test_a_wrong_password_error_never_shows_the_password(client, fresh, caplog, settings):
    caplog.set_level(logging.DEBUG)
    url = f"mysql://root:{PASSWORD}@127.0.0.1:3306/nope_{uuid.uuid4().hex[:6]}"
    c = client_for(client, "boss")
    tested = c.post(reverse("sql_source_new"), sql_form(url, "orders", action="test"))
    assert tested.context["tested"]["ok"] is False
    assert PASSWORD not in tested.content.decode()
    c.post(reverse("sql_source_new"), sql_form(url, "orders"))
    source = Source.objects.get(org=fresh)
    c.post(reverse("source_refresh", args=[source.pk]))
    source.refresh_from_db()
    assert source.status == SourceStatus.FAILING and source.last_error
    assert PASSWORD not in source.last_error and PASSWORD not in caplog.text
    assert PASSWORD not in c.get(reverse("source_detail", args=[source.pk])).content.decode()


def test_editing_a_source_keeps_the_stored_credential_when_left_blank(client, fresh, tmp_path):
    c = client_for(client, "boss")
    first = f"sqlite:///{tmp_path / 'a.db'}"
    c.post(reverse("sql_source_new"), sql_form(first, "sales"))
    source = Source.objects.get(org=fresh)
    form = c.get(reverse("sql_source_edit", args=[source.pk])).content.decode()
    assert first not in form and credentials.STORED_MASK in form
    c.post(reverse("sql_source_edit", args=[source.pk]), sql_form("", "other", name="Renamed"))
    source.refresh_from_db()
    assert (source.name, source.config["table"]) == ("Renamed", "other")
    assert credentials.load(source)["url"].reveal() == first
    second = f"sqlite:///{tmp_path / 'b.db'}"
    c.post(reverse("sql_source_edit", args=[source.pk]), sql_form(second, "other", name="Renamed"))
    source.refresh_from_db()
    assert credentials.load(source)["url"].reveal() == second


def test_only_admins_manage_connections(client, fresh):
    viewer = client_for(client, "watcher")
    assert viewer.get(reverse("sql_source_new")).status_code == 403
    assert viewer.post(reverse("sql_source_new"), sql_form("sqlite:///x.db", "t")).status_code == 403
    assert not Source.objects.exists()


def test_scheduled_refresh_picks_only_due_sources(fresh):
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)

    def make(name, kind, schedule, last_run, status=SourceStatus.OK):
        last = None if last_run is None else now - last_run
        return Source.objects.create(
            org=fresh, name=name, kind=kind, schedule=schedule, last_run_at=last, status=status
        ).pk

    due = {
        make("hourly, 61 min ago", SourceKind.SQL, Schedule.HOURLY, timedelta(minutes=61)),
        make("hourly, never run", SourceKind.SAAS, Schedule.HOURLY, None),
        make("daily, 25 h ago", SourceKind.SAAS, Schedule.DAILY, timedelta(hours=25)),
        make("daily, exactly 24 h ago", SourceKind.SQL, Schedule.DAILY, timedelta(hours=24)),
        make("hourly, failing", SourceKind.SQL, Schedule.HOURLY, timedelta(hours=2), SourceStatus.FAILING),
    }
    make("hourly, 59 min ago", SourceKind.SQL, Schedule.HOURLY, timedelta(minutes=59))
    make("daily, 23 h ago", SourceKind.SAAS, Schedule.DAILY, timedelta(hours=23))
    make("manual", SourceKind.SQL, Schedule.MANUAL, timedelta(days=30))
    make("a file", SourceKind.FILE, Schedule.HOURLY, timedelta(days=3))
    make("a push", SourceKind.PUSH, Schedule.DAILY, None)
    make("running for 10 min", SourceKind.SQL, Schedule.HOURLY, timedelta(minutes=70), SourceStatus.RUNNING)
    Source.objects.filter(name="running for 10 min").update(last_run_at=now - timedelta(minutes=10))
    # A claim older than STUCK_AFTER belongs to a worker that died: the source is due again.
    due.add(make("stuck for 5 h", SourceKind.SQL, Schedule.HOURLY, timedelta(hours=5), SourceStatus.RUNNING))
    assert set(due_sources(now).values_list("pk", flat=True)) == due

    started = refresh_due_sources(now)
    assert set(started) == due
    assert ImportRun.objects.filter(source_id__in=due).count() == len(due)
    # They ran (and failed: no credentials stored), so none is due again within the hour.
    half_an_hour_later = datetime.now(UTC) + timedelta(minutes=30)
    assert not set(due_sources(half_an_hour_later).values_list("pk", flat=True)) & due


def test_the_schedulers_tick_pulls_a_due_source_as_a_job(fresh, tmp_path):
    from headway.app.automation import jobs
    from headway.app.automation.models import Job

    db_path = tmp_path / "shop.db"
    with sqlite3.connect(db_path) as con:
        ORDERS.to_sql("sales", con, index=False)
    source = Source.objects.create(
        org=fresh,
        name="Nightly",
        kind=SourceKind.SQL,
        schedule=Schedule.DAILY,
        dataset="orders",
        dataset_type="orders",
        mode="replace",
        config={"table": "sales"},
    )
    credentials.store(source, {"url": f"sqlite:///{db_path}"})
    source.save()
    map_orders(source)
    jobs.tick()
    job = Job.objects.get(kind="sources.refresh", org=fresh)
    assert job.status == "succeeded"
    assert monthly_revenue(fresh) == pytest.approx(expected_revenue(ORDERS))
    jobs.tick()  # not due again the same day
    assert Job.objects.filter(kind="sources.refresh").count() == 1

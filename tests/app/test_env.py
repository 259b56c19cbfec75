"""Typed settings helpers reject bad values with the variable's name; every setting is documented."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.core.exceptions import ImproperlyConfigured

from headway.app import env

ROOT = Path(__file__).resolve().parents[2]


def test_booleans(monkeypatch):
    monkeypatch.setenv("HW_FLAG", "yes")
    assert env.env_bool("HW_FLAG", False) is True
    monkeypatch.setenv("HW_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="HW_FLAG='maybe' is not a boolean"):
        env.env_bool("HW_FLAG", False)


def test_integers_and_ranges(monkeypatch):
    monkeypatch.setenv("HW_PORT", "25x")
    with pytest.raises(ImproperlyConfigured, match="HW_PORT='25x' is not a whole number"):
        env.env_int("HW_PORT", 25)
    monkeypatch.setenv("HW_PORT", "70000")
    with pytest.raises(ImproperlyConfigured, match=r"outside 1\.\.65535"):
        env.env_int("HW_PORT", 25, minimum=1, maximum=65535)


def test_choices_and_secret_files(monkeypatch, tmp_path):
    monkeypatch.setenv("HW_JOBS", "celery")
    with pytest.raises(ImproperlyConfigured, match="must be one of thread, sync"):
        env.env_choice("HW_JOBS", "thread", ("thread", "sync"))
    secret = tmp_path / "key"
    secret.write_text("s3cret\n")
    monkeypatch.setenv("HW_KEY_FILE", str(secret))
    assert env.env_str("HW_KEY", "") == "s3cret"
    monkeypatch.setenv("HW_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match=r"HW_KEY_FILE=.*cannot read"):
        env.env_str("HW_KEY", "")


def test_database_urls():
    assert env.database_from_url("postgresql://bob:p%40ss@db:5433/headway") == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "headway",
        "USER": "bob",
        "PASSWORD": "p@ss",
        "HOST": "db",
        "PORT": "5433",
    }
    assert env.database_from_url("sqlite:////var/lib/headway.db")["NAME"] == "/var/lib/headway.db"
    with pytest.raises(ImproperlyConfigured, match="unsupported scheme 'mysql'"):
        env.database_from_url("mysql://x/y")


def test_every_setting_is_documented():
    names = set(re.findall(r'env_\w+\(\s*"([A-Z_]+)"', (ROOT / "src/headway/app/settings.py").read_text()))
    names |= {"DATABASE_URL"}
    doc = (ROOT / "docs/configuration.md").read_text()
    missing = sorted(n for n in names if f"`{n}`" not in doc)
    assert not missing, f"not in docs/configuration.md: {missing}"


@pytest.mark.postgres
def test_the_app_database_can_be_postgresql(tmp_path):
    """Migrations run on the machine's PostgreSQL through DATABASE_URL (a fresh database, dropped after)."""
    name = f"headway_app_{uuid.uuid4().hex[:8]}"
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    try:
        environment = {
            "PATH": "/usr/bin:/bin",
            "HEADWAY_DATA_DIR": str(tmp_path),
            "DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{name}",
            "DJANGO_SETTINGS_MODULE": "headway.app.settings",
        }
        done = subprocess.run(
            [sys.executable, "-m", "django", "migrate", "--noinput"], env=environment, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{name}") as con:
            tables = {r[0] for r in con.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert {"accounts_organization", "accounts_member", "kpis_seriespoint", "kpis_run"} <= tables
    finally:
        with psycopg.connect(admin, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

"""Fixtures for web app tests: three users in two organisations (owner, viewer teammate, outsider)."""

from __future__ import annotations

import pytest
from app_helpers import make_user

from headway.app.accounts.models import Member, Role
from headway.app.accounts.onboarding import create_org, load_demo_data
from headway.app.kpis.models import Run
from headway.app.kpis.refresh import execute


@pytest.fixture
def shop(db):
    """An e-commerce org with tiny demo data, computed; its owner and a viewer teammate."""
    owner = make_user("owner")
    org = create_org("Shop", owner, "ecommerce")
    viewer = make_user("viewer")
    Member.objects.create(user=viewer, org=org, role=Role.VIEWER)
    load_demo_data(org, "ecommerce", "tiny", seed=1)
    run = Run.objects.create(org=org)
    execute(run.pk)
    org.refresh_from_db()
    return org


@pytest.fixture
def other_org(db):
    """Another tenant, with its own owner (the outsider)."""
    outsider = make_user("outsider")
    return create_org("Other", outsider, "saas")


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    """Each test gets its own data folder (org warehouses live there)."""
    settings.DATA_DIR = tmp_path
    return tmp_path

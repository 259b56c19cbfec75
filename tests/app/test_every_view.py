"""A net under every route: anonymous users are sent to sign in, a viewer can change nothing,
and an outsider reaches nothing of another organisation. New routes are covered automatically;
the few public ones are listed here on purpose."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest
from app_helpers import client_for, make_user
from django.urls import get_resolver, reverse

from headway.app.accounts.models import Department, Invitation, Member, Role
from headway.app.accounts.onboarding import create_org

# Routes anyone may open without signing in.
PUBLIC = {
    "login",
    "logout",
    "signup",
    "invitation",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
}
# POSTs a viewer may make: they change the viewer's own session or account, not the organisation's data.
VIEWER_POSTS = {"logout", "switch_org", "password_change", "signup", "login", "invitation", "account"} | PUBLIC

# Each domain app adds its own route arguments in tests/app/routes_<app>.py:
#   VALUES = {"objective_id": lambda org: ...}   # an id of one of the org's own objects
#   PUBLIC = {...}                              # routes not behind a session login (e.g. token-authenticated API)
#   VIEWER_POSTS = {...}                        # POSTs a viewer may make (own inbox, own account)
EXTRA_VALUES: dict = {}
for _info in pkgutil.iter_modules([str(Path(__file__).parent)]):
    if _info.name.startswith("routes_"):
        _mod = importlib.import_module(_info.name)
        EXTRA_VALUES.update(getattr(_mod, "VALUES", {}))
        PUBLIC |= set(getattr(_mod, "PUBLIC", set()))
        VIEWER_POSTS |= set(getattr(_mod, "VIEWER_POSTS", set())) | PUBLIC


@pytest.fixture
def shop(db):
    """Shop with its template's KPIs and departments, an owner and a viewer; no data (this is about access)."""
    org = create_org("Shop", make_user("owner"), "ecommerce")
    Member.objects.create(user=make_user("viewer"), org=org, role=Role.VIEWER)
    return org


def routes():
    def walk(patterns):
        for p in patterns:
            if hasattr(p, "url_patterns"):
                yield from walk(p.url_patterns)
            elif p.name:
                yield p.name, sorted(p.pattern.converters)

    return sorted(set((name, tuple(args)) for name, args in walk(get_resolver().url_patterns)))


ROUTES = routes()


def url_for(name: str, args: tuple[str, ...], shop) -> str:
    """The route filled with ids of the Shop organisation's own objects."""
    values = {
        "kpi_id": "aov",
        "org_id": shop.pk,
        "member_id": Member.objects.filter(org=shop).first().pk,
        "department_id": Department.objects.filter(org=shop).first().pk,
        "invitation_id": Invitation.objects.get_or_create(org=shop, email="x@example.com")[0].pk,
        "token": "unknown-token",
        "uidb64": "MQ",
    }
    kwargs = {a: values[a] if a in values else EXTRA_VALUES[a](shop) for a in args}
    if name == "kpi_edit" or name == "kpi_delete":
        kwargs["kpi_id"] = "aov"
    return reverse(name, kwargs=kwargs)


def test_the_route_list_is_not_empty():
    assert len(ROUTES) >= 30


@pytest.mark.parametrize(("name", "args"), [r for r in ROUTES if r[0] not in PUBLIC])
def test_anonymous_users_are_sent_to_sign_in(client, shop, name, args):
    url = url_for(name, args, shop)
    for response in (client.get(url), client.post(url)):
        assert response.status_code in (302, 405), (url, response.status_code)
        if response.status_code == 302:
            assert reverse("login") in response["Location"], url


@pytest.mark.parametrize(("name", "args"), [r for r in ROUTES if r[0] not in VIEWER_POSTS])
def test_a_viewer_cannot_change_anything(client, shop, name, args):
    url = url_for(name, args, shop)
    before = (Member.objects.count(), Department.objects.count(), shop.kpis.count(), shop.runs.count())
    response = client_for(client, "viewer").post(url, {"name": "x", "role": "owner", "spec": "id: x"})
    assert response.status_code in (403, 405), (url, response.status_code)
    shop.refresh_from_db()
    assert before == (Member.objects.count(), Department.objects.count(), shop.kpis.count(), shop.runs.count())


@pytest.mark.parametrize(("name", "args"), [r for r in ROUTES if r[1] and r[0] not in PUBLIC])
def test_an_outsider_cannot_reach_another_orgs_objects(client, shop, other_org, name, args):
    url = url_for(name, args, shop)
    outsider = client_for(client, "outsider")
    got = outsider.get(url)
    if name == "switch_org":
        got = outsider.post(url)
    assert got.status_code in (404, 405), (url, got.status_code)

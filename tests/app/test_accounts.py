"""Sign-up, sign-in rate limit, invitations, the organisation switcher, password change and reset (real SMTP)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from app_helpers import client_for, make_user
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from headway.app.accounts.models import Invitation, Member, Organization, Role
from headway.app.accounts.onboarding import create_org
from headway.app.accounts.tenancy import SESSION_KEY
from headway.app.kpis.models import KpiDefinition
from headway.engine.templates import get_template

PASSWORD = "correct horse battery"


@pytest.fixture
def team(db):
    """Org "Shop" (e-commerce template) with its owner and a viewer teammate."""
    org = create_org("Shop", make_user("owner"), "ecommerce")
    Member.objects.create(user=make_user("viewer"), org=org, role=Role.VIEWER)
    return org


def invite(org: Organization, email: str = "new@example.com", role: str = Role.EDITOR, departments=()) -> Invitation:
    invitation = Invitation.objects.create(org=org, email=email, role=role)
    invitation.departments.set(departments)
    return invitation


def current_org(client) -> Organization:
    return client.get(reverse("account")).context["org"]


# Sign-up


def test_signup_creates_the_user_and_an_org_from_the_template(client, db):
    response = client.post(
        reverse("signup"),
        {
            "organisation": "Crumbs & Co",
            "template": "bakery_cafe",
            "username": "baker",
            "email": "baker@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302 and response["Location"] == reverse("scorecard")
    member = Member.objects.get(user__username="baker")
    assert member.role == Role.OWNER and member.org.name == "Crumbs & Co" and member.org.template == "bakery_cafe"
    template = get_template("bakery_cafe")
    assert set(member.org.departments.values_list("name", flat=True)) == {d.name for d in template.departments}
    kpis = set(KpiDefinition.objects.filter(org=member.org).values_list("kpi_id", flat=True))
    assert kpis == {k for objective in template.objectives for k in objective.kpis}
    page = client.get(response["Location"])
    assert page.status_code == 200 and "Crumbs &amp; Co" in page.content.decode()


@pytest.mark.parametrize(
    ("change", "field"),
    [({"password1": "short", "password2": "short"}, "password2"), ({"organisation": ""}, "organisation")],
)
def test_signup_with_bad_input_shows_errors_and_creates_nothing(client, db, change, field):
    data = {
        "organisation": "Crumbs",
        "template": "",
        "username": "baker",
        "email": "baker@example.com",
        "password1": PASSWORD,
        "password2": PASSWORD,
    } | change
    response = client.post(reverse("signup"), data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert 'role="alert"' in response.content.decode()
    assert not get_user_model().objects.exists() and not Organization.objects.exists()


def test_a_signed_in_user_creates_another_org_and_works_in_it(client, team):
    client = client_for(client, "viewer")
    response = client.post(reverse("signup"), {"organisation": "Side project", "template": ""})
    assert response.status_code == 302
    assert current_org(client).name == "Side project"
    assert Member.objects.get(org__name="Side project").role == Role.OWNER


# Sign-in


def test_sign_in_page_is_labelled_and_links_to_reset(client, db):
    page = client.get(reverse("login")).content.decode()
    assert '<label for="id_username">' in page and '<label for="id_password">' in page
    assert reverse("password_reset") in page


def test_login_is_refused_after_too_many_failures(client, team, settings):
    settings.LOGIN_ATTEMPTS_PER_15_MIN = 3
    for _ in range(3):
        response = client.post(reverse("login"), {"username": "owner", "password": "wrong"})
        assert response.status_code == 200 and "Please enter a correct username" in response.content.decode()
    response = client.post(reverse("login"), {"username": "owner", "password": PASSWORD})
    assert response.status_code == 200
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # another user is not locked out by these failures
    assert client.post(reverse("login"), {"username": "viewer", "password": PASSWORD}).status_code == 302


def test_old_failures_no_longer_count(client, team, settings):
    from headway.app.accounts.models import LoginAttempt

    settings.LOGIN_ATTEMPTS_PER_15_MIN = 2
    for _ in range(2):
        client.post(reverse("login"), {"username": "owner", "password": "wrong"})
    LoginAttempt.objects.update(at=timezone.now() - timedelta(minutes=16))
    assert client.post(reverse("login"), {"username": "owner", "password": PASSWORD}).status_code == 302


# Invitations


def test_a_signed_in_user_joins_by_link_and_switches_to_the_org(client, team, other_org):
    dept = team.departments.first()
    invitation = invite(team, "outsider@example.com", Role.EDITOR, [dept])
    client = client_for(client, "outsider")
    page = client.get(reverse("invitation", args=[invitation.token]))
    assert page.status_code == 200 and "Join Shop" in page.content.decode()
    assert not Member.objects.filter(org=team, user__username="outsider").exists()  # a GET changes nothing
    response = client.post(reverse("invitation", args=[invitation.token]))
    assert response.status_code == 302 and response["Location"] == reverse("scorecard")
    member = Member.objects.get(org=team, user__username="outsider")
    assert member.role == Role.EDITOR and member.department_ids() == {dept.pk}
    assert client.session[SESSION_KEY] == team.pk and current_org(client) == team
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None


def test_a_visitor_creates_an_account_on_the_invitation_page(client, team):
    invitation = invite(team, "sam@example.com", Role.VIEWER)
    page = client.get(reverse("invitation", args=[invitation.token])).content.decode()
    assert 'value="sam@example.com"' in page and "Create account and join" in page
    data = {
        "action": "signup",
        "account-username": "sam",
        "account-email": "sam@example.com",
        "account-password1": PASSWORD,
        "account-password2": PASSWORD,
    }
    response = client.post(reverse("invitation", args=[invitation.token]), data)
    assert response.status_code == 302
    assert Member.objects.get(user__username="sam").org == team
    assert current_org(client) == team


def test_a_visitor_signs_in_on_the_invitation_page(client, team, other_org):
    invitation = invite(team, "outsider@example.com", Role.ADMIN)
    url = reverse("invitation", args=[invitation.token])
    response = client.post(url, {"action": "login", "login-username": "outsider", "login-password": "nope"})
    assert response.status_code == 200 and 'role="alert"' in response.content.decode()
    assert not Member.objects.filter(org=team, user__username="outsider").exists()
    response = client.post(url, {"action": "login", "login-username": "outsider", "login-password": PASSWORD})
    assert response.status_code == 302
    assert Member.objects.get(org=team, user__username="outsider").role == Role.ADMIN
    assert current_org(client) == team


def test_bad_signup_on_the_invitation_page_creates_nothing(client, team):
    invitation = invite(team)
    data = {"action": "signup", "account-username": "sam", "account-email": "sam@example.com"}
    response = client.post(reverse("invitation", args=[invitation.token]), data | {"account-password1": "x"})
    assert response.status_code == 200 and 'role="alert"' in response.content.decode()
    assert not get_user_model().objects.filter(username="sam").exists()
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def test_a_used_unknown_or_expired_link_says_so(client, team, other_org):
    invitation = invite(team, "outsider@example.com")
    client = client_for(client, "outsider")
    client.post(reverse("invitation", args=[invitation.token]))
    client_for(client, "viewer")
    response = client.post(reverse("invitation", args=[invitation.token]))
    assert response.status_code == 410 and "already been used" in response.content.decode()
    assert not Member.objects.filter(org=team, role=Role.EDITOR, user__username="viewer").exists()
    response = client.get(reverse("invitation", args=["no-such-token"]))
    assert response.status_code == 404 and "don't know this invitation" in response.content.decode()
    old = invite(team, "late@example.com")
    Invitation.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=30))
    response = client.get(reverse("invitation", args=[old.token]))
    assert response.status_code == 410 and "expired" in response.content.decode()


def test_an_existing_member_keeps_their_role(client, team):
    invitation = invite(team, "viewer@example.com", Role.ADMIN)
    client_for(client, "viewer").post(reverse("invitation", args=[invitation.token]))
    assert Member.objects.get(org=team, user__username="viewer").role == Role.VIEWER


# Organisation switcher and account page


def test_switching_between_own_orgs(client, team, other_org):
    Member.objects.create(user=get_user_model().objects.get(username="viewer"), org=other_org, role=Role.VIEWER)
    client = client_for(client, "viewer")
    page = client.get(reverse("account")).content.decode()
    assert "Shop" in page and "Other" in page and reverse("switch_org", args=[other_org.pk]) in page
    response = client.post(reverse("switch_org", args=[other_org.pk]))  # a viewer may switch: it changes no data
    assert response.status_code == 302 and client.session[SESSION_KEY] == other_org.pk
    assert current_org(client) == other_org
    response = client.post(reverse("switch_org", args=[team.pk]), {"next": "/settings/"})
    assert response["Location"] == "/settings/" and current_org(client) == team
    response = client.post(reverse("switch_org", args=[other_org.pk]), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("scorecard")


def test_switching_to_an_org_one_is_not_in_is_not_found(client, team, other_org):
    client = client_for(client, "outsider")
    assert client.post(reverse("switch_org", args=[team.pk])).status_code == 404
    assert client.post(reverse("switch_org", args=[999999])).status_code == 404
    assert current_org(client) == other_org


def test_switcher_and_account_need_a_signed_in_user(client, team):
    for url in (reverse("switch_org", args=[team.pk]), reverse("account"), reverse("password_change")):
        response = client.post(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert client_for(client, "owner").get(reverse("switch_org", args=[team.pk])).status_code == 405


# Passwords


def test_password_change(client, team):
    client = client_for(client, "viewer")
    page = client.get(reverse("password_change")).content.decode()
    assert '<label for="id_old_password">' in page
    response = client.post(
        reverse("password_change"),
        {"old_password": "wrong", "new_password1": "a new long passphrase", "new_password2": "a new long passphrase"},
    )
    assert response.status_code == 200 and 'role="alert"' in response.content.decode()
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "a new long passphrase", "new_password2": "a new long passphrase"},
    )
    assert response["Location"] == reverse("password_change_done")
    assert get_user_model().objects.get(username="viewer").check_password("a new long passphrase")


def test_password_reset_by_email_over_real_smtp(client, team, smtp_server):
    response = client.post(reverse("password_reset"), {"email": "owner@example.com"})
    assert response["Location"] == reverse("password_reset_done")
    (message,) = smtp_server.messages
    assert message["To"] == "owner@example.com" and message["Subject"] == "Reset your Headway password"
    text = message.get_body(("plain",)).get_content()
    link = re.search(r"http://testserver(/password/reset/[^/\s]+/[^/\s]+/)", text)
    assert link, text
    response = client.get(link.group(1))
    assert response.status_code == 302  # Django moves the token out of the URL into the session
    form_url = response["Location"]
    page = client.get(form_url)
    assert page.context["validlink"] and '<label for="id_new_password1">' in page.content.decode()
    response = client.post(form_url, {"new_password1": "fresh bread daily", "new_password2": "fresh bread daily"})
    assert response["Location"] == reverse("password_reset_complete")
    assert client.post(reverse("login"), {"username": "owner", "password": PASSWORD}).status_code == 200
    response = client.post(reverse("login"), {"username": "owner", "password": "fresh bread daily"})
    assert response.status_code == 302 and response["Location"] == reverse("scorecard")
    # the link works once
    assert not client.get(link.group(1), follow=True).context["validlink"]


def test_password_reset_for_an_unknown_address_sends_nothing_and_says_the_same(client, team, smtp_server):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"}, follow=True)
    assert "If an account uses that address" in response.content.decode()
    assert smtp_server.messages == []


def test_invitation_email_over_real_smtp_has_text_and_html(client, team, smtp_server):
    client_for(client, "owner").post(
        reverse("settings_members"), {"invite-email": "sam@example.com", "invite-role": "viewer"}
    )
    (message,) = smtp_server.messages
    link = f"http://testserver/invite/{Invitation.objects.get(email='sam@example.com').token}/"
    assert message["To"] == "sam@example.com" and "Shop" in message["Subject"]
    assert link in message.get_body(("plain",)).get_content()
    assert f'href="{link}"' in message.get_body(("html",)).get_content()

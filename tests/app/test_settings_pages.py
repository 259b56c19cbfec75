"""Settings pages (organisation, members and invitations, departments): roles, tenancy and validation."""

from __future__ import annotations

import pytest
from app_helpers import client_for, make_user
from django.core import mail
from django.urls import reverse

from headway.app.accounts.models import Department, Invitation, Member, Organization, Role
from headway.app.accounts.onboarding import create_org


@pytest.fixture
def team(db):
    """Org "Shop" (e-commerce template, no data needed here) with its owner and a viewer teammate."""
    org = create_org("Shop", make_user("owner"), "ecommerce")
    Member.objects.create(user=make_user("viewer"), org=org, role=Role.VIEWER)
    return org


@pytest.fixture
def invitation(team):
    return Invitation.objects.create(org=team, email="new@example.com", role=Role.EDITOR)


def member(username: str) -> Member:
    return Member.objects.get(user__username=username)


def object_urls(team, invitation) -> list[str]:
    """Every settings URL that takes an id, with ids of ``team``'s objects."""
    dept = team.departments.first()
    owner = member("owner")
    return [
        reverse("member_update", args=[owner.pk]),
        reverse("member_remove", args=[owner.pk]),
        reverse("invitation_revoke", args=[invitation.pk]),
        reverse("department_update", args=[dept.pk]),
        reverse("department_delete", args=[dept.pk]),
    ]


PAGES = ["settings_org", "settings_members", "settings_departments"]


def test_anonymous_users_are_sent_to_sign_in(client, team, invitation):
    for url in [reverse(name) for name in PAGES] + object_urls(team, invitation):
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 302 and response["Location"].startswith(reverse("login")), url


def test_a_viewer_gets_403_on_every_settings_page_and_post(client, team, invitation):
    client = client_for(client, "viewer")
    for url in [reverse(name) for name in PAGES] + object_urls(team, invitation):
        assert client.get(url).status_code == 403, url
        assert client.post(url, {"name": "x", "invite-email": "x@example.com"}).status_code == 403, url
    assert Invitation.objects.filter(org=team).count() == 1
    assert Member.objects.filter(org=team).count() == 2
    assert not Department.objects.filter(name="x").exists()


def test_an_editor_cannot_open_settings_either(client, team):
    Member.objects.filter(user__username="viewer").update(role=Role.EDITOR)
    assert client_for(client, "viewer").get(reverse("settings_org")).status_code == 403


def test_an_outsider_gets_404_for_another_orgs_ids(client, team, invitation, other_org):
    client = client_for(client, "outsider")
    for url in object_urls(team, invitation):
        assert client.post(url, {"m1-role": "viewer", "d1-name": "Mine"}).status_code == 404, url
    assert Member.objects.filter(org=team).count() == 2
    assert Invitation.objects.filter(pk=invitation.pk).exists()
    assert member("owner").role == Role.OWNER
    # and their own settings show their own org only
    page = client.get(reverse("settings_members")).content.decode()
    assert "outsider@example.com" in page and "viewer@example.com" not in page


def test_owner_sees_every_settings_page(client, team):
    client = client_for(client, "owner")
    for name in PAGES:
        response = client.get(reverse(name))
        assert response.status_code == 200
        assert 'name="csrfmiddlewaretoken"' in response.content.decode()


def test_post_only_views_refuse_get(client, team, invitation):
    client = client_for(client, "owner")
    for url in object_urls(team, invitation):
        assert client.get(url).status_code == 405


# Organisation settings


def test_org_settings_are_saved(client, team):
    response = client_for(client, "owner").post(
        reverse("settings_org"),
        {
            "name": "Shop GmbH",
            "currency": "usd",
            "locale": "de-DE",
            "timezone": "Europe/Berlin",
            "fiscal_year_start": "4",
            "week_start": "6",
        },
    )
    assert response.status_code == 302
    org = Organization.objects.get(pk=team.pk)
    assert (org.name, org.currency, org.locale, org.timezone) == ("Shop GmbH", "USD", "de-DE", "Europe/Berlin")
    assert (org.fiscal_year_start, org.week_start) == (4, 6)
    assert org.calendar().week_start == 6


def test_org_settings_show_each_error_next_to_its_field(client, team):
    response = client_for(client, "owner").post(
        reverse("settings_org"),
        {
            "name": "",
            "currency": "EURO",
            "locale": "english!",
            "timezone": "Mars/Olympus_Mons",
            "fiscal_year_start": "13",
            "week_start": "7",
        },
    )
    page = response.content.decode()
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"name", "currency", "locale", "timezone", "fiscal_year_start", "week_start"}
    assert "three-letter ISO 4217 code" in page
    assert "not a known time zone" in page
    assert page.count('role="alert"') == 6
    org = Organization.objects.get(pk=team.pk)
    assert (org.name, org.currency, org.timezone) == ("Shop", "EUR", "UTC")
    assert "Shop · Owner" in page  # the header still shows the saved name


# Members


def test_owner_changes_a_role_and_scopes_to_departments(client, team):
    viewer = member("viewer")
    depts = list(team.departments.all()[:2])
    response = client_for(client, "owner").post(
        reverse("member_update", args=[viewer.pk]),
        {f"m{viewer.pk}-role": "editor", f"m{viewer.pk}-departments": [d.pk for d in depts]},
    )
    assert response.status_code == 302
    viewer.refresh_from_db()
    assert viewer.role == Role.EDITOR and viewer.department_ids() == {d.pk for d in depts}
    page = client.get(reverse("settings_members")).content.decode()
    assert all(d.name in page for d in depts)


def test_departments_of_another_org_cannot_be_used_for_scoping(client, team, other_org):
    viewer = member("viewer")
    foreign = other_org.departments.first()
    response = client_for(client, "owner").post(
        reverse("member_update", args=[viewer.pk]),
        {f"m{viewer.pk}-role": "viewer", f"m{viewer.pk}-departments": [foreign.pk]},
    )
    assert response.status_code == 400 and 'role="alert"' in response.content.decode()
    assert viewer.department_ids() is None


def test_the_last_owner_can_be_neither_demoted_nor_removed(client, team):
    owner = member("owner")
    client = client_for(client, "owner")
    response = client.post(reverse("member_update", args=[owner.pk]), {f"m{owner.pk}-role": "admin"})
    assert response.status_code == 400 and "last owner" in response.content.decode()
    response = client.post(reverse("member_remove", args=[owner.pk]), follow=True)
    assert "last owner cannot be removed" in response.content.decode()
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_with_a_second_owner_the_first_may_step_down(client, team):
    viewer, owner = member("viewer"), member("owner")
    client = client_for(client, "owner")
    client.post(reverse("member_update", args=[viewer.pk]), {f"m{viewer.pk}-role": "owner"})
    viewer.refresh_from_db()
    assert viewer.role == Role.OWNER
    assert client.post(reverse("member_update", args=[owner.pk]), {f"m{owner.pk}-role": "admin"}).status_code == 302
    owner.refresh_from_db()
    assert owner.role == Role.ADMIN
    response = client.post(reverse("member_update", args=[owner.pk]), {f"m{owner.pk}-role": "viewer"})
    assert response["Location"] == reverse("scorecard")  # no longer allowed on the settings page


def test_an_admin_cannot_make_owners_nor_touch_an_owner(client, team):
    Member.objects.filter(user__username="viewer").update(role=Role.ADMIN)
    admin, owner = member("viewer"), member("owner")
    editor = Member.objects.create(user=make_user("ed"), org=team, role=Role.EDITOR)
    client = client_for(client, "viewer")
    response = client.post(reverse("member_update", args=[editor.pk]), {f"m{editor.pk}-role": "owner"})
    assert response.status_code == 400
    editor.refresh_from_db()
    assert editor.role == Role.EDITOR
    assert client.post(reverse("member_update", args=[owner.pk]), {f"m{owner.pk}-role": "viewer"}).status_code == 403
    assert client.post(reverse("member_remove", args=[owner.pk])).status_code == 403
    owner.refresh_from_db()
    assert owner.role == Role.OWNER
    # an admin manages everyone else
    assert client.post(reverse("member_update", args=[editor.pk]), {f"m{editor.pk}-role": "admin"}).status_code == 302
    assert client.post(reverse("member_remove", args=[editor.pk])).status_code == 302
    assert not Member.objects.filter(pk=editor.pk).exists()
    assert admin.role == Role.ADMIN
    page = client.get(reverse("settings_members")).content.decode()
    assert '<option value="owner"' not in page


def test_owner_removes_a_member(client, team):
    viewer = member("viewer")
    response = client_for(client, "owner").post(reverse("member_remove", args=[viewer.pk]))
    assert response.status_code == 302
    assert not Member.objects.filter(pk=viewer.pk).exists()


# Invitations


def test_members_page_says_when_no_invitation_is_pending(client, team):
    page = client_for(client, "owner").get(reverse("settings_members")).content.decode()
    assert "No invitations pending" in page


def test_inviting_emails_the_link_and_lists_it(client, team):
    dept = team.departments.first()
    response = client_for(client, "owner").post(
        reverse("settings_members"),
        {"invite-email": "sam@example.com", "invite-role": "editor", "invite-departments": [dept.pk]},
    )
    assert response.status_code == 302
    invitation = Invitation.objects.get(org=team, email="sam@example.com")
    assert invitation.role == Role.EDITOR and list(invitation.departments.all()) == [dept]
    link = f"http://testserver/invite/{invitation.token}/"
    (message,) = mail.outbox
    assert message.to == ["sam@example.com"] and "Shop" in message.subject
    assert link in message.body
    assert link in message.alternatives[0][0]
    page = client.get(reverse("settings_members")).content.decode()
    assert link in page and "No invitations pending" not in page


def test_invitation_form_errors(client, team):
    client = client_for(client, "owner")
    response = client.post(reverse("settings_members"), {"invite-email": "not an email", "invite-role": "boss"})
    assert response.status_code == 400
    assert set(response.context["invite_form"].errors) == {"email", "role"}
    response = client.post(reverse("settings_members"), {"invite-email": "viewer@example.com", "invite-role": "viewer"})
    assert "member already" in response.content.decode()
    assert not Invitation.objects.exists() and not mail.outbox


def test_an_admin_cannot_invite_an_owner(client, team):
    Member.objects.filter(user__username="viewer").update(role=Role.ADMIN)
    response = client_for(client, "viewer").post(
        reverse("settings_members"), {"invite-email": "boss@example.com", "invite-role": "owner"}
    )
    assert response.status_code == 400 and not Invitation.objects.exists()


def test_an_unreachable_mail_server_still_gives_the_link(client, team, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    response = client_for(client, "owner").post(
        reverse("settings_members"), {"invite-email": "sam@example.com", "invite-role": "viewer"}, follow=True
    )
    invitation = Invitation.objects.get(email="sam@example.com")
    page = response.content.decode()
    assert "could not be sent" in page and f"/invite/{invitation.token}/" in page


def test_withdrawing_an_invitation(client, team, invitation):
    response = client_for(client, "owner").post(reverse("invitation_revoke", args=[invitation.pk]))
    assert response.status_code == 302 and not Invitation.objects.exists()
    assert client.get(reverse("invitation", args=[invitation.token])).status_code == 404


# Departments


def test_department_tree_create_rename_delete(client, team):
    client = client_for(client, "owner")
    response = client.post(reverse("settings_departments"), {"new-name": "Bakery", "new-parent": ""})
    assert response.status_code == 302
    bakery = Department.objects.get(org=team, name="Bakery")
    client.post(reverse("settings_departments"), {"new-name": "Ovens", "new-parent": bakery.pk})
    ovens = Department.objects.get(org=team, name="Ovens")
    assert ovens.parent == bakery
    client.post(reverse("settings_departments"), {"new-name": "Night shift", "new-parent": ovens.pk})
    rows = client.get(reverse("settings_departments")).context["rows"]
    depth = {row["department"].name: row["depth"] for row in rows}
    order = [row["department"].name for row in rows]
    assert (depth["Bakery"], depth["Ovens"], depth["Night shift"]) == (0, 1, 2)
    assert order.index("Bakery") + 1 == order.index("Ovens") == order.index("Night shift") - 1

    response = client.post(
        reverse("department_update", args=[ovens.pk]), {f"d{ovens.pk}-name": "Ovens & kilns", f"d{ovens.pk}-parent": ""}
    )
    assert response.status_code == 302
    ovens.refresh_from_db()
    assert (ovens.name, ovens.parent) == ("Ovens & kilns", None)

    client.post(
        reverse("department_update", args=[ovens.pk]), {f"d{ovens.pk}-name": "Ovens", f"d{ovens.pk}-parent": bakery.pk}
    )
    assert client.post(reverse("department_delete", args=[ovens.pk])).status_code == 302
    assert not Department.objects.filter(pk=ovens.pk).exists()
    assert Department.objects.get(name="Night shift").parent == bakery  # moved up, not orphaned


def test_department_names_are_unique_per_org(client, team, other_org):
    taken = team.departments.first()
    client = client_for(client, "owner")
    response = client.post(reverse("settings_departments"), {"new-name": taken.name.upper()})
    assert response.status_code == 400 and "already a department" in response.content.decode()
    assert Department.objects.filter(org=team, name__iexact=taken.name).count() == 1
    other_name = other_org.departments.first().name
    if not team.departments.filter(name=other_name).exists():
        assert client.post(reverse("settings_departments"), {"new-name": other_name}).status_code == 302


def test_a_department_cannot_move_under_itself(client, team):
    client = client_for(client, "owner")
    client.post(reverse("settings_departments"), {"new-name": "Top"})
    top = Department.objects.get(name="Top")
    client.post(reverse("settings_departments"), {"new-name": "Below", "new-parent": top.pk})
    below = Department.objects.get(name="Below")
    response = client.post(
        reverse("department_update", args=[top.pk]), {f"d{top.pk}-name": "Top", f"d{top.pk}-parent": below.pk}
    )
    assert response.status_code == 400
    top.refresh_from_db()
    assert top.parent is None


def test_a_department_someone_is_limited_to_is_not_deleted(client, team):
    dept = team.departments.first()
    member("viewer").departments.add(dept)
    response = client_for(client, "owner").post(reverse("department_delete", args=[dept.pk]), follow=True)
    assert "limited to it" in response.content.decode()
    assert Department.objects.filter(pk=dept.pk).exists()


def test_departments_page_empty_state(client, other_org, db):
    other_org.departments.all().delete()
    page = client_for(client, "outsider").get(reverse("settings_departments")).content.decode()
    assert "No departments yet" in page

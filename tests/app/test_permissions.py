"""Tenancy and roles on every view: owner, viewer teammate, outsider in another org."""

from __future__ import annotations

import pytest
from app_helpers import client_for
from django.urls import reverse


def test_anonymous_users_are_sent_to_sign_in(client, shop):
    response = client.get(reverse("scorecard"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_each_member_sees_their_own_org(client, shop, other_org):
    page = client_for(client, "owner").get(reverse("scorecard")).content.decode()
    assert "Shop" in page and "Average order value" in page
    page = client_for(client, "outsider").get(reverse("scorecard")).content.decode()
    assert "Other" in page and "Average order value" not in page


@pytest.mark.parametrize("url_name", ["refresh"])
def test_viewer_cannot_post(client, shop, url_name):
    assert client_for(client, "viewer").post(reverse(url_name)).status_code == 403
    assert client_for(client, "owner").post(reverse(url_name)).status_code == 302

"""Channel secrets at rest and the webhook target check (SSRF), against a real HTTP receiver on 127.0.0.1.

- A Slack/Teams/webhook URL and the webhook signing secret are stored encrypted: not in any column of the
  row, not on the channel pages, the delivery log, the alert page or the API; pages show a masked URL.
- Delivery failures are logged without the URL's token or the signing secret (even when the server echoes them).
- Targets: link-local / cloud metadata always refused; loopback / private refused unless
  HEADWAY_WEBHOOK_ALLOW_PRIVATE is on; checked on save and again on send (a name's DNS answer can change).
- Migration 0002 encrypts old plain rows, which still deliver.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import importlib
import json
import logging
import re
import socket

import pytest
from app_helpers import client_for, make_user
from django.conf import settings as django_settings
from django.db import connection
from django.urls import reverse

from headway.app.automation import delivery
from headway.app.automation.alerting import evaluate_org
from headway.app.automation.channels import Message, transport_for
from headway.app.automation.delivery import dispatch_due, send_pending
from headway.app.automation.models import AlertRule, Channel, Delivery, DeliveryStatus
from headway.app.kpis.models import SeriesPoint
from headway.app.sources.models import ApiToken
from headway.ingest import secrets

TOKEN = "xoxSECRETtoken9f3c1a2b"
TOKEN_PATH = f"/services/T0AAAA/B0BBBB/{TOKEN}"
ALLOW_HINT = "set HEADWAY_WEBHOOK_ALLOW_PRIVATE=true to allow internal targets."


@pytest.fixture
def receivers(receivers):
    """The receivers of conftest.py, listening on a Slack-like path that carries a token."""
    return functools.partial(receivers, path=TOKEN_PATH)


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    monkeypatch.setattr(delivery, "INLINE_BACKOFF", [0.01, 0.01])


def firing_rule(org, channel: Channel) -> AlertRule:
    value = (
        SeriesPoint.objects.filter(run=org.current_run, kpi_id="aov", grain="month", dimension="")
        .exclude(value=None)
        .order_by("-period")
        .values_list("value", flat=True)
        .first()
    )
    rule = AlertRule.objects.create(
        org=org, name="AOV above plan", kpi_id="aov", kind="threshold_above", params={"threshold": value - 1.0}
    )
    rule.channels.add(channel)
    return rule


def run_alerts(org) -> None:
    assert evaluate_org(org)
    dispatch_due(org)
    send_pending(org)


def raw_row(pk: int) -> str:
    """Every column of the channel's row as the database holds it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM automation_channel WHERE id = %s", [pk])
        return " ".join(str(v) for v in cursor.fetchone())


def key() -> str:
    return django_settings.HEADWAY_ENCRYPTION_KEY or django_settings.SECRET_KEY


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_channel_saved_through_the_form_is_stored_encrypted_shown_masked_and_still_delivers(
    client, shop, receivers, settings
):
    settings.HEADWAY_WEBHOOK_ALLOW_PRIVATE = True
    receiver = receivers()
    owner = client_for(client, "owner")
    made = owner.post(
        reverse("channel_new"),
        {"name": "Ops hook", "kind": "webhook", "url": receiver.url, "enabled": "on"},
    )
    shown = re.search(r"shown only now\): <code data-secret>([0-9a-f]+)</code>", made.content.decode())
    assert shown is not None
    assert made.status_code == 200 and made["Cache-Control"] == "no-store", "shown on the response, not cached"
    assert not made.cookies.get("messages"), "the secret does not travel in a flash-message cookie"
    secret = shown.group(1)
    assert len(secret) == 64
    channel = Channel.objects.get()

    # At rest: neither the URL's token nor the secret in any column; the ciphertext holds both.
    row = raw_row(channel.pk)
    assert TOKEN not in row and secret not in row and "B0BBBB" not in row
    stored = json.loads(secrets.decrypt(channel.credentials, key()).reveal())
    assert stored == {"url": receiver.url, "secret": secret}
    masked = f"http://127.0.0.1:{receiver.port}/…/••••1a2b"
    assert channel.config == {"url_masked": masked}

    # On the pages: only the masked URL; the edit form has no value for the URL or the secret.
    listing = owner.get(reverse("channels")).content.decode()
    edit = owner.get(reverse("channel_edit", args=[channel.pk])).content.decode()
    for page in (listing, edit):
        assert TOKEN not in page and secret not in page and "B0BBBB" not in page
        assert masked in page
    assert re.search(r'<input[^>]*name="url"[^>]*value=', edit) is None
    assert re.search(r'<input[^>]*name="signing_secret"[^>]*value=', edit) is None

    # Editing with both fields left empty keeps what is stored.
    owner.post(reverse("channel_edit", args=[channel.pk]), {"name": "Ops", "url": "", "enabled": "on"})
    channel.refresh_from_db()
    assert (channel.name, channel.url, channel.secret) == ("Ops", receiver.url, secret)

    # Sending: the receiver gets the post on the token path, signed with the secret shown at creation.
    firing_rule(shop, channel)
    run_alerts(shop)
    assert len(receiver.requests) == 1
    path, headers, body = receiver.requests[0]
    assert path == TOKEN_PATH
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Headway-Signature"], expected)
    assert Delivery.objects.get().status == DeliveryStatus.SENT

    # Nor on the delivery log, the alert page or the API.
    alert = channel.deliveries.get().notification.alert
    for url in (reverse("deliveries"), reverse("alert_detail", args=[alert.pk])):
        page = owner.get(url).content.decode()
        assert "Ops" in page and TOKEN not in page and secret not in page
    token = ApiToken.issue(shop, "reader")[1]
    api = client.get(reverse("api:api_alerts"), HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.status_code == 200 and api.json()["count"] == 1
    assert TOKEN not in api.content.decode() and secret not in api.content.decode()


def test_own_signing_secret_is_kept_encrypted_and_slack_needs_https(client, shop, settings):
    settings.HEADWAY_WEBHOOK_ALLOW_PRIVATE = True
    owner = client_for(client, "owner")
    mine = "my-own-signing-secret-0123456789"
    owner.post(
        reverse("channel_new"),
        {"name": "Hook", "kind": "webhook", "url": "https://hooks.example.test/in", "signing_secret": mine},
    )
    channel = Channel.objects.get(name="Hook")
    assert channel.secret == mine and mine not in raw_row(channel.pk)
    short = owner.post(reverse("channel_edit", args=[channel.pk]), {"name": "Hook", "signing_secret": "short"})
    assert "at least 16 characters" in short.context["form"].errors["signing_secret"][0]
    assert 'value="short"' not in short.content.decode()  # a typed secret is not put back into the field
    http = owner.post(
        reverse("channel_new"), {"name": "S", "kind": "slack", "url": f"http://hooks.slack.test{TOKEN_PATH}"}
    )
    assert http.context["form"].errors["url"] == [
        "This must be an https:// URL (the URL itself is a secret: it is not sent unencrypted)."
    ]
    assert not Channel.objects.filter(name="S").exists()


def test_a_failed_delivery_is_logged_without_the_url_token_or_the_secret(shop, receivers, settings, caplog):
    settings.HEADWAY_WEBHOOK_ALLOW_PRIVATE = True
    receiver = receivers([500, 500, 500])
    secret = "signing-secret-4d1e8b7c"
    channel = Channel.objects.create(org=shop, kind="webhook", name="Ops", config={"url": receiver.url}, secret=secret)
    firing_rule(shop, channel)
    with caplog.at_level(logging.DEBUG):
        run_alerts(shop)
    assert len(receiver.requests) == 3  # the server did get the token path, and echoed it in its reason
    d = Delivery.objects.get()
    assert d.status == DeliveryStatus.RETRYING and d.response_code == 500
    text = caplog.text
    assert "HTTP 500" in text and f"127.0.0.1:{receiver.port}/…/••••1a2b" in text  # useful: which channel, what
    stored = d.error + json.dumps(d.log)
    for where in (text, stored):
        assert TOKEN not in where and "B0BBBB" not in where and secret not in where

    # Connection refused: a port nobody listens on.
    caplog.clear()
    dead = Channel.objects.create(
        org=shop, kind="slack", name="Dead", config={"url": f"http://127.0.0.1:{closed_port()}{TOKEN_PATH}"}
    )
    notification = Delivery.objects.get().notification  # the first delivery waits for its next round
    Delivery.objects.create(org=shop, notification=notification, channel=dead)
    with caplog.at_level(logging.DEBUG):
        send_pending(shop)
    d = Delivery.objects.get(channel=dead)
    assert d.status == DeliveryStatus.RETRYING and "cannot connect" in d.error
    assert "cannot connect" in caplog.text
    assert TOKEN not in caplog.text + d.error + json.dumps(d.log)


def test_metadata_and_link_local_targets_are_refused_even_with_private_allowed(client, shop, settings):
    settings.HEADWAY_WEBHOOK_ALLOW_PRIVATE = True
    owner = client_for(client, "owner")
    cases = {
        "http://169.254.169.254/latest/meta-data/": "169.254.169.254 is a link-local address (cloud metadata "
        "service); notifications are never sent there.",
        "http://[fe80::1]/hook": "fe80::1 is a link-local address; notifications are never sent there.",
        "http://[::ffff:169.254.169.254]/": "::ffff:169.254.169.254 resolves to 169.254.169.254, a link-local address "
        "(cloud metadata service); notifications are never sent there.",
    }
    for url, message in cases.items():
        r = owner.post(reverse("channel_new"), {"name": "Meta", "kind": "webhook", "url": url})
        assert r.context["form"].errors["url"] == [message], url
        assert url not in r.content.decode()  # the refused URL is not put back into the form
    assert not Channel.objects.exists()


def test_private_and_loopback_targets_need_the_setting(client, shop, settings):
    owner = client_for(client, "owner")
    settings.HEADWAY_WEBHOOK_ALLOW_PRIVATE = False
    refused = {
        "http://10.0.0.5/hook": f"10.0.0.5 is a private address; {ALLOW_HINT}",
        "http://127.0.0.1:8080/hook": f"127.0.0.1 is a loopback address; {ALLOW_HINT}",
        "https://192.168.1.20/hook": f"192.168.1.20 is a private address; {ALLOW_HINT}",
        "http://172.31.0.1/hook": f"172.31.0.1 is a private address; {ALLOW_HINT}",
        "http://[::1]/hook": f"::1 is a loopback address; {ALLOW_HINT}",
        "http://[fd12::1]/hook": f"fd12::1 is a private address; {ALLOW_HINT}",
    }
    for url, message in refused.items():
        r = owner.post(reverse("channel_new"), {"name": "Internal", "kind": "webhook", "url": url})
        assert r.context["form"].errors["url"] == [message], url
    # A name is resolved: localhost is loopback.
    r = owner.post(reverse("channel_new"), {"name": "Internal", "kind": "webhook", "url": "http://localhost:9/x"})
    (error,) = r.context["form"].errors["url"]
    assert re.fullmatch(
        rf"localhost resolves to (127\.0\.0\.1|::1), a loopback address; {re.escape(ALLOW_HINT)}", error
    )
    assert not Channel.objects.exists()
    # 172.32.x is public (outside 172.16/12): not refused.
    owner.post(reverse("channel_new"), {"name": "Public", "kind": "webhook", "url": "http://172.32.0.1/hook"})
    assert Channel.objects.filter(name="Public").exists()

    settings.HEADWAY_WEBHOOK_ALLOW_PRIVATE = True
    for i, url in enumerate(["http://10.0.0.5/hook", "http://127.0.0.1:8080/hook", "http://localhost:9/x"]):
        r = owner.post(reverse("channel_new"), {"name": f"Internal {i}", "kind": "webhook", "url": url})
        assert r.status_code == 200 and "shown only now" in r.content.decode(), url
        assert Channel.objects.get(name=f"Internal {i}").url == url


def test_the_target_is_checked_again_on_send_and_nothing_is_sent(shop, receivers, settings):
    receiver = receivers()
    settings.HEADWAY_WEBHOOK_ALLOW_PRIVATE = True  # allowed when saved ...
    url = f"http://localhost:{receiver.port}/hook"
    channel = Channel.objects.create(org=shop, kind="webhook", name="Local", config={"url": url}, secret="k" * 20)
    firing_rule(shop, channel)
    settings.HEADWAY_WEBHOOK_ALLOW_PRIVATE = False  # ... but not any more (as when DNS starts answering 127.0.0.1)
    run_alerts(shop)

    assert receiver.requests == []
    d = Delivery.objects.get()
    assert d.status == DeliveryStatus.FAILED and d.attempts == 1  # permanent: not retried
    assert re.fullmatch(
        rf"refused: localhost resolves to (127\.0\.0\.1|::1), a loopback address; {re.escape(ALLOW_HINT)}", d.error
    )
    channel.refresh_from_db()
    assert not channel.enabled and "loopback" in channel.disabled_reason

    # With the setting on, the same channel delivers (localhost may try ::1 first; the receiver is on 127.0.0.1).
    settings.HEADWAY_WEBHOOK_ALLOW_PRIVATE = True
    Channel.objects.filter(pk=channel.pk).update(enabled=True)
    Delivery.objects.filter(pk=d.pk).update(status=DeliveryStatus.PENDING, next_attempt_at=None)
    assert send_pending(shop) == 1
    assert len(receiver.requests) == 1 and receiver.requests[0][0] == "/hook"


def test_metadata_on_send_and_a_redirect_to_it_are_refused(shop, receivers, settings):
    settings.HEADWAY_WEBHOOK_ALLOW_PRIVATE = True
    metadata = Channel.objects.create(
        org=shop, kind="slack", name="Meta", config={"url": "http://169.254.169.254/latest/meta-data/"}
    )
    firing_rule(shop, metadata)
    run_alerts(shop)
    d = Delivery.objects.get(channel=metadata)
    assert d.status == DeliveryStatus.FAILED and d.attempts == 1 and d.response_code is None
    assert d.error == (
        "refused: 169.254.169.254 is a link-local address (cloud metadata service); notifications are never sent there."
    )

    # A permitted receiver that redirects to the metadata service: the redirect is refused on connecting.
    bouncer = receivers(redirect="http://169.254.169.254/latest/meta-data/iam/")
    hop = Channel.objects.create(org=shop, kind="webhook", name="Hop", config={"url": bouncer.url}, secret="k" * 20)
    message = Message(subject="s", text="t", html="<p>t</p>", event="firing", severity="warning", payload={"a": 1})
    with pytest.raises(delivery.TransportError) as caught:
        transport_for(hop).send(message)
    assert len(bouncer.requests) == 1  # the first hop was sent, the redirect was not followed
    assert caught.value.permanent
    assert str(caught.value).startswith("refused: 169.254.169.254 is a link-local address")


MIGRATION = "headway.app.automation.migrations.0002_channel_credentials"


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_old_plain_rows_which_still_deliver(receivers, settings):
    from django.db.migrations.executor import MigrationExecutor

    from headway.app.accounts.onboarding import create_org

    settings.HEADWAY_WEBHOOK_ALLOW_PRIVATE = True
    receiver = receivers()
    org = create_org("Old shop", make_user("oldowner"), "ecommerce")
    old_secret = "old-plain-secret-5e6f"
    executor = MigrationExecutor(connection)
    executor.migrate([("automation", "0001_initial")])
    try:
        old_apps = executor.loader.project_state([("automation", "0001_initial")]).apps
        OldChannel = old_apps.get_model("automation", "Channel")
        old = OldChannel.objects.create(
            org_id=org.pk, kind="webhook", name="Old hook", config={"url": receiver.url}, secret=old_secret
        )
        mail = OldChannel.objects.create(org_id=org.pk, kind="email", name="Mail", config={"addresses": ["a@b.test"]})
        assert TOKEN in raw_row(old.pk) and old_secret in raw_row(old.pk)  # the planted plain row

        executor = MigrationExecutor(connection)
        executor.migrate([("automation", "0002_channel_credentials")])
        row = raw_row(old.pk)
        assert TOKEN not in row and old_secret not in row
        # Running the migration function again (directly) changes nothing: rows already encrypted stay.
        mid_apps = executor.loader.project_state([("automation", "0002_channel_credentials")]).apps
        before = raw_row(old.pk)
        importlib.import_module(MIGRATION).encrypt_plain_rows(mid_apps, None)
        assert raw_row(old.pk) == before

        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes("automation"))
        channel = Channel.objects.get(pk=old.pk)
        assert (channel.url, channel.secret) == (receiver.url, old_secret)
        assert channel.config == {"url_masked": f"http://127.0.0.1:{receiver.port}/…/••••1a2b"}
        assert Channel.objects.get(pk=mail.pk).config == {"addresses": ["a@b.test"]}
        assert Channel.objects.get(pk=mail.pk).credentials == ""

        message = Message(subject="s", text="t", html="<p>t</p>", event="firing", severity="warning", payload={"n": 7})
        assert transport_for(channel).send(message).code == 200
        path, headers, body = receiver.requests[0]
        assert path == TOKEN_PATH and json.loads(body) == {"n": 7}
        expected = "sha256=" + hmac.new(old_secret.encode(), body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-Headway-Signature"], expected)

        # And back: the plain values return (the migration is reversible).
        executor = MigrationExecutor(connection)
        executor.migrate([("automation", "0001_initial")])
        back = executor.loader.project_state([("automation", "0001_initial")]).apps.get_model("automation", "Channel")
        row = back.objects.get(pk=old.pk)
        assert (row.config, row.secret) == ({"url": receiver.url}, old_secret)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes("automation"))


def test_masked_urls_show_the_host_and_at_most_the_last_four_characters():
    from headway.app.automation.models import mask_url

    assert mask_url("https://hooks.slack.com/services/T0/B0/abcdefgh1a2b") == "https://hooks.slack.com/…/••••1a2b"
    # No user or password, and a token in the query is hidden the same way.
    assert mask_url("https://bob:pw@example.com:8443/hook?token=zzzzzzzz9999") == "https://example.com:8443/…/••••9999"
    assert mask_url("https://example.com") == "https://example.com/"
    assert mask_url("https://example.com/hook") == "https://example.com/…"  # too short to show a part of


def test_an_echoed_query_token_is_scrubbed_from_the_error(shop, receivers, settings):
    settings.HEADWAY_WEBHOOK_ALLOW_PRIVATE = True
    receiver = receivers([500])
    url = f"http://127.0.0.1:{receiver.port}/in?token=qtok3n77abcd&team=x"
    channel = Channel.objects.create(org=shop, kind="webhook", name="Q", config={"url": url}, secret="s" * 20)
    message = Message(subject="s", text="t", html="<p>t</p>", event="firing", severity="warning", payload={})
    with pytest.raises(delivery.TransportError) as caught:
        transport_for(channel).send(message)
    assert receiver.requests[0][0] == "/in?token=qtok3n77abcd&team=x"  # the server saw it and echoed it
    assert str(caught.value).startswith("HTTP 500 failed for ")
    assert "qtok3n77abcd" not in str(caught.value)

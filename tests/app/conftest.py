"""Fixtures for web app tests: three users in two organisations (owner, viewer teammate, outsider)."""

from __future__ import annotations

import socket
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
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


class Collector:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on 127.0.0.1, with Django's SMTP backend pointed at it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield handler
    controller.stop()


@pytest.fixture
def receivers():
    """``make(codes=None, redirect=None, path="/hook")``: a real HTTP receiver on 127.0.0.1
    (webhook_receiver.Receiver); every one made is closed after the test."""
    from webhook_receiver import Receiver

    made: list[Receiver] = []

    def make(codes: list[int] | None = None, redirect: str | None = None, path: str = "/hook") -> Receiver:
        made.append(Receiver(codes, redirect, path))
        return made[-1]

    yield make
    for r in made:
        r.close()

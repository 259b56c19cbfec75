"""A source's credentials at rest: encrypted with the installation's key, never shown back.

Forms show a stored credential as "•••• (stored)"; leaving the field blank keeps it.
Only the code that opens a connection calls :meth:`Secret.reveal` on what :func:`load` returns.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from django.conf import settings

from headway.app.sources.models import Source
from headway.ingest import secrets
from headway.ingest.secrets import Secret

STORED_MASK = "•••• (stored)"


def encryption_key() -> str:
    return settings.HEADWAY_ENCRYPTION_KEY or settings.SECRET_KEY


def load(source: Source) -> dict[str, Secret]:
    """The source's credentials, each a Secret that prints as ***."""
    if not source.credentials:
        return {}
    plain = json.loads(secrets.decrypt(source.credentials, encryption_key()).reveal())
    return {name: Secret(value) for name, value in plain.items()}


def store(source: Source, given: Mapping[str, str | Secret | None]) -> None:
    """Merge ``given`` into the stored credentials: a blank value keeps what was stored (not saved here)."""
    current = {name: value.reveal() for name, value in load(source).items()}
    for name, value in given.items():
        text = secrets.reveal(value) if value is not None else ""
        if text:
            current[name] = text
    source.credentials = secrets.encrypt(json.dumps(current), encryption_key()) if current else ""


def stored_names(source: Source) -> set[str]:
    """Which credential fields have a stored value (for the "•••• (stored)" placeholder)."""
    return {name for name, value in load(source).items() if value}


def scrub(text: str, source: Source) -> str:
    """``text`` with any of the source's credentials masked (driver and HTTP errors may echo them)."""
    try:
        values = list(load(source).values())
    except secrets.SecretError:
        values = []
    return secrets.scrub(text, values)

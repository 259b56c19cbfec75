"""Helpers for web app tests (importable by name; fixtures live in conftest.py)."""

from __future__ import annotations

from django.contrib.auth import get_user_model


def make_user(username: str):
    return get_user_model().objects.create_user(username, f"{username}@example.com", "correct horse battery")


def client_for(client, username: str):
    client.force_login(get_user_model().objects.get(username=username))
    return client

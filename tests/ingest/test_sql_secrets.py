"""Credentials: encryption at rest, a wrapper that never prints, redaction for display and logs."""

from __future__ import annotations

import logging
import pickle

import pytest
from cryptography.fernet import Fernet

from headway.ingest import secrets
from headway.ingest.secrets import Secret, SecretError

KEY = "django-insecure-0123456789abcdefghijklmnopqrstuvwxyz"
VALUE = "pa$$w0rd-ÄÖ-🔑"


def test_encrypt_decrypt_round_trip_and_tokens_differ():
    first, second = secrets.encrypt(VALUE, KEY), secrets.encrypt(VALUE, KEY)
    assert first != second  # random IV: equal passwords do not look equal at rest
    assert VALUE not in first and first.isascii()
    assert secrets.decrypt(first, KEY).reveal() == VALUE
    assert secrets.decrypt(second, KEY) == Secret(VALUE)


def test_the_derived_key_is_not_the_configured_string():
    # A token made with the raw setting used as a Fernet key must not decrypt: we derive a key.
    raw_key = Fernet.generate_key().decode()
    token = Fernet(raw_key.encode()).encrypt(b"x").decode()
    with pytest.raises(SecretError):
        secrets.decrypt(token, raw_key)


def test_a_wrong_key_or_tampered_token_is_a_clear_error_without_the_token():
    token = secrets.encrypt(VALUE, KEY)
    for bad_token, key in ((token, "another key"), (token[:-4] + "AAAA", KEY), ("not a token", KEY)):
        with pytest.raises(SecretError, match="encryption key changed") as err:
            secrets.decrypt(bad_token, key)
        assert bad_token not in str(err.value)
        assert err.value.__cause__ is None and err.value.__suppress_context__
    with pytest.raises(SecretError, match="no encryption key"):
        secrets.encrypt(VALUE, "")


def test_key_rotation():
    old = secrets.encrypt(VALUE, "old key")
    assert secrets.decrypt(old, "new key", old_keys=["old key"]).reveal() == VALUE
    rotated = secrets.rotate(old, "new key", old_keys=["old key"])
    assert secrets.decrypt(rotated, "new key").reveal() == VALUE
    with pytest.raises(SecretError):
        secrets.decrypt(rotated, "old key")


def test_a_secret_never_prints(caplog):
    secret = Secret(VALUE)
    shown = [repr(secret), str(secret), f"{secret}", f"{secret!r}", f"{secret:>40}", str([secret])]
    assert all(VALUE not in text and "***" in text for text in shown)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test").info("connecting with %s / %r", secret, {"password": secret})
    assert VALUE not in caplog.text and "***" in caplog.text
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(secret)
    assert secret.reveal() == VALUE and secrets.reveal(secret) == VALUE and secrets.reveal("plain") == "plain"
    assert Secret(secret).reveal() == VALUE and not Secret("")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://bob:s3cr%40t@db.example.com:5432/shop", "postgresql://bob:***@db.example.com:5432/shop"),
        ("mysql://root@127.0.0.1/shop", "mysql://root@127.0.0.1/shop"),
        (
            "postgresql://db/shop?sslmode=require&password=hunter22",
            "postgresql://db/shop?sslmode=require&password=***",
        ),
        ("sqlite:////var/lib/shop.db", "sqlite:////var/lib/shop.db"),
        (
            "https://api.example.com/v1/items?api_key=abc123&page=2",
            "https://api.example.com/v1/items?api_key=***&page=2",
        ),
        ("mariadb://u:p:with:colons@h:3306/d", "mariadb://u:***@h:3306/d"),
    ],
)
def test_redact_url(url, shown):
    assert secrets.redact_url(url) == shown
    assert secrets.redact_url(Secret(url)) == shown


def test_scrub_removes_values_and_url_passwords():
    text = "failed: postgresql://bob:hunter22@db/x (password hunter22, quoted s3cr%40t)"
    cleaned = secrets.scrub(text, [Secret("hunter22"), "s3cr@t", None])
    assert "hunter22" not in cleaned and "s3cr" not in cleaned
    assert cleaned == "failed: postgresql://bob:***@db/x (password ***, quoted ***)"

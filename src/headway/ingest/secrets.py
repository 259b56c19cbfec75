"""Credentials at rest and on display: encryption, a value wrapper that never prints, redaction.

The Django app stores a source's password or API token with :func:`encrypt` and gets it
back with :func:`decrypt` as a :class:`Secret`, which shows ``***`` in every repr, str,
f-string and log line; only :meth:`Secret.reveal` hands out the value, and only the code
that opens the connection should call it. The encryption key is whatever string the
caller passes (the app passes ``HEADWAY_ENCRYPTION_KEY`` or, failing that, its
``SECRET_KEY``); a Fernet key is derived from it with HKDF-SHA256, so any long random
string works. Old keys can be passed to :func:`decrypt` during a key rotation and
:func:`rotate` re-encrypts a token under the new key.

    token = secrets.encrypt("s3cret", key)        # store this
    secret = secrets.decrypt(token, key)          # Secret('***')
    secrets.redact_url("postgresql://bob:pw@db/shop")  # 'postgresql://bob:***@db/shop'
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MASK = "***"

# Query-string parameters of a connection URL or API URL that carry a secret.
SECRET_PARAMS = frozenset(
    {"password", "passwd", "pwd", "sslpassword", "secret", "token", "access_token", "api_key", "apikey", "key"}
)


class SecretError(ValueError):
    """A stored credential cannot be decrypted (wrong key, or the token was altered)."""


class Secret:
    """A credential that does not print itself. ``reveal()`` returns the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError(f"a Secret holds a string, not {type(value).__name__}")
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    def __str__(self) -> str:
        return MASK

    def __format__(self, format_spec: str) -> str:
        return MASK

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would write the value in clear to a cache or a job queue.
        raise TypeError("a Secret cannot be pickled; store it with secrets.encrypt()")


def reveal(value: str | Secret) -> str:
    """The plain value of a string or a Secret (for the code that opens a connection)."""
    return value.reveal() if isinstance(value, Secret) else value


def _fernet(key: str) -> Fernet:
    if not key:
        raise SecretError("no encryption key is configured (set HEADWAY_ENCRYPTION_KEY or SECRET_KEY)")
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"headway-credentials", info=b"fernet-v1").derive(
        key.encode("utf-8")
    )
    return Fernet(base64.urlsafe_b64encode(raw))


def encrypt(value: str | Secret, key: str) -> str:
    """Encrypt a credential for storage; the result is ASCII text, different on every call."""
    return _fernet(key).encrypt(reveal(value).encode("utf-8")).decode("ascii")


def decrypt(token: str, key: str, *, old_keys: Iterable[str] = ()) -> Secret:
    """Decrypt a stored credential with ``key`` (or one of ``old_keys`` during a rotation)."""
    fernet = MultiFernet([_fernet(k) for k in (key, *old_keys)])
    try:
        return Secret(fernet.decrypt(token.encode("ascii")).decode("utf-8"))
    except (InvalidToken, UnicodeError, ValueError):
        raise SecretError(
            "a stored credential cannot be decrypted: the encryption key changed or the stored value was altered; "
            "enter the credential again (or pass the previous key as an old key)"
        ) from None


def rotate(token: str, key: str, *, old_keys: Iterable[str]) -> str:
    """Re-encrypt a token made with one of ``old_keys`` (or ``key``) under ``key``."""
    return encrypt(decrypt(token, key, old_keys=old_keys), key)


def redact_url(url: str | Secret) -> str:
    """A connection or API URL fit for display and logs: password and secret parameters masked.

    ``postgresql://bob:pw@db:5432/shop?sslpassword=x`` → ``postgresql://bob:***@db:5432/shop?sslpassword=***``
    """
    text = reveal(url)
    try:
        parts = urlsplit(text)
    except ValueError:
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, has_password, _ = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{hostport}" if has_password else f"{user}@{hostport}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, MASK if k.lower() in SECRET_PARAMS else v) for k, v in pairs], safe="*")
    if "://" in text:  # urlunsplit would turn sqlite:///x.db into sqlite:/x.db
        rebuilt = f"{parts.scheme}://{netloc}{parts.path}"
        return rebuilt + (f"?{query}" if query else "") + (f"#{parts.fragment}" if parts.fragment else "")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def scrub(text: str, secrets: Iterable[str | Secret | None]) -> str:
    """``text`` with every occurrence of the given secret values (also URL-quoted) replaced by ``***``.

    Used on messages that come back from database drivers and HTTP servers before they are
    raised or logged, in case one of them echoes a credential.
    """
    values: set[str] = set()
    for secret in secrets:
        if secret is None:
            continue
        value = reveal(secret)
        if len(value) >= 3:  # masking "a" everywhere would garble the message and hide nothing
            values.update({value, quote(value, safe=""), quote(value)})
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, MASK)
    return _URL_PASSWORD.sub(lambda m: f"{m.group(1)}:{MASK}@", text)


# user:password@ inside any URL-looking text (a driver may echo the connection string).
_URL_PASSWORD = re.compile(r"(//[^/:@\s]*):[^@\s/]*@")

"""The shared base of the SaaS connectors: what a connector declares, what a sync yields, cursors.

A connector subclasses :class:`Connector`, sets ``info`` (a :class:`ConnectorInfo`),
builds its auth headers and implements :meth:`Connector.streams`, a generator of
:class:`Batch` es. Within it, ``self.http`` (an :class:`~headway.ingest.connectors.http.HttpClient`)
fetches pages, ``self.cursor(stream)`` gives the incremental cursor saved by the last
successful sync, and :func:`canonical_frame` turns mapped rows into a DataFrame with
canonical column names and types.

    conn = connectors.get("stripe")({"api_key": key}, state=saved_state)
    for batch in conn.sync():          # batch.dataset_type, batch.frame, batch.key
        upsert(batch)
    saved_state = conn.state           # only advanced once the whole sync went through

The state is a JSON-able dict (per stream: the highest cursor value seen and the ids of
the records at exactly that value, so an API filter with ``>=`` never hands the same
record over twice and records sharing a timestamp are never skipped).
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd

from headway.engine.canonical import CANONICAL, FieldType
from headway.ingest.connectors.http import Clock, ConnectorError, HttpClient, Sleep
from headway.ingest.secrets import Secret

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CredentialField:
    name: str
    label: str
    secret: bool = True
    required: bool = True
    help: str = ""


@dataclass(frozen=True)
class ConnectorInfo:
    name: str
    label: str
    description: str
    auth_kinds: tuple[str, ...]
    """"api_key" and/or "oauth_token"."""
    datasets: tuple[str, ...]
    """Canonical dataset types the connector produces."""
    credentials: tuple[CredentialField, ...]
    default_base_url: str
    """The real API's address (may use non-secret credential fields: ``https://{shop}.myshopify.com``);
    tests and proxies pass another ``base_url``."""


@dataclass
class Batch:
    """Rows of one canonical dataset from one page of one stream."""

    dataset_type: str
    frame: pd.DataFrame
    key: list[str]
    """Columns to upsert by; empty means the rows are append-only (the cursor never re-reads them)."""
    stream: str

    def __len__(self) -> int:
        return len(self.frame)


@dataclass
class Cursor:
    """Incremental position of one stream: the highest cursor value seen and the ids at that value."""

    value: Any = None
    ids: set[str] = field(default_factory=set)

    @classmethod
    def from_state(cls, saved: Mapping[str, Any] | None) -> Cursor:
        if not saved:
            return cls()
        return cls(saved.get("value"), {str(i) for i in saved.get("ids", ())})

    def to_state(self) -> dict[str, Any]:
        return {"value": self.value, "ids": sorted(self.ids)}

    def is_new(self, record_id: Any, value: Any) -> bool:
        """False for a record the last sync already delivered (older, or at the boundary with a known id)."""
        if self.value is None or value is None:
            return True
        if value < self.value:
            return False
        return not (value == self.value and str(record_id) in self.ids)

    def has(self, record_id: Any, value: Any) -> bool:
        """Whether this exact record (id at the cursor value) was already taken."""
        return value is not None and value == self.value and str(record_id) in self.ids

    def advance(self, record_id: Any, value: Any) -> None:
        if value is None:
            return
        if self.value is None or value > self.value:
            self.value, self.ids = value, {str(record_id)}
        elif value == self.value:
            self.ids.add(str(record_id))


class Connector(ABC):
    """One SaaS service. Subclasses set ``info`` and implement ``auth_headers`` and ``streams``."""

    info: ClassVar[ConnectorInfo]
    page_size: int = 100

    def __init__(
        self,
        credentials: Mapping[str, Secret | str],
        base_url: str | None = None,
        state: Mapping[str, Any] | None = None,
        *,
        sleep: Sleep = time.sleep,
        clock: Clock | None = None,
        page_size: int | None = None,
    ) -> None:
        missing = [f.label for f in self.info.credentials if f.required and not credentials.get(f.name)]
        if missing:
            raise ConnectorError(f"{self.info.label}: missing {', '.join(missing)}")
        self.credentials = {k: v if isinstance(v, Secret) else Secret(str(v)) for k, v in credentials.items()}
        plain = {f.name: self.credentials[f.name].reveal() for f in self.info.credentials if not f.secret}
        self.base_url = (base_url or self.info.default_base_url.format(**plain)).rstrip("/")
        self.clock: Clock = clock or (lambda: dt.datetime.now(dt.UTC))
        if page_size is not None:
            self.page_size = page_size
        self._state: dict[str, Any] = copy.deepcopy(dict(state or {}))
        self._next_state: dict[str, Any] = {}
        self.http = HttpClient(
            self.base_url,
            self.info.label,
            headers=self.auth_headers(),
            secrets=list(self.credentials.values()),
            sleep=sleep,
            clock=self.clock,
            auth_hint=self.auth_hint(),
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, credentials=<{len(self.credentials)} hidden>)"

    @property
    def state(self) -> dict[str, Any]:
        """The cursors after the last complete sync (persist it; pass it back as ``state`` next time)."""
        return copy.deepcopy(self._state)

    def secret(self, name: str) -> str:
        """The plain value of one credential (only for building auth headers)."""
        return self.credentials[name].reveal()

    def auth_hint(self) -> str:
        names = {"api_key": "a new API key", "oauth_token": "a new OAuth token"}
        kinds = " or ".join(names[k] for k in self.info.auth_kinds)
        return f"reconnect {self.info.label} in Sources with {kinds}"

    @abstractmethod
    def auth_headers(self) -> dict[str, str | Secret]: ...

    @abstractmethod
    def streams(self) -> Iterator[Batch]:
        """Fetch every stream, yielding batches; record new cursors with :meth:`save_cursor`."""

    def sync(self) -> Iterator[Batch]:
        """Yield the new or changed records as canonical batches; :attr:`state` advances only at the end."""
        self._next_state = {}
        counts: dict[str, int] = {}
        for item in self.streams():
            counts[item.dataset_type] = counts.get(item.dataset_type, 0) + len(item)
            log.info("%s: %s page → %d %s rows", self.info.label, item.stream, len(item), item.dataset_type)
            yield item
        self._state.update(self._next_state)
        done = ", ".join(f"{n} {dataset}" for dataset, n in counts.items()) or "nothing new"
        log.info("%s: sync complete: %s", self.info.label, done)

    def preview(self) -> Batch | None:
        """The first batch of the first stream (one API page), to check credentials and show a sample.

        Raises :class:`ConnectorAuthError` for bad credentials; leaves :attr:`state` untouched.
        """
        streams = self.streams()
        try:
            return next(streams, None)
        finally:
            close = getattr(streams, "close", None)  # a generator: stop it without fetching more
            if close is not None:
                close()

    def new_records(
        self,
        stream: str,
        pages: Callable[[Cursor], Iterable[list[dict[str, Any]]]],
        value_of: Callable[[Mapping[str, Any]], Any],
    ) -> Iterator[list[dict[str, Any]]]:
        """The pages of ``stream``'s records that the last sync did not deliver; saves the new cursor at the end.

        ``pages(cursor)`` fetches the records from ``cursor.value`` on (None: everything) with the
        API's ``>=`` filter. The cursor is live: it advances as records are taken, so a fetcher
        that must restart a query part-way can start again from ``cursor.value``. ``value_of``
        gives a record's cursor value (comparable: a number or a UTC ISO string); ``record["id"]``
        identifies it.
        """
        saved = self.cursor(stream)
        cursor = Cursor(saved.value, set(saved.ids))
        for records in pages(cursor):
            new = []
            for record in records:
                value = value_of(record)
                if saved.is_new(record["id"], value) and not cursor.has(record["id"], value):
                    cursor.advance(record["id"], value)
                    new.append(record)
            if new:
                yield new
        self.save_cursor(stream, cursor)

    def cursor(self, stream: str) -> Cursor:
        saved = self._state.get(stream)
        return Cursor.from_state(saved if isinstance(saved, Mapping) else None)

    def save_cursor(self, stream: str, cursor: Cursor) -> None:
        self._next_state[stream] = cursor.to_state()


# --------------------------------------------------------------------------- mapping helpers


def canonical_frame(dataset_type: str, rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows (dicts keyed by canonical field names) as a DataFrame in canonical order and types.

    Columns are the canonical fields the rows use, in the canonical order; timestamps are
    naive UTC, dates are midnight timestamps, amounts are floats, ids are strings. A key that is
    not a field of the type is a connector bug and raises ``ValueError``.
    """
    ds = CANONICAL[dataset_type]
    rows = list(rows)
    used: set[str] = set()
    for row in rows:
        used.update(row)
    unknown = used - {f.name for f in ds.fields}
    if unknown:
        raise ValueError(f"{dataset_type} has no field(s) {sorted(unknown)}")
    fields = [f for f in ds.fields if f.name in used or (f.required and not rows)]
    frame = pd.DataFrame({f.name: [row.get(f.name) for row in rows] for f in fields})
    for f in fields:
        column = frame[f.name]
        if f.type.is_temporal:
            frame[f.name] = pd.to_datetime(column, utc=True).dt.tz_localize(None)
            if f.type is FieldType.DATE:
                frame[f.name] = frame[f.name].dt.normalize()
        elif f.type is FieldType.DECIMAL:
            frame[f.name] = pd.to_numeric(column).astype("float64")
        elif f.type is FieldType.INTEGER:
            frame[f.name] = pd.to_numeric(column).astype("Int64")
        elif f.type is FieldType.STRING:
            frame[f.name] = column.map(lambda v: None if v is None else str(v)).astype(object)
    return frame


def batch(dataset_type: str, rows: Iterable[Mapping[str, Any]], stream: str, key: Iterable[str] | None = None) -> Batch:
    """A :class:`Batch` of mapped rows; the key defaults to the canonical type's key."""
    keys = list(CANONICAL[dataset_type].key if key is None else key)
    return Batch(dataset_type, canonical_frame(dataset_type, rows), keys, stream)


def epoch(seconds: float | int | None) -> dt.datetime | None:
    """A Unix timestamp (seconds) as an aware UTC datetime."""
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, dt.UTC)


def iso(text: str | None) -> dt.datetime | None:
    """An ISO 8601 timestamp (with ``Z`` or an offset; naive means UTC) as an aware UTC datetime."""
    if not text:
        return None
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def dig(record: Mapping[str, Any], *path: str) -> Any:
    """``record[a][b]...`` or None where a level is missing or null."""
    value: Any = record
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value

"""The REST API at /api/v1/ (django-ninja; OpenAPI docs at /api/v1/docs).

This module holds the one ``NinjaAPI`` instance. Another app adds its endpoints with a
``ninja.Router`` and one line here, ``api.add_router("/<app>/", router)`` (routers must
be added before the URLs are built, so not later than import time of this module).
Every endpoint is authenticated by an organisation's API token (``Authorization: Bearer hw_…``);
the organisation comes from the token alone, so a token can never reach another organisation.

Push endpoints validate rows like file imports: valid rows load, invalid rows go to the
quarantine, and the answer lists each rejected row's problem (422 when any row was rejected).
"""

from __future__ import annotations

from typing import Any

import duckdb
from django.http import HttpRequest
from django.utils import timezone
from ninja import NinjaAPI, Schema
from ninja.responses import Status
from ninja.security import HttpBearer

from headway.app.kpis.models import Dataset
from headway.app.kpis.refresh import start_refresh
from headway.app.sources import freshness
from headway.app.sources.loading import import_records
from headway.app.sources.models import ApiToken, ImportRun, ImportStatus, Source, SourceKind, SourceStatus, hash_token
from headway.engine.canonical import CANONICAL
from headway.ingest import files

MAX_ROWS_PER_REQUEST = 50_000


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        found = ApiToken.objects.select_related("org").filter(token_hash=hash_token(token), revoked_at=None).first()
        if found is None:
            return None
        ApiToken.objects.filter(pk=found.pk).update(last_used_at=timezone.now())
        return found


api = NinjaAPI(
    title="Headway API",
    version="1",
    urls_namespace="api",
    auth=TokenAuth(),
    description="Push rows and data points into an organisation's datasets. Authenticate with an API token "
    "(Data → API tokens) as `Authorization: Bearer <token>`.",
)


class RowError(Schema):
    row: int | None
    """1-based position of the row in the request (None: the request as a whole)."""
    field: str | None
    message: str


class PushResult(Schema):
    dataset: str
    read: int
    loaded: int
    rejected: int
    duplicate: bool = False
    errors: list[RowError] = []


def _push(
    token: ApiToken, name: str, records: list[dict[str, Any]], dataset_type: str | None, mode: str, key: str | None
) -> tuple[int, dict[str, Any]]:
    org = token.org
    if not records:
        return 400, _failed(name, "the body is an empty list; send at least one row")
    if len(records) > MAX_ROWS_PER_REQUEST:
        return 413, _failed(name, f"{len(records)} rows in one request; send at most {MAX_ROWS_PER_REQUEST}")
    registered = Dataset.objects.filter(org=org, name=name).values_list("dataset_type", flat=True).first()
    dataset_type = dataset_type or registered or (name if name in CANONICAL else None)
    source, _ = Source.objects.get_or_create(
        org=org,
        kind=SourceKind.PUSH,
        dataset=name,
        defaults={"name": _free_name(org, f"Push API: {name}"), "dataset_type": dataset_type or ""},
    )
    run = ImportRun.objects.create(
        org=org, source=source, file_name=f"token {token.name}", status=ImportStatus.RUNNING, started_at=timezone.now()
    )
    try:
        result = import_records(
            org,
            records,
            dataset=name,
            dataset_type=dataset_type,
            mode=mode,
            key=[k.strip() for k in key.split(",") if k.strip()] if key else None,
            source=f"push:{token.name}",
        )
    except files.IngestError as exc:
        ImportRun.objects.filter(pk=run.pk).update(
            status=ImportStatus.FAILED, error=str(exc), finished_at=timezone.now()
        )
        return 400, _failed(name, str(exc))
    except duckdb.ConnectionException:
        # DuckDB lets one process open a file either read-write or read-only: a KPI refresh reading
        # the warehouse in this process holds it for a moment. Nothing was written; the client retries.
        message = "the organisation's warehouse is busy (a refresh is reading it); nothing was loaded, retry shortly"
        ImportRun.objects.filter(pk=run.pk).update(
            status=ImportStatus.FAILED, error=message, finished_at=timezone.now()
        )
        return 503, _failed(name, message)
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportStatus.SUCCEEDED,
        finished_at=timezone.now(),
        read=result.read,
        loaded=result.loaded,
        rejected=result.rejected,
        skipped=result.skipped,
        reasons=dict(result.reasons),
        warehouse_import_id=result.import_id,
        duplicate_file=result.duplicate_file,
    )
    Source.objects.filter(pk=source.pk).update(
        status=SourceStatus.OK, last_error="", last_run_at=timezone.now(), last_success_at=timezone.now()
    )
    freshness.clear_stale(source)
    if result.loaded:
        start_refresh(org)
    errors = [{"row": q.row_number, "field": q.column, "message": q.reason} for q in result.quarantine]
    body = {
        "dataset": name,
        "read": result.read,
        "loaded": result.loaded,
        "rejected": result.rejected,
        "duplicate": result.duplicate_file,
        "errors": errors,
    }
    return (422 if result.rejected else 200), body


def _free_name(org: Any, base: str) -> str:
    name, n = base, 1
    while Source.objects.filter(org=org, name=name).exists():
        n += 1
        name = f"{base} ({n})"
    return name


def _failed(name: str, message: str) -> dict[str, Any]:
    return {
        "dataset": name,
        "read": 0,
        "loaded": 0,
        "rejected": 0,
        "errors": [{"row": None, "field": None, "message": message}],
    }


RESPONSES = {200: PushResult, 400: PushResult, 413: PushResult, 422: PushResult, 503: PushResult}


@api.post("/datasets/{name}/rows", response=RESPONSES, url_name="api_push_rows", tags=["push"])
def push_rows(
    request: HttpRequest,
    name: str,
    rows: list[dict[str, Any]],
    type: str | None = None,
    mode: str = "append",
    key: str | None = None,
) -> Status[dict[str, Any]]:
    """Add rows (a JSON list of objects, column → value) to a dataset.

    `type` maps the rows to a canonical dataset type (default: the dataset's registered
    type, or the type named like the dataset); `mode` is append (default), replace or
    upsert (by `key`, comma-separated, default the type's key). Rows that fail validation
    are quarantined and listed in `errors`; the valid ones load (422 when any was rejected).
    Sending the identical body again loads nothing twice (`duplicate: true`).
    """
    return Status(*_push(request.auth, name, rows, type, mode, key))  # type: ignore[attr-defined]


POINT_FIELDS = ("date", "value")


@api.post("/datasets/{name}/points", response=RESPONSES, url_name="api_push_points", tags=["push"])
def push_points(
    request: HttpRequest, name: str, points: dict[str, Any] | list[dict[str, Any]]
) -> tuple[int, dict[str, Any]]:
    """Add single data points — `{"date": "2024-05-31", "value": 12.5}` plus any further fields
    (e.g. `"signal": "market_sentiment"` for external_signals) — or a list of them, to a dataset.
    A point without a date or a value is rejected with its position; the others load."""
    given = points if isinstance(points, list) else [points]
    errors = [
        {"row": i, "field": f, "message": f"a data point needs a {f!r}"}
        for i, point in enumerate(given, start=1)
        for f in POINT_FIELDS
        if point.get(f) in (None, "")
    ]
    bad = {e["row"] for e in errors}
    kept = [i for i in range(1, len(given) + 1) if i not in bad]
    if not kept:
        return Status(422, {"dataset": name, "read": len(given), "loaded": 0, "rejected": len(given), "errors": errors})
    status, body = _push(request.auth, name, [given[i - 1] for i in kept], None, "append", None)  # type: ignore[attr-defined]
    for e in body["errors"]:
        if e["row"] is not None:
            e["row"] = kept[e["row"] - 1]  # the position in the request, not in the rows that were loaded
    body["errors"] = sorted(body["errors"] + errors, key=lambda e: e["row"] or 0)
    if bad and status == 200:
        status = 422
    if status in (200, 422):
        body["read"] += len(bad)
        body["rejected"] += len(bad)
    return Status(status, body)


api.add_router("/", "headway.app.kpis.api.router")  # the read endpoints: KPIs, series, goals, objectives, alerts

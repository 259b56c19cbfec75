"""SQL and SaaS connections (test, save, refresh now) and the push API's tokens. Admins only:
these pages handle credentials, which are stored encrypted and never shown back."""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from headway.app.accounts.models import Role
from headway.app.accounts.tenancy import member_required
from headway.app.sources import credentials
from headway.app.sources.forms import SaasSourceForm, SqlSourceForm, TokenForm
from headway.app.sources.models import ApiToken, Source, SourceKind, SourceStatus
from headway.app.sources.pipeline import PULLED, start_source_refresh
from headway.ingest import connectors, secrets
from headway.ingest.secrets import Secret

log = logging.getLogger(__name__)


def available_connectors() -> dict[str, connectors.ConnectorInfo]:
    """The connectors that can be loaded (a connector whose module is missing is left out)."""
    found = {}
    for name in connectors.REGISTRY:
        try:
            found[name] = connectors.get(name).info
        except ImportError:
            continue
    return found


def _source(request: HttpRequest, source_id: int) -> Source:
    return get_object_or_404(Source, pk=source_id, org=request.org)  # type: ignore[attr-defined]


@member_required(Role.ADMIN)
@require_http_methods(["GET", "HEAD", "POST"])
def sql_source(request: HttpRequest, source_id: int | None = None) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    instance = _source(request, source_id) if source_id else None
    if instance is not None and instance.kind != SourceKind.SQL:
        raise Http404("Not a SQL source.")
    initial: dict[str, Any] = {}
    if instance is not None:
        initial = {
            "name": instance.name,
            "schedule": instance.schedule,
            "dataset": instance.dataset,
            "dataset_type": instance.dataset_type,
            "mode": instance.mode,
            "key": instance.key,
            **{k: instance.config.get(k, "") for k in ("table", "query", "cursor_column")},
        }
    data_in = _with_tested_url(request) if request.method == "POST" else None
    form = SqlSourceForm(data_in, org=org, instance=instance, initial=initial)
    tested: dict[str, Any] | None = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        url = data["url"] or (credentials.load(instance).get("url") if instance else None)
        if request.POST.get("action") == "test":
            tested = _test_sql(url, data)
            if data["url"]:  # Save after a test needs no retyping: the URL travels encrypted, never in clear
                tested["url_token"] = secrets.encrypt(data["url"], credentials.encryption_key())
                form.fields["url"].required = False
                form.fields["url"].widget.attrs["placeholder"] = "•••• (the tested URL)"
        else:
            source = instance or Source(org=org, kind=SourceKind.SQL, created_by=request.user)
            source.name, source.schedule = data["name"], data["schedule"]
            source.dataset, source.dataset_type = data["dataset"], data["dataset_type"]
            source.mode, source.key = data["mode"], data["key"]
            source.config = {k: data[k] for k in ("table", "query", "cursor_column")}
            credentials.store(source, {"url": data["url"]})
            source.save()
            messages.success(request, f"Source “{source.name}” saved.")
            return redirect("source_detail", source_id=source.pk)
    context = {"form": form, "source": instance, "tested": tested, "kind": "sql"}
    return render(request, "sources/connection.html", context)


def _with_tested_url(request: HttpRequest) -> Any:
    """The POST, with the URL of the test just made (kept encrypted in the page) when the field was left blank."""
    data = request.POST.copy()
    token = data.get("url_token")
    if token and not data.get("url"):
        with contextlib.suppress(secrets.SecretError):  # a token from before a key change: the URL is asked again
            data["url"] = secrets.decrypt(token, credentials.encryption_key()).reveal()
    return data


def _test_sql(url: Secret | str | None, data: dict[str, Any]) -> dict[str, Any]:
    from headway.ingest.sql import SqlSource

    if not url:
        return {"ok": False, "message": "Enter the connection URL."}
    try:
        db = SqlSource(url)
        tables = db.tables()
        target = data.get("query") or data.get("table")
        preview = db.preview(target, limit=5) if target else None
    except Exception as exc:  # shown to the admin; the driver's message is scrubbed of the password
        from headway.ingest.secrets import scrub

        return {"ok": False, "message": scrub(f"{type(exc).__name__}: {exc}", [url])}
    return {
        "ok": True,
        "message": f"Connected to {db.display_url}: {len(tables)} tables.",
        "tables": tables[:100],
        "columns": list(preview.columns) if preview is not None else [],
        "rows": preview.astype(object).where(preview.notna(), "").values.tolist() if preview is not None else [],
    }


@member_required(Role.ADMIN)
@require_http_methods(["GET", "HEAD", "POST"])
def saas_source(request: HttpRequest, source_id: int | None = None) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    instance = _source(request, source_id) if source_id else None
    if instance is not None and instance.kind != SourceKind.SAAS:
        raise Http404("Not a connector source.")
    found = available_connectors()
    name = (
        instance.config.get("connector") if instance else request.GET.get("connector") or request.POST.get("connector")
    )
    if name not in found:
        return render(request, "sources/connectors.html", {"connectors": found.values()})
    info = found[name]
    initial = {"name": instance.name, "schedule": instance.schedule} if instance else {"name": info.label}
    names = [c.name for c in info.credentials]
    data_in = _with_tested_secrets(request, names) if request.method == "POST" else None
    form = SaasSourceForm(data_in, org=org, instance=instance, initial=initial, connector=info)
    tested: dict[str, Any] | None = None
    if request.method == "POST" and form.is_valid() and request.POST.get("action") == "test":
        typed = {k: v for k, v in form.secrets().items() if v}
        given = {**(credentials.load(instance) if instance else {}), **typed}
        tested = _test_saas(str(name), given, form.cleaned_data.get("base_url") or None)
        if typed:  # Save after a test needs no retyping: what was typed travels encrypted, never in clear
            tested["secrets_token"] = secrets.encrypt(json.dumps(typed), credentials.encryption_key())
            for field in typed:
                form.fields[field].required = False
                form.fields[field].widget.attrs["placeholder"] = "•••• (as tested)"
    elif request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        source = instance or Source(org=org, kind=SourceKind.SAAS, created_by=request.user)
        source.name, source.schedule = data["name"], data["schedule"]
        source.config = {"connector": name, "base_url": data.get("base_url") or ""}
        source.dataset_type = ""
        credentials.store(source, form.secrets())
        source.save()
        messages.success(request, f"Source “{source.name}” saved; it writes {', '.join(info.datasets)}.")
        return redirect("source_detail", source_id=source.pk)
    context = {"form": form, "source": instance, "connector": info, "kind": "saas", "tested": tested}
    return render(request, "sources/connection.html", context)


def _with_tested_secrets(request: HttpRequest, names: list[str]) -> Any:
    """The POST, with the credentials of the test just made (kept encrypted in the page) where fields are blank."""
    data = request.POST.copy()
    token = data.get("secrets_token")
    if token:
        with contextlib.suppress(secrets.SecretError, ValueError):  # e.g. after a key change: asked again
            tested = json.loads(secrets.decrypt(token, credentials.encryption_key()).reveal())
            for name in names:
                if not data.get(name) and isinstance(tested.get(name), str):
                    data[name] = tested[name]
    return data


TEST_MAX_WAIT_S = 10.0
"""A test runs while the admin waits: a rate limit asking for longer is reported instead of waited out."""


def _test_saas(name: str, given: dict[str, Any], base_url: str | None) -> dict[str, Any]:
    """One page of the connector's first stream, read with ``given`` credentials; nothing is stored or loaded."""
    connector_class = connectors.get(name)
    label = connector_class.info.label
    try:
        conn = connector_class(given, base_url=base_url)
        conn.http.max_wait_s = TEST_MAX_WAIT_S
        conn.http.max_retries = 2
        batch = conn.preview()
    except connectors.ConnectorError as exc:  # already phrased for people, credentials scrubbed
        return {"ok": False, "message": secrets.scrub(str(exc), list(given.values()))}
    except Exception as exc:  # an unexpected answer: said as it is, scrubbed of the credentials
        return {"ok": False, "message": secrets.scrub(f"{label}: {type(exc).__name__}: {exc}", list(given.values()))}
    if batch is None or batch.frame.empty:
        return {"ok": True, "message": f"Connected to {label}: the credentials work; nothing to read yet."}
    frame = batch.frame.head(5)
    return {
        "ok": True,
        "message": (
            f"Connected to {label}: the credentials work. The first page of {batch.stream} has {len(batch)} rows "
            f"for the {batch.dataset_type} dataset; {len(frame)} are shown. "
            "Nothing is loaded until you save and refresh."
        ),
        "columns": list(frame.columns),
        "rows": frame.astype(object).where(frame.notna(), "").values.tolist(),
    }


@member_required(Role.EDITOR)
@require_POST
def source_refresh(request: HttpRequest, source_id: int) -> HttpResponse:
    source = _source(request, source_id)
    if source.kind not in PULLED:
        messages.error(request, "Only database and connector sources are pulled; upload a new file instead.")
    elif source.status == SourceStatus.RUNNING:
        messages.info(request, "This source is already being refreshed.")
    else:
        run = start_source_refresh(source, request.user)
        messages.success(request, "Refresh started.")
        return redirect("import_detail", import_id=run.pk)
    return redirect("source_detail", source_id=source.pk)


# --------------------------------------------------------------------------- API tokens


@member_required(Role.ADMIN)
@require_http_methods(["GET", "HEAD", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    form = TokenForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        _token, created = ApiToken.issue(org, form.cleaned_data["name"], request.user)
        form = TokenForm()
    context = {"form": form, "created": created, "tokens": ApiToken.objects.filter(org=org)}
    response = render(request, "sources/tokens.html", context)
    response["Cache-Control"] = "no-store"  # the new token is on this page once
    return response


@member_required(Role.ADMIN)
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, org=request.org)  # type: ignore[attr-defined]
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    messages.success(request, f"Token “{token.name}” revoked; requests with it now get 401.")
    return redirect("api_tokens")

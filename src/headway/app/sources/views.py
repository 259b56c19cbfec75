"""The sources page and the upload wizard: upload -> preview and mapping -> import in the background
-> summary with the quarantined rows (and their CSV)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from headway.app.accounts.models import Role
from headway.app.accounts.tenancy import member_required, visible_kpis
from headway.app.kpis.formatting import spreadsheet_safe
from headway.app.kpis.models import Dataset
from headway.app.sources import freshness
from headway.app.sources.forms import EXTRA, IGNORE, TYPE_CHOICES, TargetsForm, UploadForm
from headway.app.sources.loading import discard_upload, save_upload
from headway.app.sources.models import ApiToken, ImportRun, ImportStatus, Source, SourceKind
from headway.app.sources.pipeline import start_upload_import
from headway.engine.canonical import CANONICAL
from headway.ingest import files
from headway.ingest.files.reading import snake_name

PREVIEW_ROWS = 10
QUARANTINE_SHOWN = 200


@member_required()
@require_safe
def sources(request: HttpRequest) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    member = request.member  # type: ignore[attr-defined]
    visible = set(visible_kpis(member).values_list("kpi_id", flat=True))
    context = {
        "sources": Source.objects.filter(org=org),
        "datasets": freshness.dataset_freshness(org),
        "kpis": [k for k in freshness.kpi_freshness(org) if k.kpi_id in visible],
        "imports": ImportRun.objects.filter(org=org).select_related("source", "created_by")[:10],
        "tokens": ApiToken.objects.filter(org=org, revoked_at=None).count() if member.can_admin else None,
    }
    return render(request, "sources/sources.html", context)


# --------------------------------------------------------------------------- upload wizard


@member_required(Role.EDITOR)
@require_http_methods(["GET", "HEAD", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    form = UploadForm(
        request.POST or None, request.FILES or None, org=org, initial={"source": request.GET.get("source")}
    )
    if request.method == "POST" and form.is_valid():
        upload_file = form.cleaned_data["file"]
        source = form.cleaned_data["source"]
        if source is None:
            source = _new_file_source(org, upload_file.name, request.user)
        path = save_upload(org, upload_file)
        run = ImportRun.objects.create(
            org=org,
            source=source,
            file_name=upload_file.name,
            stored_path=str(path),
            status=ImportStatus.DRAFT,
            created_by=request.user,
        )
        return redirect("import_mapping", import_id=run.pk)
    return render(request, "sources/upload.html", {"form": form})


def _new_file_source(org: Any, file_name: str, user: Any) -> Source:
    base = Path(file_name).stem[:70] or "upload"
    name, n = base, 1
    while Source.objects.filter(org=org, name=name).exists():
        n += 1
        name = f"{base} ({n})"
    return Source.objects.create(org=org, name=name, kind=SourceKind.FILE, created_by=user)


def _run(request: HttpRequest, import_id: int) -> ImportRun:
    return get_object_or_404(ImportRun.objects.select_related("source"), pk=import_id, org=request.org)  # type: ignore[attr-defined]


def _proposal(table: files.RawTable, source: Source, dataset_type: str | None) -> tuple[files.Mapping, bool]:
    """The source's saved mapping when the file has its columns (and the type was not changed), else a proposal."""
    if source.mapping:
        saved = files.Mapping.from_dict(source.mapping)
        fits = all(c in table.columns for c, t in saved.columns.items() if t is not None)
        if fits and (dataset_type is None or dataset_type == saved.dataset_type):
            return saved, True
    return files.propose_mapping(table, dataset_type or None), False


def _field_choices(dataset_type: str | None, column: str) -> list[tuple[str, str]]:
    choices = []
    ctype = CANONICAL.get(dataset_type or "")
    if ctype:
        for f in ctype.fields:
            choices.append((f.name, f"{f.name}{' (required)' if f.required else ''} · {f.type.value}"))
    choices.append((EXTRA, f"keep as extra column “{snake_name(column)}”"))
    choices.append((IGNORE, "don't import"))
    return choices


@member_required(Role.EDITOR)
@require_http_methods(["GET", "HEAD", "POST"])
def import_mapping(request: HttpRequest, import_id: int) -> HttpResponse:
    run = _run(request, import_id)
    if run.status != ImportStatus.DRAFT:
        return redirect("import_detail", import_id=run.pk)
    source = run.source
    sheet = request.GET.get("sheet", run.sheet) or None
    try:
        table = files.read_file(run.stored_path, sheet=sheet)
    except files.IngestError as exc:
        return render(request, "sources/upload_error.html", {"run": run, "error": str(exc)}, status=400)
    if sheet and sheet != run.sheet:
        run.sheet = sheet
        run.save(update_fields=["sheet"])
    # The type: as posted, as asked for (?type= re-proposes the mapping), else the saved or proposed one's.
    asked = request.POST.get("dataset_type") if request.method == "POST" else request.GET.get("type")
    asked_type = asked if asked in CANONICAL else None
    mapping, reused = _proposal(table, source, asked_type if asked is not None else (source.dataset_type or None))
    dataset_type = asked_type if asked is not None else mapping.dataset_type
    default_name = source.dataset or dataset_type or snake_name(Path(run.file_name).stem) or "data"
    form = TargetsForm(
        request.POST or None,
        initial={
            "dataset": default_name,
            "dataset_type": dataset_type or "",
            "mode": source.mode,
            "key": source.key,
            "decimal": mapping.decimal or table.decimal,
            "date_order": mapping.date_order or table.date_order,
        },
    )
    errors: list[str] = []
    empty = _no_rows_message(run, table)
    if request.method == "POST" and empty:
        errors.append(empty)
    elif request.method == "POST" and form.is_valid():
        columns: dict[str, str | None] = {}
        for i, column in enumerate(table.columns):
            choice = request.POST.get(f"col_{i}", IGNORE)
            columns[column] = None if choice == IGNORE else snake_name(column) if choice == EXTRA else choice
        try:
            chosen = files.Mapping.from_dict(
                {
                    "dataset_type": form.cleaned_data["dataset_type"] or None,
                    "columns": columns,
                    # Absent (a script posting the form): detected again when the file loads.
                    "decimal": form.cleaned_data["decimal"] or None,
                    "date_order": form.cleaned_data["date_order"] or None,
                }
            )
            if chosen.missing:
                raise files.MappingError(
                    f"required field(s) {', '.join(chosen.missing)} of {chosen.dataset_type} are not mapped to a column"
                )
        except files.MappingError as exc:
            errors.append(str(exc))
        else:
            source.dataset = form.cleaned_data["dataset"]
            source.dataset_type = chosen.dataset_type or ""
            source.mapping = chosen.to_dict()
            source.mode = form.cleaned_data["mode"]
            source.key = form.cleaned_data["key"]
            source.save()
            run.status = ImportStatus.QUEUED
            run.save(update_fields=["status"])
            start_upload_import(run)
            return redirect("import_detail", import_id=run.pk)
        mapping = files.Mapping(None, {})  # show the choices as made, not re-proposed
        mapping.columns.update(columns)
    rows = []
    for i, column in enumerate(table.columns):
        detected = table.types.get(column)
        target = mapping.columns.get(column, snake_name(column))
        selected = IGNORE if target is None else target if ctype_has(dataset_type, target) else EXTRA
        rows.append(
            {
                "index": i,
                "name": column,
                "type": detected.type.value if detected else "",
                "examples": ", ".join(detected.examples[:3]) if detected else "",
                "confidence": mapping.confidence.get(column),
                "choices": _field_choices(dataset_type, column),
                "selected": selected,
            }
        )
    datasets = list(Dataset.objects.filter(org=run.org).order_by("name"))
    target = (form.data.get("dataset") if form.is_bound else default_name) or ""
    context = {
        "run": run,
        "source": source,
        "datasets": datasets,
        "existing": next((d for d in datasets if d.name == target), None),
        "table": table,
        "preview": table.preview[:PREVIEW_ROWS],
        "rows": rows,
        "form": form,
        "errors": errors,
        "reused": reused,
        "dataset_type": dataset_type or "",
        "type_choices": TYPE_CHOICES,
        "required": [f.name for f in CANONICAL[dataset_type].required_fields] if dataset_type in CANONICAL else [],
        "empty": empty,
    }
    return render(request, "sources/mapping.html", context, status=400 if errors or form.errors else 200)


def _no_rows_message(run: ImportRun, table: files.RawTable) -> str:
    """Why there is nothing to import, when the file (or the chosen sheet) has no data rows; else ""."""
    if table.rows:
        return ""
    where = f"Sheet “{table.source.sheet}” of {run.file_name}" if table.source.sheet else run.file_name
    others = [s for s in table.source.sheets if s != table.source.sheet]
    hint = f"; choose another sheet ({', '.join(others)})" if others else "; upload a file with data rows"
    return f"{where} has no data rows below its header, so there is nothing to import{hint}."


def ctype_has(dataset_type: str | None, field: str | None) -> bool:
    ctype = CANONICAL.get(dataset_type or "")
    return bool(ctype and field and ctype.field(field) is not None)


@member_required()
@require_safe
def import_detail(request: HttpRequest, import_id: int) -> HttpResponse:
    run = _run(request, import_id)
    return render(request, "sources/import.html", {"run": run, **_summary(request, run)})


@member_required(Role.EDITOR)
@require_POST
def import_discard(request: HttpRequest, import_id: int) -> HttpResponse:
    """Drop an upload still waiting for its mapping: the file, the pending import and the source made for it
    (a source with a mapping or other imports stays)."""
    org = request.org  # type: ignore[attr-defined]
    run = _run(request, import_id)
    if run.status != ImportStatus.DRAFT:
        messages.error(request, "Only an upload still waiting for its mapping can be discarded.")
        return redirect("import_detail", import_id=run.pk)
    source = run.source
    with transaction.atomic():
        run.delete()
        unused = not source.mapping and not source.dataset and not ImportRun.objects.filter(source=source).exists()
        if source.kind == SourceKind.FILE and unused:
            source.delete()
    discard_upload(org, run.stored_path)
    messages.success(request, f"Discarded the upload of {run.file_name}; nothing was imported.")
    return redirect("sources")


@member_required()
@require_safe
def import_status(request: HttpRequest, import_id: int) -> HttpResponse:
    run = _run(request, import_id)
    return render(request, "sources/_import_status.html", {"run": run, **_summary(request, run)})


def _summary(request: HttpRequest, run: ImportRun) -> dict[str, Any]:
    shown = run.status == ImportStatus.SUCCEEDED and run.rejected and run.warehouse_import_id is not None
    # A connector's sync loads several datasets: its rejected rows are counted by reason only.
    if not shown or run.source.kind == SourceKind.SAAS:
        return {"quarantine": [], "quarantine_more": 0}
    frame = _quarantine(request, run)
    rows = frame.head(QUARANTINE_SHOWN).to_dict("records")
    return {"quarantine": rows, "quarantine_more": max(len(frame) - QUARANTINE_SHOWN, 0)}


def _quarantine(request: HttpRequest, run: ImportRun) -> Any:
    org = request.org  # type: ignore[attr-defined]
    if run.source.kind == SourceKind.SAAS or not org.warehouse_path().exists():
        raise Http404("No quarantine for this import.")
    return files.quarantine(org.warehouse_path(), dataset=run.source.dataset or None, import_id=run.warehouse_import_id)


@member_required()
@require_safe
def quarantine_csv(request: HttpRequest, import_id: int) -> HttpResponse:
    run = _run(request, import_id)
    if run.warehouse_import_id is None:
        raise Http404("This import has no rejected rows.")
    frame = _quarantine(request, run)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["file", "row_number", "column", "reason", "all_problems", "raw"])
    for r in frame.itertuples(index=False):
        cells = [r.file, r.row_number, r.column or "", r.reason, r.problems, r.raw]
        writer.writerow([spreadsheet_safe(c) if isinstance(c, str) else c for c in cells])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="rejected-rows-import-{run.pk}.csv"'
    return response


@member_required()
@require_safe
def source_detail(request: HttpRequest, source_id: int) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    source = get_object_or_404(Source, pk=source_id, org=org)
    visible = set(visible_kpis(request.member).values_list("kpi_id", flat=True))  # type: ignore[attr-defined]
    context = {
        "source": source,
        "imports": source.imports.select_related("created_by")[:20],
        "stale": [s for s in source.stale_kpis.all() if s.kpi_id in visible],
        "datasets": freshness.source_datasets(source),
    }
    return render(request, "sources/source.html", context)


@member_required(Role.EDITOR)
@require_http_methods(["POST"])
def source_delete(request: HttpRequest, source_id: int) -> HttpResponse:
    source = get_object_or_404(Source, pk=source_id, org=request.org)  # type: ignore[attr-defined]
    if source.kind in (SourceKind.SQL, SourceKind.SAAS) and not request.member.can_admin:  # type: ignore[attr-defined]
        messages.error(request, "Removing a connection needs the admin role.")
        return redirect("source_detail", source_id=source.pk)
    name = source.name
    source.delete()
    messages.success(request, f"Source “{name}” removed; the data it loaded stays in its dataset.")
    return redirect("sources")

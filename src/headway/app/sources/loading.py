"""Loading data into an organisation's warehouse through the import engine, and keeping the
``Dataset`` registry in step with what was loaded."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from django.core.files.uploadedfile import UploadedFile
from django.utils.text import get_valid_filename

from headway.app.accounts.models import Organization
from headway.app.kpis.models import Dataset
from headway.engine.canonical import CANONICAL
from headway.engine.warehouse import quote_ident
from headway.ingest import files


def uploads_dir(org: Organization) -> Path:
    return org.warehouse_path().parent / "uploads"


def save_upload(org: Organization, upload: UploadedFile) -> Path:
    """Keep an uploaded file in the org's data folder (the import job reads it from there)."""
    folder = uploads_dir(org)
    folder.mkdir(parents=True, exist_ok=True)
    # A folder of its own, so the file keeps the user's name (it appears in errors and the quarantine).
    path = folder / uuid.uuid4().hex[:12] / get_valid_filename(Path(upload.name or "upload").name or "upload")
    path.parent.mkdir()
    with path.open("wb") as fh:
        for chunk in upload.chunks():
            fh.write(chunk)
    return path


def discard_upload(org: Organization, stored_path: str) -> None:
    """Remove an uploaded file that will not be imported (and its folder), if it lies in the org's uploads."""
    path = Path(stored_path)
    folder = uploads_dir(org).resolve()
    if not path.resolve().is_relative_to(folder):
        return
    path.unlink(missing_ok=True)
    if path.parent.resolve() != folder and not any(path.parent.iterdir()):
        path.parent.rmdir()


def register_dataset(org: Organization, name: str, dataset_type: str | None) -> Dataset:
    """Record the dataset's row count and date range (read from the warehouse) in the registry."""
    con = files.connect_for_writing(org.warehouse_path())  # a KPI refresh may be reading it: wait
    try:
        table = quote_ident(name)
        rows = int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
        columns = {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}
        ctype = CANONICAL.get(dataset_type or "")
        first = last = None
        if ctype and ctype.time_field in columns:
            col = quote_ident(ctype.time_field)
            found = con.execute(f"SELECT min({col})::DATE, max({col})::DATE FROM {table}").fetchone()
            first, last = found if found else (None, None)
    finally:
        con.close()
    dataset, _ = Dataset.objects.update_or_create(
        org=org,
        name=name,
        defaults={"dataset_type": dataset_type or "", "rows": rows, "first_date": first, "last_date": last},
    )
    return dataset


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A DataFrame's rows as dicts, with every kind of missing value (NaN, NaT, NA) as None."""
    clean = frame.astype(object).where(frame.notna(), None)
    return clean.to_dict("records")  # type: ignore[return-value]


def import_records(
    org: Organization,
    records: Sequence[dict[str, Any]],
    *,
    dataset: str,
    dataset_type: str | None,
    mode: str = "append",
    key: Sequence[str] | None = None,
    mapping: dict[str, Any] | None = None,
    source: str = "push",
) -> files.ImportResult:
    """Validate and load records into the org's warehouse (invalid rows quarantined), then register the dataset."""
    org.warehouse_path().parent.mkdir(parents=True, exist_ok=True)
    result = files.import_records(
        org.warehouse_path(),
        records,
        dataset=dataset,
        dataset_type=dataset_type or None,
        mode=mode,  # type: ignore[arg-type]
        key=list(key) if key else None,
        mapping=files.Mapping.from_dict(mapping) if mapping else None,
        source=source,
    )
    if not result.duplicate_file:
        register_dataset(org, dataset, result.mapping.dataset_type if result.mapping else dataset_type)
    return result

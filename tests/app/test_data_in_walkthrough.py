"""What a walk through "Data in" as a shop owner tripped on, each pinned by a test:

- the mapping step said " rows read" without the number;
- a header-only CSV (or an XLSX whose first sheet is a note) was "imported" with 0 rows and no word why;
- binary junk named .csv was read as Latin-1 and offered for mapping;
- errors named the stored file ("81c8caefdd59_junk.xlsx") instead of the user's;
- a queued import said only "Queued…" (forever, when no `headway worker` runs);
- a write query was refused by "Test connection" but saved by "Save";
- "Save" after a successful "Test connection" demanded the connection URL again;
- an import failed at once ("Can't open a connection to same database file with a different
  configuration") while a KPI refresh was reading the warehouse.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import types
from pathlib import Path

import duckdb
import pytest
from app_helpers import client_for, make_user
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from headway.app.accounts.models import Member, Role
from headway.app.accounts.onboarding import create_org
from headway.app.kpis.models import Dataset
from headway.app.sources import credentials
from headway.app.sources.models import ImportRun, ImportStatus, Schedule, Source
from headway.ingest import files
from headway.ingest.files import importer

ORDERS = (
    "order_id,customer_id,ordered_at,total_amount\n"
    "A1,C1,2024-03-01,10.50\nA2,C2,2024-03-02,4.50\nA3,C1,2024-03-05,5.00\n"
)


@pytest.fixture
def boss(client, db):
    org = create_org("Walk", make_user("boss"))
    return org, client_for(client, "boss")


def upload(c, content: bytes, name: str) -> ImportRun:
    response = c.post(reverse("upload"), {"file": SimpleUploadedFile(name, content)})
    assert response.status_code == 302, response.content.decode()[:500]
    return ImportRun.objects.latest("pk")


def post_mapping(c, run: ImportRun, **overrides):
    page = c.get(reverse("import_mapping", args=[run.pk]))
    data = {f"col_{r['index']}": r["selected"] for r in page.context["rows"]}
    initial = page.context["form"].initial  # the number and date conventions as the page shows them
    data.update(dataset_type=page.context["dataset_type"], dataset="walk_orders", mode="append", key="")
    data.update(decimal=initial["decimal"], date_order=initial["date_order"])
    data.update(overrides)
    return c.post(reverse("import_mapping", args=[run.pk]), data)


# --------------------------------------------------------------------------- the upload wizard


def test_the_mapping_step_says_how_many_data_rows_the_file_has(boss):
    _org, c = boss
    run = upload(c, ORDERS.encode(), "march.csv")
    page = c.get(reverse("import_mapping", args=[run.pk])).content.decode()
    assert "Step 2 of 3: 3 data rows read" in page


def test_a_header_only_csv_is_refused_with_the_reason_and_nothing_is_imported(boss):
    org, c = boss
    run = upload(c, b"order_id,customer_id,ordered_at,total_amount\n", "empty-march.csv")
    page = c.get(reverse("import_mapping", args=[run.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "empty-march.csv has no data rows below its header, so there is nothing to import" in html
    assert re.search(r"<button type=\"submit\" disabled>Import</button>", html)
    response = post_mapping(c, run)
    assert response.status_code == 400
    assert "nothing to import" in response.content.decode()
    run.refresh_from_db()
    assert run.status == ImportStatus.DRAFT
    assert not Dataset.objects.filter(org=org).exists()


def test_an_xlsx_whose_first_sheet_is_a_note_names_the_sheet_to_choose(boss, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "Read me"
    wb.active.append(["The orders are on the next sheet."])
    sheet = wb.create_sheet("Orders")
    sheet.append(["Order ID", "Customer", "Order Date", "Total"])
    sheet.append(["X1", "C1", "2024-04-01", 70.0])
    path = tmp_path / "book.xlsx"
    wb.save(path)
    _org, c = boss
    run = upload(c, path.read_bytes(), "book.xlsx")
    html = c.get(reverse("import_mapping", args=[run.pk])).content.decode()
    assert "Sheet “Read me” of book.xlsx has no data rows below its header" in html
    assert "choose another sheet (Orders)" in html
    # The named sheet imports.
    c.get(reverse("import_mapping", args=[run.pk]) + "?sheet=Orders")
    assert post_mapping(c, run).status_code == 302
    run.refresh_from_db()
    assert (run.status, run.read, run.loaded) == (ImportStatus.SUCCEEDED, 1, 1)


def test_binary_junk_named_csv_is_refused_as_not_a_text_file(boss):
    _org, c = boss
    junk = bytes(range(256)) * 20  # NUL and control bytes: no CSV has them
    run = upload(c, junk, "export.csv")
    response = c.get(reverse("import_mapping", args=[run.pk]))
    assert response.status_code == 400
    assert response.context["error"].startswith("export.csv: not a text file")


def test_an_error_names_the_users_file_not_the_stored_copy(boss):
    _org, c = boss
    run = upload(c, b"PK\x03\x04 not really a workbook", "sales.xlsx")
    error = c.get(reverse("import_mapping", args=[run.pk])).context["error"]
    assert error.startswith("sales.xlsx: ")
    assert not re.search(r"[0-9a-f]{12}_", error)


def test_the_quarantine_names_the_users_file(boss):
    org, c = boss
    run = upload(c, (ORDERS + "A4,C3,2024-03-06,zwölf\n").encode(), "march.csv")
    post_mapping(c, run)
    rows = list(files.quarantine(org.warehouse_path(), dataset="walk_orders")["file"])
    assert rows == ["march.csv"]


def test_a_queued_import_says_what_it_waits_for(boss):
    _org, c = boss
    run = upload(c, ORDERS.encode(), "march.csv")
    ImportRun.objects.filter(pk=run.pk).update(status=ImportStatus.QUEUED)
    html = c.get(reverse("import_status", args=[run.pk])).content.decode()
    assert "headway worker" in html and reverse("jobs") in html


def test_an_abandoned_upload_can_be_discarded_with_its_file_and_source(boss):
    org, c = boss
    run = upload(c, ORDERS.encode(), "march.csv")
    stored = Path(run.stored_path)
    assert stored.exists() and Source.objects.filter(org=org, name="march").exists()
    mapping = c.get(reverse("import_mapping", args=[run.pk])).content.decode()
    assert reverse("import_discard", args=[run.pk]) in mapping, "the mapping step offers to discard"
    detail = c.get(reverse("import_detail", args=[run.pk])).content.decode()
    assert reverse("import_discard", args=[run.pk]) in detail and "hx-trigger" not in detail, "a draft is not polled"

    done = c.post(reverse("import_discard", args=[run.pk]), follow=True).content.decode()
    assert "Discarded the upload of march.csv" in done
    assert not ImportRun.objects.filter(pk=run.pk).exists() and not stored.exists() and not stored.parent.exists()
    assert not Source.objects.filter(org=org, name="march").exists(), "the source made for the upload goes too"
    assert not Dataset.objects.filter(org=org).exists(), "nothing was imported"


def test_discarding_keeps_a_source_that_has_imports_and_refuses_finished_ones(boss, client):
    org, c = boss
    first = upload(c, ORDERS.encode(), "march.csv")
    post_mapping(c, first)
    first.refresh_from_db()
    assert first.status == ImportStatus.SUCCEEDED, first.error
    again = c.post(
        reverse("upload"), {"file": SimpleUploadedFile("april.csv", ORDERS.encode()), "source": first.source.pk}
    )
    assert again.status_code == 302
    draft = ImportRun.objects.latest("pk")
    c.post(reverse("import_discard", args=[draft.pk]))
    assert not ImportRun.objects.filter(pk=draft.pk).exists()
    assert Source.objects.filter(pk=first.source.pk).exists(), "a source with a mapping and imports stays"
    refused = c.post(reverse("import_discard", args=[first.pk]), follow=True).content.decode()
    assert "Only an upload still waiting for its mapping can be discarded" in refused
    assert ImportRun.objects.filter(pk=first.pk).exists()
    # Viewers cannot discard; another org's upload is not found.
    make_user("looker")
    Member.objects.create(user=User.objects.get(username="looker"), org=org, role=Role.VIEWER)
    late = upload(c, ORDERS.encode(), "may.csv")
    assert client_for(client, "looker").post(reverse("import_discard", args=[late.pk])).status_code == 403
    other = create_org("Other", make_user("stranger"))
    assert other.pk != org.pk
    assert client_for(client, "stranger").post(reverse("import_discard", args=[late.pk])).status_code == 404
    assert ImportRun.objects.filter(pk=late.pk).exists()


# --------------------------------------------------------------------------- SQL sources


@pytest.fixture
def shop_db(tmp_path):
    path = tmp_path / "shop.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE orders (order_id text, customer_id text, ordered_at text, total_amount real)")
    con.execute("INSERT INTO orders VALUES ('S1', 'C1', '2024-07-01', 5.0)")
    con.commit()
    con.close()
    return path


def sql_form(url: str, **extra) -> dict[str, str]:
    return {
        "name": "Shop database",
        "url": url,
        "table": "",
        "query": "",
        "cursor_column": "",
        "dataset": "shop_orders",
        "dataset_type": "",
        "mode": "replace",
        "key": "",
        "schedule": Schedule.DAILY,
        "action": "save",
        **extra,
    }


def test_a_write_query_is_refused_when_saving_not_only_when_testing(boss, shop_db):
    org, c = boss
    response = c.post(reverse("sql_source_new"), sql_form(f"sqlite:///{shop_db}", query="DELETE FROM orders"))
    assert response.status_code == 200
    assert response.context["form"].errors["query"] == ["Only a read-only SELECT is allowed here, not DELETE."]
    assert "Give either a table or a query" not in response.content.decode()
    assert not Source.objects.filter(org=org).exists()
    con = sqlite3.connect(shop_db)
    assert con.execute("SELECT count(*) FROM orders").fetchone() == (1,)
    con.close()


def test_save_after_a_test_keeps_the_tested_url_without_showing_it(boss, shop_db):
    org, c = boss
    url = f"sqlite:///{shop_db}"
    tested = c.post(reverse("sql_source_new"), sql_form(url, table="orders", action="test"))
    html = tested.content.decode()
    assert "Connected to" in html and str(shop_db) in html  # a SQLite path has no password
    token = re.search(r'name="url_token" value="([^"]+)"', html).group(1)
    assert str(shop_db) not in token
    assert 'name="url" ' in html and "required" not in re.search(r"<input[^>]*name=\"url\"[^>]*>", html).group(0)
    saved = c.post(reverse("sql_source_new"), sql_form("", table="orders", url_token=token))
    assert saved.status_code == 302
    source = Source.objects.get(org=org)
    assert credentials.load(source)["url"].reveal() == url


def test_the_tested_url_token_never_carries_a_password_in_clear(boss):
    _org, c = boss
    url = "postgresql://shop:Very-Secret-9@127.0.0.1:1/none"
    tested = c.post(reverse("sql_source_new"), sql_form(url, table="orders", action="test"))
    html = tested.content.decode()
    assert "Very-Secret-9" not in html
    assert 'name="url_token"' in html


# --------------------------------------------------------------------------- a busy warehouse


def test_an_import_waits_for_a_kpi_refresh_reading_the_warehouse(tmp_path, monkeypatch):
    """A reader holds the file (as a KPI refresh in the same worker does); the import waits, then loads."""
    warehouse = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(warehouse)).close()
    csv_path = tmp_path / "march.csv"
    csv_path.write_text(ORDERS)
    reader = duckdb.connect(str(warehouse), read_only=True)
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the reader finishes while the import waits
        waits.append(seconds)
        reader.close()

    monkeypatch.setattr(importer, "time", types.SimpleNamespace(monotonic=importer.time.monotonic, sleep=sleep))
    result = files.import_file(warehouse, csv_path, dataset="orders", dataset_type="orders")
    assert waits, "the import never met the reader"
    assert (result.read, result.loaded) == (3, 3)


def test_a_warehouse_that_stays_busy_fails_with_a_clear_message(tmp_path, monkeypatch):
    warehouse = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(warehouse)).close()
    reader = duckdb.connect(str(warehouse), read_only=True)
    try:
        monkeypatch.setattr(importer, "BUSY_WAIT_SECONDS", 0.0)
        with pytest.raises(files.WarehouseBusy, match=r"the warehouse is busy .* nothing was loaded"):
            files.connect_for_writing(warehouse)
    finally:
        reader.close()
    files.connect_for_writing(warehouse).close()  # free again: opens at once


def test_the_upload_job_loads_while_a_reader_holds_the_warehouse(boss, monkeypatch):
    """The web upload end to end (its job runs inline in tests) with the warehouse held by a reader."""
    org, c = boss
    first = upload(c, ORDERS.encode(), "march.csv")
    post_mapping(c, first)  # creates the warehouse
    reader = duckdb.connect(str(org.warehouse_path()), read_only=True)
    released = threading.Event()

    def sleep(seconds: float) -> None:
        if not released.is_set():
            reader.close()
            released.set()

    monkeypatch.setattr(importer, "time", types.SimpleNamespace(monotonic=importer.time.monotonic, sleep=sleep))
    second = upload(c, ORDERS.replace("A1", "B1").replace("A2", "B2").replace("A3", "B3").encode(), "april.csv")
    post_mapping(c, second)
    second.refresh_from_db()
    assert released.is_set()
    assert (second.status, second.loaded, second.error) == (ImportStatus.SUCCEEDED, 3, "")
    assert Dataset.objects.get(org=org, name="walk_orders").rows == 6

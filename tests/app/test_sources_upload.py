"""The upload wizard end to end: upload -> proposed mapping -> import -> summary, quarantine, CSV;
a re-upload of the same file does not double revenue; the saved mapping is reused."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from app_helpers import client_for, make_user
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from headway.app.accounts.models import Member, Role
from headway.app.accounts.onboarding import create_org
from headway.app.kpis.models import Dataset, KpiDefinition, KpiSource, SeriesPoint
from headway.app.sources.models import ImportRun, ImportStatus, Source
from headway.engine.catalog import load_catalog

# Orders with German headers, day-first dates and decimal commas; rows 3 and 5 are bad.
ORDERS_CSV = (
    "Bestellnummer;Kunde;Bestelldatum;Betrag;Status\n"
    "A1;K1;03.01.2024;100,50;delivered\n"
    "A2;K2;15.01.2024;200,00;delivered\n"
    "A3;K1;kein Datum;50,00;delivered\n"
    "A4;K3;02.02.2024;300,25;delivered\n"
    "A5;K2;10.02.2024;zwölf;delivered\n"
    "A6;K4;20.02.2024;49,75;delivered\n"
)
VALID = pd.DataFrame(
    {
        "ordered_at": pd.to_datetime(["2024-01-03", "2024-01-15", "2024-02-02", "2024-02-20"]),
        "total_amount": [100.50, 200.00, 300.25, 49.75],
    }
)


@pytest.fixture
def fresh(db):
    """An org with the revenue and AOV KPIs and no data yet; an owner ("boss") and a viewer ("watcher")."""
    org = create_org("Fresh", make_user("boss"))
    Member.objects.create(user=make_user("watcher"), org=org, role=Role.VIEWER)
    catalog = load_catalog()
    for i, kpi_id in enumerate(("revenue", "aov")):
        KpiDefinition.objects.create(
            org=org,
            kpi_id=kpi_id,
            spec=KpiDefinition.spec_json(catalog.get(kpi_id)),
            source=KpiSource.CATALOG,
            position=i,
        )
    return org


def upload(client, content: str = ORDERS_CSV, name: str = "orders.csv", **extra):
    file = SimpleUploadedFile(name, content.encode("utf-8"), content_type="text/csv")
    return client.post(reverse("upload"), {"file": file, **extra})


def confirm_proposal(client, run_id: int, **overrides):
    """Open the mapping step and post the proposed mapping as it is (plus ``overrides``)."""
    page = client.get(reverse("import_mapping", args=[run_id]))
    assert page.status_code == 200
    data = {f"col_{r['index']}": r["selected"] for r in page.context["rows"]}
    initial = page.context["form"].initial  # the number and date conventions as the page shows them
    data.update(dataset_type=page.context["dataset_type"], dataset="orders", mode="append", key="")
    data.update(decimal=initial["decimal"], date_order=initial["date_order"])
    data.update(overrides)
    return page, client.post(reverse("import_mapping", args=[run_id]), data)


def monthly_revenue(org) -> dict[str, float]:
    org.refresh_from_db()
    points = SeriesPoint.objects.filter(run=org.current_run, kpi_id="revenue", grain="month", dimension="")
    return {p.period.strftime("%Y-%m"): p.value for p in points if p.value is not None}


def expected_revenue() -> dict[str, float]:
    sums = VALID.groupby(VALID.ordered_at.dt.strftime("%Y-%m")).total_amount.sum()
    return {k: float(v) for k, v in sums.items()}


def test_upload_maps_imports_and_shows_the_rejected_rows(client, fresh):
    c = client_for(client, "boss")
    response = upload(c)
    run = ImportRun.objects.get(org=fresh)
    assert response.status_code == 302 and response["Location"] == reverse("import_mapping", args=[run.pk])
    assert run.status == ImportStatus.DRAFT

    page, done = confirm_proposal(c, run.pk)
    selected = {r["name"]: r["selected"] for r in page.context["rows"]}
    assert page.context["dataset_type"] == "orders"
    assert selected == {
        "Bestellnummer": "order_id",
        "Kunde": "customer_id",
        "Bestelldatum": "ordered_at",
        "Betrag": "total_amount",
        "Status": "status",
    }
    assert done.status_code == 302 and done["Location"] == reverse("import_detail", args=[run.pk])

    run.refresh_from_db()
    assert (run.status, run.read, run.loaded, run.rejected) == (ImportStatus.SUCCEEDED, 6, 4, 2)
    assert sum(run.reasons.values()) == 2

    summary = c.get(reverse("import_detail", args=[run.pk]))
    html = summary.content.decode()
    assert 'id="count-loaded">4<' in html and 'id="count-rejected" class="bad">2<' in html
    rejected = {q["row_number"]: q for q in summary.context["quarantine"]}
    assert set(rejected) == {4, 6}  # line numbers in the file (the header is line 1)
    assert rejected[4]["column"] == "Bestelldatum" and rejected[6]["column"] == "Betrag"
    assert "kein Datum" in html and "zwölf" in html

    download = c.get(reverse("quarantine_csv", args=[run.pk]))
    assert download["Content-Type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert [(int(r["row_number"]), r["column"]) for r in lines] == [(4, "Bestelldatum"), (6, "Betrag")]
    assert all(r["reason"] for r in lines)

    # The dataset registry and the KPIs follow the import.
    ds = Dataset.objects.get(org=fresh, name="orders")
    assert (ds.dataset_type, ds.rows, str(ds.first_date), str(ds.last_date)) == (
        "orders",
        4,
        "2024-01-03",
        "2024-02-20",
    )
    assert monthly_revenue(fresh) == pytest.approx(expected_revenue())

    source = Source.objects.get(org=fresh)
    assert source.mapping["columns"]["Bestelldatum"] == "ordered_at" and source.status == "ok"


def test_uploading_the_same_file_again_does_not_double_revenue(client, fresh):
    c = client_for(client, "boss")
    upload(c)
    first = ImportRun.objects.get(org=fresh)
    confirm_proposal(c, first.pk)
    before = monthly_revenue(fresh)
    assert before == pytest.approx(expected_revenue())

    source = Source.objects.get(org=fresh)
    upload(c, source=source.pk)
    second = ImportRun.objects.exclude(pk=first.pk).get(org=fresh)
    assert second.source_id == source.pk
    page, _ = confirm_proposal(c, second.pk)
    assert page.context["reused"] is True  # the saved mapping of the source
    second.refresh_from_db()
    assert second.duplicate_file and second.loaded == 0
    assert "already imported" in c.get(reverse("import_detail", args=[second.pk])).content.decode()
    assert monthly_revenue(fresh) == pytest.approx(expected_revenue())
    assert Dataset.objects.get(org=fresh, name="orders").rows == 4


def test_a_next_file_reuses_the_saved_mapping_and_appends(client, fresh):
    c = client_for(client, "boss")
    upload(c)
    confirm_proposal(c, ImportRun.objects.get(org=fresh).pk)
    march = (
        "Bestellnummer;Kunde;Bestelldatum;Betrag;Status\n"
        "A7;K1;05.03.2024;10,00;delivered\nA8;K9;06.03.2024;15,50;delivered\n"
    )
    source = Source.objects.get(org=fresh)
    upload(c, march, "march.csv", source=source.pk)
    run = ImportRun.objects.filter(org=fresh).first()
    page, _ = confirm_proposal(c, run.pk)
    assert page.context["reused"] is True
    run.refresh_from_db()
    assert (run.read, run.loaded, run.rejected) == (2, 2, 0)
    assert monthly_revenue(fresh)["2024-03"] == pytest.approx(25.50)


def test_a_mapping_without_a_required_field_is_refused_and_nothing_is_imported(client, fresh):
    c = client_for(client, "boss")
    upload(c)
    run = ImportRun.objects.get(org=fresh)
    _page, response = confirm_proposal(c, run.pk, col_2="__ignore__")  # Bestelldatum not imported
    assert response.status_code == 400
    assert "ordered_at" in " ".join(response.context["errors"])
    run.refresh_from_db()
    assert run.status == ImportStatus.DRAFT
    assert not Dataset.objects.filter(org=fresh).exists()


def test_an_unreadable_file_says_why(client, fresh):
    c = client_for(client, "boss")
    upload(c, "this is not a workbook", "broken.xlsx")
    run = ImportRun.objects.get(org=fresh)
    response = c.get(reverse("import_mapping", args=[run.pk]))
    assert response.status_code == 400
    assert "broken.xlsx" in response.context["error"]
    assert not Dataset.objects.filter(org=fresh).exists()


def test_a_file_of_the_wrong_kind_is_refused_at_upload(client, fresh):
    response = upload(client_for(client, "boss"), "x", "notes.docx")
    assert response.status_code == 200 and "notes.docx" in response.content.decode()
    assert not ImportRun.objects.exists()


def test_xlsx_sheet_choice(client, fresh, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "Notes"
    wb.active.append(["nothing here"])
    sheet = wb.create_sheet("Orders")
    sheet.append(["Order ID", "Customer", "Order Date", "Total", "Status"])
    sheet.append(["X1", "C1", "2024-04-01", 70.0, "delivered"])
    sheet.append(["X2", "C2", "2024-04-03", 30.0, "delivered"])
    path = tmp_path / "book.xlsx"
    wb.save(path)
    c = client_for(client, "boss")
    c.post(reverse("upload"), {"file": SimpleUploadedFile("book.xlsx", path.read_bytes())})
    run = ImportRun.objects.get(org=fresh)
    first = c.get(reverse("import_mapping", args=[run.pk]))
    assert "Orders" in first.context["table"].source.sheets
    c.get(reverse("import_mapping", args=[run.pk]) + "?sheet=Orders")
    page, _ = confirm_proposal(c, run.pk)
    assert page.context["table"].source.sheet == "Orders"
    run.refresh_from_db()
    assert (run.sheet, run.loaded) == ("Orders", 2)
    assert monthly_revenue(fresh)["2024-04"] == pytest.approx(100.0)


def test_a_viewer_sees_imports_but_cannot_upload(client, fresh):
    c = client_for(client, "boss")
    upload(c)
    run = ImportRun.objects.get(org=fresh)
    confirm_proposal(c, run.pk)
    viewer = client_for(client, "watcher")
    assert viewer.get(reverse("import_detail", args=[run.pk])).status_code == 200
    assert viewer.get(reverse("upload")).status_code == 403
    assert upload(viewer).status_code == 403
    assert ImportRun.objects.count() == 1


def test_a_parquet_file_is_imported(client, fresh, tmp_path):
    frame = pd.DataFrame(
        {
            "order_id": ["Q1", "Q2", "Q3"],
            "customer_id": ["C1", "C2", "C1"],
            "ordered_at": pd.to_datetime(["2024-07-01", "2024-07-15", "2024-08-01"]),
            "total_amount": [12.5, 7.5, 40.0],
            "status": ["delivered"] * 3,
        }
    )
    path = tmp_path / "orders.parquet"
    frame.to_parquet(path)
    c = client_for(client, "boss")
    c.post(reverse("upload"), {"file": SimpleUploadedFile("orders.parquet", path.read_bytes())})
    run = ImportRun.objects.get(org=fresh)
    confirm_proposal(c, run.pk)
    run.refresh_from_db()
    assert (run.read, run.loaded, run.rejected) == (3, 3, 0)
    expected = frame.groupby(frame.ordered_at.dt.strftime("%Y-%m")).total_amount.sum().to_dict()
    assert monthly_revenue(fresh) == pytest.approx(expected)


def test_a_file_over_the_upload_limit_is_refused_with_the_limit_named(client, fresh, settings):
    settings.HEADWAY_MAX_UPLOAD_MB = 1
    big = "Order ID,Total\n" + "X,1.0\n" * 200_000  # about 1.2 MB
    response = upload(client_for(client, "boss"), big, "big.csv")
    assert response.status_code == 200
    assert "HEADWAY_MAX_UPLOAD_MB" in response.content.decode() and "1 MB" in response.content.decode()
    assert not ImportRun.objects.exists()


# Day-first dates a machine cannot tell from month-first ones (no day above 12), comma-delimited
# with decimal points: read as month-first until the user says otherwise.
AMBIGUOUS_CSV = (
    "Order ID,Customer,Order Date,Total\nB1,C1,03/01/2024,10.00\nB2,C2,04/02/2024,20.00\nB3,C1,05/02/2024,30.00\n"
)


def test_the_user_corrects_the_date_order_and_the_next_file_keeps_it(client, fresh):
    c = client_for(client, "boss")
    upload(c, AMBIGUOUS_CSV, "ambiguous.csv")
    run = ImportRun.objects.get(org=fresh)
    page = c.get(reverse("import_mapping", args=[run.pk]))
    assert page.context["form"].initial["date_order"] == "mdy"  # what the file suggests
    assert "dates month first" in page.content.decode()

    _page, done = confirm_proposal(c, run.pk, date_order="dmy", decimal="point")
    assert done.status_code == 302
    run.refresh_from_db()
    assert (run.loaded, run.rejected) == (3, 0)
    # Day first: 3 Jan, 4 Feb, 5 Feb -> January 10, February 50 (month first would give March/April/May).
    assert monthly_revenue(fresh) == pytest.approx({"2024-01": 10.0, "2024-02": 50.0})
    source = Source.objects.get(org=fresh)
    assert (source.mapping["date_order"], source.mapping["decimal"]) == ("dmy", "point")

    upload(c, "Order ID,Customer,Order Date,Total\nB4,C3,06/03/2024,5.00\n", "next.csv", source=source.pk)
    second = ImportRun.objects.filter(org=fresh).first()
    page, _ = confirm_proposal(c, second.pk)
    assert page.context["reused"] is True and page.context["form"].initial["date_order"] == "dmy"
    assert monthly_revenue(fresh)["2024-03"] == pytest.approx(5.0)  # 6 March, not 3 June


def test_the_mapping_step_says_what_the_target_dataset_already_holds(client, fresh):
    c = client_for(client, "boss")
    upload(c)
    confirm_proposal(c, ImportRun.objects.get(org=fresh).pk)
    upload(c, AMBIGUOUS_CSV, "more.csv")
    run = ImportRun.objects.filter(org=fresh).first()
    page = c.get(reverse("import_mapping", args=[run.pk]))
    html = page.content.decode()
    # The new file's source proposes "orders", which the first upload filled with 4 rows.
    assert page.context["existing"].name == "orders"
    assert "“orders” already holds 4 rows (3 Jan 2024 – 20 Feb 2024)" in html
    assert '<option value="orders">4 rows</option>' in html

    posted = c.post(
        reverse("import_mapping", args=[run.pk]),
        {"dataset": "not a name!", "dataset_type": "orders", "mode": "append", "key": ""},
    )
    assert posted.status_code == 400 and posted.context["existing"] is None
    assert "Use lower case letters" in posted.content.decode()

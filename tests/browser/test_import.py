"""Uploading a CSV in a real browser: preview and proposed mapping, confirm, the summary with
read / loaded / rejected, the quarantined row with its reason, and the rejected rows' CSV download."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import expect

from .conftest import login

pytestmark = pytest.mark.browser

CSV = (
    "Order Date,Order ID,Customer,Total,Status\n"
    "2024-03-01,U1,C1,10.50,delivered\n"
    "2024-03-02,U2,C2,twenty,delivered\n"
    "2024-03-03,U3,C1,30.00,delivered\n"
    "2024-03-04,U4,C3,5.25,delivered\n"
)


def test_upload_a_csv_confirm_the_mapping_and_see_the_rejected_row(page):
    page.goto("/data/")
    page.get_by_role("link", name="Upload a file").click()
    page.set_input_files("#id_file", files=[{"name": "march.csv", "mimeType": "text/csv", "buffer": CSV.encode()}])
    page.get_by_role("button", name="Upload and preview").click()

    # Step 2: the proposal maps every column; the preview shows the file as read.
    expect(page.get_by_role("heading", name="Map the columns of march.csv")).to_be_visible()
    expect(page.get_by_label("Field for Order Date")).to_have_value("ordered_at")
    expect(page.get_by_label("Field for Total")).to_have_value("total_amount")
    expect(page.get_by_label("Field for Order ID")).to_have_value("order_id")
    expect(page.get_by_role("table", name="Preview")).to_contain_text("twenty")
    # A table of its own, so the demo's orders (and the other browser tests' numbers) stay as they are.
    page.fill("#id_dataset", "browser_orders")
    page.get_by_role("button", name="Import").click()

    # Step 3: the summary and the quarantine.
    expect(page.locator("#count-read")).to_have_text("4")
    expect(page.locator("#count-loaded")).to_have_text("3")
    expect(page.locator("#count-rejected")).to_have_text("1")
    rejected = page.get_by_role("table", name="Rejected rows")
    expect(rejected.locator("tbody tr")).to_have_count(1)
    expect(rejected.locator("tbody tr td").first).to_have_text("3")  # line 3 of the file
    expect(rejected).to_contain_text("Total")

    with page.expect_download() as info:
        page.get_by_role("link", name="Download the rejected rows (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(info.value.path().read_text(encoding="utf-8"))))
    assert [(r["row_number"], r["column"]) for r in rows] == [("3", "Total")]
    assert "twenty" in rows[0]["raw"]

    # The Data page lists the source, the dataset and the import.
    page.goto("/data/")
    expect(page.locator("#dataset-browser_orders")).to_contain_text("3")
    expect(page.get_by_role("table", name="Sources")).to_contain_text("march")


def test_a_header_only_file_is_refused_and_the_mapping_fits_a_phone(browser, web_server):
    """At 390 px: a file with only its header says there is nothing to import (Import is disabled);
    a real file's column choices sit next to the column names, inside the screen."""

    context = browser.new_context(base_url=web_server.url, viewport={"width": 390, "height": 844})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        login(page)
        page.goto("/data/upload/")
        header = b"Order Date,Order ID,Customer,Total\n"
        page.set_input_files("#id_file", files=[{"name": "april.csv", "mimeType": "text/csv", "buffer": header}])
        page.get_by_role("button", name="Upload and preview").click()
        expect(page.get_by_role("alert")).to_contain_text(
            "april.csv has no data rows below its header, so there is nothing to import"
        )
        expect(page.get_by_role("button", name="Import")).to_be_disabled()

        page.goto("/data/upload/")
        page.set_input_files("#id_file", files=[{"name": "may.csv", "mimeType": "text/csv", "buffer": CSV.encode()}])
        page.get_by_role("button", name="Upload and preview").click()
        expect(page.get_by_text("Step 2 of 3: 4 data rows read")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling of the page
        for column, field in (("Order Date", "ordered_at"), ("Total", "total_amount")):
            select = page.get_by_label(f"Field for {column}")
            expect(select).to_have_value(field)
            box = select.bounding_box()
            assert box is not None and box["x"] + box["width"] <= 390, (column, box)
    finally:
        context.close()

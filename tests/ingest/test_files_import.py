"""Importing: modes, idempotency, atomicity, saved mappings, pushed records, the engine reading the result."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import headway
from headway.demo import generate
from headway.ingest import files

CORPUS = Path(__file__).parent / "files"
GERMAN = {
    "order_id": "Bestellnummer",
    "customer_id": "Kundennummer",
    "ordered_at": "Bestelldatum",
    "total_amount": "Betrag",
    "channel": "Kanal",
    "status": "Status",
}


def _csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _query(wh: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(wh), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _orders(path: Path, rows: list[tuple[str, str, str, float]]) -> Path:
    lines = ["order_id,customer_id,ordered_at,total_amount"] + [f"{o},{c},{d},{a}" for o, c, d, a in rows]
    return _csv(path, "\n".join(lines) + "\n")


A = ("A", "C1", "2024-01-01", 10.0)
B = ("B", "C2", "2024-01-02", 20.0)
C = ("C", "C3", "2024-01-03", 30.0)


@pytest.fixture(scope="module")
def demo_orders() -> pd.DataFrame:
    return generate("ecommerce", size="tiny", seed=7).datasets["orders"]


def test_a_german_export_imports_and_the_engine_computes_revenue_from_it(tmp_path, demo_orders):
    frame = demo_orders[list(GERMAN)].rename(columns=GERMAN)
    path = tmp_path / "bestellungen.csv"
    frame.to_csv(path, sep=";", decimal=",", index=False, date_format="%d.%m.%Y %H:%M:%S")
    wh = tmp_path / "shop.duckdb"
    result = files.import_file(wh, path, dataset="orders", dataset_type=None)
    assert result.mapping is not None and result.mapping.dataset_type == "orders"
    assert {GERMAN[f]: f for f in GERMAN} == result.mapping.columns
    assert (result.read, result.loaded, result.rejected) == (len(frame), len(frame), 0)

    hw = headway.open(str(wh))
    try:
        assert "orders" in hw.warehouse.tables() and "imports" not in hw.warehouse.tables()
        got = hw.compute("revenue", grain="month").set_index("period")["revenue"]
    finally:
        hw.close()
    kept = demo_orders[~demo_orders["status"].isin(["cancelled", "refunded"])]
    expected = kept.groupby(kept["ordered_at"].dt.to_period("M").dt.to_timestamp())["total_amount"].sum()
    got = got[got.index.isin(expected.index)]
    assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-9)


def test_appending_the_same_file_twice_does_not_double_revenue(tmp_path):
    wh, path = tmp_path / "wh.duckdb", _orders(tmp_path / "orders.csv", [A, B])
    first = files.import_file(wh, path, dataset="orders", dataset_type="orders")
    again = files.import_file(wh, path, dataset="orders", dataset_type="orders")
    copy = _orders(tmp_path / "orders (1).csv", [A, B])  # the same bytes under another name
    third = files.import_file(wh, copy, dataset="orders", dataset_type="orders")
    assert first.loaded == 2 and not first.duplicate_file
    assert again.duplicate_file and again.loaded == 0 and again.previous_import_id == first.import_id
    assert third.duplicate_file
    assert _query(wh, "SELECT count(*), sum(total_amount) FROM orders") == [(2, 30.0)]
    assert len(files.imports(wh, "orders")) == 1


def test_an_overlapping_export_loads_only_the_new_orders(tmp_path):
    wh = tmp_path / "wh.duckdb"
    files.import_file(wh, _orders(tmp_path / "jan.csv", [A, B]), dataset="orders", dataset_type="orders")
    result = files.import_file(wh, _orders(tmp_path / "feb.csv", [B, C]), dataset="orders", dataset_type="orders")
    assert (result.loaded, result.rejected) == (1, 1)
    assert dict(result.reasons) == {"order_id: key already in the dataset (use upsert)": 1}
    assert result.quarantine[0].row_number == 2
    assert _query(wh, "SELECT order_id FROM orders ORDER BY 1") == [("A",), ("B",), ("C",)]


def test_replace_swaps_the_contents_and_a_replaced_file_can_be_appended_again(tmp_path):
    wh = tmp_path / "wh.duckdb"
    first = _orders(tmp_path / "1.csv", [A, B])
    files.import_file(wh, first, dataset="orders", dataset_type="orders")
    result = files.import_file(wh, _orders(tmp_path / "2.csv", [C]), dataset="orders", mode="replace")
    assert result.loaded == 1
    assert _query(wh, "SELECT order_id FROM orders") == [("C",)]
    # The first file's rows are no longer in the dataset, so appending it is not a duplicate.
    again = files.import_file(wh, first, dataset="orders", dataset_type="orders")
    assert not again.duplicate_file and again.loaded == 2
    assert _query(wh, "SELECT count(*) FROM orders") == [(3,)]


def test_upsert_updates_matching_keys_and_inserts_the_rest(tmp_path):
    wh = tmp_path / "wh.duckdb"
    files.import_file(wh, _orders(tmp_path / "1.csv", [A, B]), dataset="orders", dataset_type="orders")
    changed_b = ("B", "C2", "2024-01-02", 25.0)
    result = files.import_file(
        wh, _orders(tmp_path / "2.csv", [changed_b, C]), dataset="orders", dataset_type="orders", mode="upsert"
    )
    assert (result.loaded, result.updated, result.inserted, result.rejected) == (2, 1, 1, 0)
    assert _query(wh, "SELECT order_id, total_amount FROM orders ORDER BY 1") == [("A", 10.0), ("B", 25.0), ("C", 30.0)]
    # Upserting the same file again changes nothing.
    files.import_file(
        wh, _orders(tmp_path / "2.csv", [changed_b, C]), dataset="orders", dataset_type="orders", mode="upsert"
    )
    assert _query(wh, "SELECT count(*), sum(total_amount) FROM orders") == [(3, 65.0)]


def test_upsert_by_a_key_given_for_a_dataset_without_a_canonical_type(tmp_path):
    wh = tmp_path / "wh.duckdb"
    _csv(tmp_path / "1.csv", "sku,stock\nX,5\nY,7\n")
    _csv(tmp_path / "2.csv", "sku,stock\nY,9\nZ,1\n")
    files.import_file(wh, tmp_path / "1.csv", dataset="stock", mode="append")
    with pytest.raises(files.MappingError, match="upsert needs a key"):
        files.import_file(wh, tmp_path / "2.csv", dataset="stock", mode="upsert")
    files.import_file(wh, tmp_path / "2.csv", dataset="stock", mode="upsert", key=["sku"])
    assert _query(wh, "SELECT sku, stock FROM stock ORDER BY 1") == [("X", 5), ("Y", 9), ("Z", 1)]


class Boom(RuntimeError):
    pass


def _fail_at(stage: str):
    def progress(name: str, fraction: float) -> None:
        if name == stage:
            raise Boom(f"injected failure at {stage}")

    return progress


@pytest.mark.parametrize("mode", ["append", "replace", "upsert"])
def test_a_failure_midway_leaves_the_dataset_ledger_and_quarantine_as_they_were(tmp_path, mode):
    wh = tmp_path / "wh.duckdb"
    files.import_file(wh, _orders(tmp_path / "1.csv", [A, B]), dataset="orders", dataset_type="orders")
    before = _query(wh, "SELECT * FROM orders ORDER BY order_id")
    second = _orders(tmp_path / "2.csv", [("B", "C2", "2024-01-02", 99.0), C, ("D", "", "2024-01-04", 1.0)])
    with pytest.raises(Boom):
        # "loading" is reported after the rows were written, before the commit.
        files.import_file(wh, second, dataset="orders", dataset_type="orders", mode=mode, progress=_fail_at("loading"))
    assert _query(wh, "SELECT * FROM orders ORDER BY order_id") == before
    assert _query(wh, "SELECT count(*) FROM headway_ingest.imports") == [(1,)]
    assert _query(wh, "SELECT count(*) FROM headway_ingest.quarantine") == [(0,)]
    # And the same import afterwards works (nothing half-done blocks it).
    done = files.import_file(wh, second, dataset="orders", dataset_type="orders", mode=mode)
    # D lacks a customer; in append mode B is also rejected (already in the dataset).
    assert done.rejected == (2 if mode == "append" else 1) and done.import_id == 2


def test_a_failure_in_a_first_import_leaves_no_table(tmp_path):
    wh = tmp_path / "wh.duckdb"
    with pytest.raises(Boom):
        files.import_file(wh, _orders(tmp_path / "1.csv", [A]), dataset="orders", progress=_fail_at("loading"))
    assert headway.open(str(wh)).warehouse.tables() == []


def test_a_required_field_not_mapped_is_a_clear_error_and_imports_nothing(tmp_path):
    wh = tmp_path / "wh.duckdb"
    path = _csv(tmp_path / "x.csv", "order_id,customer_id,total_amount\nA,C1,5\n")
    with pytest.raises(files.MappingError, match=r"required field.*ordered_at.*columns are: order_id"):
        files.import_file(wh, path, dataset="orders", dataset_type="orders")
    assert not _query(wh, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'")


def test_saved_mapping_is_reused_for_the_next_file(tmp_path):
    wh = tmp_path / "wh.duckdb"
    text = "Nr;Wer;Wann;Wieviel;Notiz\n{n};K1;03.04.2024;1.234,50;intern\n"
    mapping = files.Mapping.from_yaml(
        "dataset_type: orders\ncolumns:\n  Nr: order_id\n  Wer: customer_id\n  Wann: ordered_at\n"
        "  Wieviel: total_amount\n  Notiz: null\n"
    )
    files.import_file(wh, _csv(tmp_path / "1.csv", text.format(n=1)), dataset="orders", mapping=mapping)
    saved = files.saved_mapping(wh, "orders")
    assert saved is not None and saved.columns == mapping.columns and saved.decimal == "comma"
    result = files.import_file(wh, _csv(tmp_path / "2.csv", text.format(n=2)), dataset="orders")
    assert result.mapping is not None and result.mapping.columns == mapping.columns
    assert _query(wh, "SELECT order_id, total_amount, ordered_at FROM orders ORDER BY 1") == [
        ("1", 1234.5, dt.datetime(2024, 4, 3)),
        ("2", 1234.5, dt.datetime(2024, 4, 3)),
    ]
    columns = [
        r[0] for r in _query(wh, "SELECT column_name FROM information_schema.columns WHERE table_name = 'orders'")
    ]
    assert "notiz" not in columns


def test_a_new_column_in_a_later_file_is_added_to_the_dataset(tmp_path):
    wh = tmp_path / "wh.duckdb"
    files.import_file(wh, _orders(tmp_path / "1.csv", [A]), dataset="orders", dataset_type="orders")
    _csv(tmp_path / "2.csv", "order_id,customer_id,ordered_at,total_amount,channel\nB,C2,2024-01-02,20,web\n")
    files.import_file(wh, tmp_path / "2.csv", dataset="orders", dataset_type="orders")
    assert _query(wh, "SELECT order_id, channel FROM orders ORDER BY 1") == [("A", None), ("B", "web")]


def test_xlsx_sheet_choice(tmp_path):
    path = CORPUS / "workbook.xlsx"
    with pytest.raises(files.FileReadError, match="no sheet named 'Sales'; the sheets are Read me, Orders"):
        files.read_file(path, sheet="Sales")
    with pytest.raises(files.MappingError, match="required field"):
        files.import_file(tmp_path / "wh.duckdb", path, dataset="orders", dataset_type="orders")
    table = files.read_file(path, sheet="Orders")
    assert table.source.sheets == ("Read me", "Orders") and table.source.header_row == 3
    assert table.columns == ("Order Date", "Order No", "Customer", "Amount")


def test_pushed_records_are_validated_like_a_file_and_a_retry_loads_nothing_twice(tmp_path):
    wh = tmp_path / "wh.duckdb"
    records = [
        {"order_id": "P1", "customer_id": "C1", "ordered_at": "2024-02-01T10:00:00", "total_amount": 12.5},
        {"order_id": "P2", "customer_id": "C2", "ordered_at": "2024-02-02", "total_amount": -3},
        {"order_id": "P3", "customer_id": None, "ordered_at": "2024-02-03", "total_amount": 7},
        {"order_id": "P4", "customer_id": "C4", "ordered_at": "2024-02-04", "total_amount": "12,5"},
    ]
    result = files.import_records(wh, records, dataset="orders", dataset_type="orders")
    assert (result.read, result.loaded, result.rejected) == (4, 1, 3)
    assert [(q.row_number, q.column, q.reason) for q in result.quarantine] == [
        (2, "total_amount", "negative value"),
        (3, "customer_id", "missing required value"),
        (4, "total_amount", "not a number"),
    ]
    assert result.quarantine[0].raw == {
        "order_id": "P2",
        "customer_id": "C2",
        "ordered_at": "2024-02-02",
        "total_amount": "-3",
    }
    retry = files.import_records(wh, records, dataset="orders", dataset_type="orders")
    assert retry.duplicate_file and retry.loaded == 0
    assert _query(wh, "SELECT count(*), sum(total_amount) FROM orders") == [(1, 12.5)]


def test_quarantine_lists_rejected_rows_per_dataset(tmp_path):
    wh = tmp_path / "wh.duckdb"
    files.import_file(wh, CORPUS / "bad_values.csv", dataset="orders", dataset_type="orders")
    files.import_file(wh, CORPUS / "ragged.csv", dataset="orders_2", dataset_type="orders")
    everything = files.quarantine(wh)
    assert len(everything) == 8 + 2
    only = files.quarantine(wh, dataset="orders_2")
    assert list(only["row_number"]) == [3, 4] and set(only["file"]) == {"ragged.csv"}
    assert list(only.columns) == [
        "import_id", "dataset", "file", "row_number", "column", "reason", "problems", "raw", "created_at",
    ]  # fmt: skip
    assert files.quarantine(tmp_path / "empty.duckdb").empty


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("old.xls", b"\xd0\xcf\x11\xe0", "old .xls workbooks are not supported"),
        ("empty.csv", b"", "has no header row"),
        ("broken.xlsx", b"not a zip", "not a readable XLSX workbook"),
        ("broken.parquet", b"nope", "not a readable Parquet file"),
    ],
)
def test_unreadable_files_are_clear_errors(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(files.FileReadError, match=message):
        files.import_file(tmp_path / "wh.duckdb", path, dataset="orders")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"dataset": "1orders"}, "dataset name"),
        ({"dataset": "_hidden"}, "must not start with _"),
        ({"dataset": "orders", "mode": "merge"}, "mode must be one of"),
        ({"dataset": "orders", "dataset_type": "invoices"}, "unknown dataset type 'invoices'"),
    ],
)
def test_bad_options_are_clear_errors(tmp_path, options, message):
    with pytest.raises(files.MappingError, match=message):
        files.import_file(tmp_path / "wh.duckdb", _orders(tmp_path / "o.csv", [A]), **options)


def test_a_column_the_mapping_does_not_name_is_kept_without_taking_a_field_name(tmp_path):
    wh = tmp_path / "wh.duckdb"
    path = _csv(tmp_path / "o.csv", "Nr,Wer,Wann,Wieviel,Status\nA,C1,2024-01-01,5,irgendwas\n")
    mapping = files.Mapping(
        "orders", {"Nr": "order_id", "Wer": "customer_id", "Wann": "ordered_at", "Wieviel": "total_amount"}
    )
    result = files.import_file(wh, path, dataset="orders", mapping=mapping)
    assert (result.loaded, result.rejected) == (1, 0)  # "irgendwas" is not checked against the status values
    assert _query(wh, "SELECT status_2 FROM orders") == [("irgendwas",)]

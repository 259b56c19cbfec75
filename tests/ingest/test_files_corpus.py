"""The nasty-file corpus (tests/ingest/files/manifest.yaml) and a generated 100k-row export."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import numpy as np
import pytest
import yaml
from numpy.testing import assert_allclose

from headway.ingest import files

CORPUS = Path(__file__).parent / "files"
MANIFEST = yaml.safe_load((CORPUS / "manifest.yaml").read_text(encoding="utf-8"))
RULES = files.Rules(max_date=dt.date(2030, 1, 1))


def test_every_corpus_file_is_in_the_manifest():
    listed = {case["file"] for case in MANIFEST}
    present = {p.name for p in CORPUS.iterdir() if p.name != "manifest.yaml"}
    assert listed == present


@pytest.mark.parametrize("case", MANIFEST, ids=lambda c: c["file"])
def test_corpus_file_imports_as_the_manifest_says(case, tmp_path):
    path = CORPUS / case["file"]
    table = files.read_file(path, sheet=case.get("sheet"))
    if "encoding" in case:
        assert table.source.encoding == case["encoding"]
        assert table.source.delimiter == case["delimiter"]
    assert files.propose_mapping(table).dataset_type == "orders"

    wh = tmp_path / "wh.duckdb"
    result = files.import_file(wh, path, dataset="orders", dataset_type="orders", sheet=case.get("sheet"), rules=RULES)

    counts = (result.read, result.loaded, result.rejected, result.skipped)
    assert counts == (case["read"], case["loaded"], case["rejected"], case["skipped"])
    assert dict(result.reasons) == case.get("reasons", {})
    assert dict(result.skipped_reasons) == case.get("skipped_reasons", {})
    assert [q.row_number for q in result.quarantine] == case.get("rows", [])
    for q in result.quarantine:
        assert q.reason and q.file == case["file"]
        assert list(q.raw) == list(table.columns)  # the whole raw row, every column

    con = duckdb.connect(str(wh), read_only=True)
    try:
        loaded, total = con.execute("SELECT count(*), sum(total_amount) FROM orders").fetchone()
        assert loaded == case["loaded"]
        assert_allclose(total, case["total_amount"], rtol=1e-12)
        for order_id, expected in case.get("values", {}).items():
            for column, value in expected.items():
                got = con.execute(f'SELECT CAST("{column}" AS VARCHAR) FROM orders WHERE order_id = ?', [order_id])
                assert got.fetchone()[0] == value, (order_id, column)
        stored = con.execute("SELECT row_number FROM headway_ingest.quarantine ORDER BY row_number").fetchall()
        assert [r[0] for r in stored] == case.get("rows", [])
    finally:
        con.close()


def _export(path: Path, rows: int, seed: int) -> dict[str, object]:
    """A German shop export: semicolons, "1.234,56 €", dd.mm.yyyy; some rows planted bad. Returns the truth."""
    rng = np.random.default_rng(seed)
    cents = rng.integers(1, 500_000, rows)
    days = rng.integers(0, 700, rows)
    negative = np.zeros(rows, bool)
    negative[::997] = True
    bad_date = np.zeros(rows, bool)
    bad_date[5::1009] = True
    bad_date &= ~negative
    base = dt.date(2023, 1, 1)
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("Bestellnummer;Kundennummer;Bestelldatum;Betrag;Kanal\n")
        for i in range(rows):
            euros, rest = divmod(int(cents[i]), 100)
            amount = f"{'-' if negative[i] else ''}{euros:,}".replace(",", ".") + f",{rest:02d} €"
            day = base + dt.timedelta(days=int(days[i]))
            date = "32.13.2024" if bad_date[i] else day.strftime("%d.%m.%Y")
            fh.write(f"B{i:07d};K{i % 5000};{date};{amount};{'web' if i % 3 else 'laden'}\n")
    valid = ~negative & ~bad_date
    return {"valid": int(valid.sum()), "negative": int(negative.sum()), "bad_date": int(bad_date.sum()),
            "total": float(cents[valid].sum()) / 100}  # fmt: skip


def test_a_generated_100k_row_export_loads_every_valid_row_and_quarantines_the_planted_ones(tmp_path):
    path = tmp_path / "export.csv"
    truth = _export(path, 100_000, seed=11)
    wh = tmp_path / "wh.duckdb"
    result = files.import_file(wh, path, dataset="orders", dataset_type="orders", rules=RULES)
    assert result.mapping is not None and result.mapping.decimal == "comma" and result.mapping.date_order == "dmy"
    assert result.read == 100_000
    assert result.loaded == truth["valid"]
    assert result.rejected == truth["negative"] + truth["bad_date"]
    assert dict(result.reasons) == {
        "Betrag: negative value": truth["negative"],
        "Bestelldatum: not a date (day-month-year)": truth["bad_date"],
    }
    con = duckdb.connect(str(wh), read_only=True)
    try:
        total, channels = con.execute("SELECT sum(total_amount), count(DISTINCT channel) FROM orders").fetchone()
        assert_allclose(total, truth["total"], rtol=1e-12)
        assert channels == 2
        raw = con.execute("SELECT raw FROM headway_ingest.quarantine WHERE row_number = 2").fetchone()[0]
        assert json.loads(raw)["Bestellnummer"] == "B0000000"  # row 2 of the file is the first data row
    finally:
        con.close()

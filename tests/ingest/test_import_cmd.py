"""`headway import`: preview and mapping, confirmation, summary, JSON, mapping files, errors."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import yaml
from typer.testing import CliRunner, Result

from headway.cli.main import app

CORPUS = Path(__file__).parent / "files"


def run(*args: object, input: str | None = None) -> Result:
    return CliRunner().invoke(app, ["import", *(str(a) for a in args)], input=input)


def _rows(wh: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(wh), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_yes_imports_and_prints_the_summary_with_reasons(tmp_path):
    wh = tmp_path / "wh.duckdb"
    result = run(CORPUS / "cp1252_euro.csv", "-w", wh, "-d", "orders", "--yes")
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    assert "Mapping to orders" in out and "Date de commande" in out and "ordered_at" in out
    assert "Read 4" in out and "Loaded 3" in out and "Rejected 1" in out
    assert "Montant: not a number" in out and "Row" in out
    assert _rows(wh, "SELECT count(*), sum(total_amount) FROM orders") == [(3, 3744.56)]


def test_json_output_for_scripts(tmp_path):
    wh = tmp_path / "wh.duckdb"
    result = run(CORPUS / "totals_row.csv", "-w", wh, "-d", "orders", "--type", "orders", "--yes", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["read"], data["loaded"], data["rejected"], data["skipped"]) == (4, 3, 0, 1)
    assert data["skipped_reasons"] == {"totals row": 1}
    assert data["mapping"]["columns"]["Umsatz"] == "total_amount"
    again = json.loads(run(CORPUS / "totals_row.csv", "-w", wh, "-d", "orders", "--yes", "-f", "json").stdout)
    assert again["duplicate_file"] is True and again["loaded"] == 0


def test_answering_no_changes_nothing_and_yes_imports(tmp_path):
    wh = tmp_path / "wh.duckdb"
    refused = run(CORPUS / "bom_utf8.csv", "-w", wh, "-d", "orders", input="n\n")
    assert refused.exit_code == 1
    assert "Import cancelled; nothing was changed." in refused.output
    assert not wh.exists() or _rows(
        wh, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'orders'"
    ) == [(0,)]
    accepted = run(CORPUS / "bom_utf8.csv", "-w", wh, "-d", "orders", input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert _rows(wh, "SELECT count(*) FROM orders") == [(5,)]


def test_a_saved_and_edited_mapping_is_used(tmp_path):
    wh, saved = tmp_path / "wh.duckdb", tmp_path / "map.yaml"
    refused = run(CORPUS / "us_dollars.csv", "-w", wh, "-d", "orders", "--save-mapping", saved, input="n\n")
    assert refused.exit_code == 1 and saved.is_file()
    mapping = yaml.safe_load(saved.read_text(encoding="utf-8"))
    assert mapping["columns"]["Order Total"] == "total_amount" and mapping["date_order"] == "mdy"
    mapping["columns"]["Notes"] = None
    saved.write_text(yaml.safe_dump(mapping), encoding="utf-8")
    result = run(CORPUS / "us_dollars.csv", "-w", wh, "-d", "orders", "--mapping", saved, "--yes")
    assert result.exit_code == 0, result.output
    columns = {r[0] for r in _rows(wh, "SELECT column_name FROM information_schema.columns WHERE table_name='orders'")}
    assert "notes" not in columns and "total_amount" in columns


def test_upsert_by_key_from_the_command_line(tmp_path):
    wh = tmp_path / "wh.duckdb"
    (tmp_path / "a.csv").write_text("sku,stock\nX1,5\nX2,7\n", encoding="utf-8")
    (tmp_path / "b.csv").write_text("sku,stock\nX2,9\nX3,1\n", encoding="utf-8")
    assert run(tmp_path / "a.csv", "-w", wh, "-d", "stock", "--yes").exit_code == 0
    result = run(tmp_path / "b.csv", "-w", wh, "-d", "stock", "--mode", "upsert", "--key", "sku", "--yes")
    assert result.exit_code == 0, result.output
    assert "(1 new, 1 updated)" in result.stdout
    assert _rows(wh, "SELECT sku, stock FROM stock ORDER BY 1") == [("X1", 5), ("X2", 9), ("X3", 1)]


def test_errors_are_one_message_and_exit_code_1(tmp_path):
    wh = tmp_path / "wh.duckdb"
    missing = run(tmp_path / "nope.csv", "-w", wh, "-d", "orders", "--yes")
    assert missing.exit_code == 1 and "file not found" in missing.output
    (tmp_path / "x.csv").write_text("order_id,total_amount\nA,5\n", encoding="utf-8")
    unmapped = run(tmp_path / "x.csv", "-w", wh, "-d", "orders", "--type", "orders", "--yes")
    assert unmapped.exit_code == 1
    assert "required field(s) customer_id, ordered_at" in " ".join(unmapped.output.split())
    assert "Traceback" not in unmapped.output
    sheet = run(CORPUS / "workbook.xlsx", "-w", wh, "-d", "orders", "--sheet", "Sales", "--yes")
    assert sheet.exit_code == 1 and "no sheet named 'Sales'" in sheet.output


def test_dates_and_decimal_can_be_told_when_the_file_cannot_show_them(tmp_path):
    """Day-first dates with no day above 12 read as month first by default; --dates dmy says otherwise,
    and the next import into the dataset keeps it (the saved mapping carries it)."""
    csv = tmp_path / "ambiguous.csv"
    csv.write_text("Order ID,Customer,Order Date,Total\nB1,C1,03/01/2024,1.500\nB2,C2,04/02/2024,2.250\n")
    wh = tmp_path / "wh.duckdb"
    guessed = json.loads(run(csv, "-w", wh, "-d", "guess", "-t", "orders", "--yes", "-f", "json").stdout)
    assert (guessed["date_order"], guessed["decimal"]) == ("mdy", "point")
    assert _rows(wh, "SELECT min(ordered_at)::DATE::VARCHAR, sum(total_amount) FROM guess") == [("2024-03-01", 3.75)]

    told = run(csv, "-w", wh, "-d", "orders", "-t", "orders", "--dates", "dmy", "--decimal", "comma", "--yes")
    assert told.exit_code == 0, told.output
    assert "numbers: decimal comma · dates: dmy" in told.stdout
    assert _rows(wh, "SELECT ordered_at::DATE::VARCHAR, total_amount FROM orders ORDER BY 1") == [
        ("2024-01-03", 1500.0),
        ("2024-02-04", 2250.0),
    ]
    csv.write_text("Order ID,Customer,Order Date,Total\nB3,C3,06/03/2024,1.000\n")
    nxt = json.loads(run(csv, "-w", wh, "-d", "orders", "--yes", "-f", "json").stdout)
    assert (nxt["date_order"], nxt["decimal"], nxt["loaded"]) == ("dmy", "comma", 1)
    assert _rows(wh, "SELECT ordered_at::DATE::VARCHAR, total_amount FROM orders WHERE order_id = 'B3'") == [
        ("2024-03-06", 1000.0)
    ]
    bad = run(csv, "-w", wh, "-d", "orders", "--dates", "ymd", "--yes")
    assert bad.exit_code != 0 and "ymd" in bad.output

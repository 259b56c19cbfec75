"""Property: every input row is either loaded or quarantined with a reason; none lost, none doubled.

Rows are generated field by field as good (with the value they stand for) or bad (a
known kind of bad), so which rows must load is known independently of the importer.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import tempfile
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from headway.ingest import files

RULES = files.Rules(decimal="point", date_order="dmy", max_date=dt.date(2030, 1, 1))

good_date = st.dates(dt.date(2000, 1, 1), dt.date(2029, 12, 31)).flatmap(
    lambda d: st.sampled_from([d.isoformat(), d.strftime("%d.%m.%Y"), d.strftime("%d/%m/%Y") + " 10:30"]).map(
        lambda text: (True, text)
    )
)
bad_date = st.sampled_from(["31.02.2024", "soon", "2024-13-01", "1899-05-05", "2199-01-01"]).map(lambda t: (False, t))
good_amount = st.integers(0, 10_000_000).map(lambda c: (True, f"{c / 100:.2f}"))
bad_amount = st.sampled_from(["-5.00", "abc", "1,5", "--2", "nan"]).map(lambda t: (False, t))
good_customer = st.sampled_from(["C1", "C2", "Cx"]).map(lambda t: (True, t))
bad_customer = st.just((False, ""))
good_status = st.sampled_from(["placed", "cancelled", "", "DELIVERED"]).map(lambda t: (True, t))
bad_status = st.sampled_from(["lost", "shipped"]).map(lambda t: (False, t))

row = st.tuples(
    st.sampled_from(["O1", "O2", "O3", "O4", "O5", "O6", ""]),
    st.one_of(good_customer, bad_customer),
    st.one_of(good_date, good_date, bad_date),
    st.one_of(good_amount, good_amount, bad_amount),
    st.one_of(good_status, good_status, bad_status),
)


def _write(path: Path, rows: list[tuple], delimiter: str, blank_every: int) -> list[int]:
    """Write the rows (with a ``line`` column naming each row); return the file row number of each."""
    numbers = []
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter, lineterminator="\n")
        writer.writerow(["line", "order_id", "customer_id", "ordered_at", "total_amount", "status"])
        number = 1
        for i, (order_id, customer, date, amount, status) in enumerate(rows):
            if blank_every and i % blank_every == 0:
                fh.write("\n")
                number += 1
            writer.writerow([i, order_id, customer[1], date[1], amount[1], status[1]])
            number += 1
            numbers.append(number)
    return numbers


def _expected_loaded(rows: list[tuple]) -> set[int]:
    """Rows that must load: every field good, an order id, and the first valid row with that id."""
    seen: set[str] = set()
    loaded = set()
    for i, (order_id, customer, date, amount, status) in enumerate(rows):
        if order_id and customer[0] and date[0] and amount[0] and status[0] and order_id not in seen:
            seen.add(order_id)
            loaded.add(i)
    return loaded


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(row, min_size=1, max_size=25),
    delimiter=st.sampled_from([",", ";", "\t"]),
    blank_every=st.sampled_from([0, 0, 3]),
)
@example(  # once found: the only date of the file is 31 February
    rows=[("O1", (False, ""), (False, "31.02.2024"), (True, "0.01"), (False, "lost"))], delimiter=";", blank_every=0
)
def test_every_row_is_loaded_or_quarantined_once(rows, delimiter, blank_every):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "orders.csv"
        numbers = _write(path, rows, delimiter, blank_every)
        wh = Path(tmp) / "wh.duckdb"
        result = files.import_file(wh, path, dataset="orders", dataset_type="orders", rules=RULES)
        con = duckdb.connect(str(wh), read_only=True)
        try:
            loaded = [int(r[0]) for r in con.execute("SELECT line FROM orders").fetchall()]
            amounts = dict(con.execute("SELECT line, total_amount FROM orders").fetchall())
            quarantined = con.execute("SELECT row_number, reason, raw FROM headway_ingest.quarantine").fetchall()
        finally:
            con.close()

    assert result.read == len(rows) and result.skipped == 0
    assert result.loaded + result.rejected == result.read
    assert len(loaded) == result.loaded and len(quarantined) == result.rejected
    rejected_lines = [int(json.loads(raw)["line"]) for _, _, raw in quarantined]
    assert sorted(loaded + rejected_lines) == list(range(len(rows)))  # none lost, none doubled
    assert set(loaded) == _expected_loaded(rows)
    for row_number, reason, raw in quarantined:
        assert reason
        assert row_number == numbers[int(json.loads(raw)["line"])]  # the row number in the file
    for line in loaded:
        assert abs(amounts[line] - float(rows[line][3][1])) < 1e-9

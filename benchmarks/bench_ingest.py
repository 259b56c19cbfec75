"""Benchmark: importing a 1M-row orders CSV (mapping, validation, quarantine) against DuckDB's own read_csv.

Both sides read the same generated file into a fresh DuckDB warehouse file in the same run,
and both clocks run from opening the warehouse file to closing it, so both pay for writing
the table into the file: the baseline is ``CREATE TABLE orders AS SELECT * FROM
read_csv(file)`` (DuckDB's sniffer and typed parser, no validation), after which DuckDB
compresses and checkpoints the table into the file when the connection closes; Headway is
``files.import_file`` with the mapping proposed from the headers, every row validated,
failing rows quarantined and the ledger written (its transaction's commit already leaves the
table in the file, so its close is short). The baseline's time up to the end of the
``CREATE TABLE`` alone (before the closing checkpoint) is printed too. The script checks the
import's counts against the planted bad rows before it prints times.
Goal: throughput ratio (Headway rows/s / DuckDB rows/s) >= 0.5.

    python benchmarks/bench_ingest.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from headway.ingest import files

BAD_EVERY = 1000
"""One row in this many has a planted problem (alternately a negative amount and a bad date)."""


def generate(path: Path, rows: int, seed: int = 7) -> int:
    """An orders export as a shop system writes it; returns the number of planted bad rows."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2023-01-01T00:00:00")
    seconds = rng.integers(0, 2 * 365 * 86400, rows)
    amounts = np.round(rng.gamma(2.0, 40.0, rows), 2)
    dates = (start + seconds.astype("timedelta64[s]")).astype(str).astype(object)
    bad = np.arange(BAD_EVERY - 1, rows, BAD_EVERY)
    amounts[bad[::2]] *= -1
    dates[bad[1::2]] = "not a date"
    frame = pd.DataFrame(
        {
            "Order ID": [f"SO-{i:08d}" for i in range(rows)],
            "Customer": [f"C{c:06d}" for c in rng.integers(0, 80_000, rows)],
            "Order Date": [d.replace("T", " ") for d in dates],
            "Total": amounts,
            "Channel": rng.choice(["web", "store", "marketplace", "phone"], rows),
            "Status": rng.choice(["placed", "fulfilled", "delivered", "cancelled"], rows),
        }
    )
    frame.to_csv(path, index=False)
    return len(bad)


def baseline(csv: Path, target: Path) -> tuple[float, float]:
    """Seconds from opening the file to closing it, and to the end of the CREATE TABLE alone."""
    target.unlink(missing_ok=True)
    t0 = time.perf_counter()
    con = duckdb.connect(str(target))
    con.execute(f"CREATE TABLE orders AS SELECT * FROM read_csv('{csv}')")
    created = time.perf_counter() - t0
    con.close()  # DuckDB compresses and checkpoints the new table into the file here
    return time.perf_counter() - t0, created


def headway(csv: Path, target: Path) -> tuple[float, files.ImportResult]:
    target.unlink(missing_ok=True)
    t0 = time.perf_counter()
    result = files.import_file(target, csv, dataset="orders", mode="append")
    return time.perf_counter() - t0, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="headway-bench-ingest-") as tmp:
        folder = Path(tmp)
        csv = folder / "orders.csv"
        t0 = time.perf_counter()
        planted = generate(csv, args.rows)
        print(f"generated {args.rows:,} rows ({csv.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s")
        base_times, created_times, hw_times = [], [], []
        for _ in range(args.repeat):  # interleaved, so load on the machine hits both alike
            closed, created = baseline(csv, folder / "base.duckdb")
            base_times.append(closed)
            created_times.append(created)
            elapsed, result = headway(csv, folder / "hw.duckdb")
            hw_times.append(elapsed)
            assert result.read == args.rows, result.read
            assert result.rejected == planted, (result.rejected, planted, result.reasons)
            assert result.loaded == args.rows - planted
        b, h = statistics.median(base_times), statistics.median(hw_times)
        print(f"mapping: {result.mapping.to_dict() if result.mapping else None}")
        print(f"rejected {result.rejected:,}: {dict(result.reasons)}")
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"DuckDB {duckdb.__version__}, load {os.getloadavg()[0]:.1f}"
        )
        print(f"DuckDB read_csv : {b:.3f} s  ({args.rows / b:,.0f} rows/s)  runs {[round(t, 3) for t in base_times]}")
        c = statistics.median(created_times)
        print(f"  of which CREATE TABLE until its end, before the closing checkpoint: {c:.3f} s")
        print(f"Headway import  : {h:.3f} s  ({args.rows / h:,.0f} rows/s)  runs {[round(t, 3) for t in hw_times]}")
        print(f"ratio (Headway rows/s / DuckDB rows/s): {b / h:.2f}  (goal >= 0.5)")


if __name__ == "__main__":
    main()

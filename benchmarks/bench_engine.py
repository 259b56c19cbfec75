"""Engine benchmark: a pack of catalog KPIs at month grain by channel over generated orders,
against one hand-written DuckDB query computing the same numbers, in the same run.

    make bench                      # 10M orders
    python benchmarks/bench_engine.py --orders 1000000 --repeat 3

Prints both times and the ratio, checks both give the same numbers, and prints a
Markdown row for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console

from headway.demo import generate
from headway.engine.api import open as open_headway
from headway.engine.warehouse import DuckDBWarehouse

PACK = [
    "revenue",
    "orders",
    "aov",
    "gross_margin_pct",
    "new_customers",
    "active_customers",
    "repeat_purchase_rate",
    "revenue_growth",
    "fulfilment_time",
    "refund_rate",
]

KEPT = "(status IS NULL OR status NOT IN ('cancelled', 'refunded'))"

HAND_WRITTEN = f"""
WITH o AS (
    SELECT CAST(date_trunc('month', ordered_at) AS DATE) AS period,
           COALESCE(CAST(channel AS VARCHAR), '(none)') AS channel,
           {KEPT} AS kept, *
    FROM orders
),
agg AS (
    SELECT period, channel,
           SUM(total_amount) FILTER (WHERE kept) AS revenue,
           COUNT(*) FILTER (WHERE kept) AS orders,
           SUM(total_amount - cost_amount) FILTER (WHERE kept) AS margin,
           COUNT(DISTINCT customer_id) FILTER (WHERE kept) AS active_customers,
           COUNT(*) FILTER (WHERE status = 'refunded') AS refunded,
           COUNT(*) AS all_orders
    FROM o GROUP BY period, channel
),
firsts AS (
    SELECT arg_min(period, (ordered_at, order_id)) AS period, arg_min(channel, (ordered_at, order_id)) AS channel
    FROM o WHERE kept GROUP BY customer_id
),
news AS (SELECT period, channel, COUNT(*) AS new_customers FROM firsts GROUP BY period, channel),
fulfil AS (
    SELECT CAST(date_trunc('month', fulfilled_at) AS DATE) AS period,
           COALESCE(CAST(channel AS VARCHAR), '(none)') AS channel,
           AVG((epoch(fulfilled_at) - epoch(ordered_at)) / 86400.0) AS fulfilment_time
    FROM orders WHERE fulfilled_at IS NOT NULL AND ordered_at IS NOT NULL GROUP BY period, channel
)
SELECT a.period, a.channel,
       a.revenue, a.orders,
       a.revenue / NULLIF(a.orders, 0) AS aov,
       a.margin / NULLIF(a.revenue, 0) AS gross_margin_pct,
       COALESCE(n.new_customers, 0) AS new_customers,
       a.active_customers,
       (a.active_customers - COALESCE(n.new_customers, 0)) / NULLIF(a.active_customers, 0) AS repeat_purchase_rate,
       (a.revenue - LAG(a.revenue) OVER w) / NULLIF(ABS(LAG(a.revenue) OVER w), 0) AS revenue_growth,
       f.fulfilment_time,
       a.refunded / NULLIF(a.all_orders, 0) AS refund_rate
FROM agg a
LEFT JOIN news n ON n.period = a.period AND n.channel = a.channel
LEFT JOIN fulfil f ON f.period = a.period AND f.channel = a.channel
WINDOW w AS (PARTITION BY a.channel ORDER BY a.period)
ORDER BY a.period, a.channel
"""


def prepare(path: Path, orders: int, console: Console) -> None:
    marker = path.with_suffix(".rows")
    if path.exists() and marker.exists() and marker.read_text() == str(orders):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    with console.status(f"generating {orders:,} orders"):
        t = time.perf_counter()
        data = generate("ecommerce", orders=orders, seed=1)
        console.print(f"generated in {time.perf_counter() - t:.1f}s")
    with console.status("loading into DuckDB"):
        wh = DuckDBWarehouse(path)
        wh.load_frame("orders", data.datasets["orders"], dataset_type="orders")
        wh.close()
    marker.write_text(str(orders))


def best_of(repeat: int, fn) -> tuple[float, pd.DataFrame]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", type=Path, default=Path("bench-data"))
    args = parser.parse_args()
    console = Console()
    path = args.data / f"orders_{args.orders}.duckdb"
    prepare(path, args.orders, console)

    hw = open_headway(path)
    con = hw.warehouse.con  # type: ignore[attr-defined]
    lo, hi = con.execute("SELECT MIN(ordered_at)::DATE, MAX(ordered_at)::DATE FROM orders").fetchone()

    def engine() -> pd.DataFrame:
        return hw.compute(PACK, grain="month", by="channel", start=lo, end=hi)

    def hand() -> pd.DataFrame:
        return con.execute(HAND_WRITTEN).df()

    engine()  # warm both once (file cache)
    hand()
    t_engine, got = best_of(args.repeat, engine)
    t_hand, want = best_of(args.repeat, hand)

    want["period"] = pd.to_datetime(want["period"]).astype("datetime64[ns]")
    merged = got.merge(want, on=["period", "channel"], suffixes=("", "_hand"))
    assert len(merged) == len(want), f"engine rows {len(got)}, hand-written rows {len(want)}, matched {len(merged)}"
    for k in PACK:
        np.testing.assert_allclose(
            merged[k].to_numpy(float), merged[f"{k}_hand"].to_numpy(float), rtol=1e-9, equal_nan=True, err_msg=k
        )

    ratio = t_engine / t_hand
    console.print(
        f"[bold]{len(PACK)} KPIs, month x channel, {args.orders:,} orders[/] ({len(got)} rows, numbers equal)"
    )
    console.print(f"  headway engine   {t_engine:8.3f} s")
    console.print(f"  hand-written SQL {t_hand:8.3f} s")
    colour = "green" if ratio <= 1.2 else "red"
    console.print(f"  ratio            [{colour}]{ratio:8.2f}[/] (goal <= 1.2)")
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    console.print("\nMarkdown row for docs/benchmarks.md:")
    print(f"| {date.today()} | {machine} | {args.orders:,} | {t_engine:.3f} s | {t_hand:.3f} s | {ratio:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

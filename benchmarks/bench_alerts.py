"""Alert benchmark: evaluating 10,000 alert rules over one org's series (goal < 2 s),
against a naive rule-by-rule loop over the same series as the in-run baseline.

    make bench
    python benchmarks/bench_alerts.py --rules 10000 --kpis 60

Prints both times and the ratio, checks both give the same decisions, and prints a
Markdown row for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
from rich.console import Console

from headway.analytics.alerts import Inputs, RuleKind, RuleSpec, conditions, series_key

KINDS = [RuleKind.THRESHOLD_ABOVE, RuleKind.THRESHOLD_BELOW, RuleKind.CHANGE, RuleKind.ANOMALY, RuleKind.FRESHNESS]


def make_world(n_rules: int, n_kpis: int, dims: int, seed: int = 1) -> tuple[list[RuleSpec], Inputs]:
    """Series of ``n_kpis`` KPIs, each as a total and ``dims`` dimension values, 36 months; rules on them."""
    rng = np.random.default_rng(seed)
    periods = pd.date_range("2024-01-01", periods=36, freq="MS")
    frames, keys = [], []
    for k in range(n_kpis):
        for d in range(dims + 1):
            key = series_key(f"kpi{k}", "month", "region" if d else "", f"r{d}" if d else "")
            keys.append((f"kpi{k}", "region" if d else "", f"r{d}" if d else ""))
            frames.append(pd.DataFrame({"key": key, "period": periods, "value": rng.normal(100, 20, len(periods))}))
    series = pd.concat(frames, ignore_index=True)
    now = datetime(2026, 11, 28, 12, tzinfo=UTC)
    bands = {series_key(k, "month", d, v): (70.0, 130.0) for k, d, v in keys}
    last_data = {f"kpi{k}": now - timedelta(hours=float(rng.uniform(0, 72))) for k in range(n_kpis)}
    rules = []
    for i in range(n_rules):
        kpi, dim, value = keys[int(rng.integers(len(keys)))]
        kind = KINDS[i % len(KINDS)]
        params: dict[str, object] = {
            RuleKind.THRESHOLD_ABOVE: {"threshold": float(rng.normal(110, 10)), "hysteresis": 2.0},
            RuleKind.THRESHOLD_BELOW: {"threshold": float(rng.normal(90, 10))},
            RuleKind.CHANGE: {"pct": 10.0, "direction": "down", "compare": "last_year" if i % 2 else "previous"},
            RuleKind.ANOMALY: {},
            RuleKind.FRESHNESS: {"hours": 24.0},
        }[kind]
        rules.append(RuleSpec(i, kind, kpi, "month", dim, value, params, firing=bool(i % 3 == 0)))
    return rules, Inputs(series=series, now=now, bands=bands, last_data=last_data)


def naive(rules: list[RuleSpec], inputs: Inputs) -> list[bool]:
    """The obvious loop: for each rule, find its series in the frame and test its condition."""
    out = []
    s = inputs.series
    for r in rules:
        rows = s[s["key"] == r.key].sort_values("period")
        values = rows["value"].to_numpy()
        last = values[-1]
        p = r.params
        if r.kind is RuleKind.THRESHOLD_ABOVE:
            fire = last > p["threshold"]  # type: ignore[operator]
        elif r.kind is RuleKind.THRESHOLD_BELOW:
            fire = last < p["threshold"]  # type: ignore[operator]
        elif r.kind is RuleKind.CHANGE:
            base = values[-13] if p["compare"] == "last_year" else values[-2]
            fire = (last - base) / abs(base) * 100 <= -float(p["pct"])  # type: ignore[arg-type]
        elif r.kind is RuleKind.ANOMALY:
            lo, hi = inputs.bands[r.key]
            fire = last < lo or last > hi
        else:
            fire = (inputs.now - inputs.last_data[r.kpi_id]).total_seconds() / 3600 > float(p["hours"])  # type: ignore[arg-type]
        out.append(bool(fire))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=10_000)
    parser.add_argument("--kpis", type=int, default=60)
    parser.add_argument("--dims", type=int, default=5, help="dimension values per KPI (besides the total)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    console = Console()
    rules, inputs = make_world(args.rules, args.kpis, args.dims)
    console.print(f"{len(rules):,} rules over {inputs.series['key'].nunique():,} series, {len(inputs.series):,} points")

    fast = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        result = conditions(rules, inputs)
        fast.append(time.perf_counter() - t)
    sample = rules[: max(200, args.rules // 20)]
    t = time.perf_counter()
    slow_result = naive(sample, inputs)
    slow = (time.perf_counter() - t) * len(rules) / len(sample)
    same = list(result["fire"][: len(sample)]) == slow_result
    best = min(fast)
    console.print(f"vectorised: best {best:.3f} s of {args.repeat} (goal < 2 s: {'met' if best < 2 else 'MISSED'})")
    console.print(f"naive loop: {slow:.1f} s (extrapolated from {len(sample)} rules)")
    console.print(f"ratio naive / vectorised: {slow / best:.0f}x; same decisions: {same}")
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    console.print("\nMarkdown row for docs/benchmarks.md:")
    print(
        f"| {date.today()} | {machine} | {len(rules):,} | {inputs.series['key'].nunique():,} | "
        f"{best:.3f} s | {slow:.1f} s | {slow / best:.0f}x |"
    )
    if not same:
        raise SystemExit("the vectorised and the naive evaluation disagree")


if __name__ == "__main__":
    main()

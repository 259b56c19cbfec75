"""M3 monthly benchmark: Headway's automatic forecaster beside statsforecast's AutoETS, Theta,
DynamicOptimizedTheta, AutoARIMA and SeasonalNaive, all run in this script on the same machine.

1,428 series; the last 18 points of each are held out; horizon 18. Prints mean sMAPE, mean MASE (scaled by
the in-sample seasonal naive error), seconds, and ratios to AutoETS. ``--sample N`` takes every N-th series
for a quick run; ``--skip-arima`` leaves out AutoARIMA (about 8.5 minutes on 2 cores).

``--validation`` scores on the 18 points before the hold-out instead (training on what precedes them), so that
choices can be made without looking at the hold-out; ``--seasonal-shrink K`` overrides the auto model's
seasonal shrink (models.SEASONAL_SHRINK) — the two together are how 2 was chosen (docs/benchmarks.md).

    python benchmarks/bench_forecast.py [--sample 7] [--jobs 2] [--skip-arima] [--validation] [--seasonal-shrink 2]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "m3_monthly.csv"
HORIZON = 18
SEASON = 12


def load(path: Path, sample: int) -> list[np.ndarray]:
    frame = pd.read_csv(path)
    series = [row.iloc[7 : 7 + int(row["N"])].to_numpy(dtype=float) for _, row in frame.iterrows()]
    return series[::sample]


def headway_forecasts(train: list[np.ndarray], shrink: float | None = None) -> list[np.ndarray]:
    """The automatic forecaster on one chunk of series (one worker process)."""
    from headway.analytics.forecast import forecast, models

    warnings.filterwarnings("ignore")
    if shrink is not None:
        models.SEASONAL_SHRINK = shrink
    out = []
    for y in train:
        index = pd.date_range("2000-01-01", periods=len(y), freq="MS")
        fc = forecast(pd.Series(y, index=index), HORIZON, season_length=SEASON, levels=(), backtest=False)
        out.append(fc.mean.to_numpy())
    return out


def run_headway(train: list[np.ndarray], jobs: int, shrink: float | None = None) -> list[np.ndarray]:
    chunks = [train[i::jobs] for i in range(jobs)]
    with ProcessPoolExecutor(jobs) as pool:
        parts = list(pool.map(headway_forecasts, chunks, [shrink] * jobs))
    result: list[np.ndarray] = [np.zeros(0)] * len(train)
    for i, part in enumerate(parts):
        result[i::jobs] = part
    return result


def run_statsforecast(train: list[np.ndarray], model: object, jobs: int) -> list[np.ndarray]:
    from statsforecast import StatsForecast

    frames = [pd.DataFrame({"unique_id": i, "ds": np.arange(len(y)), "y": y}) for i, y in enumerate(train)]
    sf = StatsForecast(models=[model], freq=1, n_jobs=jobs)
    fc = sf.forecast(df=pd.concat(frames, ignore_index=True), h=HORIZON)
    column = next(c for c in fc.columns if c not in ("unique_id", "ds"))
    return [g[column].to_numpy() for _, g in fc.sort_values(["unique_id", "ds"]).groupby("unique_id")]


def scores(series: list[np.ndarray], forecasts: list[np.ndarray]) -> tuple[float, float]:
    from headway.analytics.forecast import mase, smape

    s = [smape(y[-HORIZON:], f) for y, f in zip(series, forecasts, strict=True)]
    m = [mase(y[-HORIZON:], f, y[:-HORIZON], SEASON) for y, f in zip(series, forecasts, strict=True)]
    return float(np.mean(s)), float(np.nanmean(m))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--sample", type=int, default=1, help="take every N-th series (default: all)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--skip-arima", action="store_true")
    parser.add_argument("--validation", action="store_true", help="score on the 18 points before the hold-out")
    parser.add_argument("--seasonal-shrink", type=float, default=None, help="override models.SEASONAL_SHRINK")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    from statsforecast.models import AutoARIMA, AutoETS, DynamicOptimizedTheta, SeasonalNaive, Theta

    series = load(args.data, args.sample)
    if args.validation:  # the hold-out is dropped; the 18 points before it become the scored window
        series = [y[:-HORIZON] for y in series]
    train = [y[:-HORIZON] for y in series]
    window = "validation window (18 points before the hold-out)" if args.validation else "hold-out"
    print(f"M3 monthly: {len(series)} series, horizon {HORIZON}, {args.jobs} worker(s), scored on the {window}")
    runs: list[tuple[str, object]] = [
        ("SeasonalNaive", SeasonalNaive(season_length=SEASON)),
        ("AutoETS", AutoETS(season_length=SEASON)),
        ("Theta", Theta(season_length=SEASON)),
        ("DynamicOptimizedTheta", DynamicOptimizedTheta(season_length=SEASON)),
    ]
    if not args.skip_arima:
        runs.append(("AutoARIMA", AutoARIMA(season_length=SEASON)))
    results: dict[str, tuple[float, float, float]] = {}
    start = time.perf_counter()
    forecasts = run_headway(train, args.jobs, args.seasonal_shrink)
    results["Headway auto"] = (*scores(series, forecasts), time.perf_counter() - start)
    for name, model in runs:
        start = time.perf_counter()
        forecasts = run_statsforecast(train, model, args.jobs)
        results[name] = (*scores(series, forecasts), time.perf_counter() - start)
        print(f"  {name} done")
    ets_smape, _, ets_time = results["AutoETS"]
    print(f"{'model':24} {'sMAPE':>7} {'MASE':>6} {'seconds':>8} {'sMAPE/ETS':>10} {'time/ETS':>9}")
    for name, (s, m, t) in results.items():
        print(f"{name:24} {s:7.2f} {m:6.3f} {t:8.1f} {s / ets_smape:10.3f} {t / ets_time:9.2f}")
    s, _, t = results["Headway auto"]
    print(
        f"goal sMAPE <= 13.3 in <= 2x AutoETS time: sMAPE {s:.2f} ({'met' if s <= 13.3 else 'missed'}), "
        f"time {t / ets_time:.2f}x ({'met' if t <= 2 * ets_time else 'missed'})"
    )


if __name__ == "__main__":
    main()

"""Demand forecasts per product (optionally per product and channel or store), reconciled over the hierarchy
bottom -> product -> category -> total so that the parts add up exactly.

    >>> fc = forecast_demand(order_lines, orders, products, freq="W-MON", horizon=8, by="channel")
    >>> fc.frame          # level, node, period, base, forecast (units)
    >>> fc.node("product", "P0003"), fc.node("category", "home"), fc.node("total", "total")

Quantities come from ``order_lines`` (the time and the ``by`` column from the line itself or its order; lines
of cancelled orders are left out). Every node of the hierarchy gets a base forecast (statsforecast's Theta
on the complete periods, seasonal when there are two seasons of history; a seasonal naive fallback). Base
forecasts do not add up: the category's forecast differs from the sum of its products'. Reconciliation
projects them onto forecasts that do: ``method="wls"`` (weighted least squares with structural weights, the
variance of a node taken proportional to the number of bottom series under it; the default) or ``"ols"``.
Negative bottom forecasts are set to 0 and every level is re-aggregated from the bottom, so the result stays
coherent and non-negative.

Prediction intervals (80% and 95%, columns ``lower_80 .. upper_95``) come from the base model's own errors on
the past, measured by rolling origin: the base model is refitted on the history up to each of the last
``BACKTEST_WINDOWS + horizon - 1`` periods (never on less than half the history), forecasts up to ``horizon``
periods ahead, and the error at each step ahead is recorded where the actual is known. Per node and step ``h``
the spread is the root mean square of those h-step errors (made non-decreasing in ``h``; steps without any
recorded error grow from the last measured step with sqrt(h)), and the interval is the reconciled forecast
+- z x spread (z = 1.28 for 80%, 1.96 for 95%), its lower bound clipped at 0. With too short a history for
any backtest, the spread is that of a naive forecast (the root mean square of the period-to-period change)
times sqrt(h). Intervals are per node: unlike the point forecasts they do not add up (a total's range is
narrower than the sum of its parts' ranges, since their errors partly cancel). The running total over the next
h periods (``cumulative``) gets its own interval the same way, from the backtest errors of the running totals
(beyond the last measured step it grows in proportion to h); summing per-period bounds would overstate it
when errors of successive periods partly cancel.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

SEASON = {"D": 7, "W": 52, "M": 12, "Q": 4}
LEVELS = ("total", "category", "product")
INTERVALS = {80: 1.2815515655446004, 95: 1.959963984540054}
"""Interval levels (percent) and their two-sided normal z."""
BACKTEST_WINDOWS = 12
"""Rolling origins whose errors reach the furthest step ahead (nearer steps get up to horizon - 1 more)."""


@dataclass
class DemandForecast:
    """Reconciled demand: one row per (level, node, future period)."""

    frame: pd.DataFrame
    """Columns: level, node, period, base (the node's own forecast), forecast (reconciled), and the prediction
    interval bounds lower_80, upper_80, lower_95, upper_95 around the reconciled forecast (units, >= 0);
    cumulative (the forecast summed from the first period to this one) and its bounds cumulative_lower_80 ..
    cumulative_upper_95, measured on the backtest's running totals (not the sum of the per-period bounds)."""
    history: pd.DataFrame
    """Columns: level, node, period, quantity (complete periods only)."""
    summing: pd.DataFrame
    """The summing matrix S: one row per node ("level:node"), one column per bottom series."""
    method: str
    freq: str
    model: str = ""
    """The base model in words, e.g. "Theta with a 52-period season"."""
    backtest_origins: int = 0
    """How many rolling origins the interval spreads were measured from (0: the naive fallback spread)."""

    def node(self, level: str, node: str) -> pd.Series:
        """The reconciled forecast of one node, indexed by period."""
        rows = self.frame[(self.frame["level"] == level) & (self.frame["node"] == node)]
        if rows.empty:
            raise KeyError(f"no {level} {node!r} in the demand forecast")
        return rows.set_index("period")["forecast"]

    def band(self, level: str, node: str) -> pd.DataFrame:
        """Forecast and interval bounds of one node, indexed by period."""
        rows = self.frame[(self.frame["level"] == level) & (self.frame["node"] == node)]
        if rows.empty:
            raise KeyError(f"no {level} {node!r} in the demand forecast")
        return rows.set_index("period")[["forecast", *[f"{s}_{lv}" for lv in INTERVALS for s in ("lower", "upper")]]]

    def wide(self, column: str = "forecast") -> pd.DataFrame:
        """Nodes as rows ("level:node"), periods as columns."""
        key = self.frame["level"] + ":" + self.frame["node"].astype(str)
        return self.frame.assign(key=key).pivot(index="key", columns="period", values=column)


def _lines(order_lines: pd.DataFrame, orders: pd.DataFrame | None, by: str | None) -> pd.DataFrame:
    lines = order_lines.copy()
    needed = {"order_id", "product_id", "quantity"} - set(lines.columns)
    if needed:
        raise ValueError(f"order_lines lacks the column(s) {', '.join(sorted(needed))}")
    take = [c for c in ("ordered_at", "status", by) if c and orders is not None and c in orders.columns]
    take = [c for c in take if c == "status" or c not in lines.columns]
    if orders is not None and take:
        lines = lines.merge(orders[["order_id", *take]], on="order_id", how="left")
    if "ordered_at" not in lines.columns:
        raise ValueError("the order time is needed: order_lines.ordered_at or orders.ordered_at")
    if by is not None and by not in lines.columns:
        raise ValueError(f"cannot split demand by {by!r}: neither order_lines nor orders has that column")
    if "status" in lines.columns:
        lines = lines[lines["status"].astype(str) != "cancelled"]
    lines["ordered_at"] = pd.to_datetime(lines["ordered_at"], errors="coerce")
    lines["quantity"] = pd.to_numeric(lines["quantity"], errors="coerce")
    return lines.dropna(subset=["ordered_at", "quantity"])


_WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


def _period_start(at: pd.Series, freq: str) -> pd.Series:
    """The start of the period holding each time: weeks start on the anchor day of ``W-XXX``."""
    if freq.upper().startswith("W"):
        anchor = _WEEKDAYS.index(freq.upper().split("-")[1]) if "-" in freq else 6
        day = at.dt.normalize()
        return day - pd.to_timedelta((day.dt.weekday - anchor) % 7, unit="D")
    kind = freq.split("-")[0].rstrip("S").upper()[:1]
    return at.dt.to_period(kind).dt.start_time


def _bottom_series(lines: pd.DataFrame, freq: str, by: str | None, as_of: pd.Timestamp | None) -> pd.DataFrame:
    """Quantity per complete period (columns) and bottom series (rows), zeros where nothing sold."""
    keys = ["product_id"] + ([by] if by else [])
    periods = _period_start(lines["ordered_at"], freq)
    table = lines.assign(period=periods).pivot_table(
        index=keys, columns="period", values="quantity", aggfunc="sum", fill_value=0.0
    )
    full = pd.date_range(table.columns.min(), table.columns.max(), freq=freq)
    table = table.reindex(columns=full, fill_value=0.0)
    end = as_of if as_of is not None else lines["ordered_at"].max()
    # the last period is left out unless the data runs to its end
    last_start = full[-1]
    if end < last_start + pd.tseries.frequencies.to_offset(freq) - pd.Timedelta(microseconds=1):
        table = table.iloc[:, :-1]
    return table.astype(float)


def _hierarchy(bottom: pd.DataFrame, categories: pd.Series, by: str | None) -> tuple[list[tuple[str, str]], np.ndarray]:
    """Nodes (level, name) top-down and the summing matrix S (nodes x bottom series)."""
    idx = bottom.index
    product = idx.get_level_values(0).astype(str) if by else idx.astype(str)
    category = np.array([str(categories.get(p, "uncategorised")) for p in product])
    nodes: list[tuple[str, str]] = [("total", "total")]
    rows: list[np.ndarray] = [np.ones(len(idx))]
    for c in sorted(set(category)):
        nodes.append(("category", c))
        rows.append((category == c).astype(float))
    for p in sorted(set(product)):
        nodes.append(("product", p))
        rows.append((product == p).astype(float))
    if by:
        split = idx.get_level_values(1).astype(str)
        for i in range(len(idx)):
            nodes.append((by, f"{product[i]} / {split[i]}"))
            rows.append(np.eye(len(idx))[i])
    return nodes, np.vstack(rows)


def _season(length: int, m: int) -> int:
    """The season Theta is given: ``m`` with two seasons of history and one more period, else none."""
    return m if length >= 2 * m + 1 else 1


def _base_batch(series: Sequence[np.ndarray], m: int, horizon: int, freq: str) -> np.ndarray:
    """Theta per series (lengths may differ; seasonal where long enough), seasonal naive where a fit fails."""
    from statsforecast import StatsForecast
    from statsforecast.models import SeasonalNaive, Theta

    out = np.full((len(series), horizon), np.nan)
    groups: dict[int, list[int]] = {}
    for i, y in enumerate(series):
        groups.setdefault(_season(len(y), m), []).append(i)
    for season, rows in groups.items():
        parts = []
        for k, i in enumerate(rows):
            ds = pd.date_range("2000-01-03", periods=len(series[i]), freq=freq)
            parts.append(pd.DataFrame({"unique_id": k, "ds": ds, "y": series[i]}))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sf = StatsForecast(
                models=[Theta(season_length=season), SeasonalNaive(season_length=season)],
                freq=freq,
                fallback_model=SeasonalNaive(season_length=season),
            )
            fc = sf.forecast(df=pd.concat(parts, ignore_index=True), h=horizon).sort_values(["unique_id", "ds"])
        theta = fc["Theta"].to_numpy().reshape(len(rows), horizon)
        naive = fc["SeasonalNaive"].to_numpy().reshape(len(rows), horizon)
        out[rows] = np.where(np.isfinite(theta), theta, naive)
    return out


def _base_forecasts(y: np.ndarray, m: int, horizon: int, freq: str) -> np.ndarray:
    """Theta per row of ``y`` (seasonal with two seasons of history), seasonal naive where a fit fails."""
    return _base_batch(list(y), m, horizon, freq)


def _error_spread(y: np.ndarray, m: int, horizon: int, freq: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Root mean square h-step error of the base model per row of ``y`` (nodes x horizon), by rolling origin;
    the same for the error of the running total over steps 1..h; and the number of origins used. See the
    module docstring for the rules."""
    n = y.shape[1]
    steps = np.arange(1, horizon + 1)
    first = max(n // 2, 4, n - horizon - BACKTEST_WINDOWS + 1)
    origins = list(range(first, n))
    if not origins:
        step = np.sqrt(np.mean(np.diff(y, axis=1) ** 2, axis=1)) if n > 1 else np.zeros(len(y))
        # a random walk's h-step error has variance h s^2; the sum of steps 1..h, sum(i^2) s^2
        return step[:, None] * np.sqrt(steps), step[:, None] * np.sqrt(np.cumsum(steps**2)), 0
    ahead = min(horizon, n - first)
    fc = _base_batch([row[:o] for o in origins for row in y], m, ahead, freq).reshape(len(origins), len(y), ahead)
    errors = np.full((len(origins), len(y), ahead), np.nan)
    for k, o in enumerate(origins):
        known = min(ahead, n - o)
        errors[k, :, :known] = y[:, o : o + known] - fc[k, :, :known]
    spread = np.maximum.accumulate(np.sqrt(np.nanmean(errors**2, axis=0)), axis=1)
    # known steps run from 1 without a gap, so a running total is NaN exactly where a step is unknown
    running = np.maximum.accumulate(np.sqrt(np.nanmean(np.cumsum(errors, axis=2) ** 2, axis=0)), axis=1)
    if ahead < horizon:
        later = steps[ahead:] / ahead
        spread = np.hstack([spread, spread[:, -1:] * np.sqrt(later)])
        running = np.hstack([running, running[:, -1:] * later])
    return spread, running, len(origins)


def reconcile(base: np.ndarray, S: np.ndarray, method: Literal["ols", "wls"] = "wls") -> np.ndarray:
    """Coherent forecasts S @ P @ base (nodes x horizon) with P the (weighted) least-squares projection."""
    if method == "ols":
        w = np.ones(S.shape[0])
    elif method == "wls":
        w = 1.0 / S.sum(axis=1)
    else:
        raise ValueError(f"unknown reconciliation method {method!r}; choose 'wls' or 'ols'")
    SW = S.T * w
    P = np.linalg.solve(SW @ S, SW)
    bottom = np.maximum(P @ base, 0.0)
    return np.asarray(S @ bottom)


def forecast_demand(
    order_lines: pd.DataFrame,
    orders: pd.DataFrame | None = None,
    products: pd.DataFrame | None = None,
    *,
    freq: str = "W-MON",
    horizon: int = 8,
    by: str | None = None,
    method: Literal["ols", "wls"] = "wls",
    as_of: pd.Timestamp | None = None,
) -> DemandForecast:
    """Reconciled demand forecasts (units) for total, categories, products and, with ``by``, product x ``by``."""
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1 period; got {horizon}")
    lines = _lines(order_lines, orders, by)
    if lines.empty:
        raise ValueError("there are no order lines to forecast demand from")
    bottom = _bottom_series(lines, freq, by, as_of)
    if bottom.shape[1] < 4:
        raise ValueError(f"at least 4 complete periods of sales are needed; there are {bottom.shape[1]}")
    categories = pd.Series(dtype=object)
    if products is not None and "category" in products.columns:
        categories = products.drop_duplicates("product_id").set_index("product_id")["category"]
        categories.index = categories.index.astype(str)
    nodes, S = _hierarchy(bottom, categories, by)
    history = S @ bottom.to_numpy()
    kind = freq.split("-")[0].rstrip("S").upper()[:1]
    m = SEASON.get(kind, 1)
    base = _base_forecasts(history, m, horizon, freq)
    coherent = reconcile(base, S, method)
    spread, running, origins = _error_spread(history, m, horizon, freq)
    season = _season(history.shape[1], m)
    model = f"Theta with a {season}-period season" if season > 1 else "Theta (no season: under two years of history)"
    periods = pd.date_range(bottom.columns[-1], periods=horizon + 1, freq=freq)[1:]
    level = [n[0] for n in nodes]
    name = [n[1] for n in nodes]
    frame = pd.DataFrame(
        {
            "level": np.repeat(level, horizon),
            "node": np.repeat(name, horizon),
            "period": np.tile(periods, len(nodes)),
            "base": base.ravel(),
            "forecast": coherent.ravel(),
        }
    )
    for lv, z in INTERVALS.items():
        frame[f"lower_{lv}"] = np.maximum(coherent - z * spread, 0.0).ravel()
        frame[f"upper_{lv}"] = (coherent + z * spread).ravel()
    cumulative = np.cumsum(coherent, axis=1)
    frame["cumulative"] = cumulative.ravel()
    for lv, z in INTERVALS.items():
        frame[f"cumulative_lower_{lv}"] = np.maximum(cumulative - z * running, 0.0).ravel()
        frame[f"cumulative_upper_{lv}"] = (cumulative + z * running).ravel()
    hist = pd.DataFrame(
        {
            "level": np.repeat(level, bottom.shape[1]),
            "node": np.repeat(name, bottom.shape[1]),
            "period": np.tile(bottom.columns, len(nodes)),
            "quantity": history.ravel(),
        }
    )
    keys = [f"{lv}:{nm}" for lv, nm in nodes]
    bottom_names: Sequence[str] = [" / ".join(map(str, k)) if by else str(k) for k in bottom.index]
    summing = pd.DataFrame(S, index=keys, columns=list(bottom_names))
    return DemandForecast(frame, hist, summing, method, freq, model, origins)


__all__ = ["INTERVALS", "DemandForecast", "forecast_demand", "reconcile"]

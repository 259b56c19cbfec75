"""An independent pandas computation of KPI specs, to check the SQL engine against.

It shares no code with the compiler: periods come from pandas' anchored Periods,
look-back is "all history", windows are pandas groupby/rolling. Row-level SQL
snippets (a filter, an amount expression) are evaluated by DuckDB on the raw frame,
row by row and never aggregated, so the grouping, time and window logic under test
is computed here only.
"""

from __future__ import annotations

import re
from datetime import date

import duckdb
import numpy as np
import pandas as pd

from headway.engine.canonical import CANONICAL
from headway.engine.spec import (
    Aggregate,
    Composite,
    Cumulative,
    Derived,
    Duration,
    Kpi,
    KpiRef,
    PeriodOverPeriod,
    Ratio,
    Retention,
    Snapshot,
)

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
SECONDS = {"days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}


def pandas_freq(grain: str, week_start: int = 0, fy_start: int = 1) -> str:
    if grain == "day":
        return "D"
    if grain == "week":
        return f"W-{DAYS[(week_start - 1) % 7]}"  # weeks are named by the day they end on
    if grain == "month":
        return "M"
    year_end = MONTHS[(fy_start - 2) % 12]
    return f"Q-{year_end}" if grain == "quarter" else f"Y-{year_end}"


class Reference:
    def __init__(
        self,
        frames: dict[str, pd.DataFrame],
        kpis: dict[str, Kpi],
        grain: str,
        *,
        dim: str | None = None,
        tz: str = "UTC",
        week_start: int = 0,
        fy_start: int = 1,
    ):
        self.frames, self.kpis, self.grain, self.dim, self.tz = frames, kpis, grain, dim, tz
        self.freq = pandas_freq(grain, week_start, fy_start)
        self.fy_start = fy_start
        self.con = duckdb.connect()
        self.cache: dict[str, pd.Series] = {}
        self.spine: pd.DatetimeIndex | None = None
        self.dims: list[str] = []

    # --- rows --------------------------------------------------------------------
    def local(self, dataset: str, col: str) -> pd.Series:
        s = pd.to_datetime(self.frames[dataset][col])
        if self.tz != "UTC" and CANONICAL[dataset].field(col).type.value == "timestamp":
            s = s.dt.tz_localize("UTC").dt.tz_convert(self.tz).dt.tz_localize(None)
        return s

    def period(self, ts: pd.Series) -> pd.Series:
        return ts.dt.to_period(self.freq).dt.start_time

    def sql_rows(self, dataset: str, text: str | None, default: object = True) -> pd.Series:
        df = self.frames[dataset]
        if text is None:
            return pd.Series(default, index=df.index)
        self.con.register("t", df.reset_index(drop=True))
        values = self.con.execute(f"SELECT ({text}) AS v FROM t").df()["v"]
        self.con.unregister("t")
        values.index = df.index
        return values

    def mask(self, dataset: str, text: str | None) -> pd.Series:
        return self.sql_rows(dataset, text).fillna(False).astype(bool)

    def dim_values(self, dataset: str) -> pd.Series:
        if not self.dim:
            return pd.Series("all", index=self.frames[dataset].index)
        return self.frames[dataset][self.dim].astype("string").fillna("(none)").astype(str)

    # --- the frame of periods x dims ----------------------------------------------
    def set_spine(self, first: pd.Timestamp, last: pd.Timestamp, dims: list[str]) -> None:
        periods = pd.period_range(first.to_period(self.freq), last.to_period(self.freq), freq=self.freq)
        self.spine = periods.start_time
        self.dims = dims

    def full(self, grouped: pd.Series, zero: bool) -> pd.Series:
        index = pd.MultiIndex.from_product([self.spine, self.dims], names=["period", "dim"])
        out = grouped.reindex(index)
        return out.fillna(0.0) if zero else out

    def group(self, df: pd.DataFrame, agg: str, pct: float | None, zero: bool) -> pd.Series:
        g = df.groupby(["period", "dim"])["v"]
        fn = {
            "sum": lambda: g.sum(),
            "count": lambda: g.count(),
            "count_distinct": lambda: g.nunique(),
            "avg": lambda: g.mean(),
            "min": lambda: g.min(),
            "max": lambda: g.max(),
            "median": lambda: g.median(),
            "percentile": lambda: g.quantile(pct),
        }[agg]
        return self.full(fn().astype(float), zero)

    # --- KPIs ----------------------------------------------------------------------
    def value(self, kpi_id: str) -> pd.Series:
        if kpi_id not in self.cache:
            self.cache[kpi_id] = self._value(self.kpis[kpi_id])
        return self.cache[kpi_id]

    def aggregate(self, m: Aggregate) -> pd.Series:
        ds = m.dataset
        time = m.time or CANONICAL[ds].time_field
        df = pd.DataFrame({"t": self.local(ds, time), "dim": self.dim_values(ds)})
        df["v"] = self.sql_rows(ds, m.expr, default=1)
        keep = self.mask(ds, m.filter)
        if m.first_per:
            key = self.frames[ds][m.first_per]
            order_cols = [time, *[k for k in CANONICAL[ds].key]]
            ranked = self.frames[ds][keep].sort_values(order_cols, kind="mergesort")
            first_index = ranked.drop_duplicates(subset=[m.first_per], keep="first").index
            df = df.loc[first_index]
            df = df[key.loc[first_index].notna()]
        else:
            df = df[keep]
        df = df.dropna(subset=["t"])
        df["period"] = self.period(df["t"])
        if m.agg.value == "count":
            df = df[df["v"].notna()]
        zero = m.agg.value in ("sum", "count", "count_distinct")
        return self.group(df, m.agg.value, m.percentile, zero)

    def _value(self, kpi: Kpi) -> pd.Series:
        m = kpi.metric
        if isinstance(m, Aggregate):
            return self.aggregate(m)
        if isinstance(m, Ratio):
            num = self.value(m.numerator.kpi) if isinstance(m.numerator, KpiRef) else self.aggregate(m.numerator)
            den = self.value(m.denominator.kpi) if isinstance(m.denominator, KpiRef) else self.aggregate(m.denominator)
            return num / den.replace(0, np.nan)
        if isinstance(m, Derived):
            words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", m.formula))
            refs = {k: self.value(k) for k in self.kpis if k in words}
            frame = pd.DataFrame(refs).reset_index(drop=True)
            self.con.register("k", frame)
            out = self.con.execute(f"SELECT CAST({m.formula} AS DOUBLE) AS v FROM k").df()["v"]
            out = out.replace([np.inf, -np.inf], np.nan)  # x / 0 is undefined, as in a ratio
            self.con.unregister("k")
            out.index = next(iter(refs.values())).index
            return out
        if isinstance(m, Composite):
            total = sum(c.weight for c in m.components)
            acc = 0.0
            for c in m.components:
                x = self.value(c.kpi)
                part = c.scale / x.replace(0, np.nan) if c.invert else x / c.scale
                acc = acc + c.weight * part
            return acc / total
        if isinstance(m, PeriodOverPeriod):
            base = self.value(m.base)
            lag = (
                1
                if m.compare.value == "previous"
                else {"day": 364, "week": 52, "month": 12, "quarter": 4}.get(self.grain, 1)
            )
            prev = base.groupby(level="dim").shift(lag)
            if m.change.value == "difference":
                return base - prev
            if m.change.value == "ratio":
                return base / prev.replace(0, np.nan)
            return (base - prev) / prev.abs().replace(0, np.nan)
        if isinstance(m, Cumulative):
            base = self.value(m.base)
            frame = base.rename("v").reset_index()
            if m.window.value == "rolling":
                out = frame.groupby("dim")["v"].transform(lambda s: s.rolling(m.periods, min_periods=1).sum())
            elif m.window.value == "all":
                out = frame.groupby("dim")["v"].cumsum()
            else:
                bucket_freq = {"mtd": "M", "qtd": pandas_freq("quarter", 0, self.fy_start)}.get(
                    m.window.value, pandas_freq("year", 0, self.fy_start)
                )
                frame["bucket"] = frame["period"].dt.to_period(bucket_freq)
                out = frame.groupby(["dim", "bucket"])["v"].cumsum()
            out.index = base.index
            return out
        if isinstance(m, Duration):
            ds = m.dataset
            start = pd.to_datetime(self.frames[ds][m.start])
            end = pd.to_datetime(self.frames[ds][m.end])
            df = pd.DataFrame({"t": self.local(ds, m.time or m.end), "dim": self.dim_values(ds)})
            df["v"] = (end - start).dt.total_seconds() / SECONDS[m.unit.value]
            df = df[self.mask(ds, m.filter) & start.notna() & end.notna()]
            df["period"] = self.period(df["t"])
            return self.group(df, m.agg.value, m.percentile, zero=False)
        if isinstance(m, Retention):
            return self.retention(m)
        if isinstance(m, Snapshot):
            ds = m.dataset
            time = m.time or CANONICAL[ds].time_field
            df = pd.DataFrame({"t": self.local(ds, time), "dim": self.dim_values(ds)})
            df["v"] = self.sql_rows(ds, m.expr)
            df = df[self.mask(ds, m.filter)]
            df["period"] = self.period(df["t"])
            keys = ["period", "dim"]
            if m.per:
                df["per"] = self.frames[ds][m.per]
                keys.append("per")
            latest = df.groupby(keys, dropna=False)["t"].transform("max")
            return self.group(df[df["t"] == latest], m.agg.value, None, zero=False)
        raise AssertionError(f"no reference for {m.kind}")

    def retention(self, m: Retention) -> pd.Series:
        ds = m.dataset
        frame = self.frames[ds]
        keep = self.mask(ds, m.filter) & frame[m.entity].notna()
        dims = self.dim_values(ds)
        active: dict[pd.Timestamp, set[tuple[str, str]]] = {}
        if m.mode == "activity":
            t = self.local(ds, CANONICAL[ds].time_field)
            df = pd.DataFrame({"p": self.period(t), "dim": dims, "e": frame[m.entity]})[keep]
            for p, g in df.groupby("p"):
                active[p] = set(zip(g["dim"], g["e"], strict=True))
        else:
            start, end = self.local(ds, m.start), self.local(ds, m.end)
            for p in self.spine:
                p_end = (pd.Period(p, freq=self.freq) + 1).start_time
                on = keep & (start < p_end) & (end.isna() | (end >= p_end))
                active[p] = set(zip(dims[on], frame[m.entity][on], strict=True))
        rows = {}
        for prev, cur in zip(self.spine[:-1], self.spine[1:], strict=True):
            before, now = active.get(prev, set()), active.get(cur, set())
            for d in self.dims:
                base = {e for dd, e in before if dd == d}
                if base:
                    kept = len(base & {e for dd, e in now if dd == d})
                    share = kept / len(base)
                    rows[(cur, d)] = 1 - share if m.output.value == "churn" else share
        return self.full(pd.Series(rows, dtype=float), zero=False)


def reference_frame(
    frames: dict[str, pd.DataFrame],
    kpis: dict[str, Kpi],
    ids: list[str],
    grain: str,
    start: date,
    end: date,
    *,
    dim: str | None = None,
    **calendar: object,
) -> pd.DataFrame:
    """KPI values per period (and dim) from ``start`` to ``end``, computed over all history."""
    ref = Reference(frames, kpis, grain, dim=dim, **calendar)  # type: ignore[arg-type]
    stamps = [
        ref.local(ds, c).dropna()
        for ds, df in frames.items()
        for c in df.columns
        if ds in CANONICAL and CANONICAL[ds].field(c) is not None and CANONICAL[ds].field(c).type.is_temporal
    ]
    first = min([pd.Timestamp(start), *[s.min() for s in stamps if len(s)]])
    dims = sorted({v for ds in frames if dim in frames[ds].columns for v in ref.dim_values(ds)}) if dim else ["all"]
    ref.set_spine(first, pd.Timestamp(end), dims)
    out = pd.DataFrame({k: ref.value(k) for k in ids}).reset_index()
    lo = pd.Timestamp(start).to_period(ref.freq).start_time
    out = out[out["period"] >= lo].reset_index(drop=True)
    return out if dim else out.drop(columns="dim")

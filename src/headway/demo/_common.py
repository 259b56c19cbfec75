"""Shared building blocks of the demo-data generator: context, ids, time, volume profile, customers, typing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from headway.engine.canonical import CANONICAL, FieldType

DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000
MIN_US = 60_000_000
SEC_US = 1_000_000

START = date(2022, 1, 1)
END = date(2024, 12, 31)

SIZES: dict[str, int] = {"tiny": 1_500, "small": 30_000, "medium": 1_000_000, "large": 10_000_000}
"""Number of orders (SaaS: monthly invoices) per size."""

# Per size: (products, employees, vehicles).
SIZE_SCALE: dict[str, tuple[int, int, int]] = {
    "tiny": (12, 8, 3),
    "small": (30, 25, 6),
    "medium": (80, 120, 20),
    "large": (150, 400, 60),
}


@dataclass
class DemoData:
    """A generated demo business: canonical datasets plus the planted-effect parameters."""

    business: str
    size: str
    seed: int
    start: date
    end: date
    datasets: dict[str, pd.DataFrame]
    params: dict[str, Any] = field(default_factory=dict)

    def row_counts(self) -> dict[str, int]:
        return {name: len(df) for name, df in self.datasets.items()}


@dataclass
class Ctx:
    """What every business generator gets: the random generator, the window and the scale."""

    rng: np.random.Generator
    n_orders: int
    size: str
    start: date = START
    end: date = END

    @property
    def n_days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def start_us(self) -> int:
        return int(np.datetime64(self.start, "us").astype(np.int64))

    @property
    def asof_us(self) -> int:
        """The moment the data was extracted: the end of the last day."""
        return self.start_us + self.n_days * DAY_US

    @property
    def n_products(self) -> int:
        return SIZE_SCALE[self.size][0]

    @property
    def n_employees(self) -> int:
        return SIZE_SCALE[self.size][1]

    @property
    def n_vehicles(self) -> int:
        return SIZE_SCALE[self.size][2]

    def day_us(self, day: np.ndarray) -> np.ndarray:
        """Microseconds since the epoch of midnight of day index ``day``."""
        return self.start_us + day.astype(np.int64) * DAY_US

    def dates(self, day: np.ndarray) -> np.ndarray:
        return to_ts(self.day_us(day))

    def weekday(self, day: np.ndarray) -> np.ndarray:
        """Monday = 0 ... Sunday = 6."""
        return (day + self.start.weekday()) % 7

    def day_of_year(self, day: np.ndarray) -> np.ndarray:
        return (day + self.start.timetuple().tm_yday - 1) % 365.25


def to_ts(us: np.ndarray) -> np.ndarray:
    """int64 microseconds since the epoch -> datetime64[us] (NaT stays NaT)."""
    return np.asarray(us, dtype=np.int64).view("datetime64[us]")


NAT = np.iinfo(np.int64).min
N_TIERS = 6


def make_ids(prefix: str, n: int, width: int = 6) -> np.ndarray:
    """Object array of ids ``prefix + zero-padded number``, numbered from 1 (vectorised)."""
    width = max(width, len(str(n)))
    total = len(prefix) + width
    buf = np.empty((n, total), dtype=np.uint32)  # UCS4 code points, viewed as a fixed-width str array
    buf[:, : len(prefix)] = [ord(c) for c in prefix]
    nums = np.arange(1, n + 1, dtype=np.int64)
    for k in range(width):
        buf[:, total - 1 - k] = 48 + (nums // 10**k) % 10
    return buf.view(f"U{total}").ravel().astype(object)


def labels(names: list[str] | tuple[str, ...], idx: np.ndarray) -> np.ndarray:
    """Map integer codes to shared Python str objects (cheap even for tens of millions of rows)."""
    return np.array(list(names), dtype=object)[idx]


def volume_profile(ctx: Ctx, params: dict[str, Any]) -> np.ndarray:
    """Expected daily volume (mean 1): trend x yearly seasonality x weekly pattern x noise.

    ``params`` keys: growth_per_year, yearly_amplitude, yearly_peak_doy, weekly_factors (Mon..Sun),
    holiday_boost (multiplier for Nov 20 - Dec 24, optional), daily_noise_sd.
    """
    day = np.arange(ctx.n_days)
    trend = (1 + params["growth_per_year"]) ** (day / 365.25)
    doy = ctx.day_of_year(day)
    yearly = 1 + params["yearly_amplitude"] * np.cos(2 * np.pi * (doy - params["yearly_peak_doy"]) / 365.25)
    weekly = np.asarray(params["weekly_factors"], dtype=float)[ctx.weekday(day)]
    boost = params.get("holiday_boost", 1.0)
    holiday = np.where((doy >= 323) & (doy <= 358), boost, 1.0)
    noise = np.exp(ctx.rng.normal(0, params["daily_noise_sd"], ctx.n_days))
    prof = trend * yearly * weekly * holiday * noise
    return prof / prof.mean()


def spread_over_days(ctx: Ctx, n: int, weights: np.ndarray) -> np.ndarray:
    """Exactly ``n`` event day indices drawn in proportion to ``weights``, sorted."""
    counts = ctx.rng.multinomial(n, weights / weights.sum())
    return np.repeat(np.arange(len(weights)), counts)


def times_in_day(ctx: Ctx, day: np.ndarray, hourly: np.ndarray) -> np.ndarray:
    """Sorted timestamps (int64 us, whole seconds) for events on ``day``, hour drawn from ``hourly``."""
    hour = ctx.rng.choice(24, size=len(day), p=hourly / hourly.sum())
    sec = ctx.rng.integers(0, 3600, len(day))
    us = ctx.day_us(day) + hour.astype(np.int64) * HOUR_US + sec * SEC_US
    us.sort()
    return us


def round_seconds(us: np.ndarray) -> np.ndarray:
    return (us // SEC_US) * SEC_US


def assign_customers(
    ctx: Ctx,
    order_day: np.ndarray,
    *,
    new_share_floor: float,
    ramp_days: float,
    mean_lifetime_days: float,
    propensity_shape: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Give time-sorted orders to customers so that many customers order repeatedly.

    An order is a first order of a new customer with probability
    ``new_share_floor + (1 - new_share_floor) * exp(-day / ramp_days)``; other orders go to an existing
    customer picked in proportion to a gamma-distributed propensity, among customers still "alive"
    (lifetime exponential with mean ``mean_lifetime_days`` after their first order).
    Returns (customer index per order, position of each customer's first order).
    """
    rng = ctx.rng
    n = len(order_day)
    p_new = new_share_floor + (1 - new_share_floor) * np.exp(-order_day / ramp_days)
    is_new = rng.random(n) < p_new
    is_new[0] = True
    cum = np.cumsum(is_new)
    n_cust = int(cum[-1])
    cust = np.empty(n, dtype=np.int64)
    cust[is_new] = cum[is_new] - 1
    first_pos = np.flatnonzero(is_new)
    # Propensity ~ Gamma(shape, 1/shape), bucketed into tiers so a pick is a few gathers, not a search.
    propensity = rng.gamma(propensity_shape, 1 / propensity_shape, n_cust)
    edges = np.quantile(propensity, np.linspace(0, 1, N_TIERS + 1)[1:-1]) if n_cust > N_TIERS else np.array([])
    tier = np.searchsorted(edges, propensity)
    weight = np.array([propensity[tier == k].mean() if (tier == k).any() else 0.0 for k in range(N_TIERS)])
    members = [np.flatnonzero(tier == k) for k in range(N_TIERS)]
    counts_upto = [np.concatenate([[0], np.cumsum(tier == k)]) for k in range(N_TIERS)]
    alive_until = order_day[first_pos] + rng.exponential(mean_lifetime_days, n_cust)
    pending = np.flatnonzero(~is_new)
    known = cum[pending]  # customers created so far (>= 1), nondecreasing
    for _ in range(12):  # the few orders still unplaced after 12 rounds go to their last candidate
        if len(pending) == 0:
            break
        counts = [counts_upto[k][known] for k in range(N_TIERS)]
        total = np.zeros(len(pending))
        for k in range(N_TIERS):
            total += weight[k] * counts[k]
        u = rng.random(len(pending)) * total
        cand = np.zeros(len(pending), dtype=np.int64)
        chosen = np.zeros(len(pending), dtype=bool)
        acc = np.zeros(len(pending))
        for k in range(N_TIERS):
            c_k = counts[k]
            acc += weight[k] * c_k
            pick = ~chosen & (u < acc) & (c_k > 0)
            if pick.any():
                j = (rng.random(int(pick.sum())) * c_k[pick]).astype(np.int64)
                cand[pick] = members[k][j]
            chosen |= pick
        cust[pending] = cand
        ok = order_day[pending] < alive_until[cand]
        pending, known = pending[~ok], known[~ok]
    return cust, first_pos


def frame(name: str, columns: dict[str, Any]) -> pd.DataFrame:
    """Build a frame, coercing columns to the canonical types of dataset ``name`` (if canonical)."""
    dtype = CANONICAL.get(name)
    if dtype is None:
        return pd.DataFrame(columns)
    unknown = set(columns) - {f.name for f in dtype.fields}
    if unknown:
        raise ValueError(f"{name}: columns not in the canonical type: {sorted(unknown)}")
    out: dict[str, np.ndarray] = {}
    for f in dtype.fields:
        if f.name not in columns:
            continue
        values = np.asarray(columns[f.name])
        if f.type is FieldType.TIMESTAMP:
            values = values.astype("datetime64[us]", copy=False)
        elif f.type is FieldType.DATE:
            values = values.astype("datetime64[D]").astype("datetime64[us]")
        elif f.type is FieldType.DECIMAL:
            values = np.round(values.astype(np.float64, copy=False), 2)
        elif f.type is FieldType.INTEGER:
            values = values.astype(np.int64, copy=False)
        elif f.type is FieldType.BOOLEAN:
            values = values.astype(bool, copy=False)
        else:
            values = values.astype(object, copy=False)
        out[f.name] = values
    return pd.DataFrame(out, copy=False)


def daily_sum(day: np.ndarray, values: np.ndarray | None, n_days: int) -> np.ndarray:
    return np.bincount(day, weights=values, minlength=n_days)[:n_days].astype(float)


def month_index(ctx: Ctx, day: np.ndarray) -> np.ndarray:
    d = np.datetime64(ctx.start, "D") + day
    return (d.astype("datetime64[M]") - np.datetime64(ctx.start, "M")).astype(np.int64)


def month_start_days(ctx: Ctx) -> np.ndarray:
    """Day index of the first day of every month in the window."""
    months = np.arange(np.datetime64(ctx.start, "M"), np.datetime64(ctx.end, "M") + 1)
    return (months.astype("datetime64[D]") - np.datetime64(ctx.start, "D")).astype(np.int64)

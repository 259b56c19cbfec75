"""Marketing spend -> web traffic with a planted lag (shared by e-commerce and SaaS)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from headway.demo._common import Ctx, frame, labels

CHANNELS = ("search", "social", "display", "email")
# Daily spend per channel at scale 1, sessions bought per unit of spend, cost per 1000 impressions, click rate.
BASE_SPEND = {"search": 400.0, "social": 250.0, "display": 120.0, "email": 30.0}
SESSIONS_PER_SPEND = {"search": 1.5, "social": 2.0, "display": 3.0, "email": 10.0}
CPM = {"search": 12.0, "social": 6.0, "display": 2.5, "email": 1.0}
CTR = {"search": 0.05, "social": 0.012, "display": 0.004, "email": 0.03}
ORGANIC_BASE = 2400.0
SPEND_NOISE_SD = 0.35
EMAIL_SEND_PROB = 0.3
SPEND_GROWTH_PER_YEAR = 0.2


def expected_daily_sessions(ctx: Ctx, profile: np.ndarray) -> np.ndarray:
    """Expected sessions per day at scale 1 (organic + paid), before noise."""
    day = np.arange(ctx.n_days)
    trend = (1 + SPEND_GROWTH_PER_YEAR) ** (day / 365.25)
    paid = sum(BASE_SPEND[c] * SESSIONS_PER_SPEND[c] for c in CHANNELS) * trend
    return np.asarray(ORGANIC_BASE * profile + paid, dtype=float)


def expected_sessions_per_scale(ctx: Ctx, profile: np.ndarray) -> float:
    """Expected total sessions over the window at scale 1 (to size the business)."""
    return float(expected_daily_sessions(ctx, profile).sum())


def marketing(
    ctx: Ctx, scale: float, profile: np.ndarray, lag: int
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, dict[str, Any]]:
    """Spend per day and channel, and sessions per day and source.

    Paid sessions of source ``c`` on day t ~ Poisson(sessions_per_spend[c] * spend[c][t - lag]);
    organic sessions ~ Poisson(scale * ORGANIC_BASE * profile[t]). Spend itself has no weekly pattern,
    a yearly growth and independent day-to-day lognormal noise, so the lag is identifiable.
    Returns (marketing_spend, web_traffic, total sessions per day, params).
    """
    rng = ctx.rng
    n = ctx.n_days
    day_ext = np.arange(-lag, n)
    trend = (1 + SPEND_GROWTH_PER_YEAR) ** (day_ext / 365.25)
    spend_cols, sess_cols = [], []
    for c in CHANNELS:
        noise = np.exp(rng.normal(-(SPEND_NOISE_SD**2) / 2, SPEND_NOISE_SD, len(day_ext)))
        spend = scale * BASE_SPEND[c] * trend * noise
        if c == "email":
            spend = np.where(rng.random(len(day_ext)) < EMAIL_SEND_PROB, spend / EMAIL_SEND_PROB, 0.0)
        spend = np.round(spend, 2)
        spend_cols.append(spend[lag:])
        sess_cols.append(rng.poisson(SESSIONS_PER_SPEND[c] * spend[:n]))  # spend[t] is day t - lag
    organic = rng.poisson(scale * ORGANIC_BASE * profile)
    spend_m = np.stack(spend_cols, axis=1)  # days x channels
    day = np.arange(n)
    n_ch = len(CHANNELS)
    impressions = np.zeros_like(spend_m, dtype=np.int64)
    clicks = np.zeros_like(impressions)
    for j, c in enumerate(CHANNELS):
        impressions[:, j] = rng.poisson(spend_m[:, j] / CPM[c] * 1000)
        clicks[:, j] = rng.binomial(impressions[:, j], CTR[c])
    spend_df = frame(
        "marketing_spend",
        {
            "date": ctx.dates(np.repeat(day, n_ch)),
            "channel": labels(CHANNELS, np.tile(np.arange(n_ch), n)),
            "spend": spend_m.ravel(),
            "impressions": impressions.ravel(),
            "clicks": clicks.ravel(),
        },
    )
    sources = ("organic", *CHANNELS)
    sess_m = np.stack([organic, *sess_cols], axis=1)
    users = rng.binomial(sess_m, 0.78)
    n_src = len(sources)
    traffic_df = frame(
        "web_traffic",
        {
            "date": ctx.dates(np.repeat(day, n_src)),
            "sessions": sess_m.ravel(),
            "users": users.ravel(),
            "source": labels(sources, np.tile(np.arange(n_src), n)),
        },
    )
    params = {
        "spend_to_sessions_lag_days": lag,
        "sessions_per_spend": dict(SESSIONS_PER_SPEND),
        "base_daily_spend": {c: round(scale * v, 2) for c, v in BASE_SPEND.items()},
        "spend_noise_sd": SPEND_NOISE_SD,
        "spend_growth_per_year": SPEND_GROWTH_PER_YEAR,
        "organic_base_sessions": round(scale * ORGANIC_BASE, 2),
    }
    return spend_df, traffic_df, sess_m.sum(axis=1), params

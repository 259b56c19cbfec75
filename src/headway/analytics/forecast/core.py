"""``forecast()``: the automatic forecaster with intervals, fallback, exogenous regressors and a backtest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from headway.analytics.forecast.metrics import mase, smape
from headway.analytics.forecast.models import MODELS, ForecastModel, Prediction, ordered
from headway.analytics.forecast.series import History, read_history

INTERMITTENT_ZERO_SHARE = 0.3
"""A non-negative series with at least this share of zeros is intermittent (Croston / TSB)."""


@dataclass
class Forecast:
    """A series projected forward: mean and interval bounds per level, all indexed by future period start."""

    mean: pd.Series
    lower: dict[int, pd.Series]
    upper: dict[int, pd.Series]
    model: str
    accuracy: dict[str, Any] | None
    fallback_used: bool
    notes: list[str] = field(default_factory=list)
    history: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    period_word: str = "period"
    non_negative: bool = False

    @property
    def horizon(self) -> int:
        return len(self.mean)

    def paths(self, n: int = 1000, seed: int = 0) -> np.ndarray:
        """``n`` simulated future paths, shape (n, horizon). Each step's spread matches the widest interval
        (two-sided, so skewed intervals stay skewed); steps are correlated like a random walk's
        errors (corr(step i, step j) = sqrt(i/j)), as forecast errors accumulate."""
        if not self.lower:
            raise ValueError("this forecast has no intervals (levels=()), so it cannot simulate paths")
        level = max(self.lower)
        z = float(norm.ppf(0.5 + level / 200))
        mean = self.mean.to_numpy()
        below = (mean - self.lower[level].to_numpy()) / z
        above = (self.upper[level].to_numpy() - mean) / z
        rng = np.random.default_rng(seed)
        steps = np.cumsum(rng.standard_normal((n, self.horizon)), axis=1) / np.sqrt(np.arange(1, self.horizon + 1))
        out = mean + np.where(steps < 0, below, above) * steps
        return np.maximum(out, 0.0) if self.non_negative else out

    def describe_accuracy(self) -> str:
        """The backtest accuracy in plain words, e.g. "typically within ±6% a month ahead"."""
        if not self.accuracy:
            return "accuracy not yet known: the history is too short to test the forecast on past data"
        h = self.accuracy["horizon"]
        if self.non_negative and np.isfinite(self.accuracy["ape_first"]):
            first, last, unit = self.accuracy["ape_first"], self.accuracy["ape_last"], "%"
        else:
            # values at or below zero make percentages meaningless: say the typical error in the KPI's units
            first, last, unit = self.accuracy["ae_first"], self.accuracy["ae_last"], ""
        shown = (lambda x: f"{x:.0f}%") if unit else _amount
        words = f"typically within ±{shown(first)} a {self.period_word} ahead"
        if h > 1 and np.isfinite(last):
            words += f", ±{shown(last)} {h} {self.period_word}s ahead"
        return words

    def to_frame(self) -> pd.DataFrame:
        """One row per future period: mean, lower_80, upper_80, lower_95, upper_95 ..."""
        cols: dict[str, pd.Series] = {"mean": self.mean}
        for level in sorted(self.lower):
            cols[f"lower_{level}"] = self.lower[level]
            cols[f"upper_{level}"] = self.upper[level]
        frame = pd.DataFrame(cols)
        frame.index.name = "period"
        return frame


def _amount(x: float) -> str:
    """0 decimals for large amounts, 3 significant digits for small ones."""
    return f"{x:,.0f}" if abs(x) >= 10 or x == 0 else f"{x:.3g}"


def _choose(history: History, model: str | ForecastModel, exog: bool) -> ForecastModel:
    if isinstance(model, ForecastModel):
        return model
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    y = history.values
    if model == "auto" and not exog and np.all(y >= 0) and np.mean(y == 0) >= INTERMITTENT_ZERO_SHARE:
        return MODELS["tsb"]()
    if model == "auto" and len(y) < 4:
        return MODELS["naive"]()
    return MODELS[model]()


def _regress(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    design = np.column_stack([np.ones(len(y)), x])
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    return np.asarray(beta)


def _fit_predict(
    chosen: ForecastModel,
    y: np.ndarray,
    m: int,
    h: int,
    levels: Sequence[int],
    exog: np.ndarray | None,
    future_exog: np.ndarray | None,
) -> Prediction:
    """Fit and predict; with regressors, a linear regression on them and the model on its residuals."""
    if exog is None or future_exog is None:
        p = chosen.fit(y, m).predict(h, levels)
    else:
        beta = _regress(y, exog)
        effect = np.column_stack([np.ones(len(y)), exog]) @ beta
        future_effect = np.column_stack([np.ones(h), future_exog]) @ beta
        p = chosen.fit(y - effect, m).predict(h, levels).map(lambda a: a + future_effect)
    if not np.all(np.isfinite(p.mean)) or any(not np.all(np.isfinite(v)) for v in [*p.lower.values()]):
        raise RuntimeError("the model produced non-finite values")
    return p


def _fallback(y: np.ndarray, m: int, h: int, levels: Sequence[int]) -> tuple[Prediction, str]:
    """Seasonal naive (naive when under one season); if even that fails, the mean with a ±z·sd band."""
    name = "seasonal_naive" if len(y) > m > 1 else "naive"
    try:
        return _fit_predict(MODELS[name](), y, m, h, levels, None, None), name.replace("_", " ")
    except Exception:  # the last resort below cannot fail
        mean = np.full(h, float(np.mean(y)))
        sd = float(np.std(y)) or abs(float(np.mean(y))) * 0.1
        z = {lv: float(norm.ppf(0.5 + lv / 200)) for lv in levels}
        return Prediction(mean, {lv: mean - z[lv] * sd for lv in levels}, {lv: mean + z[lv] * sd for lv in levels}), (
            "historical mean"
        )


def _backtest(
    chosen: ForecastModel,
    history: History,
    horizon: int,
    exog: np.ndarray | None,
) -> dict[str, Any] | None:
    """Rolling origin: up to three origins, each forecasting ``h`` steps from the data before it."""
    y, m = history.values, history.season_length
    n = len(y)
    h = max(1, min(horizon, m if m > 1 else horizon, n // 4))
    origins = [n - h - k * max(1, h // 2) for k in range(3)]
    origins = [o for o in origins if o >= max(4, n // 2)]
    if not origins:
        return None
    smapes, mases, first, last = [], [], [], []
    abs_first: list[float] = []
    abs_last: list[float] = []
    for o in origins:
        x_train = None if exog is None else exog[:o]
        x_test = None if exog is None else exog[o : o + h]
        p = _fit_predict(chosen, y[:o], m, h, (), x_train, x_test)
        actual = y[o : o + h]
        smapes.append(smape(actual, p.mean))
        mases.append(mase(actual, p.mean, y[:o], m))
        error = np.abs(actual - p.mean)
        ape = error / np.where(actual > 0, actual, np.nan)
        first.append(ape[0])
        last.append(ape[-1])
        abs_first.append(error[0])
        abs_last.append(error[-1])

    def mean_of(v: list[float]) -> float:
        arr = np.asarray(v, dtype=float)
        return float(np.nanmean(arr) * (100 if v is first or v is last else 1)) if np.isfinite(arr).any() else np.nan

    return {
        "smape": mean_of(smapes),
        "mase": mean_of(mases),
        "horizon": h,
        "origins": len(origins),
        "ape_first": mean_of(first),
        "ape_last": mean_of(last),
        "ae_first": mean_of(abs_first),
        "ae_last": mean_of(abs_last),
    }


def forecast(
    y: pd.Series,
    horizon: int,
    season_length: int | None = None,
    levels: tuple[int, ...] = (80, 95),
    exog: pd.DataFrame | None = None,
    future_exog: pd.DataFrame | None = None,
    *,
    model: str | ForecastModel = "auto",
    backtest: bool = True,
) -> Forecast:
    """Forecast ``horizon`` periods of ``y`` (values indexed by period start) with intervals at ``levels``.

    ``model`` is "auto" (the median combination; Croston/TSB-type for intermittent series; naive under 4
    values), any name in ``MODELS`` or a ``ForecastModel``. When the fit raises, a seasonal naive forecast
    is used instead and ``fallback_used`` is set. ``exog`` (same index as ``y``) and ``future_exog`` (one
    row per future period) add regressors. ``backtest`` measures accuracy by rolling origin.
    """
    if horizon < 1:
        raise ValueError("horizon must be at least 1")
    if any(not 0 < lv < 100 for lv in levels):
        raise ValueError("interval levels are percentages between 0 and 100")
    history = read_history(y, season_length)
    notes = list(history.notes)
    future = history.future(horizon)
    x_hist, x_future = _exog_arrays(history, exog, future_exog, horizon)
    values, m = history.values, history.season_length
    if len(values) < 2 * m and m > 1:
        notes.append(f"history shorter than two seasons ({len(values)} < {2 * m} periods): no seasonal pattern used")
    chosen = _choose(history, model, x_hist is not None)
    fallback_used = False
    name = chosen.name
    try:
        p = _fit_predict(chosen, values, m, horizon, levels, x_hist, x_future)
    except Exception as exc:  # any failure of a model leads to the fallback, and says why
        p, name = _fallback(values, m, horizon, levels)
        fallback_used = True
        notes.append(f"{chosen.name} failed ({exc}); fell back to {name}")
    failed = getattr(chosen, "failed", None) or getattr(getattr(chosen, "inner", None), "failed", None)
    if failed:
        notes.append("left out of the combination: " + "; ".join(failed))
    if x_hist is not None:
        notes.append(f"regressors: {', '.join(map(str, exog.columns))}" if exog is not None else "regressors")
    non_negative = bool(np.all(values >= 0))
    p = ordered(p, 0.0 if non_negative else None)
    accuracy = None
    if backtest and not fallback_used:
        try:
            accuracy = _backtest(chosen, history, horizon, x_hist)
        except Exception as exc:  # a failed backtest leaves the accuracy unknown, not the forecast
            notes.append(f"backtest failed: {exc}")
    if backtest and accuracy is None and not fallback_used:
        notes.append("history too short for a backtest")

    def series(a: np.ndarray) -> pd.Series:
        return pd.Series(a, index=future, dtype=float)

    return Forecast(
        mean=series(p.mean),
        lower={lv: series(v) for lv, v in p.lower.items()},
        upper={lv: series(v) for lv, v in p.upper.items()},
        model=name,
        accuracy=accuracy,
        fallback_used=fallback_used,
        notes=notes,
        history=pd.Series(values, index=history.index),
        period_word=history.period_word,
        non_negative=non_negative,
    )


def _exog_arrays(
    history: History, exog: pd.DataFrame | None, future_exog: pd.DataFrame | None, horizon: int
) -> tuple[np.ndarray | None, np.ndarray | None]:
    if exog is None and future_exog is None:
        return None, None
    if exog is None or future_exog is None:
        raise ValueError("regressors need both exog (the past) and future_exog (the forecast periods)")
    if list(exog.columns) != list(future_exog.columns):
        raise ValueError(
            f"exog columns {list(exog.columns)} differ from future_exog columns {list(future_exog.columns)}"
        )
    past = exog.reindex(history.index)
    missing = past.index[past.isna().any(axis=1)]
    if len(missing):
        raise ValueError(f"exog has no value for the period {missing[0].date()} ({len(missing)} period(s) missing)")
    if len(future_exog) < horizon:
        raise ValueError(f"future_exog has {len(future_exog)} rows; the horizon needs {horizon}")
    fut = future_exog.iloc[:horizon]
    if fut.isna().any().any():
        raise ValueError("future_exog has missing values")
    return past.to_numpy(dtype=float), fut.to_numpy(dtype=float)

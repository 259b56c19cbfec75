"""One contract for every forecasting model: ``fit(y, season_length)`` then ``predict(h, levels)``.

The model families come from statsforecast; this module only adapts them to the contract, adds the
seasonal-adjustment / log wrapper and the median combination that the automatic forecaster uses.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import norm
from statsforecast import models as sf

from headway.analytics.forecast.seasonality import SeasonalAdjustment


@dataclass(frozen=True)
class Prediction:
    """A point forecast with its prediction intervals, keyed by level in percent."""

    mean: np.ndarray
    lower: dict[int, np.ndarray] = field(default_factory=dict)
    upper: dict[int, np.ndarray] = field(default_factory=dict)

    def map(self, fn: Callable[[np.ndarray], np.ndarray]) -> Prediction:
        """Apply a monotone increasing transform to every array (keeps the interval order)."""
        return Prediction(
            fn(self.mean), {k: fn(v) for k, v in self.lower.items()}, {k: fn(v) for k, v in self.upper.items()}
        )


def ordered(p: Prediction, floor: float | None = None) -> Prediction:
    """Force lower95 <= lower80 <= mean <= upper80 <= upper95 (and an optional floor, e.g. 0)."""
    mean = p.mean if floor is None else np.maximum(p.mean, floor)
    lower: dict[int, np.ndarray] = {}
    upper: dict[int, np.ndarray] = {}
    inner_lo, inner_hi = mean, mean
    for level in sorted(p.lower):
        lo = np.minimum(p.lower[level], inner_lo)
        hi = np.maximum(p.upper[level], inner_hi)
        if floor is not None:
            lo = np.maximum(lo, floor)
        lower[level], upper[level] = lo, hi
        inner_lo, inner_hi = lo, hi
    return Prediction(mean, lower, upper)


class ForecastModel(ABC):
    """Fit on a history, then predict ``h`` steps with intervals at ``levels``."""

    name: str = "model"

    def __init__(self) -> None:
        self.y: np.ndarray = np.zeros(0)
        self.season_length = 1

    def fit(self, y: np.ndarray, season_length: int = 1) -> ForecastModel:
        self.y = np.asarray(y, dtype=float)
        self.season_length = season_length
        return self

    @abstractmethod
    def predict(self, h: int, levels: Sequence[int] = (80, 95)) -> Prediction: ...


class StatsForecastModel(ForecastModel):
    """A statsforecast model; ``make(season_length)`` builds it, so one instance can be refitted."""

    def __init__(self, name: str, make: Callable[[int], Any], seasonal: bool = True):
        super().__init__()
        self.name = name
        self.make = make
        self.seasonal = seasonal

    def predict(self, h: int, levels: Sequence[int] = (80, 95)) -> Prediction:
        model = self.make(self.season_length if self.seasonal else 1)
        with np.errstate(divide="ignore", invalid="ignore"):  # statsforecast's variance on tiny series
            out = model.forecast(y=self.y, h=h, level=list(levels) or None)
        mean = np.asarray(out["mean"], dtype=float)
        lower = {lv: np.asarray(out[f"lo-{lv}"], dtype=float) for lv in levels}
        upper = {lv: np.asarray(out[f"hi-{lv}"], dtype=float) for lv in levels}
        return Prediction(mean, lower, upper)


class IntermittentModel(StatsForecastModel):
    """Croston / TSB: point forecasts of the demand rate; intervals from the spread of past demand per period."""

    def predict(self, h: int, levels: Sequence[int] = (80, 95)) -> Prediction:
        mean = np.asarray(self.make(1).forecast(y=self.y, h=h)["mean"], dtype=float)
        sd = float(np.std(self.y, ddof=1)) if len(self.y) > 1 else 0.0
        z = {lv: float(norm.ppf(0.5 + lv / 200)) for lv in levels}
        return Prediction(mean, {lv: mean - z[lv] * sd for lv in levels}, {lv: mean + z[lv] * sd for lv in levels})


class Adjusted(ForecastModel):
    """Seasonally adjust (classical decomposition when the 90% test passes), optionally in logs, then
    forecast the adjusted series with a non-seasonal model and put the season back (``shrink``: see
    ``SeasonalAdjustment``)."""

    def __init__(self, inner: ForecastModel, log: bool = True, name: str | None = None, shrink: float = 0.0):
        super().__init__()
        self.inner = inner
        self.log = log
        self.shrink = shrink
        self.name = name or f"{inner.name} (seasonally adjusted)"

    def predict(self, h: int, levels: Sequence[int] = (80, 95)) -> Prediction:
        adjustment = SeasonalAdjustment(self.y, self.season_length, self.shrink)
        x = adjustment.adjust(self.y)
        use_log = self.log and bool(np.all(x > 0))
        self.inner.fit(np.log(x) if use_log else x, 1)
        p = self.inner.predict(h, levels)
        if use_log:
            p = p.map(np.exp)
        return p.map(adjustment.restore)


class Median(ForecastModel):
    """Median of several models' forecasts and interval bounds; members that fail are left out."""

    def __init__(self, members: Sequence[ForecastModel], name: str = "median combination"):
        super().__init__()
        self.members = list(members)
        self.name = name
        self.failed: list[str] = []

    def predict(self, h: int, levels: Sequence[int] = (80, 95)) -> Prediction:
        preds: list[Prediction] = []
        self.failed = []
        for member in self.members:
            try:
                p = member.fit(self.y, self.season_length).predict(h, levels)
            except Exception as exc:  # a member that cannot fit is simply not in the median
                self.failed.append(f"{member.name}: {exc}")
                continue
            if np.all(np.isfinite(p.mean)):
                preds.append(p)
            else:
                self.failed.append(f"{member.name}: non-finite forecast")
        if not preds:
            raise RuntimeError("every member of the combination failed: " + "; ".join(self.failed))
        return Prediction(
            np.median([p.mean for p in preds], axis=0),
            {lv: np.median([p.lower[lv] for p in preds], axis=0) for lv in levels},
            {lv: np.median([p.upper[lv] for p in preds], axis=0) for lv in levels},
        )


SEASONAL_SHRINK = 2.0
"""The automatic forecaster damps a noisy seasonal pattern by the factor 1 - 2/F (``SeasonalAdjustment``); the 2
was chosen on a validation window (the 18 points before the M3 hold-out) among 0.5-3, never on the hold-out
(docs/benchmarks.md)."""


def auto_model() -> ForecastModel:
    """The automatic forecaster: on the seasonally adjusted series in logs, the median of damped-trend ETS,
    automatic non-seasonal ETS, the dynamic optimised and dynamic standard theta methods and complex
    exponential smoothing (docs/forecasting.md says why these five)."""
    members: list[ForecastModel] = [
        StatsForecastModel("damped ETS", lambda m: sf.AutoETS(model="AAN", damped=True), seasonal=False),
        StatsForecastModel("ETS", lambda m: sf.AutoETS(model="ZZN"), seasonal=False),
        StatsForecastModel("DOTM", lambda m: sf.DynamicOptimizedTheta(), seasonal=False),
        StatsForecastModel("DSTM", lambda m: sf.DynamicTheta(), seasonal=False),
        StatsForecastModel("CES", lambda m: sf.AutoCES(), seasonal=False),
    ]
    return Adjusted(
        Median(members), log=True, name="median of ETS, damped ETS, DOTM, DSTM, CES", shrink=SEASONAL_SHRINK
    )


def _family(name: str, make: Callable[[int], Any]) -> Callable[[], ForecastModel]:
    return lambda: StatsForecastModel(name, make)


MODELS: dict[str, Callable[[], ForecastModel]] = {
    "auto": auto_model,
    "naive": _family("naive", lambda m: sf.Naive()),
    "seasonal_naive": _family("seasonal naive", lambda m: sf.SeasonalNaive(season_length=m)),
    "ets": _family("AutoETS", lambda m: sf.AutoETS(season_length=m)),
    "damped_ets": lambda: Adjusted(
        StatsForecastModel("damped ETS", lambda m: sf.AutoETS(model="AAN", damped=True), seasonal=False), log=False
    ),
    "theta": _family("Theta", lambda m: sf.Theta(season_length=m)),
    "dotm": _family("DynamicOptimizedTheta", lambda m: sf.DynamicOptimizedTheta(season_length=m)),
    "ces": _family("AutoCES", lambda m: sf.AutoCES(season_length=m)),
    "arima": _family("AutoARIMA", lambda m: sf.AutoARIMA(season_length=m)),
    "croston": lambda: IntermittentModel("Croston (optimised)", lambda m: sf.CrostonOptimized(), seasonal=False),
    "tsb": lambda: IntermittentModel("TSB", lambda m: sf.TSB(alpha_d=0.1, alpha_p=0.1), seasonal=False),
}
"""Every model by name: ``MODELS[name]()`` gives a fresh, unfitted instance."""

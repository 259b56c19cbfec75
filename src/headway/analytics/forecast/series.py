"""Reading a KPI series: a regular period index, its frequency, the season length and the future periods."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

_SEASONS = {"D": 7, "W": 52, "M": 12, "Q": 4, "Y": 1, "A": 1}
_PERIOD_WORDS = {"D": "day", "W": "week", "M": "month", "Q": "quarter", "Y": "year", "A": "year"}


@dataclass(frozen=True)
class History:
    values: np.ndarray
    index: pd.DatetimeIndex
    freq: str
    season_length: int
    notes: tuple[str, ...]

    @property
    def period_word(self) -> str:
        return _PERIOD_WORDS.get(_kind(self.freq), "period")

    def future(self, horizon: int) -> pd.DatetimeIndex:
        offset = pd.tseries.frequencies.to_offset(self.freq)
        return pd.date_range(self.index[-1] + offset, periods=horizon, freq=self.freq)


def _kind(freq: str) -> str:
    return freq.split("-")[0].rstrip("SE").upper()[:1] or "D"


def read_history(y: pd.Series, season_length: int | None) -> History:
    """Check and clean a series: sorted DatetimeIndex of a regular frequency; interior gaps interpolated
    (said in the notes), leading and trailing empty periods dropped. Raises ValueError saying what is wrong."""
    if not isinstance(y, pd.Series):
        raise TypeError("forecast() needs a pandas Series indexed by period start")
    if not isinstance(y.index, pd.DatetimeIndex):
        raise ValueError("the series must be indexed by dates (a DatetimeIndex of period starts)")
    if y.index.has_duplicates:
        raise ValueError(f"the period {y.index[y.index.duplicated()][0].date()} appears more than once")
    y = pd.to_numeric(y.sort_index(), errors="coerce").astype(float)
    notes: list[str] = []
    freq = y.index.freq.freqstr if y.index.freq is not None else (pd.infer_freq(y.index) if len(y) >= 3 else None)
    if freq is None:
        raise ValueError(
            "the periods are not evenly spaced (daily, weekly, monthly, quarterly or yearly); "
            f"first periods: {[str(d.date()) for d in y.index[:4]]}"
        )
    y = y.asfreq(freq)
    valid = y.notna().to_numpy()
    if not valid.any():
        raise ValueError("the series has no values")
    first, last = int(np.argmax(valid)), len(y) - int(np.argmax(valid[::-1])) - 1
    if first > 0 or last < len(y) - 1:
        notes.append(f"{first + len(y) - 1 - last} empty period(s) at the start or end left out")
    y = y.iloc[first : last + 1]
    gaps = int(y.isna().sum())
    if gaps:
        notes.append(f"{gaps} missing period(s) inside the history filled by linear interpolation")
        y = y.interpolate()
    if len(y) < 2:
        raise ValueError("at least 2 values are needed to forecast")
    m = season_length if season_length is not None else _SEASONS.get(_kind(freq), 1)
    if m < 1:
        raise ValueError("season_length must be at least 1")
    idx = pd.DatetimeIndex(y.index)
    return History(y.to_numpy(dtype=float), idx, freq, m, tuple(notes))

"""Forecasting KPI series (Django-free): one model contract over statsforecast's families, an automatic
median combination on seasonally adjusted data, intervals, fallback, regressors and backtest accuracy.

    >>> from headway.analytics.forecast import forecast
    >>> fc = forecast(series, horizon=12)
    >>> fc.mean, fc.lower[80], fc.upper[95], fc.describe_accuracy(), fc.paths(1000)
"""

from headway.analytics.forecast.core import Forecast, forecast
from headway.analytics.forecast.metrics import mase, smape
from headway.analytics.forecast.models import MODELS, ForecastModel, Prediction

__all__ = ["MODELS", "Forecast", "ForecastModel", "Prediction", "forecast", "mase", "smape"]

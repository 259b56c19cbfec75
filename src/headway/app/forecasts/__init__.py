"""Forecasts of KPI series: stored with their backtest accuracy, refreshed after data refresh, shown as fan charts."""

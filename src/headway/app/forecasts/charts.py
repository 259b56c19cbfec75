"""The fan chart: history as a line, the forecast as a dashed line inside its 80% and 95% bands."""

from __future__ import annotations

from typing import Any

import altair as alt

from headway.app.kpis.charts import DATASET, _utc_x, axis_format, with_rows
from headway.engine.spec import Kpi

BLUE, GREY = "#0a58ca", "#6e7781"


def fan_spec(rows: list[dict[str, Any]], kpi: Kpi, decimals: int, unit_title: str) -> dict[str, Any]:
    """A KPI's fan chart. ``rows``: period (ISO), part ("Actual" or "Forecast"), value, lower_80, upper_80,
    lower_95, upper_95 (bounds only on forecast rows), shown (formatted value), band (formatted 80% range),
    label (period)."""
    described = f"{kpi.name}: actual values and the forecast with its 80% and 95% ranges (the table lists them)"
    return fan_chart(rows, axis_format(kpi, decimals), unit_title, "Value", described)


def fan_chart(
    rows: list[dict[str, Any]], y_format: str, unit_title: str, value_title: str, description: str
) -> dict[str, Any]:
    """History as a line, the forecast dashed inside its 80% and 95% bands (KPI forecasts, product demand)."""
    base = alt.Chart(alt.NamedData(name=DATASET))

    def y_axis(field: str) -> alt.Y:
        return alt.Y(f"{field}:Q", title=unit_title, axis=alt.Axis(format=y_format))

    tooltip = [
        alt.Tooltip("label:N", title="Period"),
        alt.Tooltip("part:N", title="Series"),
        alt.Tooltip("shown:N", title=value_title),
        alt.Tooltip("band:N", title="80% range"),
    ]
    forecast_only = base.transform_filter("datum.part === 'Forecast'")
    band95 = forecast_only.mark_area(color=BLUE, opacity=0.12).encode(x=_utc_x(), y=y_axis("lower_95"), y2="upper_95")
    band80 = forecast_only.mark_area(color=BLUE, opacity=0.25).encode(x=_utc_x(), y=y_axis("lower_80"), y2="upper_80:Q")
    line = base.mark_line(strokeWidth=2, point=len(rows) <= 60).encode(
        x=_utc_x(),
        y=y_axis("value"),
        color=alt.Color(
            "part:N",
            scale=alt.Scale(domain=["Actual", "Forecast"], range=[BLUE, GREY]),
            legend=alt.Legend(orient="bottom", title=None),
        ),
        # The colour's legend again (not legend=None): one legend, dashed like the lines, no Vega warning.
        strokeDash=alt.StrokeDash(
            "part:N",
            scale=alt.Scale(domain=["Actual", "Forecast"], range=[[1, 0], [5, 4]]),
            legend=alt.Legend(orient="bottom", title=None),
        ),
        tooltip=tooltip,
    )
    chart = alt.layer(band95, band80, line).properties(width="container", height=260, description=description)
    return with_rows(chart, rows)

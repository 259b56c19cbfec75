"""Charts of KPI series: a server-rendered SVG sparkline, and Vega-Lite specs built with Altair.

Each chart comes with a text alternative (a table on the page or an ``aria-label``);
the specs are shown by the vendored vega-embed, with the organisation's number format.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from headway.engine.spec import Kpi, Unit

SPARK_WIDTH, SPARK_HEIGHT, SPARK_PAD = 120, 32, 3
DATASET = "series"
MAX_MARKED_POINTS = 60


def sparkline_svg(values: Sequence[float | None], label: str) -> SafeString:
    """A small line of ``values`` (gaps where unknown), last point marked; ``label`` describes it for screen readers."""
    known = [v for v in values if v is not None]
    if len(known) < 2:
        return mark_safe("")
    lo, hi = min(known), max(known)
    span = (hi - lo) or 1.0
    step = (SPARK_WIDTH - 2 * SPARK_PAD) / max(len(values) - 1, 1)
    path, pen_down, last = [], False, (0.0, 0.0)
    for i, v in enumerate(values):
        if v is None:
            pen_down = False
            continue
        x = SPARK_PAD + i * step
        y = SPARK_HEIGHT - SPARK_PAD - (v - lo) / span * (SPARK_HEIGHT - 2 * SPARK_PAD)
        if hi == lo:
            y = SPARK_HEIGHT / 2
        path.append(f"{'L' if pen_down else 'M'}{x:.1f} {y:.1f}")
        pen_down, last = True, (x, y)
    return mark_safe(
        f'<svg class="spark" viewBox="0 0 {SPARK_WIDTH} {SPARK_HEIGHT}" width="{SPARK_WIDTH}" height="{SPARK_HEIGHT}"'
        f' role="img" aria-label="{escape(label)}" focusable="false">'
        f'<path d="{" ".join(path)}" fill="none" stroke="currentColor" stroke-width="1.5"'
        ' stroke-linejoin="round" stroke-linecap="round"/>'
        f'<circle cx="{last[0]:.1f}" cy="{last[1]:.1f}" r="2.5" fill="currentColor"/></svg>'
    )


def with_rows(chart: alt.TopLevelMixin, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The spec with its data added after validation: Altair would otherwise check every row against the schema."""
    spec = chart.to_dict()
    spec["datasets"] = {DATASET: rows}
    return spec


def axis_format(kpi: Kpi, decimals: int) -> str:
    """A d3 format for the value axis (the locale supplies separators and the currency symbol)."""
    if kpi.unit is Unit.PERCENT:
        return f".{min(decimals, 1)}~%"
    if kpi.unit is Unit.CURRENCY:
        return "$,.0f" if decimals == 0 else "$,.2~f"
    return f",.{min(decimals, 2)}~f"


# Labels read "Jan 2024": ticks closer than a month apart would repeat a label ("Jan 2024 Jan 2024").
MONTH_MS = 28 * 24 * 3600 * 1000


def _utc_x(title: str | None = None) -> alt.X:
    # Periods are calendar dates: read and show them in UTC so no browser time zone moves them a day.
    axis = alt.Axis(format="%b %Y", labelOverlap=True, tickMinStep=MONTH_MS)
    return alt.X("period:T", timeUnit="utcyearmonthdate", title=title, axis=axis)


def trend_spec(rows: list[dict[str, Any]], kpi: Kpi, decimals: int, unit_title: str) -> dict[str, Any]:
    """Line chart of the KPI (and its comparison series, dashed) over time; the partial period is ringed.

    ``rows``: period (ISO date), series (legend label), value, shown (formatted value), label (period), partial,
    and ``anomaly`` (the surprise in words) on unusual periods, drawn as red diamonds.
    """
    base = alt.Chart(alt.NamedData(name=DATASET))
    tooltip = [
        alt.Tooltip("label:N", title="Period"),
        alt.Tooltip("series:N", title="Series"),
        alt.Tooltip("shown:N", title="Value"),
    ]
    series_names = list(dict.fromkeys(r["series"] for r in rows))
    dense = len(rows) > 2 * MAX_MARKED_POINTS  # two series: markers only when they stay readable
    line = base.mark_line(point=not dense, strokeWidth=2).encode(
        x=_utc_x(),
        y=alt.Y("value:Q", title=unit_title, axis=alt.Axis(format=axis_format(kpi, decimals))),
        color=alt.Color(
            "series:N",
            scale=alt.Scale(domain=series_names, range=["#0a58ca", "#6e7781"]),
            legend=alt.Legend(orient="bottom", title=None),
        ),
        # The same legend as the colour (not legend=None): one legend, its symbols dashed like the lines,
        # and no "conflicting legend property" warning in the browser console.
        strokeDash=alt.StrokeDash(
            "series:N",
            scale=alt.Scale(domain=series_names, range=[[1, 0], [5, 4]]),
            legend=alt.Legend(orient="bottom", title=None),
        ),
        tooltip=tooltip,
    )
    partial = (
        base.transform_filter("datum.partial")
        .mark_point(size=140, filled=False, strokeWidth=2, color="#9a6700")
        .encode(x=_utc_x(), y="value:Q", tooltip=tooltip)
    )
    unusual = (
        base.transform_filter("datum.anomaly")
        .mark_point(size=160, shape="diamond", filled=True, color="#cf222e")
        .encode(x=_utc_x(), y="value:Q", tooltip=[*tooltip, alt.Tooltip("anomaly:N", title="Anomaly")])
    )
    # A marker layer with nothing to mark is left out: its empty extent makes Vega warn in the console.
    layers = [line] + [partial] * any(r.get("partial") for r in rows) + [unusual] * any(r.get("anomaly") for r in rows)
    chart = alt.layer(*layers).properties(
        width="container", height=260, description=f"{kpi.name} over time (the table below lists every value)"
    )
    return with_rows(chart, rows)


def breakdown_spec(rows: list[dict[str, Any]], kpi: Kpi, decimals: int, dimension: str, period: str) -> dict[str, Any]:
    """Horizontal bars of the KPI per dimension value for one period. ``rows``: name, value, shown."""
    chart = (
        alt.Chart(alt.NamedData(name=DATASET))
        .mark_bar(color="#0a58ca")
        .encode(
            y=alt.Y("name:N", sort="-x", title=dimension.replace("_", " ").capitalize()),
            x=alt.X(
                "value:Q",
                title=f"{kpi.name}, {period}",
                axis=alt.Axis(format=axis_format(kpi, decimals), tickCount=5),
            ),
            tooltip=[alt.Tooltip("name:N", title=dimension), alt.Tooltip("shown:N", title="Value")],
        )
        .properties(
            width="container",
            height=max(60, 24 * len(rows)),
            description=f"{kpi.name} by {dimension} in {period} (the table lists every value)",
        )
    )
    return with_rows(chart, rows)

"""Computing an organisation's demand forecasts from its warehouse (run by the ``insights.demand`` job only).

Every variant the page offers is stored: weekly (up to 13 weeks ahead) and monthly (up to 12 months), each
for products alone and, when the order lines or orders carry a channel, for products split by channel.
The page shows the first ``horizon`` periods the user picks: the forecast of a period does not depend on
how many come after it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pandas as pd
from django.db import transaction

from headway.analytics.demand import INTERVALS, DemandForecast, forecast_demand
from headway.app.accounts.models import Organization
from headway.app.insights.models import DemandReport
from headway.app.kpis.models import Dataset
from headway.engine.warehouse import DuckDBWarehouse, quote_ident

log = logging.getLogger(__name__)

INPUTS = ("order_lines", "orders", "products")


@dataclass(frozen=True)
class Grain:
    name: str
    freq: str
    horizon: int
    """The most periods ahead stored."""
    horizons: tuple[int, ...]
    """The choices on the page."""
    default: int
    history: int
    """Periods of history kept for the chart."""


GRAINS = {
    "week": Grain("week", "W-MON", 13, (4, 8, 13), 8, 52),
    "month": Grain("month", "MS", 12, (3, 6, 12), 6, 36),
}
SPLITS = ("", "channel")


def has_order_lines(org: Organization) -> bool:
    return org.datasets.filter(dataset_type="order_lines").exists()


def load_inputs(org: Organization) -> dict[str, pd.DataFrame]:
    """The org's order_lines, orders and products tables (those present), by canonical type."""
    wanted = {d.dataset_type: d.name for d in Dataset.objects.filter(org=org, dataset_type__in=INPUTS)}
    path = org.warehouse_path()
    if not wanted or not path.exists():
        return {}
    wh = DuckDBWarehouse(path, read_only=True)
    try:
        tables = set(wh.tables())
        return {t: wh.query(f"SELECT * FROM {quote_ident(n)}") for t, n in wanted.items() if n in tables}
    finally:
        wh.close()


def _series(values: object) -> list[float]:
    return [round(float(v), 4) for v in pd.Series(values).tolist()]


def _nodes(fc: DemandForecast, names: dict[str, str], keep: int) -> list[dict[str, object]]:
    """One entry per node, top-down: its name, parent, last ``keep`` history values, forecast and bounds."""
    summing = fc.summing
    category_of = {  # bottom series -> its category
        column: key.split(":", 1)[1]
        for key, row in summing.iterrows()
        if key.startswith("category:")
        for column in row.index[row > 0]
    }
    parent_of: dict[str, str] = {}
    for key, row in summing.iterrows():
        level, node = key.split(":", 1)
        if level == "product":
            parent_of[key] = category_of[row.index[row > 0][0]]
        elif level not in ("total", "category"):
            parent_of[key] = node.split(" / ")[0]
    history = fc.history.groupby(["level", "node"], sort=False)
    frame = fc.frame.groupby(["level", "node"], sort=False)
    out: list[dict[str, object]] = []
    for (level, node), rows in frame:
        past = history.get_group((level, node))["quantity"].tail(keep)
        entry: dict[str, object] = {
            "level": level,
            "node": node,
            "name": names.get(node, "") if level == "product" else "",
            "parent": parent_of.get(f"{level}:{node}", ""),
            "history": _series(past),
            "forecast": _series(rows["forecast"]),
        }
        columns = [f"{s}_{lv}" for lv in INTERVALS for s in ("lower", "upper")]
        for column in [*columns, "cumulative", *[f"cumulative_{c}" for c in columns]]:
            entry[column] = _series(rows[column])
        out.append(entry)
    return out


def _build(org: Organization, grain: Grain, split: str, data: dict[str, pd.DataFrame]) -> DemandReport:
    """The forecast of one variant as an unsaved report (no database write while the models run)."""
    lines = data["order_lines"]
    orders, products = data.get("orders"), data.get("products")
    try:
        fc = forecast_demand(lines, orders, products, freq=grain.freq, horizon=grain.horizon, by=split or None)
    except ValueError as exc:
        error = str(exc).replace("complete periods", f"complete {grain.name}s")
        error = error[0].upper() + error[1:] + ("" if error.endswith(".") else ".")
        return DemandReport(org=org, grain=grain.name, split=split, error=error)
    names: dict[str, str] = {}
    if products is not None and "name" in products.columns:
        names = {str(k): str(v) for k, v in products.drop_duplicates("product_id")[["product_id", "name"]].values}
    times = pd.to_datetime(lines["ordered_at"], errors="coerce")
    history_periods = sorted(fc.history["period"].unique())[-grain.history :]
    return DemandReport(
        org=org,
        grain=grain.name,
        split=split,
        horizon=grain.horizon,
        as_of=times.max().date(),
        model=fc.model,
        backtest_origins=fc.backtest_origins,
        periods=[pd.Timestamp(p).date().isoformat() for p in sorted(fc.frame["period"].unique())],
        history_periods=[pd.Timestamp(p).date().isoformat() for p in history_periods],
        nodes=_nodes(fc, names, grain.history),
    )


def compute_demand(org: Organization) -> list[DemandReport]:
    """Forecast every variant, then replace the org's older reports in one short transaction.

    The models run outside any transaction: on SQLite an open write transaction for the
    length of the forecasts would lock out every other writer (refreshes, job claims).
    """
    data = load_inputs(org)
    if "order_lines" not in data:
        return []
    reports = [_build(org, grain, split, data) for grain in GRAINS.values() for split in SPLITS]
    with transaction.atomic():
        for report in reports:
            report.save()
        DemandReport.objects.filter(org=org).exclude(pk__in=[r.pk for r in reports]).delete()
    return reports


def latest(org: Organization, grain: str, split: str) -> DemandReport | None:
    return DemandReport.objects.filter(org=org, grain=grain, split=split).first()

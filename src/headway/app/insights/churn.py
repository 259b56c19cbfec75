"""Computing an organisation's churn report from its warehouse (run by the ``insights.churn`` job only)."""

from __future__ import annotations

import logging

import pandas as pd

from headway.analytics.churn import AT_RISK, FEATURES, ChurnDataError, fit_churn
from headway.app.accounts.models import Organization
from headway.app.insights.models import ChurnReport
from headway.app.kpis.models import Dataset
from headway.engine.warehouse import DuckDBWarehouse, quote_ident

log = logging.getLogger(__name__)

INPUTS = ("subscriptions", "customers", "orders", "support_tickets", "survey_responses")
USAGE = "usage_events"
"""Not a canonical type: a dataset of this name (customer_id, date, events) is used when present."""
SHOWN = 50


def load_inputs(org: Organization) -> dict[str, pd.DataFrame]:
    """The org's datasets the churn model reads, by canonical type."""
    wanted = {d.dataset_type or d.name: d.name for d in Dataset.objects.filter(org=org)}
    names = {t: wanted[t] for t in (*INPUTS, USAGE) if t in wanted}
    path = org.warehouse_path()
    if not names or not path.exists():
        return {}
    wh = DuckDBWarehouse(path, read_only=True)
    try:
        tables = set(wh.tables())
        return {t: wh.query(f"SELECT * FROM {quote_ident(n)}") for t, n in names.items() if n in tables}
    finally:
        wh.close()


def compute_churn(org: Organization) -> ChurnReport:
    """Fit, score and store; a data problem is stored as the report's error (shown on the page)."""
    datasets = load_inputs(org)
    try:
        result = fit_churn(datasets)
    except ChurnDataError as exc:
        return ChurnReport.objects.create(org=org, error=str(exc))
    scores = result.scores
    top = scores.head(SHOWN)
    share = result.importance / result.importance.sum()
    return ChurnReport.objects.create(
        org=org,
        as_of=(result.as_of - pd.Timedelta(days=1)).date(),
        horizon_days=result.horizon_days,
        active_customers=len(scores),
        at_risk_customers=int((scores["probability"] >= AT_RISK).sum()),
        revenue_at_risk=result.revenue_at_risk,
        auc=result.auc,
        brier=result.brier,
        brier_base_rate=result.brier_base_rate,
        customers=[
            {
                "customer_id": str(cid),
                "probability": float(row.probability),
                "mrr": float(row.mrr),
                "revenue_at_risk": float(row.revenue_at_risk),
                "drivers": list(row.drivers),
            }
            for cid, row in top.iterrows()
        ],
        at_risk_share=[
            {"period": (p - pd.Timedelta(days=1)).date().isoformat(), "share": float(v)}
            for p, v in result.at_risk_share.items()
        ],
        drivers=[{"feature": f, "meaning": FEATURES.get(f, f), "share": float(v)} for f, v in share.head(6).items()],
    )


def latest(org: Organization) -> ChurnReport | None:
    return ChurnReport.objects.filter(org=org).first()

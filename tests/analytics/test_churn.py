"""Churn model on the SaaS demo (planted drivers: tickets and a usage decline before churn, lower NPS, plan)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from headway.analytics.churn import (
    AT_RISK,
    ChurnDataError,
    churned_within,
    features_at,
    fit_churn,
    fit_table,
    parse_label,
)
from headway.demo import generate


@pytest.fixture(scope="module")
def saas():
    return generate("saas", size="small", seed=7).datasets


@pytest.fixture(scope="module")
def result(saas):
    return fit_churn(saas)


def test_auc_on_the_time_split_test_set(result):
    assert result.auc >= 0.8
    assert result.counts["train_rows"] > 5000 and result.counts["test_rows"] > 2000


def test_planted_drivers_rank_on_top(result):
    top = list(result.importance.index[:6])
    for planted in ("usage_change", "tickets_30d", "nps_last"):
        assert planted in top, (planted, result.importance.round(3).to_dict())
    # region has no planted effect: it ranks in the lower half
    assert list(result.importance.index).index("region") >= len(result.importance) // 2


def test_probabilities_are_calibrated(result):
    assert result.brier < 0.7 * result.brier_base_rate
    for b in result.reliability:
        assert abs(b["predicted"] - b["observed"]) < 0.05, result.reliability


def test_scores_and_revenue_at_risk(saas, result):
    scores = result.scores
    subs = saas["subscriptions"]
    active = subs[(subs.started_at <= result.as_of) & (subs.ended_at.isna() | (subs.ended_at > result.as_of))]
    assert set(scores.index) == set(active.customer_id)
    assert scores.index.is_unique
    assert scores["probability"].between(0, 1).all()
    assert scores["probability"].is_monotonic_decreasing
    mrr = active.groupby("customer_id")["mrr"].sum()
    np.testing.assert_allclose(scores["mrr"], mrr.reindex(scores.index))
    assert result.revenue_at_risk == pytest.approx(float((scores["probability"] * scores["mrr"]).sum()))
    riskiest = scores.iloc[0]
    assert riskiest["drivers"] and all(isinstance(d, str) for d in riskiest["drivers"])


def test_at_risk_share_is_a_leading_series(saas, result):
    share = result.at_risk_share
    assert share.between(0, 1).all() and len(share) >= 20
    # months with more customers at risk are followed by more churn in the next 30 days
    rates = []
    for as_of in share.index[:-2]:
        x = features_at(saas, as_of)
        rates.append(churned_within(saas["subscriptions"], x.index, as_of, 30).mean())
    corr = np.corrcoef(share.iloc[:-2].to_numpy(), rates)[0, 1]
    assert corr > 0.5, corr
    assert AT_RISK == 0.25


def test_features_use_only_the_past(saas):
    """A customer's features at a date do not change when later rows are cut off."""
    as_of = pd.Timestamp("2023-06-01")
    full = features_at(saas, as_of)
    cut = {
        "subscriptions": saas["subscriptions"].assign(
            ended_at=saas["subscriptions"].ended_at.where(saas["subscriptions"].ended_at <= as_of)
        ),
        "customers": saas["customers"],
        "orders": saas["orders"][saas["orders"].ordered_at <= as_of],
        "support_tickets": saas["support_tickets"][saas["support_tickets"].opened_at <= as_of],
        "usage_events": saas["usage_events"][saas["usage_events"].date <= as_of],
        "survey_responses": saas["survey_responses"][saas["survey_responses"].responded_at <= as_of],
    }
    pd.testing.assert_frame_equal(full, features_at(cut, as_of))
    # tickets counted by hand for one customer
    cid = full.index[10]
    t = saas["support_tickets"]
    mine = t[(t.customer_id == cid) & (t.opened_at <= as_of) & (t.opened_at > as_of - pd.Timedelta(days=90))]
    assert full.loc[cid, "tickets_90d"] == len(mine)


def test_no_subscriptions_is_a_clear_error():
    data = generate("ecommerce", size="tiny", seed=1).datasets
    with pytest.raises(ChurnDataError, match="needs a subscriptions dataset"):
        fit_churn(data)


def _table(saas, as_of: str) -> pd.DataFrame:
    """A CRM-style export: one row per customer active on a date, churned yes/no in the next 30 days."""
    x = features_at(saas, pd.Timestamp(as_of))
    y = churned_within(saas["subscriptions"], x.index, pd.Timestamp(as_of), 30)
    table = x.reset_index()
    table["churned"] = np.where(y.to_numpy() == 1, "yes", "no")
    return table


def test_generic_table_cross_validated(saas):
    frames = [_table(saas, d) for d in ("2023-09-01", "2024-03-01", "2024-09-01")]
    table = pd.concat(frames, ignore_index=True)
    table["customer_id"] = table["customer_id"] + "-" + table.index.astype(str)
    res = fit_table(table, label="churned", id_col="customer_id")
    assert res.auc >= 0.8 and len(res.auc_folds) == 5
    assert res.brier < res.brier_base_rate
    assert res.churn_rate == pytest.approx((table["churned"] == "yes").mean())
    assert "usage_change" in list(res.importance.index[:5])
    assert res.scores.index.name == "customer_id" and len(res.scores) == len(table)


def test_generic_table_handles_text_dates_and_ids():
    rng = np.random.default_rng(0)
    n = 600
    plan = rng.choice(["basic", "pro"], n)
    logins = rng.poisson(10, n)
    churn = rng.random(n) < np.where(plan == "basic", 0.5, 0.1) * np.where(logins < 8, 1.5, 0.6)
    table = pd.DataFrame(
        {
            "email": [f"user{i}@example.com" for i in range(n)],
            "plan": plan,
            "logins": logins,
            "signed_up": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D"),
            "churned": np.where(churn, "TRUE", "false"),
        }
    )
    res = fit_table(table.assign(signed_up=table.signed_up.dt.strftime("%Y-%m-%d")), label="churned")
    assert any(n.startswith("email: left out") for n in res.notes)
    assert any(n.startswith("signed_up: dates") for n in res.notes)
    assert list(res.importance.index[:2]) == ["plan", "logins"] or list(res.importance.index[:2]) == [
        "logins",
        "plan",
    ]
    assert res.auc > 0.65


def test_label_errors_name_the_column_and_values():
    with pytest.raises(ValueError, match=r"the label column 'left' must hold yes/no.*'maybe'.*line\(s\) 3"):
        parse_label(pd.Series(["yes", "maybe", "no"]), "left")
    with pytest.raises(ValueError, match="no label column 'churn'; the columns are: a, b"):
        fit_table(pd.DataFrame({"a": [1], "b": ["yes"]}), label="churn")
    with pytest.raises(ValueError, match="holds only no"):
        parse_label(pd.Series(["no", "No"]), "churned")

"""Hierarchical demand forecasts: parts add up exactly, history matches pandas, holdout accuracy is sane."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from headway.analytics.demand import forecast_demand, reconcile
from headway.analytics.forecast import smape
from headway.demo import generate


@pytest.fixture(scope="module")
def shop():
    return generate("ecommerce", size="small", seed=3).datasets


@pytest.fixture(scope="module")
def by_channel(shop):
    return forecast_demand(shop["order_lines"], shop["orders"], shop["products"], horizon=8, by="channel")


def _sum_children(fc, parent_level, child_level, mapping):
    wide = fc.wide()
    children = wide[wide.index.str.startswith(f"{child_level}:")]
    parent_of = children.index.map(lambda k: mapping(k.split(":", 1)[1]))
    return children.groupby(parent_of).sum().rename(index=lambda p: f"{parent_level}:{p}")


def test_forecasts_add_up_across_the_hierarchy(shop, by_channel):
    fc = by_channel
    wide = fc.wide()
    category = shop["products"].set_index("product_id")["category"]
    products = _sum_children(fc, "product", "channel", lambda k: k.split(" / ")[0])
    np.testing.assert_allclose(products.to_numpy(), wide.loc[products.index].to_numpy(), rtol=1e-9)
    cats = _sum_children(fc, "category", "product", lambda p: category[p])
    np.testing.assert_allclose(cats.to_numpy(), wide.loc[cats.index].to_numpy(), rtol=1e-9)
    total = wide[wide.index.str.startswith("category:")].sum()
    np.testing.assert_allclose(total.to_numpy(), wide.loc["total:total"].to_numpy(), rtol=1e-9)
    assert (fc.frame["forecast"] >= 0).all()
    # the base forecasts alone do not add up: reconciliation did something
    base = fc.wide("base")
    assert not np.allclose(base[base.index.str.startswith("category:")].sum(), base.loc["total:total"], rtol=1e-6)


def test_history_matches_pandas(shop, by_channel):
    lines = shop["order_lines"].merge(shop["orders"][["order_id", "status"]], on="order_id")
    lines = lines[lines.status != "cancelled"]
    week = lines.ordered_at.dt.normalize() - pd.to_timedelta(lines.ordered_at.dt.weekday, unit="D")
    by_hand = lines.assign(week=week).groupby(["product_id", "week"])["quantity"].sum()
    hist = by_channel.history
    mine = hist[hist.level == "product"].set_index(["node", "period"])["quantity"]
    joined = pd.concat([mine, by_hand.rename_axis(["node", "period"])], axis=1, join="inner")
    assert len(joined) > 1000
    np.testing.assert_allclose(joined.iloc[:, 0], joined.iloc[:, 1])
    # the last, partial week (data ends on a Tuesday) is left out
    assert hist.period.max() == pd.Timestamp("2024-12-23")


def test_reconcile_keeps_coherent_forecasts_and_ols_adds_up():
    S = np.array([[1, 1, 1], [1, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=float)
    bottom = np.array([[3.0, 4.0], [5.0, 6.0], [7.0, 1.0]])
    coherent = S @ bottom
    for method in ("ols", "wls"):
        np.testing.assert_allclose(reconcile(coherent, S, method), coherent)
        noisy = coherent + np.random.default_rng(0).normal(0, 0.5, coherent.shape)
        out = reconcile(noisy, S, method)
        np.testing.assert_allclose(out[0], out[3:].sum(axis=0))
        np.testing.assert_allclose(out[1], out[3] + out[4])
    with pytest.raises(ValueError, match="unknown reconciliation method"):
        reconcile(coherent, S, "mint")  # type: ignore[arg-type]


def test_holdout_accuracy_on_demo_data(shop):
    """Fit up to 8 weeks before the end; the total and the categories forecast those weeks within bounds."""
    cutoff = pd.Timestamp("2024-10-28")
    orders = shop["orders"][shop["orders"].ordered_at < cutoff]
    lines = shop["order_lines"][shop["order_lines"].order_id.isin(orders.order_id)]
    fc = forecast_demand(lines, orders, shop["products"], horizon=8, method="ols", as_of=cutoff)
    full = forecast_demand(shop["order_lines"], shop["orders"], shop["products"], horizon=1)
    actual = full.history.set_index(["level", "node", "period"])["quantity"].sort_index()
    periods = fc.node("total", "total").index
    assert periods[0] == cutoff
    for level, node in [("total", "total"), ("category", "apparel"), ("category", "home")]:
        series = actual.loc[(level, node)]
        truth = series.reindex(periods)
        error = smape(truth, fc.node(level, node))
        # the same weeks last year (seasonal naive) misses the 25%/year growth: about 30% off
        assert error < 25 and error < smape(truth, series.shift(52).reindex(periods)), (node, error)


def test_bad_input_is_named(shop):
    with pytest.raises(ValueError, match=r"order_lines lacks the column.*quantity"):
        forecast_demand(shop["order_lines"].drop(columns="quantity"), shop["orders"])
    with pytest.raises(ValueError, match="cannot split demand by 'store'"):
        forecast_demand(shop["order_lines"], shop["orders"], by="store")
    with pytest.raises(KeyError, match="no product 'nope'"):
        forecast_demand(shop["order_lines"], shop["orders"], horizon=2).node("product", "nope")

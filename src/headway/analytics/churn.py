"""Churn risk per customer: behaviour features, a LightGBM model, calibrated probabilities and drivers.

Two entry points:

* ``fit_churn(datasets)`` for an organisation's canonical data (subscriptions, plus whatever there is of
  customers, orders, support_tickets, survey_responses and usage_events). Monthly snapshots: for every month
  end, the customers active then, their behaviour up to that day (``FEATURES``) and whether they churned in
  the next ``horizon_days``. The model learns on the early snapshots, is calibrated (isotonic) on the next
  ones and tested on the latest ones (a time-based split: it never sees the future it is judged on). It
  then scores the customers active on the last day of data: probability, the top drivers in plain words
  (LightGBM's SHAP contributions), monthly revenue at risk; and the at-risk share of every month, a leading
  KPI.
* ``fit_table(df, label=...)`` for any customer table (one row per customer, a yes/no label column, other
  columns as features): cross-validated AUC, calibration and the top drivers (``headway churn``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold

HORIZON_DAYS = 30
AT_RISK = 0.25
"""A customer whose churn probability (next ``HORIZON_DAYS``) is at least this counts as at risk."""
TEST_SNAPSHOTS = 6
CALIBRATION_SNAPSHOTS = 4
MIN_TRAIN_SNAPSHOTS = 6
PARAMS: dict[str, Any] = {
    "n_estimators": 200,
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_child_samples": 30,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.9,
    "random_state": 0,
    "n_jobs": 1,
    "verbose": -1,
}
FEATURES: dict[str, str] = {
    "tenure_days": "days since the first subscription started",
    "mrr": "monthly recurring revenue of the active subscriptions",
    "plan": "plan of the largest active subscription",
    "segment": "customer segment",
    "region": "customer region",
    "recency_days": "days since the last order (invoice)",
    "orders_90d": "orders in the last 90 days",
    "revenue_90d": "order revenue in the last 90 days",
    "tickets_30d": "support tickets opened in the last 30 days",
    "tickets_90d": "support tickets opened in the last 90 days",
    "usage_recent": "average weekly usage events over the last 4 weeks",
    "usage_change": "last 4 weeks' usage against the 8 weeks before (1 = unchanged)",
    "nps_last": "the latest NPS answer in the last 180 days",
}
CATEGORICAL = ("plan", "segment", "region")


class ChurnDataError(ValueError):
    """The data cannot train a churn model; the message says what is missing."""


TIME_COLUMNS = {
    "subscriptions": ("started_at", "ended_at"),
    "orders": ("ordered_at",),
    "support_tickets": ("opened_at",),
    "usage_events": ("date",),
    "survey_responses": ("responded_at",),
}


def _ts(df: pd.DataFrame, col: str) -> pd.Series:
    s = df[col]
    return s if pd.api.types.is_datetime64_any_dtype(s) else pd.to_datetime(s, errors="coerce")


def _parsed(datasets: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The datasets with their time columns parsed once (snapshots read them dozens of times)."""
    out = dict(datasets)
    for name, cols in TIME_COLUMNS.items():
        if name in out:
            out[name] = out[name].assign(**{c: _ts(out[name], c) for c in cols if c in out[name]})
    return out


def features_at(datasets: Mapping[str, pd.DataFrame], as_of: pd.Timestamp) -> pd.DataFrame:
    """One row per customer active at ``as_of`` (indexed by customer_id), behaviour up to ``as_of`` only."""
    subs = datasets["subscriptions"]
    started, ended = _ts(subs, "started_at"), _ts(subs, "ended_at")
    active = subs[(started <= as_of) & (ended.isna() | (ended > as_of))].copy()
    if active.empty:
        return pd.DataFrame(columns=list(FEATURES)).rename_axis("customer_id")
    active["_mrr"] = pd.to_numeric(active["mrr"], errors="coerce").fillna(0.0)
    first_start = started[started <= as_of].groupby(subs["customer_id"]).min()
    largest = active.sort_values("_mrr").groupby("customer_id").tail(1).set_index("customer_id")
    out = pd.DataFrame(index=pd.Index(sorted(active["customer_id"].unique()), name="customer_id"))
    out["tenure_days"] = (as_of - first_start.reindex(out.index)).dt.days.astype(float)
    out["mrr"] = active.groupby("customer_id")["_mrr"].sum()
    out["plan"] = largest.get("plan", np.nan)
    customers = datasets.get("customers")
    for col in ("segment", "region"):
        if customers is not None and col in customers:
            out[col] = customers.drop_duplicates("customer_id").set_index("customer_id")[col]
        else:
            out[col] = np.nan
    orders = datasets.get("orders")
    if orders is not None and len(orders):
        at = _ts(orders, "ordered_at")
        past = orders[at <= as_of].assign(_at=at)
        last = past.groupby("customer_id")["_at"].max()
        out["recency_days"] = (as_of - last.reindex(out.index)).dt.days.astype(float)
        recent = past[past["_at"] > as_of - pd.Timedelta(days=90)]
        out["orders_90d"] = recent.groupby("customer_id").size().reindex(out.index).fillna(0.0)
        out["revenue_90d"] = recent.groupby("customer_id")["total_amount"].sum().reindex(out.index).fillna(0.0)
    tickets = datasets.get("support_tickets")
    if tickets is not None and "customer_id" in tickets:
        at = _ts(tickets, "opened_at")
        for days in (30, 90):
            window = tickets[(at <= as_of) & (at > as_of - pd.Timedelta(days=days))]
            out[f"tickets_{days}d"] = window.groupby("customer_id").size().reindex(out.index).fillna(0.0)
    usage = datasets.get("usage_events")
    if usage is not None and len(usage):
        at = _ts(usage, "date")
        age = (as_of - at).dt.days
        recent = usage[(age >= 0) & (age < 28)].groupby("customer_id")["events"].sum() / 4
        prior = usage[(age >= 28) & (age < 84)].groupby("customer_id")["events"].sum() / 8
        out["usage_recent"] = recent.reindex(out.index).fillna(0.0)
        out["usage_change"] = (recent / prior.where(prior > 0)).reindex(out.index)
    surveys = datasets.get("survey_responses")
    if surveys is not None and "customer_id" in surveys:
        at = _ts(surveys, "responded_at")
        nps = surveys[(surveys["survey"] == "nps") & (at <= as_of) & (at > as_of - pd.Timedelta(days=180))]
        nps = nps.assign(_at=at).sort_values("_at")
        out["nps_last"] = nps.groupby("customer_id")["score"].last().reindex(out.index).astype(float)
    for col in CATEGORICAL:
        out[col] = out[col].astype("category")
    return out.reindex(columns=[c for c in FEATURES if c in out.columns])


def churned_within(subs: pd.DataFrame, customers: pd.Index, as_of: pd.Timestamp, days: int) -> pd.Series:
    """1 when every subscription of the customer active at ``as_of`` has ended within ``days`` after it."""
    started, ended = _ts(subs, "started_at"), _ts(subs, "ended_at")
    active = subs[(started <= as_of) & (ended.isna() | (ended > as_of))].assign(_end=ended)
    horizon = as_of + pd.Timedelta(days=days)
    gone = active.assign(_gone=active["_end"].notna() & (active["_end"] <= horizon)).groupby("customer_id")["_gone"]
    return gone.all().reindex(customers).fillna(False).astype(int)


@dataclass
class Snapshots:
    """Feature rows of every monthly snapshot with its label (NaN where the outcome is not yet known)."""

    X: pd.DataFrame
    y: pd.Series
    as_of: pd.Series
    dates: list[pd.Timestamp]


def snapshots(datasets: Mapping[str, pd.DataFrame], horizon_days: int = HORIZON_DAYS) -> Snapshots:
    """Month-end snapshots from the third month of data to the last day of data."""
    if "subscriptions" not in datasets or datasets["subscriptions"].empty:
        raise ChurnDataError("churn prediction needs a subscriptions dataset (who is a customer, and until when)")
    subs = datasets["subscriptions"]
    missing = {"customer_id", "started_at", "ended_at", "mrr"} - set(subs.columns)
    if not missing:
        datasets = _parsed(datasets)
        subs = datasets["subscriptions"]
    if missing:
        raise ChurnDataError(f"the subscriptions dataset lacks the column(s) {', '.join(sorted(missing))}")
    starts = _ts(subs, "started_at").dropna()
    last_day = max(starts.max(), _ts(subs, "ended_at").max()) if starts.size else None
    for name in ("orders", "usage_events"):
        frame = datasets.get(name)
        col = {"orders": "ordered_at", "usage_events": "date"}[name]
        if frame is not None and len(frame) and col in frame:
            last_day = max(last_day, _ts(frame, col).max())
    if last_day is None:
        raise ChurnDataError("the subscriptions dataset has no start dates")
    last_day = last_day.normalize() + pd.Timedelta(days=1)
    dates = list(pd.date_range(starts.min() + pd.DateOffset(months=3), last_day, freq="ME").normalize())
    dates = sorted({d + pd.Timedelta(days=1) for d in dates} | {last_day})
    rows, labels, stamps = [], [], []
    for as_of in dates:
        x = features_at(datasets, as_of)
        if x.empty:
            continue
        known = as_of + pd.Timedelta(days=horizon_days) <= last_day
        y = churned_within(subs, x.index, as_of, horizon_days).astype(float) if known else pd.Series(np.nan, x.index)
        rows.append(x)
        labels.append(y)
        stamps.append(pd.Series(as_of, index=x.index))
    if not rows:
        raise ChurnDataError("no customer was active at any month end")
    X = pd.concat(rows)
    for col in CATEGORICAL:
        if col in X:
            X[col] = X[col].astype(str).replace("nan", np.nan).astype("category")
    return Snapshots(X, pd.concat(labels), pd.concat(stamps), dates)


def _model(rows: int | None = None) -> lgb.LGBMClassifier:
    """The classifier; on small tables (a CRM export of a few hundred customers) simpler trees, which
    overfit less."""
    params = dict(PARAMS)
    if rows is not None:
        params["num_leaves"] = min(PARAMS["num_leaves"], max(4, rows // 200))
    return lgb.LGBMClassifier(**params)


def _fit(model: lgb.LGBMClassifier, X: pd.DataFrame, y: pd.Series) -> lgb.LGBMClassifier:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    return model


def _contributions(model: lgb.LGBMClassifier, X: pd.DataFrame) -> pd.DataFrame:
    """SHAP contributions (log-odds) per feature and row."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = model.predict(X, pred_contrib=True)
    return pd.DataFrame(np.asarray(raw)[:, :-1], index=X.index, columns=X.columns)


def reliability(y: np.ndarray, p: np.ndarray, bins: int = 5) -> list[dict[str, float]]:
    """Mean predicted and observed rate per quantile bin of predictions."""
    order = np.argsort(p, kind="stable")
    out = []
    for chunk in np.array_split(order, bins):
        if len(chunk):
            out.append({"predicted": float(p[chunk].mean()), "observed": float(y[chunk].mean()), "n": len(chunk)})
    return out


def _describe(feature: str, value: Any) -> str:
    """A driver in plain words."""
    missing = value is None or (isinstance(value, float) and np.isnan(value))
    if feature == "usage_change":
        if missing:
            return "no usage in the 8 weeks before"
        change = float(value) - 1
        return f"usage {'down' if change < 0 else 'up'} {abs(change):.0%} on the previous 8 weeks"
    if feature in ("tickets_30d", "tickets_90d"):
        return f"{value:.0f} support ticket{'s' if value != 1 else ''} in the last {feature[8:10]} days"
    if feature == "nps_last":
        return "no NPS answer in the last 6 months" if missing else f"last NPS answer {value:.0f} of 10"
    if feature == "tenure_days":
        return f"customer for {value / 30.4:.0f} months"
    if feature == "recency_days":
        return "no orders yet" if missing else f"last order {value:.0f} days ago"
    if feature == "usage_recent":
        return f"{value:.0f} usage events a week lately"
    if feature in CATEGORICAL:
        return f"{feature} {value}"
    if feature == "mrr":
        return f"pays {value:,.0f} a month"
    return f"{FEATURES.get(feature, feature)}: {value}"


def top_drivers(contrib: pd.DataFrame, X: pd.DataFrame, n: int = 3) -> list[list[str]]:
    """The ``n`` features pushing each customer's risk up the most, in plain words."""
    values = contrib.to_numpy()
    order = np.argsort(-values, axis=1)[:, :n]
    columns = list(X.columns)
    rows = X.to_dict("records")
    return [
        [_describe(columns[j], rows[i][columns[j]]) for j in order[i] if values[i, j] > 0] for i in range(len(rows))
    ]


@dataclass
class ChurnResult:
    """A trained churn model, its test-set quality, the scored current customers and the at-risk share."""

    auc: float
    brier: float
    brier_base_rate: float
    reliability: list[dict[str, float]]
    importance: pd.Series
    """Mean |SHAP| per feature on the test snapshots, largest first."""
    scores: pd.DataFrame
    """Customers active on the last day: probability, mrr, revenue_at_risk, drivers; riskiest first."""
    at_risk_share: pd.Series
    """Per snapshot date: share of active customers with probability >= AT_RISK."""
    as_of: pd.Timestamp
    horizon_days: int
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def revenue_at_risk(self) -> float:
        """Expected monthly recurring revenue lost in the horizon: sum of probability x MRR."""
        return float(self.scores["revenue_at_risk"].sum())


def fit_churn(datasets: Mapping[str, pd.DataFrame], *, horizon_days: int = HORIZON_DAYS) -> ChurnResult:
    """Train, calibrate and test on monthly snapshots; score the customers active on the last day."""
    snap = snapshots(datasets, horizon_days)
    labelled = [d for d in snap.dates if snap.y[snap.as_of == d].notna().all() and (snap.as_of == d).any()]
    needed = MIN_TRAIN_SNAPSHOTS + CALIBRATION_SNAPSHOTS + TEST_SNAPSHOTS
    if len(labelled) < needed:
        raise ChurnDataError(
            f"churn prediction needs {needed} months of history with known outcomes; the data has {len(labelled)}"
        )
    test_dates = labelled[-TEST_SNAPSHOTS:]
    cal_dates = labelled[-TEST_SNAPSHOTS - CALIBRATION_SNAPSHOTS : -TEST_SNAPSHOTS]
    train_mask = snap.as_of < cal_dates[0]
    cal_mask = snap.as_of.isin(cal_dates)
    test_mask = snap.as_of.isin(test_dates)
    y_train = snap.y[train_mask]
    if y_train.nunique() < 2:
        raise ChurnDataError("the training months have no churned customers (or no retained ones) to learn from")
    model = _fit(_model(), snap.X[train_mask], y_train)
    raw = np.asarray(model.predict_proba(snap.X))[:, 1]
    calibrator = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
    calibrator.fit(raw[cal_mask.to_numpy()], snap.y[cal_mask])
    all_p = np.asarray(calibrator.predict(raw), dtype=float)

    y_test = snap.y[test_mask].to_numpy()
    p_test = all_p[test_mask.to_numpy()]
    base = float(snap.y[train_mask | cal_mask].mean())
    importance = _contributions(model, snap.X[test_mask]).abs().mean().sort_values(ascending=False)
    share = pd.Series(all_p >= AT_RISK).groupby(snap.as_of.to_numpy()).mean()
    share.index = pd.DatetimeIndex(share.index)
    last = snap.dates[-1]
    now_mask = (snap.as_of == last).to_numpy()
    current = snap.X[now_mask]
    p_now = all_p[now_mask]
    drivers = top_drivers(_contributions(model, current), current)
    scores = pd.DataFrame(
        {"probability": p_now, "mrr": current["mrr"].to_numpy(), "drivers": drivers}, index=current.index
    )
    scores["revenue_at_risk"] = scores["probability"] * scores["mrr"]
    scores = scores.sort_values(["probability", "mrr"], ascending=False)
    return ChurnResult(
        auc=float(roc_auc_score(y_test, p_test)) if len(set(y_test)) > 1 else float("nan"),
        brier=float(brier_score_loss(y_test, p_test)),
        brier_base_rate=float(brier_score_loss(y_test, np.full(len(y_test), base))),
        reliability=reliability(y_test, p_test),
        importance=importance,
        scores=scores,
        at_risk_share=share,
        as_of=last,
        horizon_days=horizon_days,
        counts={"train_rows": int(train_mask.sum()), "test_rows": int(test_mask.sum()), "customers": len(scores)},
    )


# ---------------------------------------------------------------- any customer table (the CLI)

YES = {"yes", "y", "true", "t", "1", "churned", "1.0"}
NO = {"no", "n", "false", "f", "0", "active", "retained", "0.0"}


def parse_label(values: pd.Series, column: str) -> pd.Series:
    """Yes/no values as 1/0; raises ValueError naming the column and the values that are neither."""
    text = values.astype(str).str.strip().str.lower().where(values.notna(), "")
    bad = sorted(set(text[~text.isin(YES | NO)]))
    if bad:
        shown = ", ".join(repr(v) if v else "(empty)" for v in bad[:8])
        shown += f" and {len(bad) - 8} more" if len(bad) > 8 else ""
        rows = list(values.index[~text.isin(YES | NO)][:5] + 2)
        raise ValueError(
            f"the label column {column!r} must hold yes/no values (yes, no, true, false, 1, 0); "
            f"found {shown} (first at CSV line(s) {', '.join(map(str, rows))})"
        )
    y = text.isin(YES).astype(int)
    if y.nunique() < 2:
        raise ValueError(f"the label column {column!r} holds only {'yes' if y.iloc[0] else 'no'}: nothing to learn")
    return y


def prepare_table(df: pd.DataFrame, label: str, id_col: str | None = None) -> tuple[pd.DataFrame, pd.Series, list[str]]:
    """Features (numbers as numbers, dates as days before the latest, text as categories), the label, notes."""
    if label not in df.columns:
        raise ValueError(f"there is no label column {label!r}; the columns are: {', '.join(map(str, df.columns))}")
    if id_col is not None and id_col not in df.columns:
        raise ValueError(f"there is no id column {id_col!r}; the columns are: {', '.join(map(str, df.columns))}")
    if id_col is not None and df[id_col].duplicated().any():
        dup = df[id_col][df[id_col].duplicated()].iloc[0]
        raise ValueError(f"the id column {id_col!r} should hold one row per customer; {dup!r} appears twice")
    y = parse_label(df[label], label)
    notes: list[str] = []
    X = pd.DataFrame(index=df.index)
    for col in df.columns:
        if col in (label, id_col):
            continue
        s = df[col]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            X[col] = s.astype(float)
        else:
            s = s.where(s.astype(str).str.strip() != "")  # an empty cell is a missing value
            numeric = pd.to_numeric(s, errors="coerce")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                dates = pd.to_datetime(s, errors="coerce")
            present = s.notna().sum()
            if present and numeric.notna().sum() >= 0.95 * present:
                X[col] = numeric
            elif present and dates.notna().sum() >= 0.95 * present:
                X[col] = (dates.max() - dates).dt.days.astype(float)
                notes.append(f"{col}: dates, used as days before the latest ({dates.max().date()})")
            elif s.nunique() > max(50, 0.5 * len(s)):
                notes.append(f"{col}: left out (text with {s.nunique()} different values, like an id or a name)")
            else:
                X[col] = s.astype(str).where(s.notna()).astype("category")
    if X.shape[1] == 0:
        raise ValueError("besides the label (and id) the table has no usable feature columns")
    return X, y, notes


@dataclass
class TableResult:
    auc: float
    auc_folds: list[float]
    brier: float
    brier_base_rate: float
    reliability: list[dict[str, float]]
    importance: pd.Series
    notes: list[str]
    rows: int
    churn_rate: float
    scores: pd.DataFrame


def fit_table(df: pd.DataFrame, *, label: str, id_col: str | None = None, folds: int = 5, seed: int = 0) -> TableResult:
    """Cross-validated churn model on a customer table; calibrated (isotonic) out-of-fold probabilities."""
    X, y, notes = prepare_table(df, label, id_col)
    folds = min(folds, int(y.value_counts().min()))
    if folds < 2:
        raise ValueError(f"the label column {label!r} needs at least 2 customers of each kind to cross-validate")
    oof = np.zeros(len(y))
    aucs = []
    shap = []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(X, y):
        inner = StratifiedKFold(n_splits=2, shuffle=True, random_state=seed).split(X.iloc[train], y.iloc[train])
        fit_idx, cal_idx = next(inner)
        model = _fit(_model(len(fit_idx)), X.iloc[train].iloc[fit_idx], y.iloc[train].iloc[fit_idx])
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
        iso.fit(np.asarray(model.predict_proba(X.iloc[train].iloc[cal_idx]))[:, 1], y.iloc[train].iloc[cal_idx])
        raw = np.asarray(model.predict_proba(X.iloc[test]))[:, 1]
        oof[test] = iso.predict(raw)
        aucs.append(float(roc_auc_score(y.iloc[test], raw)))
        shap.append(_contributions(model, X.iloc[test]).abs())
    importance = pd.concat(shap).mean().sort_values(ascending=False)
    yv = y.to_numpy()
    index = df[id_col] if id_col else df.index
    scores = pd.DataFrame({"probability": oof, "churned": yv}, index=pd.Index(index, name=id_col or "row"))
    return TableResult(
        auc=float(roc_auc_score(yv, oof)),
        auc_folds=aucs,
        brier=float(brier_score_loss(yv, oof)),
        brier_base_rate=float(brier_score_loss(yv, np.full(len(yv), yv.mean()))),
        reliability=reliability(yv, oof),
        importance=importance,
        notes=notes,
        rows=len(yv),
        churn_rate=float(yv.mean()),
        scores=scores.sort_values("probability", ascending=False),
    )


__all__ = [
    "AT_RISK",
    "FEATURES",
    "ChurnDataError",
    "ChurnResult",
    "TableResult",
    "features_at",
    "fit_churn",
    "fit_table",
    "parse_label",
    "prepare_table",
    "snapshots",
]

"""`headway churn` on a CRM-style customer table: AUC, calibration, drivers, output formats and clear errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from headway.cli.main import app


def run(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def crm(tmp_path_factory):
    """Customers whose churn depends on logins and plan (known), with an id, an e-mail and a signup date."""
    rng = np.random.default_rng(4)
    n = 800
    plan = rng.choice(["basic", "pro", "team"], n)
    logins = rng.poisson(8, n)
    p = 1 / (1 + np.exp(-(-0.5 - 0.35 * (logins - 8) + np.where(plan == "basic", 1.2, -0.8))))
    churned = rng.random(n) < p
    table = pd.DataFrame(
        {
            "customer_id": [f"C{i:04d}" for i in range(n)],
            "email": [f"c{i}@example.com" for i in range(n)],
            "plan": plan,
            "logins_last_month": logins,
            "noise": rng.normal(size=n),
            "last_nps": np.where(rng.random(n) < 0.3, np.nan, rng.integers(0, 11, n)),
            "churned": np.where(churned, "Yes", "No"),
        }
    )
    path = tmp_path_factory.mktemp("crm") / "customers.csv"
    table.to_csv(path, index=False)
    return path, table.assign(_p=p)


def test_reports_auc_calibration_and_drivers(crm, tmp_path):
    path, table = crm
    scores = tmp_path / "risk.csv"
    result = run("churn", "--csv", path, "--label", "churned", "--id", "customer_id", "-f", "json", "--scores", scores)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["rows"] == 800
    assert out["churn_rate"] == pytest.approx((table.churned == "Yes").mean())
    # not far below the best possible AUC: that of the true churn probabilities
    best = roc_auc_score(table.churned == "Yes", table._p)
    assert out["auc"] > best - 0.07 and len(out["auc_folds"]) == 5
    assert out["brier"] < out["brier_base_rate"]
    # the two real drivers lead; the pure-noise column comes after them
    names = [d["feature"] for d in out["drivers"]]
    assert set(names[:2]) == {"plan", "logins_last_month"}
    assert "customer_id" not in names and "email" not in names
    assert any("email" in n for n in out["notes"])
    # a number column with blank cells stays a number column
    assert "last_nps" in names and not any("last_nps" in n for n in out["notes"])
    written = pd.read_csv(scores)
    assert set(written.customer_id) == set(table.customer_id)
    assert written.probability.between(0, 1).all()


def test_table_output(crm):
    path, _ = crm
    result = run("churn", "--csv", path, "--label", "churned", "--id", "customer_id")
    assert result.exit_code == 0, result.output
    assert "AUC (out of fold)" in result.output and "Calibration" in result.output
    assert "logins_last_month" in result.output


@pytest.mark.parametrize(
    ("label", "values", "message"),
    [
        ("lost", None, "there is no label column 'lost'; the columns are: customer_id, email"),
        ("churned", ["Yes", "perhaps", "No", "n/a", ""], "the label column 'churned' must hold yes/no values"),
    ],
)
def test_clear_errors(crm, tmp_path, label, values, message):
    path, table = crm
    if values is not None:
        table = table.head(len(values)).assign(churned=values)
        path = tmp_path / "bad.csv"
        table.to_csv(path, index=False)
    result = run("churn", "--csv", path, "--label", label)
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())
    if values is not None:
        assert "'perhaps'" in result.output and "'n/a'" in result.output and "(empty)" in result.output
        assert "line(s) 3, 5, 6" in result.output

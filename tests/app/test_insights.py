"""The "Customers at risk" page: computed by the insights.churn job (never by the page), numbers equal the
analytics layer's, empty states, roles, department scope and tenants."""

from __future__ import annotations

import pytest
from app_helpers import client_for, make_user
from django.urls import reverse
from django.utils import timezone

from headway.analytics.churn import AT_RISK, fit_churn
from headway.app.accounts.models import Department, Member, Role
from headway.app.accounts.onboarding import create_org, load_demo_data
from headway.app.automation import jobs
from headway.app.automation.models import Job, JobStatus
from headway.app.insights.churn import load_inputs
from headway.app.insights.models import ChurnReport
from headway.app.kpis.formatting import format_money
from headway.app.kpis.models import Run
from headway.app.kpis.refresh import execute
from headway.demo import generate

URL = "customers_at_risk"


@pytest.fixture
def saas(db):
    """A SaaS org with tiny demo data, refreshed (which queues the churn job); owner "founder", viewer "intern"."""
    org = create_org("Cloudy", make_user("founder"), "saas")
    Member.objects.create(user=make_user("intern"), org=org, role=Role.VIEWER)
    load_demo_data(org, "saas", "tiny", seed=7)
    execute(Run.objects.create(org=org).pk)
    org.refresh_from_db()
    return org


def run_jobs() -> int:
    Job.objects.filter(kind="insights.churn", status=JobStatus.QUEUED).update(run_after=timezone.now())
    return jobs.run_pending()


def test_refresh_queues_the_job_and_the_page_computes_nothing(saas, client):
    assert Job.objects.filter(org=saas, kind="insights.churn", status=JobStatus.QUEUED).count() == 1
    page = client_for(client, "founder").get(reverse(URL))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Customer risk being computed" in html
    assert 'hx-trigger="load delay:3s"' in html
    assert not ChurnReport.objects.exists(), "a page view trains nothing"


def test_the_job_stores_what_the_analytics_layer_computes(saas, client):
    run_jobs()
    report = ChurnReport.objects.get(org=saas)
    assert report.error == ""
    expected = fit_churn(generate("saas", size="tiny", seed=7).datasets)
    assert report.revenue_at_risk == pytest.approx(expected.revenue_at_risk)
    assert report.active_customers == len(expected.scores)
    assert report.at_risk_customers == int((expected.scores["probability"] >= AT_RISK).sum())
    assert [c["customer_id"] for c in report.customers[:10]] == list(expected.scores.index[:10])
    assert report.auc == pytest.approx(expected.auc)
    assert len(report.at_risk_share) == len(expected.at_risk_share)

    html = client_for(client, "intern").get(reverse(URL)).content.decode()
    assert format_money(report.revenue_at_risk, 0, saas.locale, saas.currency) in html
    top = report.customers[0]
    assert top["customer_id"] in html and top["drivers"][0] in html
    assert f"{round(top['probability'] * 100)}%" in html
    assert 'data-chart="share-spec"' in html
    assert "Recompute now" not in html  # a viewer cannot recompute


def test_the_job_reads_the_warehouse_datasets(saas):
    inputs = load_inputs(saas)
    demo = generate("saas", size="tiny", seed=7).datasets
    for name in ("subscriptions", "customers", "orders", "support_tickets", "survey_responses", "usage_events"):
        assert len(inputs[name]) == len(demo[name]), name


def test_no_subscription_data_gives_an_empty_state(shop, client):
    assert not Job.objects.filter(org=shop, kind="insights.churn").exists()
    html = client_for(client, "owner").get(reverse(URL)).content.decode()
    assert "No customer or subscription data yet" in html
    assert "Recompute now" not in html
    # asking anyway says why nothing happens
    response = client_for(client, "owner").post(reverse("churn_recompute"), follow=True)
    assert "needs a subscriptions dataset" in response.content.decode()
    assert not Job.objects.filter(org=shop, kind="insights.churn").exists()


def test_roles_scope_and_tenants(saas, other_org, client):
    run_jobs()
    report = ChurnReport.objects.get(org=saas)
    top_id = report.customers[0]["customer_id"]
    # a viewer cannot queue a recompute
    assert client_for(client, "intern").post(reverse("churn_recompute")).status_code == 403
    assert not Job.objects.filter(org=saas, kind="insights.churn", status=JobStatus.QUEUED).exists()
    assert ChurnReport.objects.filter(org=saas).count() == 1
    # the owner can (jobs run inline in tests: HEADWAY_JOBS=sync)
    client_for(client, "founder").post(reverse("churn_recompute"))
    assert ChurnReport.objects.filter(org=saas).count() == 2
    # another tenant sees its own (empty) page, never this org's customers
    html = client_for(client, "outsider").get(reverse(URL)).content.decode()
    assert top_id not in html and "No customer or subscription data yet" in html
    # a department-scoped member sees no customer list
    scoped = Member.objects.create(user=make_user("sales_lead"), org=saas, role=Role.EDITOR)
    scoped.departments.add(Department.objects.create(org=saas, name="Sales"))
    html = client_for(client, "sales_lead").get(reverse(URL)).content.decode()
    assert top_id not in html and "limited to your departments" in html


def test_not_enough_history_is_said(saas, client):
    ChurnReport.objects.create(org=saas, error="churn prediction needs 16 months of history with known outcomes")
    Job.objects.filter(kind="insights.churn").delete()
    html = client_for(client, "founder").get(reverse(URL)).content.decode()
    assert "No customer risk yet: churn prediction needs 16 months of history" in html

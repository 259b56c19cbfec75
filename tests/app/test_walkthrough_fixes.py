"""What a shop owner tripped on while walking through the web app, each pinned by a test.

- a goal whose deadline the data already covers was saved and shown as missed at once;
- a new organisation without data was told to "refresh" instead of where to put its data;
- the portfolio review flagged every KPI without an owner, but no page could name one;
- the jobs page listed internal ids (forecasts.refit) instead of what the job does;
- the forecast section said "being prepared" with no sign of whether anything was running.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from app_helpers import client_for, make_user
from django.urls import reverse
from django.utils import timezone

from headway.app.accounts.models import Member, Role
from headway.app.accounts.onboarding import create_org
from headway.app.automation.models import Job, JobStatus
from headway.app.kpis.models import KpiDefinition
from headway.app.strategy.models import Goal, Objective


@pytest.fixture
def objective(shop):
    return Objective.objects.create(
        org=shop, title="Grow online sales", period_start=date(2024, 1, 1), period_end=date(2025, 12, 31)
    )


def goal_post(shop, objective, **fields):
    return {
        "objective": objective.pk,
        "kpi": shop.kpis.get(kpi_id="aov").pk,
        "kind": "absolute",
        "target": "200",
        "start": "2023-01-01",
        "deadline": "2023-06-30",
        "trajectory": "linear",
        "cadence": "month",
    } | fields


def test_a_goal_whose_deadline_the_data_already_covers_is_refused_unless_recorded_on_purpose(client, shop, objective):
    owner = client_for(client, "owner")
    data_end = shop.current_run.data_as_of
    assert data_end == date(2024, 12, 31), "the tiny demo data ends with 2024"

    refused = owner.post(reverse("goal_new"), goal_post(shop, objective))
    assert refused.status_code == 200
    page = refused.content.decode()
    assert "The deadline (30 Jun 2023) is not after the end of your data (31 Dec 2024)" in page
    assert "Record a past goal" in page
    assert not Goal.objects.exists(), "nothing is saved"

    # The last day of the data is decided too; the day after is a goal about the future.
    on_the_end = owner.post(reverse("goal_new"), goal_post(shop, objective, start="2024-07-01", deadline="2024-12-31"))
    assert on_the_end.status_code == 200 and not Goal.objects.exists()
    ahead = owner.post(reverse("goal_new"), goal_post(shop, objective, start="2024-07-01", deadline="2025-01-31"))
    assert ahead.status_code == 302 and Goal.objects.get().deadline == date(2025, 1, 31)

    on_purpose = owner.post(reverse("goal_new"), goal_post(shop, objective, record_past="on"))
    assert on_purpose.status_code == 302
    past = Goal.objects.get(deadline=date(2023, 6, 30))
    html = owner.get(reverse("goal_detail", args=[past.pk])).content.decode()
    assert "Deadline passed" in html


def test_the_past_goal_checkbox_sits_right_after_the_deadline(client, shop):
    page = client_for(client, "owner").get(reverse("goal_new") + "?kpi=aov").content.decode()
    names = re.findall(r'name="([a-z_]+)"', page)
    assert names.index("record_past") == names.index("deadline") + 1


def test_a_new_organisation_without_data_is_sent_to_the_data_page_not_to_refresh(client, db):
    org = create_org("Crumb Bakery", make_user("baker"), "bakery_cafe")
    Member.objects.create(user=make_user("helper"), org=org, role=Role.VIEWER)
    page = client_for(client, "baker").get(reverse("scorecard")).content.decode()
    cards = page[page.index('id="cards"') :]
    assert "No data yet" in cards and "Not computed yet</h2>" not in cards
    assert f'href="{reverse("upload")}"' in cards and f'href="{reverse("sources")}"' in cards
    assert f'action="{reverse("refresh")}"' not in cards, "the empty state offers no refresh: nothing to compute"
    viewer = client_for(client, "helper").get(reverse("scorecard")).content.decode()
    assert "Ask an editor or the owner of Crumb Bakery to add the data" in viewer


def test_an_organisation_with_data_but_no_run_is_still_offered_a_refresh(client, shop):
    shop.current_run = None
    shop.save(update_fields=["current_run"])
    page = client_for(client, "owner").get(reverse("scorecard")).content.decode()
    cards = page[page.index('id="cards"') :]
    assert "Not computed yet</h2>" in cards and "No data yet" not in cards
    assert f'action="{reverse("refresh")}"' in cards


def test_an_editor_names_a_kpi_owner_on_its_page_and_the_review_stops_flagging_it(client, shop, other_org):
    owner = client_for(client, "owner")
    url = reverse("kpi_owner", args=["aov"])
    review = owner.get(reverse("review")).content.decode()
    assert "Average order value has no owner." in review
    assert f'href="{reverse("kpi_detail", args=["aov"])}"' in review, "the finding links to the KPI"

    detail = owner.get(reverse("kpi_detail", args=["aov"])).content.decode()
    assert f'action="{url}"' in detail and '<label for="id_owner"' in detail

    viewer_member = Member.objects.get(org=shop, user__username="viewer")
    assert owner.post(url, {"owner": str(viewer_member.pk)}).status_code == 302
    assert KpiDefinition.objects.get(org=shop, kpi_id="aov").owner == viewer_member
    review = owner.get(reverse("review")).content.decode()
    assert "Average order value has no owner." not in review
    assert "Refund rate has no owner." in review, "the other KPIs are still flagged"

    # Someone of another organisation cannot be named; nothing changes.
    outsider_member = Member.objects.get(org=other_org)
    response = owner.post(url, {"owner": str(outsider_member.pk)}, follow=True)
    assert "Choose the owner from the organisation" in response.content.decode()
    assert KpiDefinition.objects.get(org=shop, kpi_id="aov").owner == viewer_member

    # Empty: nobody owns it again.
    owner.post(url, {"owner": ""})
    assert KpiDefinition.objects.get(org=shop, kpi_id="aov").owner is None


def test_a_viewer_sees_no_owner_form_and_cannot_post_one(client, shop):
    viewer = client_for(client, "viewer")
    detail = viewer.get(reverse("kpi_detail", args=["aov"])).content.decode()
    assert 'name="owner"' not in detail and "Nobody yet" in detail
    me = Member.objects.get(org=shop, user__username="viewer")
    assert viewer.post(reverse("kpi_owner", args=["aov"]), {"owner": str(me.pk)}).status_code == 403
    assert KpiDefinition.objects.get(org=shop, kpi_id="aov").owner is None


def test_the_jobs_page_says_what_each_job_does(client, shop):
    Job.objects.filter(org=shop).delete()
    now = timezone.now()
    Job.objects.create(org=shop, kind="forecasts.refit", run_after=now)
    Job.objects.create(org=shop, kind="kpis.refresh", status=JobStatus.FAILED, run_after=now, error="boom")
    Job.objects.create(org=shop, kind="reports.send_due", status=JobStatus.SUCCEEDED, run_after=now, finished_at=now)
    page = client_for(client, "owner").get(reverse("jobs")).content.decode()
    assert "<td>Update the forecasts (forecasts.refit)</td>" in page
    assert "<td>Compute the KPIs (kpis.refresh)</td>" in page
    assert "<td>Send the scheduled reports (reports.send_due)</td>" in page
    assert page.count('<div class="table-wrap"><table>') == 3, "each table scrolls on its own on a phone"


def test_every_registered_job_kind_has_a_readable_name():
    from headway.app.automation.jobs import kinds
    from headway.app.automation.views import JOB_LABELS

    registered = {k for k in kinds() if not k.startswith("test.")}  # other tests register test.* kinds
    assert "insights.demand" in registered, "the apps registered their jobs"
    assert registered - set(JOB_LABELS) == set(), "a job kind the jobs page would show by its id"


def test_the_forecast_section_says_whether_the_refit_waits_or_runs(client, shop):
    job = Job.objects.get(org=shop, kind="forecasts.refit", status=JobStatus.QUEUED)
    owner = client_for(client, "owner")
    url = reverse("kpi_forecast", args=["revenue_growth"])
    queued = owner.get(url).content.decode()
    assert 'data-job-status="queued"' in queued
    assert "queued since" in queued and "headway worker" in queued and f'href="{reverse("jobs")}"' in queued
    viewer = client_for(client, "viewer").get(url).content.decode()
    assert "queued since" in viewer and f'href="{reverse("jobs")}"' not in viewer, "viewers have no jobs page"

    started = timezone.now().replace(hour=9, minute=41, second=0, microsecond=0)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, started_at=started, attempts=1)
    running = owner.get(url).content.decode()
    assert 'data-job-status="running"' in running
    assert f"computing since {started:%-d %b} 09:41 UTC (attempt 1 of {job.max_attempts})" in running


def test_the_review_of_an_organisation_without_data_does_not_date_its_latest_data_today(client, db):
    create_org("Crumb Bakery", make_user("baker"), "bakery_cafe")
    page = client_for(client, "baker").get(reverse("review")).content.decode()
    assert "Staleness is judged against your latest data" not in page
    assert "No data has been computed yet" in page


def test_the_review_of_an_organisation_with_data_names_the_day_its_data_ends(client, shop):
    page = client_for(client, "owner").get(reverse("review")).content.decode()
    assert "Staleness is judged against your latest data (31 Dec 2024)." in page


def test_the_parent_objective_field_explains_itself(client, shop):
    page = client_for(client, "owner").get(reverse("objective_new")).content.decode()
    help_text = re.search(r'id="id_parent_helptext">([^<]*)<', page)
    assert help_text and help_text.group(1) == (
        "The bigger objective this one contributes to; empty for a top-level objective."
    )


def test_a_single_checkbox_sits_inside_its_label(client, shop):
    """A yes/no field drew its label on one line and the box on the next, with the Save button beside it."""
    page = client_for(client, "owner").get(reverse("report_new")).content.decode()
    box = r'<label class="check-one">\s*<input type="checkbox" name="attach_pdf"[^>]*>\s*([^<]+)</label>'
    pdf = re.search(box, page)
    assert pdf and pdf.group(1).strip() == "Attach a PDF"
    assert '<label for="id_attach_pdf">' not in page


def test_the_scorecard_card_writes_the_goal_deadline_like_the_goal_pages(client, shop, objective):
    aov = shop.kpis.get(kpi_id="aov")
    Goal.objects.create(
        org=shop, objective=objective, kpi=aov, target=999.0, start=date(2024, 7, 1), deadline=date(2025, 3, 31)
    )
    page = client_for(client, "owner").get(reverse("scorecard")).content.decode()
    assert "(deadline 31 Mar 2025)" in page and "2025-03-31" not in page


def test_a_connected_source_not_yet_read_is_offered_a_refresh_not_the_data_page(client, db):
    from headway.app.sources.models import Source

    org = create_org("Crumb Bakery", make_user("baker"), "bakery_cafe")
    Source.objects.create(org=org, name="Till database", kind="sql", dataset="orders")
    page = client_for(client, "baker").get(reverse("scorecard")).content.decode()
    cards = page[page.index('id="cards"') :]
    assert "Not computed yet</h2>" in cards and "No data yet" not in cards
    assert f'action="{reverse("refresh")}"' in cards


def test_send_now_says_whether_the_pack_went_out(client, shop, smtp_server, settings):
    settings.HEADWAY_JOBS = "sync"
    owner = client_for(client, "owner")
    report = shop.reports.create(name="Monthly pack", recipients="boss@example.com\naccountant@example.com")
    page = owner.post(reverse("report_send", args=[report.pk]), follow=True).content.decode()
    assert len(smtp_server.messages) == 1
    assert "Sent “Monthly pack” to boss@example.com, accountant@example.com." in page

    settings.EMAIL_PORT = 1  # nothing listens there: the sending fails, and the page says so
    page = owner.post(reverse("report_send", args=[report.pk]), follow=True).content.decode()
    assert "Could not send “Monthly pack”:" in page

"""Report packs: the numbers equal the engine's, in the HTML email (real SMTP), the PDF and the XLSX;
sending once per due time; scheduling in the org's time zone; permissions and department scope."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from app_helpers import client_for, make_user
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from headway.app.accounts.models import Department, Member, Role
from headway.app.kpis.refresh import open_engine
from headway.app.reports.models import Cadence, DeliveryStatus, Report, ReportDelivery
from headway.app.reports.pack import build_pack
from headway.app.reports.sending import claim, send_due, send_now


@pytest.fixture
def monthly(shop):
    return shop.reports.create(name="Monthly KPI pack", recipients="boss@example.com\naccountant@outside.example")


def engine_month(shop, kpi_ids):
    hw = open_engine(shop)
    try:
        return hw.compute(kpi_ids, grain="month").set_index("period")
    finally:
        hw.close()


def test_the_pack_holds_the_engines_numbers_and_the_largest_movers(shop):
    monthly = engine_month(shop, ["aov", "new_customers"])
    pack = build_pack(shop)
    rows = {r.kpi_id: r for r in pack.rows}
    assert set(rows) == set(shop.kpis.values_list("kpi_id", flat=True))
    aov = rows["aov"]
    assert aov.value == pytest.approx(monthly.loc["2024-12-01", "aov"], rel=1e-12)
    assert aov.period == "December 2024" and aov.value_text == f"€{aov.value:,.2f}"
    growth = monthly.loc["2024-12-01", "aov"] / monthly.loc["2024-11-01", "aov"] - 1
    assert aov.change == pytest.approx(growth, rel=1e-9)
    # Movers: sorted by the size of the move, independent of direction.
    sizes = [abs(r.change / 100 if r.points else r.change) for r in pack.movers]
    assert sizes == sorted(sizes, reverse=True) and len(pack.movers) == min(5, len(sizes))
    every = [abs(r.change / 100 if r.points else r.change) for r in pack.rows if r.change]
    assert sizes[0] == max(every)


def test_a_department_pack_holds_only_that_departments_kpis(shop):
    marketing = Department.objects.get(org=shop, name="Marketing")
    pack = build_pack(shop, marketing)
    expected = set(shop.kpis.filter(department=marketing).values_list("kpi_id", flat=True))
    assert {r.kpi_id for r in pack.rows} == expected and pack.scope == "Marketing"


def test_email_over_real_smtp_with_inline_chart_pdf_and_xlsx(shop, monthly, smtp_server):
    delivery = send_now(monthly)
    assert delivery.status == DeliveryStatus.SENT, delivery.error
    (message,) = smtp_server.messages
    assert message["Subject"] == "Monthly KPI pack: Shop (whole organisation), December 2024"
    assert set(re.split(r",\s*", message["To"])) == {"boss@example.com", "accountant@outside.example"}
    pack = build_pack(shop)
    aov = next(r for r in pack.rows if r.kpi_id == "aov")
    plain = message.get_body(("plain",)).get_content()
    assert f"Average order value: {aov.value_text} (December 2024)" in plain
    html = message.get_body(("html",)).get_content()
    assert aov.value_text in html and 'src="cid:movers-chart"' in html
    parts = {part.get_content_type(): part for part in message.walk()}
    image = parts["image/png"]
    assert image["Content-ID"] == "<movers-chart>" and image.get_content()[:8] == b"\x89PNG\r\n\x1a\n"

    pdf_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(parts["application/pdf"].get_content())).pages)
    assert "Average order value" in pdf_text and aov.value_text.replace("€", "") in pdf_text.replace("€", "")
    book = load_workbook(
        io.BytesIO(parts["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"].get_content())
    )
    sheet = book["Scorecard"]
    header_row = next(i for i, row in enumerate(sheet.iter_rows(values_only=True), 1) if row[0] == "KPI")
    values = {row[0]: row[2] for row in sheet.iter_rows(min_row=header_row + 1, values_only=True)}
    assert values["Average order value"] == pytest.approx(engine_month(shop, ["aov"]).loc["2024-12-01", "aov"])
    assert [r[0] for r in book["Top movers"].iter_rows(min_row=2, values_only=True)] == [r.name for r in pack.movers]
    monthly.refresh_from_db()
    assert monthly.last_sent_at is not None


def test_a_failed_sending_is_logged_with_the_reason(shop, monthly, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens
    delivery = send_now(monthly)
    assert delivery.status == DeliveryStatus.FAILED and "Error" in delivery.error
    monthly.refresh_from_db()
    assert monthly.last_sent_at is None


def test_next_due_is_monday_or_the_first_at_seven_in_the_orgs_time_zone(shop):
    shop.timezone = "America/New_York"
    shop.save()
    weekly = Report(org=shop, cadence=Cadence.WEEKLY)
    # Monday 2 Nov 2026 06:59 in New York: the same morning at 07:00 (12:00 UTC, EST).
    ny = ZoneInfo("America/New_York")
    assert weekly.following_due(datetime(2026, 11, 2, 6, 59, tzinfo=ny)) == datetime(2026, 11, 2, 7, tzinfo=ny)
    assert weekly.following_due(datetime(2026, 11, 2, 7, 0, tzinfo=ny)) == datetime(2026, 11, 9, 7, tzinfo=ny)
    # Sunday 23:30 UTC is still Sunday evening in New York: next day.
    assert weekly.following_due(datetime(2026, 11, 8, 23, 30, tzinfo=UTC)) == datetime(2026, 11, 9, 7, tzinfo=ny)
    monthly = Report(org=shop, cadence=Cadence.MONTHLY)
    assert monthly.following_due(datetime(2026, 11, 28, tzinfo=ny)) == datetime(2026, 12, 1, 7, tzinfo=ny)
    assert monthly.following_due(datetime(2026, 12, 31, 20, tzinfo=ny)) == datetime(2027, 1, 1, 7, tzinfo=ny)
    assert Report(org=shop, cadence=Cadence.MANUAL).following_due(datetime(2026, 1, 1, tzinfo=UTC)) is None


def test_due_reports_are_sent_once_even_when_the_scheduler_runs_twice(shop, monthly, smtp_server):
    due = datetime(2026, 12, 1, 7, tzinfo=UTC)
    Report.objects.filter(pk=monthly.pk).update(next_due=due)
    manual = shop.reports.create(name="By hand", cadence=Cadence.MANUAL, recipients="x@example.com")
    now = datetime(2026, 12, 1, 7, 5, tzinfo=UTC)
    made = send_due(now)
    assert [d.report_id for d in made] == [monthly.pk] and made[0].status == DeliveryStatus.SENT
    assert send_due(now) == []  # the second pass finds nothing due
    assert len(smtp_server.messages) == 1 and not manual.deliveries.exists()
    monthly.refresh_from_db()
    assert monthly.next_due == datetime(2027, 1, 1, 7, tzinfo=UTC)
    assert claim(monthly, due) is None  # a late second worker cannot claim the same due time
    assert ReportDelivery.objects.filter(report=monthly).count() == 1


def test_pages_create_preview_download_and_send(client, shop, smtp_server):
    owner = client_for(client, "owner")
    page = owner.get(reverse("reports")).content.decode()
    assert "No reports yet" in page
    bad = owner.post(
        reverse("report_new"), {"name": "Pack", "cadence": "weekly", "recipients": "boss@, ok@example.com"}
    )
    assert bad.status_code == 200 and "Not an email address: boss@" in bad.content.decode()
    assert not Report.objects.exists()
    owner.post(reverse("report_new"), {"name": "Pack", "cadence": "weekly", "recipients": "boss@example.com"})
    report = Report.objects.get(org=shop)
    assert report.next_due is not None and report.next_due.astimezone(ZoneInfo(shop.timezone)).weekday() == 0
    preview = owner.get(reverse("report_preview", args=[report.pk])).content.decode()
    aov = next(r for r in build_pack(shop).rows if r.kpi_id == "aov")
    assert "srcdoc=" in preview and aov.value_text in preview and "data:image/png;base64," in preview
    pdf = owner.get(reverse("report_file", args=[report.pk, "pdf"]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert owner.get(reverse("report_file", args=[report.pk, "doc"])).status_code == 404
    owner.post(reverse("report_send", args=[report.pk]))
    assert len(smtp_server.messages) == 1
    assert "Sent" in owner.get(reverse("reports")).content.decode()


def test_viewers_read_but_do_not_send_and_scoped_members_see_their_departments_only(client, shop, smtp_server):
    marketing = Department.objects.get(org=shop, name="Marketing")
    org_wide = shop.reports.create(name="Everything", recipients="a@example.com")
    theirs = shop.reports.create(name="Marketing pack", recipients="a@example.com", department=marketing)
    viewer = client_for(client, "viewer")
    assert viewer.get(reverse("report_preview", args=[org_wide.pk])).status_code == 200
    assert viewer.post(reverse("report_send", args=[org_wide.pk])).status_code == 403
    assert smtp_server.messages == []
    scoped = Member.objects.create(user=make_user("marketer"), org=shop, role=Role.EDITOR)
    scoped.departments.add(marketing)
    marketer = client_for(client, "marketer")
    page = marketer.get(reverse("reports")).content.decode()
    assert "Marketing pack" in page and "Everything" not in page
    assert marketer.get(reverse("report_preview", args=[org_wide.pk])).status_code == 404
    assert marketer.get(reverse("report_preview", args=[theirs.pk])).status_code == 200
    # A scoped editor must pick one of their departments.
    response = marketer.post(
        reverse("report_new"), {"name": "All", "cadence": "monthly", "recipients": "a@example.com"}
    )
    assert response.status_code == 200 and not Report.objects.filter(name="All").exists()


def test_goals_alerts_and_review_findings_are_in_the_pack(shop, monthly, smtp_server):
    from headway.app.automation.models import Alert, AlertRule
    from headway.app.strategy.models import Goal, Objective

    aov = shop.kpis.get(kpi_id="aov")
    objective = Objective.objects.create(
        org=shop, title="Bigger baskets", period_start=date(2024, 7, 1), period_end=date(2025, 6, 30)
    )
    objective.kpis.add(aov)
    goal = Goal.objects.create(
        org=shop, objective=objective, kpi=aov, target=1_000_000.0, start=date(2024, 7, 1), deadline=date(2025, 6, 30)
    )
    rule = AlertRule.objects.create(org=shop, name="AOV low", kpi_id="aov", kind="threshold", params={})
    Alert.objects.create(org=shop, rule=rule, fired_at=timezone.now(), message="AOV fell below €10")
    pack = build_pack(shop)
    sections = {s.title: s for s in pack.sections}
    (goal_row,) = sections["Goals"].rows
    goal.refresh_from_db()  # the section evaluated it: an impossible target is off track
    assert goal_row[:2] == ["Bigger baskets", "Average order value"] and goal.status == "off_track"
    assert goal_row[3] == goal.status_label == "Off track"
    (alert_row,) = sections["Alerts in the last 31 days"].rows
    assert alert_row[1] == "Average order value" and alert_row[3] == "firing" and alert_row[4] == "AOV fell below €10"
    review = sections["Portfolio review"].rows
    no_goal = [r for r in review if r[0] == "no goal"]
    assert no_goal and "Average order value" not in " ".join(r[1] for r in no_goal)  # aov has a goal now

    send_now(monthly)
    (message,) = smtp_server.messages
    assert "Bigger baskets" in message.get_body(("plain",)).get_content()
    xlsx = next(p for p in message.walk() if p.get_content_type().endswith("spreadsheetml.sheet"))
    book = load_workbook(io.BytesIO(xlsx.get_content()))
    assert [c for c in next(book["Goals"].iter_rows(min_row=2, values_only=True))][:2] == list(goal_row[:2])


def test_the_scheduler_tick_sends_a_due_pack_through_the_job_system(shop, monthly, smtp_server):
    from headway.app.automation.jobs import tick
    from headway.app.automation.models import Job

    Report.objects.filter(pk=monthly.pk).update(next_due=timezone.now() - timedelta(minutes=1))
    tick(timezone.now())
    job = Job.objects.get(kind="reports.send_due")
    assert job.status == "succeeded", job.error
    assert len(smtp_server.messages) == 1
    tick(timezone.now())  # nothing due any more: no second job, no second email
    assert Job.objects.filter(kind="reports.send_due").count() == 1 and len(smtp_server.messages) == 1

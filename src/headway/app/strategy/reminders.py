"""The portfolio review reminder: when an organisation's review date has come, its owners and
admins get one email (per review date), from the scheduler through the job system."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import F, Q
from django.urls import reverse

from headway.app.accounts.models import Member, Organization, Role
from headway.app.automation.jobs import enqueue, on_tick, register
from headway.app.strategy.models import ReviewSettings
from headway.app.strategy.portfolio import run_review


def due_reviews(today: Any) -> list[ReviewSettings]:
    return list(
        ReviewSettings.objects.filter(next_review__lte=today)
        .filter(Q(reminded_for__isnull=True) | ~Q(reminded_for=F("next_review")))
        .select_related("org")
    )


@on_tick("strategy.review_reminders")
def queue_review_reminders(now: datetime) -> None:
    for found in due_reviews(now.date()):
        enqueue(found.org, "strategy.review_reminder", unique=True)


@register("strategy.review_reminder", max_attempts=3)
def send_review_reminder(org: Organization, **params: Any) -> None:
    found = ReviewSettings.objects.get(org=org)
    due = found.next_review
    # Claim the reminder for this review date first: two workers never email twice.
    claimed = ReviewSettings.objects.filter(pk=found.pk, next_review=due).exclude(reminded_for=due)
    if not claimed.update(reminded_for=due):
        return
    review = run_review(org)
    to = list(
        Member.objects.filter(org=org, role__in=[Role.OWNER, Role.ADMIN])
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    if not to:
        return
    warnings = [f for f in review.findings if f.severity == "warning"]
    lines = [f"- {f.message} → {f.action}" for f in review.findings[:15]]
    url = settings.HEADWAY_BASE_URL.rstrip("/") + reverse("review") if settings.HEADWAY_BASE_URL else reverse("review")
    body = (
        f"The {found.get_cadence_display().lower()} KPI portfolio review of {org.name} is due ({due:%d %b %Y}).\n\n"
        f"{review.kpi_count} KPIs; {len(review.findings)} findings ({len(warnings)} to fix):\n"
        + ("\n".join(lines) if lines else "- nothing to fix: a quick look and 'mark reviewed' will do.")
        + f"\n\nOpen the review: {url}\n"
    )
    send_mail(f"KPI portfolio review due: {org.name}", body, None, to)

"""The portfolio review page: every finding with its suggested action, and the review cadence."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from headway.analytics.review import CHECKS
from headway.app.accounts.models import Role
from headway.app.accounts.tenancy import member_required
from headway.app.strategy.forms import ReviewSettingsForm
from headway.app.strategy.portfolio import CHECK_TITLES, mark_reviewed, review_settings, run_review


@member_required()
@require_safe
def review(request: HttpRequest) -> HttpResponse:
    result = run_review(request.org, request.member)  # type: ignore[attr-defined]
    groups = [
        (check, CHECK_TITLES[check], [f for f in result.findings if f.check == check])
        for check in CHECKS
        if any(f.check == check for f in result.findings)
    ]
    context = {
        "result": result,
        "groups": groups,
        "settings_form": ReviewSettingsForm(instance=result.settings),
        "can_admin": request.member.can_admin,  # type: ignore[attr-defined]
        "has_data": request.org.current_run_id is not None,  # type: ignore[attr-defined]
    }
    return render(request, "strategy/review.html", context)


@member_required(Role.ADMIN)
@require_POST
def review_settings_save(request: HttpRequest) -> HttpResponse:
    form = ReviewSettingsForm(request.POST, instance=review_settings(request.org))  # type: ignore[attr-defined]
    if form.is_valid():
        saved = form.save(commit=False)
        saved.org = request.org  # type: ignore[attr-defined]
        saved.save()
        messages.success(
            request, f"Next review on {saved.next_review:%d %b %Y}, then {saved.get_cadence_display().lower()}."
        )
    else:
        problems = "; ".join(
            f"{form.fields[k].label if k in form.fields else k}: {' '.join(v)}" for k, v in form.errors.items()
        )
        messages.error(request, f"Review settings not saved — {problems}")
    return redirect("review")


@member_required(Role.ADMIN)
@require_POST
def review_done(request: HttpRequest) -> HttpResponse:
    settings = mark_reviewed(request.org, timezone.localdate())  # type: ignore[attr-defined]
    messages.success(request, f"Review recorded. The next one is due on {settings.next_review:%d %b %Y}.")
    return redirect("review")

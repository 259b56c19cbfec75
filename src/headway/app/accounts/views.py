"""Sign-in, sign-up, invitations, the organisation switcher and the user's account page."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from headway.app.accounts.forms import AccountForm, NewOrgForm, RateLimitedAuthenticationForm, SignupForm
from headway.app.accounts.models import Invitation, Member
from headway.app.accounts.onboarding import create_org
from headway.app.accounts.tenancy import SESSION_KEY

INVITATION_DAYS = 14
BACKEND = "django.contrib.auth.backends.ModelBackend"


class LoginView(auth_views.LoginView):
    form_class = RateLimitedAuthenticationForm
    redirect_authenticated_user = True


def signup(request: HttpRequest) -> HttpResponse:
    """A new organisation set up from the chosen business template; for a visitor, their account too."""
    signed_in = request.user.is_authenticated
    form = (NewOrgForm if signed_in else SignupForm)(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = request.user if signed_in else form.save()
            org = create_org(form.cleaned_data["organisation"], user, form.cleaned_data["template"] or None)
        if not signed_in:
            login(request, user, backend=BACKEND)
        request.session[SESSION_KEY] = org.pk
        return redirect("scorecard")
    return render(request, "accounts/signup.html", {"form": form, "signed_in": signed_in})


def _problem(invitation: Invitation | None) -> str | None:
    if invitation is None:
        return "unknown"
    if invitation.accepted_at is not None:
        return "used"
    if invitation.created_at < timezone.now() - timedelta(days=INVITATION_DAYS):
        return "expired"
    return None


def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The link from an invitation email: join the org, signing in or creating an account first if needed."""
    found = Invitation.objects.select_related("org").filter(token=token).first()
    problem = _problem(found)
    if problem or found is None:
        status = 404 if problem == "unknown" else 410
        return render(request, "accounts/invitation_invalid.html", {"problem": problem}, status=status)
    action = request.POST.get("action") if request.method == "POST" else None
    login_data = request.POST if action == "login" else None
    login_form = RateLimitedAuthenticationForm(request, data=login_data, prefix="login")
    account_form = AccountForm(
        request.POST if action == "signup" else None, initial={"email": found.email}, prefix="account"
    )
    if request.method == "POST":
        if request.user.is_authenticated:
            return _join(request, found)
        with transaction.atomic():
            user = None
            if action == "login" and login_form.is_valid():
                user = login_form.get_user()
            elif action == "signup" and account_form.is_valid():
                user = account_form.save()
            if user is not None:
                login(request, user, backend=BACKEND)
                return _join(request, found)
    context = {"invitation": found, "login_form": login_form, "account_form": account_form, "action": action}
    return render(request, "accounts/invitation.html", context)


def _join(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    with transaction.atomic():
        # Claimed with a conditional UPDATE, so a link works exactly once even with two clicks at the same time.
        claimed = Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(
            accepted_at=timezone.now()
        )
        if claimed != 1:
            return render(request, "accounts/invitation_invalid.html", {"problem": "used"}, status=410)
        member, created = Member.objects.get_or_create(
            user=request.user, org=invitation.org, defaults={"role": invitation.role}
        )
        if created:
            member.departments.set(invitation.departments.all())
    request.session[SESSION_KEY] = invitation.org_id
    if created:
        messages.success(request, f"Welcome to {invitation.org.name}! You joined as {member.get_role_display()}.")
    else:
        messages.info(request, f"You were already a member of {invitation.org.name}; your role is unchanged.")
    return redirect("scorecard")


@login_required
@require_POST
def switch_org(request: HttpRequest, org_id: int) -> HttpResponse:
    """Make another of the user's organisations the current one (any other id is not found)."""
    member = get_object_or_404(Member.objects.select_related("org"), user=request.user, org_id=org_id)
    request.session[SESSION_KEY] = member.org_id
    messages.info(request, f"Now working in {member.org.name}.")
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return redirect("scorecard")


@login_required
def account(request: HttpRequest) -> HttpResponse:
    """The signed-in user's organisations (with the switcher) and password."""
    memberships = Member.objects.filter(user=request.user).select_related("org").order_by("org__name")
    return render(request, "accounts/account.html", {"memberships": memberships})

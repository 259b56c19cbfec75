"""Sign-in, sign-up and the organisation's settings."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from headway.app.accounts.models import LoginAttempt
from headway.app.accounts.onboarding import create_org
from headway.engine.templates import load_templates


class RateLimitedAuthenticationForm(AuthenticationForm):
    """Refuses to check a password after too many recent failures for the username or address."""

    def clean(self) -> dict:
        username = (self.data.get("username") or "")[:150]
        ip = self.request.META.get("REMOTE_ADDR") if self.request else None
        since = timezone.now() - timedelta(minutes=15)
        recent = LoginAttempt.objects.filter(at__gte=since)
        limit = settings.LOGIN_ATTEMPTS_PER_15_MIN
        if recent.filter(username=username).count() >= limit or (ip and recent.filter(ip=ip).count() >= 3 * limit):
            raise forms.ValidationError("Too many failed sign-in attempts. Wait 15 minutes and try again.")
        try:
            return super().clean()
        except forms.ValidationError:
            LoginAttempt.objects.create(username=username, ip=ip)
            raise


class LoginView(auth_views.LoginView):
    form_class = RateLimitedAuthenticationForm
    redirect_authenticated_user = True


class SignupForm(UserCreationForm):
    email = forms.EmailField(required=True)
    organisation = forms.CharField(max_length=120, label="Organisation name")
    template = forms.ChoiceField(label="Business type", required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        choices = [("", "Start empty")] + [(t.id, t.name) for t in load_templates().values()]
        self.fields["template"].choices = choices


def signup(request: HttpRequest) -> HttpResponse:
    """A new user and their organisation, set up from the chosen business template."""
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save(commit=False)
        user.email = form.cleaned_data["email"]
        user.save()
        create_org(form.cleaned_data["organisation"], user, form.cleaned_data["template"] or None)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("scorecard")
    return render(request, "accounts/signup.html", {"form": form})

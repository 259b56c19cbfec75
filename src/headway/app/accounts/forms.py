"""Forms of sign-in, sign-up, invitations and the organisation's settings."""

from __future__ import annotations

import calendar
import re
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.utils import timezone

from headway.app.accounts.models import Department, Invitation, LoginAttempt, Member, Organization, Role
from headway.engine.templates import load_templates

CURRENCY = re.compile(r"^[A-Z]{3}$")
LOCALE = re.compile(r"^[a-z]{2,3}([-_][A-Za-z]{2,4})?$")
MONTHS = [(n, calendar.month_name[n]) for n in range(1, 13)]
WEEKDAYS = [(n, calendar.day_name[n]) for n in range(7)]  # 0 = Monday, as the engine's Calendar counts


class RateLimitedAuthenticationForm(AuthenticationForm):
    """Refuses to check a password after too many recent failures for the username or address."""

    def clean(self) -> dict:
        username = (self.data.get(self.add_prefix("username")) or "")[:150]
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


class AccountForm(UserCreationForm):
    """A new user account: username, email and password (checked by the password validators)."""

    email = forms.EmailField(required=True)

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip()
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this email exists already. Sign in instead.")
        return email


class NewOrgForm(forms.Form):
    organisation = forms.CharField(max_length=120, label="Organisation name")
    template = forms.ChoiceField(label="Business type", required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        choices = [("", "Start empty"), *((t.id, t.name) for t in load_templates().values())]
        self.fields["template"].choices = choices  # type: ignore[attr-defined]


class SignupForm(AccountForm):
    """A new account and its organisation in one form."""

    organisation = NewOrgForm.base_fields["organisation"]
    template = NewOrgForm.base_fields["template"]
    field_order = ["organisation", "template", "username", "email", "password1", "password2"]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["template"].choices = NewOrgForm().fields["template"].choices  # type: ignore[attr-defined]


class OrgSettingsForm(forms.ModelForm):
    # Longer than the column on purpose, so "EURO" gets the ISO-code message rather than a length one.
    currency = forms.CharField(max_length=10, help_text="ISO 4217 code, e.g. EUR, USD, GBP")
    fiscal_year_start = forms.TypedChoiceField(choices=MONTHS, coerce=int, label="Fiscal year starts in")
    week_start = forms.TypedChoiceField(choices=WEEKDAYS, coerce=int, label="Weeks start on")

    class Meta:
        model = Organization
        fields = ["name", "currency", "locale", "timezone", "fiscal_year_start", "week_start"]
        labels = {"name": "Organisation name", "timezone": "Time zone"}
        help_texts = {"timezone": "An IANA name, e.g. Europe/Berlin or America/New_York"}

    def clean_currency(self) -> str:
        code = self.cleaned_data["currency"].strip().upper()
        if not CURRENCY.match(code):
            raise forms.ValidationError("Use a three-letter ISO 4217 code, e.g. EUR, USD or GBP.")
        return code

    def clean_locale(self) -> str:
        locale = self.cleaned_data["locale"].strip()
        if not LOCALE.match(locale):
            raise forms.ValidationError("Use a language code, optionally with a region, e.g. en, de or en-GB.")
        return locale

    def clean_timezone(self) -> str:
        name = self.cleaned_data["timezone"].strip()
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise forms.ValidationError(f"“{name}” is not a known time zone; use a name like Europe/Berlin.") from None
        return name


class DepartmentChoiceField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj: Department) -> str:  # type: ignore[override]
        return obj.name


def role_choices(actor: Member) -> list[tuple[str, str]]:
    """The roles ``actor`` may hand out: only an owner makes owners."""
    return [(value, label) for value, label in Role.choices if value != Role.OWNER or actor.has_role(Role.OWNER)]


class RoleAndScopeForm(forms.ModelForm):
    """A role the acting member may hand out, and an optional department scope in their org."""

    departments = DepartmentChoiceField(
        queryset=Department.objects.none(),
        required=False,
        help_text="Leave empty to let them see every department.",
        label="Limit to departments",
    )

    def __init__(self, *args: object, actor: Member, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.actor = actor
        self.fields["role"].choices = role_choices(actor)  # type: ignore[attr-defined]
        self.fields["departments"].queryset = Department.objects.filter(org=actor.org)  # type: ignore[attr-defined]


class InvitationForm(RoleAndScopeForm):
    class Meta:
        model = Invitation
        fields = ["email", "role", "departments"]

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip()
        if Member.objects.filter(org_id=self.actor.org_id, user__email__iexact=email).exists():
            raise forms.ValidationError("Someone with this email is a member already.")
        pending = Invitation.objects.filter(org_id=self.actor.org_id, email__iexact=email, accepted_at__isnull=True)
        if pending.exists():
            raise forms.ValidationError("This email has a pending invitation; withdraw it to send a new one.")
        return email


class MemberForm(RoleAndScopeForm):
    class Meta:
        model = Member
        fields = ["role", "departments"]

    def clean_role(self) -> str:
        role = self.cleaned_data["role"]
        if self.instance.role == Role.OWNER and role != Role.OWNER:
            if not self.actor.has_role(Role.OWNER):
                raise forms.ValidationError("Only an owner can change an owner's role.")
            if not other_owners(self.instance).exists():
                raise forms.ValidationError("This is the last owner; make someone else owner first.")
        return role


def other_owners(member: Member):  # type: ignore[no-untyped-def]
    return Member.objects.filter(org_id=member.org_id, role=Role.OWNER).exclude(pk=member.pk)


class DepartmentForm(forms.ModelForm):
    class Meta:
        model = Department
        fields = ["name", "parent"]
        labels = {"parent": "Part of"}

    def __init__(self, *args: object, org: Organization, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.org = org
        parents = Department.objects.filter(org=org)
        if self.instance.pk:
            parents = parents.exclude(pk__in=descendant_ids(self.instance))
        self.fields["parent"].queryset = parents  # type: ignore[attr-defined]
        self.fields["parent"].empty_label = "— top level —"  # type: ignore[attr-defined]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        clash = Department.objects.filter(org=self.org, name__iexact=name).exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(f"There is already a department called “{name}”.")
        return name

    def save(self, commit: bool = True) -> Department:
        self.instance.org = self.org
        return super().save(commit)


def descendant_ids(department: Department) -> set[int]:
    """The department and every department below it (a department cannot be moved under these)."""
    children: dict[int | None, list[int]] = {}
    for pk, parent in Department.objects.filter(org_id=department.org_id).values_list("pk", "parent_id"):
        children.setdefault(parent, []).append(pk)
    found, todo = set(), [department.pk]
    while todo:
        pk = todo.pop()
        if pk not in found:
            found.add(pk)
            todo.extend(children.get(pk, []))
    return found

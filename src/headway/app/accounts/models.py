"""Organisations (tenants), their departments and members with roles."""

from __future__ import annotations

import secrets
from pathlib import Path

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from headway.engine.periods import Calendar


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    EDITOR = "editor", "Editor"
    VIEWER = "viewer", "Viewer"


# Higher rank can do everything a lower rank can.
ROLE_RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.ADMIN: 2, Role.OWNER: 3}


class Organization(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    currency = models.CharField(max_length=3, default="EUR", help_text="ISO 4217 code, e.g. EUR, USD, GBP")
    locale = models.CharField(max_length=10, default="en", help_text="Number format, e.g. en, de, fr")
    timezone = models.CharField(max_length=64, default="UTC")
    fiscal_year_start = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    week_start = models.PositiveSmallIntegerField(default=0, validators=[MinValueValidator(0), MaxValueValidator(6)])
    template = models.CharField(max_length=40, blank=True, help_text="Industry template the org started from")
    current_run = models.ForeignKey(
        "kpis.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text="Series shown now"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name

    def calendar(self) -> Calendar:
        return Calendar(week_start=self.week_start, fiscal_year_start=self.fiscal_year_start, timezone=self.timezone)

    def warehouse_path(self) -> Path:
        """The org's own DuckDB file (one per tenant: no query can reach another org's data)."""
        return Path(settings.DATA_DIR) / "orgs" / str(self.pk) / "warehouse.duckdb"


class Department(models.Model):
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="departments")
    name = models.CharField(max_length=80)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "name"], name="department_unique_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Member(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="members")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    departments = models.ManyToManyField(
        Department, blank=True, help_text="If set, the member sees only these departments' KPIs"
    )
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "org"], name="member_unique")]

    def __str__(self) -> str:
        return f"{self.user} in {self.org} ({self.role})"

    def has_role(self, role: str) -> bool:
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(role)]

    @property
    def can_edit(self) -> bool:
        return self.has_role(Role.EDITOR)

    @property
    def can_admin(self) -> bool:
        return self.has_role(Role.ADMIN)

    def department_ids(self) -> set[int] | None:
        """The departments this member is limited to (None: the whole organisation); read once per request."""
        if not hasattr(self, "_department_ids"):
            self._department_ids = set(self.departments.values_list("id", flat=True)) or None
        return self._department_ids


def _token() -> str:
    return secrets.token_urlsafe(32)


class Invitation(models.Model):
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    departments = models.ManyToManyField(Department, blank=True)
    token = models.CharField(max_length=64, unique=True, default=_token)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(null=True, blank=True)


class LoginAttempt(models.Model):
    """Failed logins, for rate limiting across every web process."""

    username = models.CharField(max_length=150, db_index=True)
    ip = models.GenericIPAddressField(null=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

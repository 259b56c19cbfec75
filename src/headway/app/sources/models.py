"""Where an organisation's data comes from: sources, their imports, API tokens and stale KPIs."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models

from headway.app.accounts.models import Organization


class SourceKind(models.TextChoices):
    FILE = "file", "File upload"
    SQL = "sql", "SQL database"
    SAAS = "saas", "SaaS connector"
    PUSH = "push", "Push API"
    MANUAL = "manual", "Manual entry"


class Schedule(models.TextChoices):
    HOURLY = "hourly", "Every hour"
    DAILY = "daily", "Every day"
    MANUAL = "manual", "Only by hand"


class ImportMode(models.TextChoices):
    APPEND = "append", "Append new rows"
    REPLACE = "replace", "Replace the dataset"
    UPSERT = "upsert", "Update by key, add the rest"


class SourceStatus(models.TextChoices):
    NEW = "new", "Not run yet"
    RUNNING = "running", "Refreshing"
    OK = "ok", "OK"
    FAILING = "failing", "Failing"


class Source(models.Model):
    """One place data comes from, feeding one dataset (a SaaS connector may feed several)."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="sources")
    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=10, choices=SourceKind.choices)
    dataset = models.CharField(max_length=63, blank=True, help_text="Warehouse table the source writes")
    dataset_type = models.CharField(max_length=40, blank=True, help_text="Canonical type, if mapped")
    mapping = models.JSONField(null=True, blank=True, help_text="Saved column mapping (reused for the next file)")
    mode = models.CharField(max_length=10, choices=ImportMode.choices, default=ImportMode.APPEND)
    key = models.CharField(max_length=200, blank=True, help_text="Comma-separated key columns for upsert")
    schedule = models.CharField(max_length=10, choices=Schedule.choices, default=Schedule.MANUAL)
    config = models.JSONField(default=dict, blank=True, help_text="Non-secret settings: connector, table, query")
    credentials = models.TextField(blank=True, help_text="Encrypted JSON of the secret fields; never shown back")
    state = models.JSONField(default=dict, blank=True, help_text="Connector cursors / incremental position")
    status = models.CharField(max_length=10, choices=SourceStatus.choices, default=SourceStatus.NEW)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "name"], name="source_unique_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def key_columns(self) -> list[str]:
        return [k.strip() for k in self.key.split(",") if k.strip()]

    @property
    def has_credentials(self) -> bool:
        return bool(self.credentials)


class ImportStatus(models.TextChoices):
    DRAFT = "draft", "Waiting for the mapping"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Done"
    FAILED = "failed", "Failed"


class ImportRun(models.Model):
    """One import into a source's dataset (a file, a push, a scheduled sync), with its counts."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="import_runs")
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="imports")
    file_name = models.CharField(max_length=255, blank=True)
    stored_path = models.CharField(max_length=500, blank=True, help_text="The uploaded file in the data folder")
    sheet = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    stage = models.CharField(max_length=40, blank=True)
    progress = models.FloatField(default=0.0)
    read = models.BigIntegerField(default=0)
    loaded = models.BigIntegerField(default=0)
    rejected = models.BigIntegerField(default=0)
    skipped = models.BigIntegerField(default=0)
    reasons = models.JSONField(default=dict, blank=True, help_text='{"column: reason": rows}')
    skipped_reasons = models.JSONField(default=dict, blank=True)
    warehouse_import_id = models.BigIntegerField(null=True, blank=True, help_text="Id in the warehouse ledger")
    duplicate_file = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"import {self.pk} of {self.source} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (ImportStatus.SUCCEEDED, ImportStatus.FAILED)


TOKEN_PREFIX = "hw_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ApiToken(models.Model):
    """An organisation's push API token. Only its hash is stored; the token is shown once."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=12, help_text="First characters, to recognise the token in lists")
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, org: Organization, name: str, user=None) -> tuple[ApiToken, str]:  # type: ignore[no-untyped-def]
        """A new token for ``org``; returns the stored row and the plain token (shown to the user once)."""
        plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(org=org, name=name, prefix=plain[:10], token_hash=hash_token(plain), created_by=user)
        return token, plain

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class StaleKpi(models.Model):
    """A KPI whose numbers may be out of date because a source it reads is failing."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="stale_kpis")
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="stale_kpis")
    kpi_id = models.CharField(max_length=64)
    reason = models.TextField()
    since = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "kpi_id"], name="stale_kpi_unique")]
        ordering = ["kpi_id"]

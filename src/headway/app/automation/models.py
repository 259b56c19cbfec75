"""Jobs, alert rules, alerts, channels and their delivery log.

Every row a worker acts on is claimed with a conditional UPDATE that must change exactly
one row (queued -> running, pending -> sending), so two workers never run the same job
or send the same notification.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import models

from headway.app.accounts.models import Member, Organization
from headway.ingest import secrets


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Job(models.Model):
    """One piece of background work: a registered ``kind`` with JSON ``params``, for an org or none."""

    org = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=60)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=3)
    error = models.TextField(blank=True)
    run_after = models.DateTimeField(help_text="Not before this time (retries back off)")
    lease_until = models.DateTimeField(
        null=True, blank=True, help_text="A running job not renewed by then is re-queued"
    )
    worker = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "run_after"], name="job_due")]

    def __str__(self) -> str:
        return f"job {self.pk} {self.kind} ({self.status})"


class JobLock(models.Model):
    """A named lock (e.g. ``refresh:<org id>``) held by one running job until its lease ends."""

    key = models.CharField(max_length=100, unique=True)
    job = models.ForeignKey(Job, null=True, on_delete=models.SET_NULL, related_name="+")
    lease_until = models.DateTimeField()


class ChannelKind(models.TextChoices):
    EMAIL = "email", "Email"
    SLACK = "slack", "Slack"
    TEAMS = "teams", "Microsoft Teams"
    WEBHOOK = "webhook", "Webhook (JSON, signed)"
    INBOX = "inbox", "In-app inbox"


def channel_encryption_key() -> str:
    return settings.HEADWAY_ENCRYPTION_KEY or settings.SECRET_KEY


def mask_url(url: str) -> str:
    """A URL fit for pages: scheme, host and port, and at most the last 4 characters of the rest,
    e.g. ``https://hooks.slack.com/…/••••1a2b`` (the path and query of a webhook URL are its token)."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    base = f"{parts.scheme}://{parts.hostname or ''}{port}"
    rest = (parts.path + (f"?{parts.query}" if parts.query else "")).rstrip("/")
    if not rest:
        return base + "/"
    return base + (f"/…/••••{rest[-4:]}" if len(rest) > 12 else "/…")


class Channel(models.Model):
    """Where notifications go. ``config`` holds the email addresses and, for URL kinds, only the masked URL
    (``url_masked``); the URL itself and the webhook signing ``secret`` are in ``credentials``, encrypted
    with the installation's key (:mod:`headway.ingest.secrets`). Read and set them through the ``url`` and
    ``secret`` properties; a plain ``config["url"]`` (``Channel(config={"url": ...})``) is moved there on save.
    """

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="channels")
    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    name = models.CharField(max_length=80)
    config = models.JSONField(default=dict, blank=True)
    credentials = models.TextField(blank=True, help_text="Encrypted JSON: the URL and the signing secret")
    enabled = models.BooleanField(default=True)
    disabled_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def _plain(self) -> dict[str, str]:
        """The decrypted credentials (raises headway.ingest.secrets.SecretError when the key changed)."""
        if not self.credentials:
            return {}
        cached = getattr(self, "_plain_cache", None)
        if cached is not None and cached[0] == self.credentials:
            return dict(cached[1])
        plain = json.loads(secrets.decrypt(self.credentials, channel_encryption_key()).reveal())
        self._plain_cache = (self.credentials, plain)
        return dict(plain)

    def _set_plain(self, name: str, value: str) -> None:
        current = self._plain()
        if value:
            current[name] = value
        else:
            current.pop(name, None)
        self.credentials = secrets.encrypt(json.dumps(current), channel_encryption_key()) if current else ""
        self._plain_cache = (self.credentials, current)

    @property
    def url(self) -> str:
        """The plain URL: only for the request that sends; never log or display it (use ``masked_url``)."""
        if isinstance(self.config, dict) and self.config.get("url"):
            return str(self.config["url"])  # set on an unsaved channel, moved into credentials on save
        return self._plain().get("url", "")

    @url.setter
    def url(self, value: str) -> None:
        self._set_plain("url", value or "")
        if not isinstance(self.config, dict):
            self.config = {}
        self.config.pop("url", None)
        if value:
            self.config["url_masked"] = mask_url(value)
        else:
            self.config.pop("url_masked", None)

    @property
    def secret(self) -> str:
        """The plain webhook signing secret (to sign a request, or shown once when the channel is made)."""
        return self._plain().get("secret", "")

    @secret.setter
    def secret(self, value: str) -> None:
        self._set_plain("secret", value or "")

    @property
    def masked_url(self) -> str:
        return str((self.config or {}).get("url_masked", "")) if isinstance(self.config, dict) else ""

    def save(self, *args: Any, **kwargs: Any) -> None:
        if isinstance(self.config, dict) and "url" in self.config:
            self.url = str(self.config.get("url") or "")
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "config", "credentials"}
        super().save(*args, **kwargs)


class Severity(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


class AlertRule(models.Model):
    """A condition on a KPI (optionally one dimension value); see headway.analytics.alerts for the kinds."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="alert_rules")
    name = models.CharField(max_length=120)
    kpi_id = models.CharField(max_length=64)
    grain = models.CharField(max_length=10, default="month")
    dimension = models.CharField(max_length=63, blank=True)
    dim_value = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=30)
    params = models.JSONField(default=dict, blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARNING)
    channels = models.ManyToManyField(Channel, blank=True, related_name="rules")
    recipients = models.ManyToManyField(Member, blank=True, related_name="alert_rules", help_text="Emailed")
    cooldown_minutes = models.PositiveIntegerField(default=60)
    quiet_start = models.TimeField(null=True, blank=True, help_text="In the org's time zone")
    quiet_end = models.TimeField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    firing = models.BooleanField(default=False)
    last_fired_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Alert(models.Model):
    """One firing of a rule, from the moment it fired until it resolved."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="alerts")
    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    firing = models.BooleanField(default=True)
    fired_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    period = models.DateField(null=True, blank=True)
    value = models.FloatField(null=True, blank=True)
    reference = models.FloatField(null=True, blank=True)
    message = models.TextField()
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    snoozed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    snoozed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-fired_at", "-pk"]


class Notification(models.Model):
    """A transition of an alert (fired / resolved) to tell people about; held back during quiet hours."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="notifications")
    event = models.CharField(max_length=10, choices=[("firing", "Firing"), ("resolved", "Resolved")])
    deliver_after = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["alert", "event"], name="notification_once")]


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    RETRYING = "retrying", "Retrying"
    FAILED = "failed", "Failed"


class Delivery(models.Model):
    """A notification sent (or attempted) over one channel; ``log`` keeps every attempt."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="deliveries")
    notification = models.ForeignKey(Notification, null=True, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    log = models.JSONField(default=list, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["notification", "channel"], name="delivery_once")]


class InboxMessage(models.Model):
    """An in-app message: an alert for the org's inbox, or a notice to admins (a channel was disabled)."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="inbox_messages")
    alert = models.ForeignKey(Alert, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    admins_only = models.BooleanField(default=False)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

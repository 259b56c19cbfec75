"""The stored model of an organisation's KPIs: definitions, datasets, computation runs and series."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from headway.app.accounts.models import Department, Member, Organization
from headway.engine.spec import Kpi


class Dataset(models.Model):
    """A table in the org's warehouse, optionally of a canonical type."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="datasets")
    name = models.CharField(max_length=63)
    dataset_type = models.CharField(max_length=40, blank=True, help_text="Canonical type, if mapped")
    rows = models.BigIntegerField(default=0)
    first_date = models.DateField(null=True, blank=True)
    last_date = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "name"], name="dataset_unique_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class KpiSource(models.TextChoices):
    CATALOG = "catalog", "Catalog"
    CUSTOM = "custom", "Custom"


class KpiDefinition(models.Model):
    """One KPI of an organisation: the engine's spec (validated) plus who owns it where."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="kpis")
    kpi_id = models.SlugField(max_length=64)
    spec = models.JSONField(help_text="The KPI spec (headway.engine.spec.Kpi) as JSON")
    source = models.CharField(max_length=10, choices=KpiSource.choices, default=KpiSource.CATALOG)
    department = models.ForeignKey(Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="kpis")
    owner = models.ForeignKey(Member, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_kpis")
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "kpi_id"], name="kpi_unique_id")]
        ordering = ["position", "kpi_id"]

    def __str__(self) -> str:
        return self.kpi_id

    def to_spec(self) -> Kpi:
        return Kpi.model_validate(self.spec)

    @classmethod
    def spec_json(cls, kpi: Kpi) -> dict:
        return kpi.model_dump(mode="json", exclude_none=True)


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Run(models.Model):
    """One computation of an org's KPIs. Its series become visible only when it succeeds."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Renewed while the run computes; a running run not renewed within the lease died",
    )
    error = models.TextField(blank=True)
    notes = models.JSONField(default=dict, blank=True, help_text="Per-KPI problems: {kpi_id: message}")
    rows = models.PositiveIntegerField(default=0)
    data_as_of = models.DateField(null=True, blank=True, help_text="Last date with data when the run was made")
    triggered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"run {self.pk} of {self.org} ({self.status})"


class SeriesPoint(models.Model):
    """A KPI value for one period (and one dimension value), stamped with the run that made it."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="points")
    kpi_id = models.CharField(max_length=64)
    grain = models.CharField(max_length=10)
    period = models.DateField()
    dimension = models.CharField(max_length=63, blank=True, help_text="'' for the total")
    dim_value = models.CharField(max_length=200, blank=True)
    value = models.FloatField(null=True)

    class Meta:
        indexes = [models.Index(fields=["run", "kpi_id", "grain", "dimension"], name="series_lookup")]
        ordering = ["period"]

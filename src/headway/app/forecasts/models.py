"""Stored forecasts: one per (run, KPI, grain), with the backtest accuracy and the numbers the fan chart shows."""

from __future__ import annotations

from django.db import models

from headway.app.accounts.models import Organization
from headway.app.kpis.models import Run


class StoredForecast(models.Model):
    """A KPI series of one run projected forward; ``error`` says why there is none when the fit was impossible."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="forecasts")
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="forecasts")
    kpi_id = models.CharField(max_length=64)
    grain = models.CharField(max_length=10)
    model = models.CharField(max_length=200, blank=True)
    fallback_used = models.BooleanField(default=False)
    history_points = models.PositiveIntegerField(default=0)
    last_period = models.DateField(null=True, blank=True, help_text="Last complete period the fit used")
    accuracy = models.JSONField(null=True, blank=True, help_text="Backtest: smape, mase, horizon, origins, ape_*")
    accuracy_text = models.CharField(max_length=300, blank=True)
    notes = models.JSONField(default=list, blank=True)
    points = models.JSONField(default=list, blank=True, help_text="[{period, mean, lower_80, upper_80, ...}]")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "kpi_id", "grain"], name="forecast_unique_per_run")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"forecast of {self.kpi_id} by {self.grain} (run {self.run_id})"

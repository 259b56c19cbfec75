"""The stored churn analysis of an organisation: made by the ``insights.churn`` job, read by the page."""

from __future__ import annotations

from django.db import models

from headway.app.accounts.models import Organization


class ChurnReport(models.Model):
    """Customers at risk on the last day of data; ``error`` says why there is no model (not enough data)."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="churn_reports")
    as_of = models.DateField(null=True, blank=True, help_text="Last day of data the scores describe")
    horizon_days = models.PositiveIntegerField(default=30)
    active_customers = models.PositiveIntegerField(default=0)
    at_risk_customers = models.PositiveIntegerField(default=0)
    revenue_at_risk = models.FloatField(default=0.0, help_text="Expected MRR lost in the horizon")
    auc = models.FloatField(null=True, blank=True)
    brier = models.FloatField(null=True, blank=True)
    brier_base_rate = models.FloatField(null=True, blank=True)
    customers = models.JSONField(default=list, blank=True, help_text="[{customer_id, probability, mrr, ...}]")
    at_risk_share = models.JSONField(default=list, blank=True, help_text="[{period, share}] monthly")
    drivers = models.JSONField(default=list, blank=True, help_text="[{feature, share}] on the test months")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"churn report of {self.org_id} as of {self.as_of}"


class DemandReport(models.Model):
    """Reconciled demand forecasts of one variant (weekly or monthly, split by channel or not), made by the
    ``insights.demand`` job; ``error`` says why there is none (e.g. fewer than 4 complete periods)."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="demand_reports")
    grain = models.CharField(max_length=10, help_text="week or month")
    split = models.CharField(max_length=40, blank=True, help_text="Column the products are split by, e.g. channel")
    horizon = models.PositiveIntegerField(default=0, help_text="Periods forecast (the page shows up to this many)")
    as_of = models.DateField(null=True, blank=True, help_text="Last day of the data the forecast is based on")
    model = models.CharField(max_length=200, blank=True)
    backtest_origins = models.PositiveIntegerField(default=0, help_text="Rolling origins the ranges were measured on")
    periods = models.JSONField(default=list, blank=True, help_text="Start of each forecast period (ISO)")
    history_periods = models.JSONField(default=list, blank=True, help_text="Start of each history period shown")
    nodes = models.JSONField(
        default=list, blank=True, help_text="[{level, node, name, parent, history, forecast, lower_80, ...}]"
    )
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.grain}ly demand of {self.org_id}{' by ' + self.split if self.split else ''} as of {self.as_of}"

"""The stored strategy of an organisation: objectives, goals and their revisions, KPI relationships,
leading/lagging overrides, who viewed which KPI, hand-entered KPI values and the review cadence."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q

from headway.analytics.goals import GoalStatus, TargetKind, Trajectory
from headway.app.accounts.models import Department, Member, Organization
from headway.app.kpis.models import KpiDefinition


class Objective(models.Model):
    """A business objective in a tree: company objectives (no department) over department ones."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="objectives")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children", help_text="Serves"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="objectives"
    )
    owner = models.ForeignKey(Member, null=True, blank=True, on_delete=models.SET_NULL, related_name="objectives")
    period_start = models.DateField()
    period_end = models.DateField()
    kpis = models.ManyToManyField(KpiDefinition, blank=True, related_name="objectives")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


GOAL_KIND_CHOICES = [
    (TargetKind.ABSOLUTE.value, "Reach a value"),
    (TargetKind.CHANGE_PCT.value, "Change by a % from the baseline"),
    (TargetKind.STAY_ABOVE.value, "Stay above"),
    (TargetKind.STAY_BELOW.value, "Stay below"),
]
TRAJECTORY_CHOICES = [
    (Trajectory.LINEAR.value, "Linear (straight line from baseline to target)"),
    (Trajectory.SEASONAL.value, "Seasonal (last year's shape)"),
    (Trajectory.CUMULATIVE.value, "Cumulative (running total reaches the target)"),
]
CADENCE_CHOICES = [("week", "Weekly"), ("month", "Monthly")]
STATUS_LABELS = {
    GoalStatus.NOT_STARTED: "Not started",
    GoalStatus.ON_TRACK: "On track",
    GoalStatus.AT_RISK: "At risk",
    GoalStatus.OFF_TRACK: "Off track",
    GoalStatus.ACHIEVED: "Achieved",
    GoalStatus.MISSED: "Missed",
    GoalStatus.NO_DATA: "No data",
}
STATUS_CHOICES = [(s.value, label) for s, label in STATUS_LABELS.items()]


class Goal(models.Model):
    """A SMARTer target on one KPI, belonging to an objective (the "relevant" in SMART)."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="goals")
    objective = models.ForeignKey(Objective, on_delete=models.CASCADE, related_name="goals")
    kpi = models.ForeignKey(KpiDefinition, on_delete=models.CASCADE, related_name="goals")
    kind = models.CharField(max_length=12, choices=GOAL_KIND_CHOICES, default=TargetKind.ABSOLUTE.value)
    target = models.FloatField(null=True, blank=True, help_text="In the KPI's unit (a % for a change goal)")
    target_expr = models.CharField(
        max_length=500, blank=True, help_text="Or a target from other KPIs, e.g. gross_margin_pct@last_year"
    )
    minimum = models.FloatField(null=True, blank=True)
    stretch = models.FloatField(null=True, blank=True)
    baseline = models.FloatField(null=True, blank=True)
    baseline_period = models.DateField(null=True, blank=True)
    baseline_from_history = models.BooleanField(default=True, help_text="False once someone set it by hand")
    start = models.DateField()
    deadline = models.DateField()
    trajectory = models.CharField(max_length=10, choices=TRAJECTORY_CHOICES, default=Trajectory.LINEAR.value)
    cadence = models.CharField(max_length=5, choices=CADENCE_CHOICES, default="month")
    strategy = models.TextField(blank=True, help_text="How you mean to get there")
    # The status cache: evaluated against one run's series; re-evaluated when the org shows another run.
    status = models.CharField(max_length=12, choices=STATUS_CHOICES, default=GoalStatus.NOT_STARTED.value)
    status_message = models.CharField(max_length=300, blank=True)
    status_run_id = models.BigIntegerField(null=True, blank=True)
    status_version = models.DateTimeField(null=True, blank=True, help_text="updated_at the status was computed for")
    final_outcome = models.CharField(max_length=12, blank=True, help_text="achieved / missed once the deadline passed")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["deadline", "pk"]

    def __str__(self) -> str:
        return f"goal on {self.kpi.kpi_id}"

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[GoalStatus(self.status)]


REVISED_FIELDS = ("kind", "target", "target_expr", "minimum", "stretch", "deadline", "trajectory", "strategy")


class GoalRevision(models.Model):
    """One change of a goal's target, deadline or strategy: who, when, why, and the values before and after."""

    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="revisions")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField()
    before = models.JSONField()
    after = models.JSONField()

    class Meta:
        ordering = ["-at", "-pk"]


class RelationshipKind(models.TextChoices):
    CONTRIBUTES_TO = "contributes_to", "contributes to"
    DRIVES = "drives", "drives"
    GUARDRAIL_FOR = "guardrail_for", "is a guardrail for"


class Relationship(models.Model):
    """KPI -> KPI: a department KPI contributes to a company one, a leading KPI drives a lagging one
    (``lag`` periods later), or a counter-metric guards against improving a KPI the wrong way."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="relationships")
    source = models.ForeignKey(KpiDefinition, on_delete=models.CASCADE, related_name="outgoing")
    target = models.ForeignKey(KpiDefinition, on_delete=models.CASCADE, related_name="incoming")
    kind = models.CharField(max_length=15, choices=RelationshipKind.choices)
    lag = models.PositiveSmallIntegerField(default=0, help_text="Periods between a move of the driver and the result")
    note = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "target", "kind"], name="relationship_unique"),
            models.CheckConstraint(condition=~Q(source=models.F("target")), name="relationship_not_self"),
        ]
        ordering = ["kind", "pk"]


class IndicatorOverride(models.Model):
    """Leading or lagging for one KPI, when the KPI spec's flag does not fit this business."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    kpi = models.OneToOneField(KpiDefinition, on_delete=models.CASCADE, related_name="indicator_override")
    indicator = models.CharField(max_length=7, choices=[("leading", "Leading"), ("lagging", "Lagging")])
    updated_at = models.DateTimeField(auto_now=True)


class KpiView(models.Model):
    """When a member last opened a KPI's page (for the review's "not viewed in N days")."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    kpi = models.ForeignKey(KpiDefinition, on_delete=models.CASCADE, related_name="views")
    last_viewed = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["member", "kpi"], name="kpiview_unique")]


class ManualValue(models.Model):
    """A hand-entered value of a manual KPI for one period. Edits add a row; the newest is current."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    kpi = models.ForeignKey(KpiDefinition, on_delete=models.CASCADE, related_name="manual_values")
    grain = models.CharField(max_length=10)
    period = models.DateField()
    value = models.FloatField()
    note = models.CharField(max_length=200, blank=True)
    is_current = models.BooleanField(default=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    entered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kpi", "grain", "period"], condition=Q(is_current=True), name="manualvalue_one_current"
            )
        ]
        ordering = ["-period", "-entered_at", "-pk"]


class ReviewCadence(models.TextChoices):
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"
    HALF_YEARLY = "half_yearly", "Every six months"
    YEARLY = "yearly", "Yearly"


CADENCE_MONTHS = {
    ReviewCadence.MONTHLY: 1,
    ReviewCadence.QUARTERLY: 3,
    ReviewCadence.HALF_YEARLY: 6,
    ReviewCadence.YEARLY: 12,
}


class ReviewSettings(models.Model):
    """The portfolio review's cadence and next date (the email reminder reads this too)."""

    org = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="review_settings")
    cadence = models.CharField(max_length=12, choices=ReviewCadence.choices, default=ReviewCadence.QUARTERLY)
    next_review = models.DateField()
    last_reviewed = models.DateField(null=True, blank=True)
    not_viewed_days = models.PositiveSmallIntegerField(default=90)
    reminded_for = models.DateField(
        null=True, blank=True, help_text="The review date the admins were last emailed about (sent once per date)"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def is_due(self, today: date) -> bool:
        return self.next_review <= today

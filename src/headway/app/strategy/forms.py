"""Forms of the strategy pages. Every error names the field at fault and what would fix it."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms

from headway.analytics.goals import GoalError, GoalSpec, TargetKind, Trajectory
from headway.analytics.target_expr import TargetExprError, parse_target
from headway.app.accounts.models import Department, Member
from headway.app.kpis.models import KpiDefinition
from headway.app.kpis.series import current_run
from headway.app.strategy.access import editable_kpis, editable_objectives, visible_objectives
from headway.app.strategy.evaluation import goal_grain, shown_to_stored, stored_to_shown
from headway.app.strategy.models import (
    REVISED_FIELDS,
    Goal,
    Objective,
    Relationship,
    ReviewSettings,
)
from headway.engine.periods import truncate
from headway.engine.spec import Unit

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
RECOMMENDED_KPIS = 3
MAX_KPIS = 5


def kpi_label(d: KpiDefinition) -> str:
    return str(d.spec.get("name", d.kpi_id))


class KpiChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: KpiDefinition) -> str:
        return kpi_label(obj)


class OneKpiChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: KpiDefinition) -> str:
        return f"{kpi_label(obj)} ({obj.kpi_id})"


class MemberChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Member) -> str:
        return obj.user.get_full_name() or obj.user.username


class ObjectiveForm(forms.ModelForm):
    kpis = KpiChoice(
        queryset=KpiDefinition.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="KPIs that measure it",
        help_text=f"2–3 KPIs is the sweet spot; more than {MAX_KPIS} blurs what matters.",
    )
    owner = MemberChoice(queryset=Member.objects.none(), required=False)

    class Meta:
        model = Objective
        fields = ["title", "description", "parent", "department", "owner", "period_start", "period_end", "kpis"]
        widgets = {"period_start": DATE, "period_end": DATE, "description": forms.Textarea(attrs={"rows": 3})}
        labels = {"parent": "Serves (parent objective)", "department": "Department (empty: company-wide)"}
        help_texts = {"parent": "The bigger objective this one contributes to; empty for a top-level objective."}

    def __init__(self, *args: Any, member: Member, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        org = member.org
        scoped = member.department_ids()
        departments = Department.objects.filter(org=org)
        self.fields["department"].queryset = departments if scoped is None else departments.filter(id__in=scoped)  # type: ignore[attr-defined]
        if scoped is not None:
            self.fields["department"].required = True
        parents = visible_objectives(member)
        if self.instance.pk:
            parents = parents.exclude(pk=self.instance.pk)
        self.fields["parent"].queryset = parents  # type: ignore[attr-defined]
        self.fields["owner"].queryset = Member.objects.filter(org=org).select_related("user")  # type: ignore[attr-defined]
        self.fields["kpis"].queryset = editable_kpis(member)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("period_start"), data.get("period_end")
        if start and end and end < start:
            self.add_error("period_end", f"The period ends ({end}) before it starts ({start}).")
        parent = data.get("parent")
        seen = {self.instance.pk} if self.instance.pk else set()
        while parent is not None:
            if parent.pk in seen:
                self.add_error("parent", "That would make the objective serve itself (a loop in the tree).")
                break
            seen.add(parent.pk)
            parent = parent.parent
        return data


class GoalForm(forms.ModelForm):
    """A goal on a KPI. Percent KPIs take targets as people read them (25 for 25%)."""

    kpi = OneKpiChoice(queryset=KpiDefinition.objects.none(), label="KPI")
    record_past = forms.BooleanField(
        required=False,
        label="Record a past goal",
        help_text="Tick only to judge a period your data already covers: the goal is achieved or missed at once.",
    )

    class Meta:
        model = Goal
        fields = [
            "objective",
            "kpi",
            "kind",
            "target",
            "target_expr",
            "minimum",
            "stretch",
            "start",
            "deadline",
            "baseline",
            "baseline_period",
            "trajectory",
            "cadence",
            "strategy",
        ]
        widgets = {
            "start": DATE,
            "deadline": DATE,
            "baseline_period": DATE,
            "strategy": forms.Textarea(attrs={"rows": 3}),
        }
        labels = {"objective": "Objective it serves", "kind": "Kind of target", "target_expr": "Target expression"}

    def __init__(self, *args: Any, member: Member, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.member = member
        self.fields["objective"].queryset = editable_objectives(member)  # type: ignore[attr-defined]
        self.fields["kpi"].queryset = editable_kpis(member)  # type: ignore[attr-defined]
        self.fields["baseline"].help_text = "Filled in from the KPI's history; change it if you know better."
        self.order_fields([*self.Meta.fields[: self.Meta.fields.index("deadline") + 1], "record_past"])
        if self.instance.pk:
            kpi = self.instance.kpi.to_spec()
            for name in ("target", "minimum", "stretch", "baseline"):
                self.initial[name] = stored_to_shown(kpi, self.instance.kind, getattr(self.instance, name))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        definition: KpiDefinition | None = data.get("kpi")
        deadline = data.get("deadline")
        run = current_run(self.member.org)
        if deadline and run is not None and run.data_as_of and not data.get("record_past"):
            data_end = run.data_as_of
            if deadline <= data_end:
                self.add_error(
                    "deadline",
                    f"The deadline ({deadline:%d %b %Y}) is not after the end of your data ({data_end:%d %b %Y}): "
                    "the goal would be decided the moment you save it. Choose a later deadline, or tick "
                    "'Record a past goal' to judge a past period on purpose.",
                )
        return clean_goal(self, data, definition)


def clean_goal(form: forms.ModelForm, data: dict[str, Any], definition: KpiDefinition | None) -> dict[str, Any]:
    """Shared checks of a new or revised goal: one target, a valid expression, dates and levels in order."""
    if definition is None:
        return data
    kpi = definition.to_spec()
    kind = data.get("kind") or TargetKind.ABSOLUTE.value
    target, expr = data.get("target"), (data.get("target_expr") or "").strip()
    data["target_expr"] = expr
    if target is None and not expr:
        form.add_error("target", "Give a target value, or a target expression in the next field.")
    if target is not None and expr:
        form.add_error("target_expr", "Give either a target value or an expression, not both.")
    if expr:
        try:
            parsed = parse_target(expr)
        except TargetExprError as exc:
            form.add_error("target_expr", f"{exc.reason} at column {exc.position + 1}.")
        else:
            known = set(KpiDefinition.objects.filter(org=definition.org).values_list("kpi_id", flat=True))
            unknown = sorted(parsed.kpi_ids - known)
            if unknown:
                form.add_error("target_expr", f"Not KPIs of this organisation: {', '.join(unknown)}.")
            if kind == TargetKind.CHANGE_PCT.value:
                form.add_error("kind", "An expression gives a value: choose 'reach', 'stay above' or 'stay below'.")
    for name in ("target", "minimum", "stretch"):
        data[name] = shown_to_stored(kpi, kind, data.get(name))
    if "baseline" in data:
        data["baseline"] = shown_to_stored(kpi, TargetKind.ABSOLUTE.value, data.get("baseline"))
    start, deadline = data.get("start", getattr(form.instance, "start", None)), data.get("deadline")
    if start and deadline and deadline <= start:
        form.add_error("deadline", f"The deadline ({deadline}) must come after the start ({start}).")
    if form.errors or start is None or deadline is None:
        return data
    try:
        GoalSpec(
            kind=TargetKind(kind),
            target=data["target"] if data.get("target") is not None else 0.0,
            start=start,
            deadline=deadline,
            direction=kpi.direction,
            grain=goal_grain(kpi),
            trajectory=Trajectory(data.get("trajectory") or Trajectory.LINEAR.value),
            minimum=data.get("minimum") if not expr else None,
            stretch=data.get("stretch") if not expr else None,
            cadence=data.get("cadence") or "month",
        )
    except GoalError as exc:
        field = next((f for f in ("minimum", "stretch") if f in str(exc).split()[0]), None)
        form.add_error(field, f"{exc}.")
    return data


class ReviseForm(forms.ModelForm):
    """Change a goal's target, deadline or strategy; the reason is required and kept with the revision."""

    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), help_text="Why it changes (kept in the history)."
    )

    class Meta:
        model = Goal
        fields = ["kind", "target", "target_expr", "minimum", "stretch", "deadline", "trajectory", "strategy"]
        widgets = {"deadline": DATE, "strategy": forms.Textarea(attrs={"rows": 3})}
        labels = {"kind": "Kind of target", "target_expr": "Target expression"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.before = snapshot(self.instance)
        kpi = self.instance.kpi.to_spec()
        for name in ("target", "minimum", "stretch"):
            self.initial[name] = stored_to_shown(kpi, self.instance.kind, getattr(self.instance, name))

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Say why the goal changes: the reason stays in the revision history.")
        return reason

    def clean(self) -> dict[str, Any]:
        data = clean_goal(self, super().clean(), self.instance.kpi)
        self._check_deadline(data.get("deadline"))
        if not self.errors and all(_plain(data.get(f)) == self.before[f] for f in REVISED_FIELDS):
            raise forms.ValidationError("Nothing changed: edit the target, deadline, trajectory or strategy.")
        return data

    def _check_deadline(self, deadline: date | None) -> None:
        """A goal still running cannot be revised to a deadline the data has already passed: it would be decided
        (achieved or missed) the moment the revision is saved, judged on a period nobody planned for."""
        previous = self.before["deadline"]
        run = current_run(self.instance.org)
        if deadline is None or run is None or not run.data_as_of or _plain(deadline) == previous:
            return
        data_end = run.data_as_of
        if deadline <= data_end and (previous is None or date.fromisoformat(str(previous)) > data_end):
            self.add_error(
                "deadline",
                f"The new deadline ({deadline:%d %b %Y}) is not after the end of your data ({data_end:%d %b %Y}): "
                "the goal would be decided the moment you save. Choose a later deadline.",
            )


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


def snapshot(goal: Goal) -> dict[str, object]:
    return {f: _plain(getattr(goal, f)) for f in REVISED_FIELDS}


class RelationshipForm(forms.ModelForm):
    source = OneKpiChoice(queryset=KpiDefinition.objects.none(), label="This KPI")
    target = OneKpiChoice(queryset=KpiDefinition.objects.none(), label="…this KPI")

    class Meta:
        model = Relationship
        fields = ["source", "kind", "target", "lag", "note"]
        labels = {"kind": "…", "lag": "Lag (periods, for 'drives')"}

    def __init__(self, *args: Any, member: Member, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.org = member.org
        self.fields["source"].queryset = editable_kpis(member)  # type: ignore[attr-defined]
        self.fields["target"].queryset = KpiDefinition.objects.filter(org=member.org)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        source, target, kind = data.get("source"), data.get("target"), data.get("kind")
        if source and target and source == target:
            self.add_error("target", "A KPI cannot be related to itself.")
        elif source and target and Relationship.objects.filter(source=source, target=target, kind=kind).exists():
            self.add_error("target", "This relationship exists already.")
        if kind != "drives" and data.get("lag"):
            self.add_error("lag", "A lag only applies to 'drives' (a leading KPI moves before the result).")
        return data


class ManualValueForm(forms.Form):
    period = forms.DateField(widget=DATE, help_text="Any day in the period; it is stored as the period's first day.")
    value = forms.FloatField()
    note = forms.CharField(max_length=200, required=False)

    def __init__(self, *args: Any, definition: KpiDefinition, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kpi = definition.to_spec()
        self.grain = goal_grain(self.kpi)
        self.calendar = definition.org.calendar()
        if self.kpi.unit is Unit.PERCENT:
            self.fields["value"].help_text = "In percent: 72.5 for 72.5%."

    def clean_period(self) -> date:
        return truncate(self.cleaned_data["period"], self.grain, self.calendar)

    def clean_value(self) -> float:
        value = self.cleaned_data["value"]
        if value != value or value in (float("inf"), float("-inf")):
            raise forms.ValidationError("Enter a finite number.")
        return value / 100 if self.kpi.unit is Unit.PERCENT else value


class ReviewSettingsForm(forms.ModelForm):
    class Meta:
        model = ReviewSettings
        fields = ["cadence", "next_review", "not_viewed_days"]
        widgets = {"next_review": DATE}
        labels = {"not_viewed_days": "Flag KPIs nobody opened for (days)"}

"""Forms for alert rules and channels; every problem is reported on the field at fault."""

from __future__ import annotations

import secrets
from typing import Any

from django import forms

from headway.analytics.alerts import KIND_LABELS, PARAMS, RuleKind, clean_params
from headway.app.accounts.models import Member
from headway.app.accounts.tenancy import visible_kpis
from headway.app.automation.channels import transport_class
from headway.app.automation.models import AlertRule, Channel, ChannelKind
from headway.app.kpis.refresh import GRAINS
from headway.engine.spec import Unit
from headway.ingest import secrets as secrets_store

PARAM_FIELDS = sorted({p.name for params in PARAMS.values() for p in params})
PARAM_HELP = {
    "threshold": "In the KPI's unit; a percentage KPI in percent (5 for 5%), as goals take it",
    "hysteresis": "How far back past the threshold the value must go before the alert clears"
    " (a percentage KPI: in percentage points)",
    "pct": "Percentage change that triggers, e.g. 10",
    "direction": "down, up or either (change); below or above (leading indicator)",
    "compare": "previous (period) or last_year (same period last year)",
    "status": "at_risk or off_track",
    "below": "Probability of success in %, e.g. 40",
    "hours": "Hours without new data",
    "driver": "The leading KPI (id) that drives this one; empty: the strategy map's driver of this KPI",
    "beta": "How strongly this KPI follows the driver (1 = one for one)",
    "lag": "Periods between a move of the driver and the result",
}


# Parameters in the KPI's own unit: a percentage KPI's are typed in percent (5 = 5%) like goal targets and
# stored as the fraction the KPI computes (0.05).
UNIT_PARAMS: dict[str, tuple[str, ...]] = {
    RuleKind.THRESHOLD_ABOVE.value: ("threshold", "hysteresis"),
    RuleKind.THRESHOLD_BELOW.value: ("threshold", "hysteresis"),
    RuleKind.LEADING.value: ("threshold",),
}


class AlertRuleForm(forms.ModelForm):
    kpi_id = forms.ChoiceField(label="KPI")
    grain = forms.ChoiceField(choices=[(g, g.title()) for g in GRAINS], initial="month")
    kind = forms.ChoiceField(label="Alert when", choices=[(k.value, KIND_LABELS[k]) for k in RuleKind])

    class Meta:
        model = AlertRule
        fields = [
            "name",
            "kpi_id",
            "grain",
            "dimension",
            "dim_value",
            "kind",
            "severity",
            "channels",
            "recipients",
            "cooldown_minutes",
            "quiet_start",
            "quiet_end",
            "enabled",
        ]
        labels = {"dim_value": "Dimension value", "cooldown_minutes": "Cooldown (minutes)"}
        widgets = {
            "channels": forms.CheckboxSelectMultiple,
            "recipients": forms.CheckboxSelectMultiple,
            "quiet_start": forms.TimeInput(attrs={"type": "time"}),
            "quiet_end": forms.TimeInput(attrs={"type": "time"}),
        }

    def __init__(self, *args: Any, member: Member, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        specs = {k.kpi_id: k.to_spec() for k in visible_kpis(member).order_by("kpi_id")}
        self.fields["kpi_id"].choices = [(kpi_id, f"{spec.name} ({kpi_id})") for kpi_id, spec in specs.items()]
        self._percent = {kpi_id for kpi_id, spec in specs.items() if spec.unit is Unit.PERCENT}
        self.fields["channels"].queryset = Channel.objects.filter(org=member.org)
        self.fields["recipients"].queryset = Member.objects.filter(org=member.org).select_related("user")
        self.fields["recipients"].label_from_instance = lambda m: m.user.get_username()
        self.fields["dimension"].help_text = "Optional: one dimension value instead of the total, e.g. region"
        self.fields["quiet_start"].help_text = f"Quiet hours in {member.org.timezone}: notifications wait until the end"
        for name in PARAM_FIELDS:
            self.fields[name] = forms.CharField(required=False, help_text=PARAM_HELP.get(name, ""))
            if self.instance.pk and name in self.instance.params:
                self.initial[name] = self.instance.params[name]
        if self.instance.pk and self.instance.kpi_id in self._percent:
            for name in UNIT_PARAMS.get(self.instance.kind, ()):
                if isinstance(self.initial.get(name), int | float):
                    self.initial[name] = round(self.initial[name] * 100, 10)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        raw = {n: data.get(n) for n in PARAM_FIELDS}
        if data.get("kind") == RuleKind.LEADING and not raw.get("driver"):
            raw.update(self._drives(data.get("kpi_id", ""), raw))
        params, errors = clean_params(data.get("kind", ""), raw)
        if data.get("kpi_id") in self._percent:
            for name in UNIT_PARAMS.get(data.get("kind", ""), ()):
                if isinstance(params.get(name), int | float):
                    params[name] = round(params[name] / 100, 12)
        for field, message in errors.items():
            self.add_error(field if field in self.fields else None, message)
        if params.get("driver") and params["driver"] == data.get("kpi_id"):
            self.add_error("driver", "The driver must be another KPI.")
        if bool(data.get("quiet_start")) != bool(data.get("quiet_end")):
            self.add_error("quiet_end", "Give both the start and the end of the quiet hours, or neither.")
        if data.get("dim_value") and not data.get("dimension"):
            self.add_error("dimension", "Say which dimension the value belongs to.")
        data["params"] = params
        return data

    def _drives(self, kpi_id: str, raw: dict[str, Any]) -> dict[str, Any]:
        """The driver and lag from the strategy map's `drives` relationship into this KPI, if there is one."""
        from headway.app.strategy.models import Relationship, RelationshipKind

        link = (
            Relationship.objects.filter(org=self.instance.org, kind=RelationshipKind.DRIVES, target__kpi_id=kpi_id)
            .select_related("source")
            .first()
        )
        if link is None:
            return {}
        return {"driver": link.source.kpi_id, "lag": raw.get("lag") or link.lag}

    def save(self, commit: bool = True) -> AlertRule:
        rule: AlertRule = super().save(commit=False)
        if rule.pk and (rule.kind != self.initial.get("kind") or rule.params != self.cleaned_data["params"]):
            rule.firing = False  # a changed condition starts afresh
        rule.params = self.cleaned_data["params"]
        if commit:
            rule.save()
            self.save_m2m()
        return rule


class ChannelForm(forms.ModelForm):
    """A channel's settings. The URL and the signing secret are stored encrypted and never put back into
    the page: the form shows the masked URL, and leaving a field empty keeps what is stored."""

    url = forms.CharField(
        required=False,
        label="Webhook URL",
        help_text="Slack, Teams (https only) or your own endpoint",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    addresses = forms.CharField(
        required=False, help_text="Email: comma-separated addresses (besides the rule's people)"
    )
    signing_secret = forms.CharField(
        required=False,
        min_length=16,
        max_length=200,
        label="Signing secret",
        help_text="Webhook: leave empty to have one made (shown once); at least 16 characters",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )

    class Meta:
        model = Channel
        fields = ["name", "kind", "enabled"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["kind"].disabled = True
            if self.instance.masked_url:
                self.fields["url"].help_text = f"Leave empty to keep the current URL ({self.instance.masked_url})"
            if self.instance.kind == ChannelKind.WEBHOOK:
                self.fields["signing_secret"].help_text = "Leave empty to keep the current secret"
            else:
                del self.fields["signing_secret"]  # only webhooks sign
            self.initial["addresses"] = ", ".join(self.instance.config.get("addresses", []))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        if kind in ChannelKind.values:
            url = data.get("url") or ""
            if not url and self.instance.pk:
                try:
                    url = self.instance.url
                except secrets_store.SecretError:
                    self.add_error("url", "The stored URL cannot be read (the encryption key changed): enter it again.")
                    return data
            config, errors = transport_class(kind).clean_config({"url": url, "addresses": data.get("addresses", "")})
            for field, message in errors.items():
                if field == "url" and not data.get("url") and self.instance.pk:
                    message = f"The stored URL ({self.instance.masked_url}): {message}"
                self.add_error(field, message)
            data["config"] = config
        return data

    def save(self, commit: bool = True) -> Channel:
        channel: Channel = super().save(commit=False)
        try:
            channel.secret  # noqa: B018 - can the stored values be read?
        except secrets_store.SecretError:
            channel.credentials = ""  # unreadable (the key changed): the URL was entered again (clean), start afresh
        config = dict(self.cleaned_data.get("config", {}))
        url = config.pop("url", "")
        keep_masked = {"url_masked": channel.config["url_masked"]} if "url_masked" in channel.config else {}
        channel.config = {**config, **keep_masked}
        if url and (not channel.pk or self.cleaned_data.get("url")):
            channel.url = url  # encrypted; config keeps only the masked form
        if channel.enabled:
            channel.disabled_reason = ""
        if channel.kind == ChannelKind.WEBHOOK:
            if self.cleaned_data.get("signing_secret"):
                channel.secret = self.cleaned_data["signing_secret"]
            elif not channel.secret:
                channel.secret = secrets.token_hex(32)
        if commit:
            channel.save()
        return channel

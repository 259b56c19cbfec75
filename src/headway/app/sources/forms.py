"""Forms of the sources pages: upload, mapping, SQL and SaaS connections, API tokens."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from headway.app.sources import credentials
from headway.app.sources.models import ImportMode, Schedule, Source
from headway.engine.canonical import CANONICAL

UPLOAD_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".parquet")
TYPE_CHOICES = [("", "— no canonical type (keep columns as they are) —")] + [
    (name, name.replace("_", " ")) for name in sorted(CANONICAL)
]
IGNORE = "__ignore__"
EXTRA = "__extra__"


def dataset_name_field() -> forms.RegexField:
    return forms.RegexField(
        regex=r"^[a-z][a-z0-9_]{0,62}$",
        label="Dataset",
        help_text="Warehouse table name: lower case letters, digits and _ (e.g. orders).",
        error_messages={"invalid": "Use lower case letters, digits and _, starting with a letter."},
    )


class UploadForm(forms.Form):
    file = forms.FileField(help_text="CSV (any delimiter and encoding), XLSX or Parquet.")
    source = forms.ModelChoiceField(
        queryset=Source.objects.none(),
        required=False,
        empty_label="A new file source",
        help_text="Upload into an existing file source to reuse its saved mapping.",
    )

    def __init__(self, *args: Any, org: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["source"].queryset = Source.objects.filter(org=org, kind="file")  # type: ignore[attr-defined]

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        limit = settings.HEADWAY_MAX_UPLOAD_MB
        if upload.size > limit * 1024 * 1024:
            raise forms.ValidationError(
                f"{upload.name} is {upload.size / 1024 / 1024:.1f} MB; files up to {limit} MB are accepted "
                "(HEADWAY_MAX_UPLOAD_MB), or load big tables from a database source"
            )
        if not upload.name.lower().endswith(UPLOAD_SUFFIXES):
            raise forms.ValidationError(f"{upload.name}: not a file Headway reads; upload {', '.join(UPLOAD_SUFFIXES)}")
        return upload


class TargetsForm(forms.Form):
    """Where the file goes (dataset, canonical type, mode, key) and how its numbers and dates are written.

    The per-column choices are separate fields.
    """

    dataset = dataset_name_field()
    dataset_type = forms.ChoiceField(choices=TYPE_CHOICES, required=False, label="Dataset type")
    mode = forms.ChoiceField(choices=ImportMode.choices, initial=ImportMode.APPEND)
    key = forms.CharField(
        required=False, help_text="For upsert: key column(s), comma-separated (default: the type's key)."
    )
    decimal = forms.ChoiceField(
        label="Numbers",
        required=False,
        choices=[("point", "decimal point: 1,234.56"), ("comma", "decimal comma: 1.234,56")],
    )
    date_order = forms.ChoiceField(
        label="Dates",
        required=False,
        choices=[("dmy", "day first: 31/12/2026, 31.12.2026"), ("mdy", "month first: 12/31/2026")],
        help_text="As read from the file; change it when a date like 03/04 means the other day.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["dataset"].widget.attrs["list"] = "existing-datasets"  # the mapping page's datalist


class ConnectionForm(forms.Form):
    """What every pulled source has: a name, secrets, where its rows go, and a schedule.

    A stored secret is never put back into the form: its field shows "•••• (stored)" and
    may be left blank to keep it.
    """

    name = forms.CharField(max_length=80)
    schedule = forms.ChoiceField(choices=Schedule.choices, initial=Schedule.DAILY)

    def __init__(self, *args: Any, org: Any, instance: Source | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.org = org
        self.instance = instance
        self.add_fields()
        self.stored = credentials.stored_names(instance) if instance and instance.credentials else set()
        for name in self.secret_fields():
            if name in self.stored:
                field = self.fields[name]
                field.required = False
                field.widget.attrs["placeholder"] = credentials.STORED_MASK
                field.help_text = "Leave blank to keep the stored value."

    def add_fields(self) -> None:
        """Subclasses add fields that depend on arguments."""

    def secret_fields(self) -> list[str]:
        return [n for n, f in self.fields.items() if isinstance(f.widget, forms.PasswordInput)]

    def secrets(self) -> dict[str, str]:
        return {n: self.cleaned_data.get(n) or "" for n in self.secret_fields()}

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        clash = Source.objects.filter(org=self.org, name=name)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(f"There is already a source named {name!r}.")
        return name


def _secret(label: str, help_text: str = "", required: bool = True) -> forms.CharField:
    return forms.CharField(
        label=label,
        widget=forms.PasswordInput(render_value=False),
        help_text=help_text,
        max_length=2000,
        required=required,
    )


class SqlSourceForm(ConnectionForm):
    url = _secret(
        "Connection URL",
        "postgresql://user:password@host:5432/db, mysql://user:password@host:3306/db or sqlite:////path/file.db",
    )
    table = forms.CharField(required=False, max_length=200, help_text="A table to read…")
    query = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4}), help_text="…or one read-only SELECT query."
    )
    cursor_column = forms.CharField(
        required=False,
        max_length=100,
        help_text="Optional: a column that grows (updated_at, id) to read only new rows.",
    )
    dataset = dataset_name_field()
    dataset_type = forms.ChoiceField(choices=TYPE_CHOICES, required=False, label="Dataset type")
    mode = forms.ChoiceField(choices=ImportMode.choices, initial=ImportMode.REPLACE)
    key = forms.CharField(required=False, max_length=200, help_text="For upsert: key column(s), comma-separated.")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.has_error("query"):
            return data  # the query's own error says what is wrong with it
        if bool(data.get("table")) == bool((data.get("query") or "").strip()):
            raise forms.ValidationError("Give either a table or a query (one of the two).")
        return data

    def clean_query(self) -> str:
        """A query is checked when the source is saved, not first at its next refresh."""
        from urllib.parse import urlsplit

        from headway.ingest.sql import SCHEMES, Engine, ReadOnlyQueryError, check_read_only

        query = (self.cleaned_data.get("query") or "").strip()
        if not query:
            return query
        url = self.data.get("url") or ""
        if not url and self.instance is not None:
            url = credentials.load(self.instance).get("url") or ""
        scheme = urlsplit(str(url.reveal() if hasattr(url, "reveal") else url)).scheme.split("+", 1)[0].lower()
        try:
            check_read_only(query, SCHEMES.get(scheme, Engine.POSTGRES))
        except ReadOnlyQueryError as exc:
            raise forms.ValidationError(f"{str(exc)[:1].upper()}{str(exc)[1:]}.") from None
        return query


class SaasSourceForm(ConnectionForm):
    base_url = forms.URLField(
        assume_scheme="https",
        required=False,
        help_text="Only for a proxy or a test server; blank uses the service's own address.",
    )

    def __init__(self, *args: Any, connector: Any, **kwargs: Any) -> None:
        self.connector = connector
        super().__init__(*args, **kwargs)

    def add_fields(self) -> None:
        several = len(self.connector.auth_kinds) > 1  # any one way to authenticate will do
        for spec in self.connector.credentials:
            required = spec.required and not (several and spec.secret)
            if spec.secret:
                self.fields[spec.name] = _secret(spec.label, spec.help, required)
            else:
                self.fields[spec.name] = forms.CharField(label=spec.label, help_text=spec.help, required=required)
        if self.instance is not None and not self.is_bound:
            self.initial.setdefault("base_url", self.instance.config.get("base_url", ""))

    def secret_fields(self) -> list[str]:
        # Every credential field is stored encrypted (a shop domain is not secret, but travels with the key).
        return [c.name for c in self.connector.credentials]

    def secrets(self) -> dict[str, str]:
        return {c.name: self.cleaned_data.get(c.name) or "" for c in self.connector.credentials}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        secret_names = {c.name for c in self.connector.credentials if c.secret}
        if not secret_names & ({n for n in secret_names if data.get(n)} | self.stored):
            labels = " or ".join(c.label for c in self.connector.credentials if c.secret)
            raise forms.ValidationError(f"Enter the {labels}.")
        return data


class TokenForm(forms.Form):
    name = forms.CharField(max_length=80, help_text="What uses the token, e.g. 'till system' or 'nightly script'.")

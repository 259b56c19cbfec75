from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from headway.app.accounts.models import Department, Member
from headway.app.reports.models import Report, parse_recipients


class ReportForm(forms.ModelForm):
    class Meta:
        model = Report
        fields = ["name", "cadence", "department", "recipients", "attach_pdf", "attach_xlsx"]
        widgets = {"recipients": forms.Textarea(attrs={"rows": 3})}
        labels = {"attach_pdf": "Attach a PDF", "attach_xlsx": "Attach an XLSX workbook"}

    def __init__(self, *args: Any, member: Member, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        departments = Department.objects.filter(org=member.org)
        scoped = member.department_ids()
        if scoped is not None:
            departments = departments.filter(id__in=scoped)
            self.fields["department"].required = True
            self.fields["department"].help_text = "You may send packs for your departments only"
        self.fields["department"].queryset = departments
        self.fields["department"].empty_label = "Whole organisation"

    def clean_recipients(self) -> str:
        try:
            return "\n".join(parse_recipients(self.cleaned_data["recipients"]))
        except ValidationError as error:
            raise ValidationError(error.messages) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("recipients") and "recipients" not in self.errors:
            self.add_error("recipients", "Add at least one email address.")
        return data

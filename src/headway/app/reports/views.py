"""Report pages: the list with each report's sendings, create/edit/delete, preview, PDF/XLSX, send now."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from headway.app.accounts.models import Member, Role
from headway.app.accounts.tenancy import member_required
from headway.app.reports import render as renderers
from headway.app.reports.forms import ReportForm
from headway.app.reports.models import DeliveryStatus, Report
from headway.app.reports.pack import build_pack
from headway.app.reports.sending import recover_stuck, send_now


def visible_reports(member: Member) -> QuerySet[Report]:
    """The org's reports; a department-scoped member sees only those of their departments."""
    reports = Report.objects.filter(org=member.org).select_related("department")
    scoped = member.department_ids()
    return reports if scoped is None else reports.filter(department_id__in=scoped)


def _report(request: HttpRequest, report_id: int) -> Report:
    return get_object_or_404(visible_reports(request.member), pk=report_id)  # type: ignore[attr-defined]


@member_required()
@require_safe
def report_list(request: HttpRequest) -> HttpResponse:
    recover_stuck(request.org)  # type: ignore[attr-defined]  # a sending whose server stopped shows as failed
    reports = list(visible_reports(request.member).prefetch_related("deliveries"))  # type: ignore[attr-defined]
    return render(request, "reports/list.html", {"reports": reports})


@member_required(Role.EDITOR)
def report_new(request: HttpRequest) -> HttpResponse:
    return _edit(request, Report(org=request.org, created_by=request.user))  # type: ignore[attr-defined]


@member_required(Role.EDITOR)
def report_edit(request: HttpRequest, report_id: int) -> HttpResponse:
    return _edit(request, _report(request, report_id))


def _edit(request: HttpRequest, report: Report) -> HttpResponse:
    form = ReportForm(request.POST or None, instance=report, member=request.member)  # type: ignore[attr-defined]
    if request.method == "POST" and form.is_valid():
        report = form.save(commit=False)
        report.next_due = report.following_due(timezone.now())
        report.save()
        return redirect("reports")
    return render(request, "reports/edit.html", {"form": form, "report": report})


@require_POST
@member_required(Role.EDITOR)
def report_delete(request: HttpRequest, report_id: int) -> HttpResponse:
    _report(request, report_id).delete()
    return redirect("reports")


@member_required()
@require_safe
def report_preview(request: HttpRequest, report_id: int) -> HttpResponse:
    report = _report(request, report_id)
    pack = build_pack(report.org, report.department, title=report.name)
    png = renderers.chart_png(renderers.movers_spec(pack.movers))
    document = renderers.html(pack, chart_src=renderers.data_uri(png))
    return render(request, "reports/preview.html", {"report": report, "document": document})


@member_required()
@require_safe
def report_file(request: HttpRequest, report_id: int, kind: str) -> HttpResponse:
    report = _report(request, report_id)
    pack = build_pack(report.org, report.department, title=report.name)
    if kind == "pdf":
        body, content_type = renderers.pdf(pack), "application/pdf"
    elif kind == "xlsx":
        body = renderers.xlsx(pack)
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        raise Http404("No such format")
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{renderers.filename(pack, kind)}"'
    return response


@require_POST
@member_required(Role.EDITOR)
def report_send(request: HttpRequest, report_id: int) -> HttpResponse:
    report = _report(request, report_id)
    delivery = send_now(report, request.user)  # type: ignore[arg-type]
    # Say what happened: the sendings list is folded away under each report.
    to = ", ".join(report.recipient_list())
    if delivery.status == DeliveryStatus.SENT:
        messages.success(request, f"Sent “{report.name}” to {to}.")
    elif delivery.status == DeliveryStatus.FAILED:
        messages.error(request, f"Could not send “{report.name}”: {delivery.error}")
    else:
        messages.info(request, f"Sending “{report.name}” to {to}; reload to see the result under Sendings.")
    return redirect(f"{reverse('reports')}#report-{report.pk}")

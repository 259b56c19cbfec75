"""The "Demand forecast" page: it only reads what the ``insights.demand`` job stored."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from headway.app.accounts.models import Role
from headway.app.accounts.tenancy import member_required
from headway.app.automation.jobs import enqueue
from headway.app.automation.models import Job, JobStatus
from headway.app.forecasts.charts import fan_chart
from headway.app.insights.demand import GRAINS, SPLITS, Grain, has_order_lines, latest
from headway.app.insights.models import DemandReport
from headway.app.kpis.formatting import d3_format_locale, format_number, short_period_label

POLL_SECONDS = 3
KIND = "insights.demand"


def fan_spec(rows: list[dict[str, Any]], title: str, unit_title: str) -> dict[str, Any]:
    """A product's (or category's) demand as the KPI forecast's fan chart. ``rows``: period (ISO), part
    ("Actual" or "Forecast"), value, lower_80 .. upper_95 on forecast rows, shown (formatted value),
    band (formatted 80% range), label (period)."""
    described = f"{title}: units sold and the forecast with its 80% and 95% ranges (the table lists them)"
    return fan_chart(rows, ",.0f", unit_title, "Units", described)


def units(value: float, locale: str | None) -> str:
    """Whole units from 10 up, one decimal below (a slow seller's 0.4 a week is not 0); nothing is 0."""
    return format_number(value, 0 if abs(value) >= 10 or value == 0 else 1, locale)


def _choices(request: HttpRequest) -> tuple[Grain, int, str, list[str]]:
    """The grain, horizon and split asked for; unknown values fall back to the defaults, with a note why."""
    notes = []
    asked = request.GET.get("grain", "week")
    grain = GRAINS.get(asked)
    if grain is None:
        notes.append(f"There is no {asked!r} view; showing weeks (choose week or month).")
        grain = GRAINS["week"]
    horizon = grain.default
    if request.GET.get("horizon"):
        raw = request.GET["horizon"]
        if raw.isdigit() and int(raw) in grain.horizons:
            horizon = int(raw)
        elif not any(raw.isdigit() and int(raw) in g.horizons for g in GRAINS.values()):  # else: grain changed
            shown = ", ".join(map(str, grain.horizons))
            notes.append(f"Cannot show {raw!r} {grain.name}s ahead (choose {shown}); showing {horizon}.")
    split = request.GET.get("split", "")
    if split not in SPLITS:
        notes.append(f"Cannot split by {split!r} (only by channel); showing products.")
        split = ""
    return grain, horizon, split, notes


def _query(grain: Grain, horizon: int, split: str, node: str) -> str:
    return "?" + urlencode({"grain": grain.name, "horizon": horizon, "split": split, "node": node})


def _row(entry: dict[str, Any], horizon: int, locale: str | None) -> dict[str, Any]:
    h = horizon - 1
    return {
        "key": f"{entry['level']}:{entry['node']}",
        "level": entry["level"],
        "node": entry["node"],
        "name": entry["name"],
        "next": entry["forecast"][0],
        "next_shown": units(entry["forecast"][0], locale),
        "next_range": f"{units(entry['lower_80'][0], locale)} – {units(entry['upper_80'][0], locale)}",
        "total": entry["cumulative"][h],
        "total_shown": units(entry["cumulative"][h], locale),
        "total_range": (
            f"{units(entry['cumulative_lower_80'][h], locale)} – {units(entry['cumulative_upper_80'][h], locale)}"
        ),
    }


def _table(report: DemandReport, horizon: int, locale: str | None) -> list[dict[str, Any]]:
    """Total first, then each category followed by its products (largest first), each product by its splits."""
    rows = {f"{e['level']}:{e['node']}": e for e in report.nodes}
    children: dict[str, list[dict[str, Any]]] = {}
    for e in report.nodes:
        if e["level"] == "product":
            children.setdefault(f"category:{e['parent']}", []).append(e)
        elif e["level"] not in ("total", "category"):
            children.setdefault(f"product:{e['parent']}", []).append(e)
    out = [_row(rows["total:total"], horizon, locale)]
    categories = sorted((e for e in report.nodes if e["level"] == "category"), key=lambda e: -e["cumulative"][-1])
    for category in categories:
        out.append(_row(category, horizon, locale))
        for product in sorted(children.get(f"category:{category['node']}", []), key=lambda e: -e["cumulative"][-1]):
            out.append(_row(product, horizon, locale))
            for part in sorted(children.get(f"product:{product['node']}", []), key=lambda e: e["node"]):
                out.append(_row(part, horizon, locale))
    return out


def _title(entry: dict[str, Any]) -> str:
    if entry["level"] == "total":
        return "All products"
    if entry["level"] == "category":
        return f"Category {entry['node']}"
    if entry["level"] == "product":
        return f"{entry['node']} {entry['name']}".strip()
    return f"{entry['node']} ({entry['level']})"


def _chart(report: DemandReport, entry: dict[str, Any], grain: Grain, horizon: int, locale: str | None) -> dict:
    """Chart rows and the table of the chosen node's forecast."""
    rows: list[dict[str, Any]] = []
    for period, value in zip(report.history_periods, entry["history"], strict=True):
        label = short_period_label(date.fromisoformat(period), grain.name)
        rows.append({"period": period, "part": "Actual", "value": value, "shown": units(value, locale)})
        rows[-1] |= {"label": label, "band": ""}
    if rows:  # join the dashed forecast line to the last actual value
        bounds = {k: rows[-1]["value"] for k in ("lower_80", "upper_80", "lower_95", "upper_95")}
        rows.append({**rows[-1], "part": "Forecast", **bounds})
    table = []
    for i, period in enumerate(report.periods[:horizon]):
        label = short_period_label(date.fromisoformat(period), grain.name)
        bounds = {k: entry[k][i] for k in ("lower_80", "upper_80", "lower_95", "upper_95")}
        band80 = f"{units(bounds['lower_80'], locale)} – {units(bounds['upper_80'], locale)}"
        band95 = f"{units(bounds['lower_95'], locale)} – {units(bounds['upper_95'], locale)}"
        value = entry["forecast"][i]
        rows.append({"period": period, "part": "Forecast", "value": value, "shown": units(value, locale)})
        rows[-1] |= {**bounds, "label": label, "band": band80}
        table.append({"label": label, "forecast": units(value, locale), "band80": band80, "band95": band95})
    title = _title(entry)
    return {
        "title": title,
        "spec": fan_spec(rows, title, f"Units per {grain.name}"),
        "table": table,
    }


def _status(org: Any) -> tuple[bool, Job | None]:
    """Whether a recompute is queued or running, and the latest demand job (to show a failure)."""
    last = Job.objects.filter(org=org, kind=KIND).order_by("-created_at", "-pk").first()
    busy = last is not None and last.status in (JobStatus.QUEUED, JobStatus.RUNNING)
    return busy, last


@member_required()
@require_safe
def demand(request: HttpRequest) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    member = request.member  # type: ignore[attr-defined]
    grain, horizon, split, notes = _choices(request)
    context: dict[str, Any] = {
        "grain": grain,
        "grains": list(GRAINS.values()),
        "horizon": horizon,
        "split": split,
        "notes": notes,
        "poll": POLL_SECONDS,
        "can_edit": member.can_edit,
    }
    if member.department_ids() is not None:
        context["scoped"] = True
        return render(request, "insights/demand.html", context)
    preparing, last_job = _status(org)
    report = latest(org, grain.name, split)
    context.update(has_data=has_order_lines(org), preparing=preparing, last_job=last_job, report=report)
    if context["has_data"]:  # the chart scripts load even while the job runs: the poll swaps the chart in
        context["format_locale"] = d3_format_locale(org.locale, org.currency)
    if report is None or report.error:
        return render(request, "insights/demand.html", context)
    locale = org.locale
    by_key = {f"{e['level']}:{e['node']}": e for e in report.nodes}
    node = request.GET.get("node", "total:total")
    if node not in by_key:
        if "node" in request.GET:
            notes.append(f"There is no {node!r} in this forecast; showing all products.")
        node = "total:total"
    table = _table(report, horizon, locale)
    for row in table:
        row["link"] = _query(grain, horizon, split, row["key"])
    periods = [date.fromisoformat(p) for p in report.periods[:horizon]]
    context.update(
        table=table,
        node=node,
        chart=_chart(report, by_key[node], grain, horizon, locale),
        first_label=short_period_label(periods[0], grain.name),
        last_label=short_period_label(periods[-1], grain.name),
        in_progress=report.as_of is not None and report.as_of >= periods[0],
        products=sum(1 for e in report.nodes if e["level"] == "product"),
    )
    return render(request, "insights/demand.html", context)


@member_required(Role.EDITOR)
@require_POST
def recompute_demand(request: HttpRequest) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    if not has_order_lines(org):
        messages.error(request, "Demand forecasts need an order lines dataset; there is none to compute from.")
    else:
        enqueue(org, KIND, unique=True)
        messages.success(request, "Demand forecasts are being recomputed; this page shows them when ready.")
    keep = {k: request.POST[k] for k in ("grain", "horizon", "split") if request.POST.get(k)}
    return redirect(reverse("demand") + ("?" + urlencode(keep) if keep else ""))

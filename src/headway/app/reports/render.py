"""One pack, every output: HTML (preview and email, with static charts), plain text, PDF and XLSX.

Charts are Vega-Lite specs built with Altair and rendered to PNG with vl-convert (the same
spec in every output); the email carries them as inline images (Content-ID), the PDF and the
preview as data URIs.
"""

from __future__ import annotations

import base64
import io
from email.mime.image import MIMEImage
from typing import Any

import altair as alt
import vl_convert as vlc
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils.text import slugify
from openpyxl import Workbook
from openpyxl.styles import Font

from headway.app.reports.pack import Pack, Row

CHART_CID = "movers-chart"


def movers_spec(movers: list[Row]) -> dict[str, Any] | None:
    """A bar chart of the top movers' change vs the previous period (green: the KPI's good way)."""
    rows = [
        {
            "kpi": r.name,
            "change": (r.change or 0) / 100 if r.points else (r.change or 0),
            "label": r.change_text,
            "tone": "better" if r.better else "worse",
        }
        for r in movers
    ]
    if not rows:
        return None
    base = alt.Chart(alt.Data(values=rows)).encode(
        y=alt.Y("kpi:N", sort=None, title=None),
        x=alt.X("change:Q", axis=alt.Axis(format="+%", title="Change vs previous period")),
    )
    bars = base.mark_bar().encode(
        color=alt.Color(
            "tone:N", scale=alt.Scale(domain=["better", "worse"], range=["#1a7f37", "#cf222e"]), legend=None
        )
    )
    text = base.mark_text(align="left", dx=4).encode(text="label:N")
    return (bars + text).properties(width=420, height=28 * len(rows), title="Top movers").to_dict()


def chart_png(spec: dict[str, Any] | None) -> bytes | None:
    return None if spec is None else bytes(vlc.vegalite_to_png(spec, scale=2))


def html(pack: Pack, *, chart_src: str | None) -> str:
    """The pack as an HTML document; ``chart_src`` is a cid: or data: URI for the movers chart."""
    return render_to_string("reports/pack.html", {"pack": pack, "chart_src": chart_src})


def text(pack: Pack) -> str:
    return render_to_string("reports/pack.txt", {"pack": pack})


def data_uri(png: bytes | None) -> str | None:
    return None if png is None else "data:image/png;base64," + base64.b64encode(png).decode()


def pdf(pack: Pack, png: bytes | None = None) -> bytes:
    from weasyprint import HTML

    document = html(pack, chart_src=data_uri(png if png is not None else chart_png(movers_spec(pack.movers))))
    return bytes(HTML(string=document).write_pdf())


def xlsx(pack: Pack) -> bytes:
    """A workbook: the scorecard with raw numbers, the top movers, one sheet per extra section."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Scorecard"
    sheet.append([f"{pack.title}: {pack.scope}"])
    sheet.append([f"Period: {pack.period}", f"Data as of: {pack.data_as_of or 'not computed yet'}"])
    sheet.append([])
    header = [
        "KPI",
        "Period",
        "Value",
        "Unit",
        "Shown as",
        "Change vs previous",
        "Change is in",
        "vs last year",
        "Status",
    ]
    sheet.append(header)
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for r in pack.rows:
        sheet.append(
            [
                r.name,
                r.period,
                r.value,
                r.unit,
                r.value_text,
                r.change,
                "percentage points" if r.points else "fraction (0.1 = +10%)" if r.change is not None else "",
                r.year_change_text,
                r.status,
            ]
        )
    movers = book.create_sheet("Top movers")
    movers.append(["KPI", "Change vs previous", "Shown as", "Good direction?"])
    for r in pack.movers:
        movers.append([r.name, r.change, r.change_text, "yes" if r.better else "no"])
    for section in pack.sections:
        ws = book.create_sheet(section.title[:31])
        ws.append(list(section.columns))
        for row in section.rows:
            ws.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def filename(pack: Pack, extension: str) -> str:
    stamp = pack.generated_at.strftime("%Y-%m-%d")
    return f"{slugify(pack.org.name)}-{slugify(pack.title)}-{stamp}.{extension}"


def email(pack: Pack, recipients: list[str], *, attach_pdf: bool, attach_xlsx: bool) -> EmailMultiAlternatives:
    """HTML + plain text, the chart inline (Content-ID), PDF and XLSX attached."""
    png = chart_png(movers_spec(pack.movers))
    subject = f"{pack.title}: {pack.scope}, {pack.period}" if pack.period else f"{pack.title}: {pack.scope}"
    message = EmailMultiAlternatives(subject=subject, body=text(pack), to=recipients)
    message.attach_alternative(html(pack, chart_src=f"cid:{CHART_CID}" if png else None), "text/html")
    message.mixed_subtype = "related"
    if png is not None:
        image = MIMEImage(png, "png")
        image.add_header("Content-ID", f"<{CHART_CID}>")
        image.add_header("Content-Disposition", "inline", filename="top-movers.png")
        message.attach(image)
    if attach_pdf:
        message.attach(filename(pack, "pdf"), pdf(pack, png), "application/pdf")
    if attach_xlsx:
        message.attach(
            filename(pack, "xlsx"), xlsx(pack), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
    return message

"""Google Analytics 4: sessions and users per day and channel → web_traffic.

API: the GA4 Data API, ``POST /v1beta/properties/{property_id}:runReport`` with an OAuth
access token (Bearer; scope ``analytics.readonly``), dimensions ``date`` and
``sessionDefaultChannelGroup``, metrics ``sessions`` and ``totalUsers``, paged with
``limit``/``offset`` until ``rowCount`` rows are read.

Incremental: the cursor is the last day read. GA4 keeps processing a day's data for up to
48 hours, so each sync starts ``LOOKBACK_DAYS`` before the cursor and the rows are upserted
by (date, source); the first sync reads ``FIRST_SYNC_DAYS`` back from today.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from headway.ingest.connectors.base import Batch, Connector, ConnectorInfo, CredentialField, Cursor, batch
from headway.ingest.secrets import Secret

LOOKBACK_DAYS = 2
FIRST_SYNC_DAYS = 730


def traffic_rows(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    dims = [h["name"] for h in report.get("dimensionHeaders") or []]
    metrics = [h["name"] for h in report.get("metricHeaders") or []]
    rows = []
    for row in report.get("rows") or []:
        d = dict(zip(dims, (v.get("value") for v in row.get("dimensionValues") or []), strict=False))
        m = dict(zip(metrics, (v.get("value") for v in row.get("metricValues") or []), strict=False))
        rows.append(
            {
                "date": dt.datetime.strptime(d["date"], "%Y%m%d"),
                "source": d.get("sessionDefaultChannelGroup"),
                "sessions": int(m.get("sessions") or 0),
                "users": int(m["totalUsers"]) if m.get("totalUsers") is not None else None,
            }
        )
    return rows


class Ga4Connector(Connector):
    info = ConnectorInfo(
        name="ga4",
        label="Google Analytics 4",
        description="Website sessions and users per day and channel from a GA4 property.",
        auth_kinds=("oauth_token",),
        datasets=("web_traffic",),
        credentials=(
            CredentialField("access_token", "OAuth access token", help="Scope: analytics.readonly."),
            CredentialField("property_id", "GA4 property id (digits)", secret=False),
        ),
        default_base_url="https://analyticsdata.googleapis.com",
    )
    page_size = 10_000

    def auth_headers(self) -> dict[str, str | Secret]:
        return {"Authorization": Secret(f"Bearer {self.secret('access_token')}")}

    def auth_hint(self) -> str:
        return "Google access tokens last an hour: refresh it with the refresh token, or reconnect Google Analytics"

    def streams(self) -> Iterator[Batch]:
        saved = self.cursor("report")
        today = self.clock().date()
        if saved.value is None:
            start = today - dt.timedelta(days=FIRST_SYNC_DAYS)
        else:
            start = dt.date.fromisoformat(saved.value) - dt.timedelta(days=LOOKBACK_DAYS)
        path = f"/v1beta/properties/{self.secret('property_id')}:runReport"
        offset, last = 0, saved.value
        while True:
            body = {
                "dateRanges": [{"startDate": start.isoformat(), "endDate": today.isoformat()}],
                "dimensions": [{"name": "date"}, {"name": "sessionDefaultChannelGroup"}],
                "metrics": [{"name": "sessions"}, {"name": "totalUsers"}],
                "orderBys": [{"dimension": {"dimensionName": "date"}}],
                "limit": self.page_size,
                "offset": offset,
            }
            report = self.http.post(path, body).body or {}
            rows = traffic_rows(report)
            if rows:
                yield batch("web_traffic", rows, "report")
                high = max(r["date"] for r in rows).date().isoformat()
                last = high if last is None or high > last else last
            offset += len(rows)
            if not rows or offset >= int(report.get("rowCount") or 0):
                break
        self.save_cursor("report", Cursor(last))

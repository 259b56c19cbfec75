"""The KPI editor: live validation, the series preview (checked against pandas), saving, deleting, and permissions."""

from __future__ import annotations

import re
from html import unescape

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml
from app_helpers import client_for
from django.urls import reverse
from django.utils.html import escape

from headway.app.kpis.models import KpiDefinition, KpiSource, SeriesPoint
from headway.app.kpis.refresh import open_engine
from headway.engine.loader import parse_kpis, read_yaml

WEB_REVENUE = """\
id: web_sales
name: Web sales
category: financial
unit: currency
metric:
  kind: aggregate
  dataset: orders
  agg: sum
  expr: total_amount
  filter: "channel = 'web'"
"""

ERROR = re.compile(r'<li class="error" role="alert">(.*?)</li>', re.S)
PREVIEW_ROW = re.compile(r'<tr><td>(\d{4}-\d\d-\d\d)</td><td class="num" data-value="([^"]*)">')


def spec(**changes: str) -> str:
    text = WEB_REVENUE
    for old, new in changes.items():
        text = text.replace(old, new)
    return text


def errors(html: str) -> list[str]:
    return [unescape(e) for e in ERROR.findall(html)]


def validate(client, text: str) -> str:
    response = client.post(reverse("kpi_validate"), {"spec": text}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return response.content.decode()


def test_new_page_has_the_editor_prefilled_and_the_data_beside_it(client, shop):
    page = client_for(client, "owner").get(reverse("kpi_new")).content.decode()
    assert 'id="id_spec"' in page and 'name="spec"' in page and "# One KPI" in page
    assert 'hx-post="/kpis/validate/"' in page and "delay:500ms" in page
    assert "<summary>orders</summary>" in page and "<code>total_amount</code>" in page
    assert 'name="department"' in page
    assert all(escape(d.name) in page for d in shop.departments.all())


def test_example_spec_is_valid(client, shop):
    c = client_for(client, "owner")
    page = c.get(reverse("kpi_new")).content.decode()
    text = re.search(r'<textarea id="id_spec"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    result = validate(c, unescape(text))
    assert errors(result) == [] and 'id="preview"' in result


def test_invalid_yaml_reports_the_line(client, shop):
    result = validate(client_for(client, "owner"), "id: x\nname: [unclosed\ncategory: financial\n")
    (message,) = errors(result)
    assert message.startswith("line ") and "invalid YAML" in message
    assert 'id="preview"' not in result


def test_schema_errors_name_the_field(client, shop):
    result = validate(client_for(client, "owner"), spec(**{"category: financial": "category: money"}))
    assert any(e.startswith("web_sales.category:") for e in errors(result))


def test_unknown_column_is_named_with_a_suggestion(client, shop):
    (message,) = errors(validate(client_for(client, "owner"), spec(**{"expr: total_amount": "expr: totl_amount"})))
    assert message.startswith("web_sales.metric.expr:")
    assert "unknown column 'totl_amount'" in message and "did you mean 'total_amount'" in message


def test_unknown_dataset_and_kpi_reference(client, shop):
    c = client_for(client, "owner")
    assert "unknown dataset 'ordrs'" in errors(validate(c, spec(**{"dataset: orders": "dataset: ordrs"})))[0]
    derived = "id: x2\nname: Twice revenue\ncategory: financial\nmetric:\n  kind: derived\n  formula: 2 * revenu\n"
    assert any("revenu" in e and "did you mean" in e for e in errors(validate(c, derived)))


def test_one_kpi_only(client, shop):
    first = read_yaml(WEB_REVENUE)
    two = yaml.safe_dump({"kpis": [first, {**first, "id": "web_sales_2"}]}, sort_keys=False)
    assert any("exactly one KPI; found 2" in e for e in errors(validate(client_for(client, "owner"), two)))


def _pandas_monthly_web_sales(org) -> pd.Series:
    """The same numbers computed independently: orders read with duckdb, summed by month with pandas."""
    con = duckdb.connect(str(org.warehouse_path()), read_only=True)
    try:
        orders = con.execute("SELECT ordered_at, channel, total_amount FROM orders").df()
    finally:
        con.close()
    web = orders[orders["channel"] == "web"]
    month = pd.to_datetime(web["ordered_at"]).dt.to_period("M").dt.to_timestamp()
    return web.groupby(month)["total_amount"].sum()


def test_valid_spec_previews_the_last_12_months_matching_pandas_and_the_engine(client, shop):
    result = validate(client_for(client, "owner"), WEB_REVENUE)
    assert errors(result) == []
    rows = PREVIEW_ROW.findall(result)
    assert len(rows) == 12
    periods = [pd.Timestamp(p) for p, _ in rows]
    values = np.array([float(v) for _, v in rows])
    expected = _pandas_monthly_web_sales(shop).reindex(periods, fill_value=0.0)
    np.testing.assert_allclose(values, expected.to_numpy(), rtol=1e-9)
    assert periods[-1] == expected.index.max() == _pandas_monthly_web_sales(shop).index.max()
    # And it is what the engine computes for the saved KPI.
    (kpi,), _ = parse_kpis(read_yaml(WEB_REVENUE))
    hw = open_engine(shop, {kpi.id: kpi})
    try:
        df = hw.compute(kpi.id, grain="month").set_index("period")[kpi.id]
    finally:
        hw.close()
    np.testing.assert_allclose(values, df.reindex(periods).to_numpy(), rtol=1e-9)


@pytest.mark.parametrize(
    "expr, message",
    [
        ("1; DROP TABLE orders", "single expression"),
        ("read_csv('/etc/passwd')", "function READ_CSV is not allowed"),
        ("(SELECT SUM(total_amount) FROM orders)", "subqueries are not allowed"),
    ],
)
def test_forbidden_sql_is_refused_and_nothing_is_saved(client, shop, expr, message):
    c = client_for(client, "owner")
    text = spec(**{"expr: total_amount": f'expr: "{expr}"'})
    found = errors(validate(c, text))
    assert any(e.startswith("web_sales.metric.expr:") and message in e for e in found), found
    response = c.post(reverse("kpi_new"), {"spec": text})
    assert response.status_code == 400 and message in response.content.decode()
    assert not KpiDefinition.objects.filter(org=shop, kpi_id="web_sales").exists()
    con = duckdb.connect(str(shop.warehouse_path()), read_only=True)
    try:
        assert con.execute("SELECT COUNT(*) FROM orders").fetchone()[0] > 0
    finally:
        con.close()


def test_forbidden_sql_in_a_filter_is_refused(client, shop):
    text = spec(**{"filter: \"channel = 'web'\"": "filter: \"channel = 'web' OR 1 IN (SELECT 1 FROM customers)\""})
    assert any("subqueries are not allowed" in e for e in errors(validate(client_for(client, "owner"), text)))


def test_save_stores_a_custom_kpi_and_computes_its_series(client, shop):
    c = client_for(client, "owner")
    department = shop.departments.first()
    last = KpiDefinition.objects.filter(org=shop).order_by("-position").first()
    response = c.post(reverse("kpi_new"), {"spec": WEB_REVENUE, "department": department.pk})
    assert response.status_code == 302 and response["Location"] == reverse("scorecard")
    definition = KpiDefinition.objects.get(org=shop, kpi_id="web_sales")
    assert definition.source == KpiSource.CUSTOM and definition.department == department
    assert definition.position > last.position
    assert definition.to_spec().metric.filter == "channel = 'web'"
    shop.refresh_from_db()
    points = SeriesPoint.objects.filter(run=shop.current_run, kpi_id="web_sales", grain="month", dimension="")
    by_month = {pd.Timestamp(p.period): p.value for p in points}
    expected = _pandas_monthly_web_sales(shop)
    np.testing.assert_allclose([by_month[m] for m in expected.index], expected.to_numpy(), rtol=1e-9)


def test_save_refuses_invalid_specs_and_taken_ids(client, shop):
    c = client_for(client, "owner")
    response = c.post(reverse("kpi_new"), {"spec": "id: x\nname: [oops\n"})
    assert response.status_code == 400 and errors(response.content.decode())[0].startswith("line ")
    taken = KpiDefinition.objects.filter(org=shop).first().kpi_id
    response = c.post(reverse("kpi_new"), {"spec": spec(web_sales=taken)})
    assert response.status_code == 400 and "already has a KPI" in response.content.decode()
    response = c.post(reverse("kpi_new"), {"spec": spec(web_sales="revenue")})
    assert response.status_code == 400 and "catalog KPI" in response.content.decode()
    assert KpiDefinition.objects.filter(org=shop, source=KpiSource.CUSTOM).count() == 0


def test_edit_a_custom_kpi_keeps_its_id(client, shop):
    c = client_for(client, "owner")
    c.post(reverse("kpi_new"), {"spec": WEB_REVENUE})
    page = c.get(reverse("kpi_edit", args=["web_sales"])).content.decode()
    assert "web_sales" in page and "channel = &#x27;web&#x27;" in page
    assert errors(c.post(reverse("kpi_validate"), {"spec": WEB_REVENUE, "editing": "web_sales"}).content.decode()) == []
    response = c.post(reverse("kpi_edit", args=["web_sales"]), {"spec": spec(**{"'web'": "'store'"})})
    assert response.status_code == 302
    assert KpiDefinition.objects.get(org=shop, kpi_id="web_sales").to_spec().metric.filter == "channel = 'store'"


def test_catalog_kpis_are_copied_not_edited(client, shop):
    c = client_for(client, "owner")
    existing = KpiDefinition.objects.filter(org=shop, source=KpiSource.CATALOG).first().kpi_id
    page = c.get(reverse("kpi_edit", args=[existing])).content.decode()
    assert "Copy it as a custom KPI" in page and 'id="id_spec"' not in page
    copy = c.get(reverse("kpi_new"), {"from": existing}).content.decode()
    assert f"id: {existing}_custom" in copy
    assert c.post(reverse("kpi_edit", args=[existing]), {"spec": WEB_REVENUE}).status_code == 200
    assert c.post(reverse("kpi_delete", args=[existing])).status_code == 404


def test_delete_a_custom_kpi(client, shop):
    c = client_for(client, "owner")
    c.post(reverse("kpi_new"), {"spec": WEB_REVENUE})
    derived = "id: web_share\nname: Web share\ncategory: financial\nmetric:\n  kind: derived\n"
    derived += "  formula: web_sales / revenue\n"
    assert c.post(reverse("kpi_new"), {"spec": derived}).status_code == 302
    c.post(reverse("kpi_delete", args=["web_sales"]))
    assert KpiDefinition.objects.filter(org=shop, kpi_id="web_sales").exists()  # still used by web_share
    c.post(reverse("kpi_delete", args=["web_share"]))
    assert c.post(reverse("kpi_delete", args=["web_sales"])).status_code == 302
    assert not KpiDefinition.objects.filter(org=shop, source=KpiSource.CUSTOM).exists()


def test_viewer_can_neither_open_nor_post(client, shop):
    c = client_for(client, "owner")
    c.post(reverse("kpi_new"), {"spec": WEB_REVENUE})
    c = client_for(client, "viewer")
    assert c.get(reverse("kpi_new")).status_code == 403
    assert c.get(reverse("kpi_edit", args=["web_sales"])).status_code == 403
    assert c.post(reverse("kpi_new"), {"spec": spec(web_sales="web_sales_2")}).status_code == 403
    assert c.post(reverse("kpi_validate"), {"spec": WEB_REVENUE}).status_code == 403
    assert c.post(reverse("kpi_delete", args=["web_sales"])).status_code == 403
    assert KpiDefinition.objects.filter(org=shop, source=KpiSource.CUSTOM).count() == 1


def test_outsider_cannot_reach_shops_custom_kpis(client, shop, other_org):
    client_for(client, "owner").post(reverse("kpi_new"), {"spec": WEB_REVENUE})
    c = client_for(client, "outsider")
    assert c.get(reverse("kpi_edit", args=["web_sales"])).status_code == 404
    assert c.post(reverse("kpi_edit", args=["web_sales"]), {"spec": WEB_REVENUE}).status_code == 404
    assert c.post(reverse("kpi_delete", args=["web_sales"])).status_code == 404
    assert KpiDefinition.objects.filter(org=shop, kpi_id="web_sales").exists()
    # Validating in their own org: Other has no data, so nothing of Shop's is previewed.
    result = c.post(reverse("kpi_validate"), {"spec": WEB_REVENUE, "editing": "web_sales"}).content.decode()
    assert "no data yet" in result and 'id="preview"' not in result

from django.urls import path, register_converter

from headway.app.kpis import detail_views, views

# Words the KPI editor's routes (catalog_urls, included after this module) use under /kpis/.
RESERVED_UNDER_KPIS = ("new", "validate")


class KpiIdConverter:
    """A KPI id (the spec's pattern) that is not one of the editor's reserved words."""

    regex = r"(?!(?:" + "|".join(RESERVED_UNDER_KPIS) + r")/)[a-z][a-z0-9_]*"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(KpiIdConverter, "kpi")

urlpatterns = [
    path("", views.scorecard, name="scorecard"),
    path("refresh/", views.refresh, name="refresh"),
    path("runs/latest/", views.run_status, name="run_status"),
    path("kpis/<kpi:kpi_id>/", detail_views.kpi_detail, name="kpi_detail"),
    path("kpis/<kpi:kpi_id>/owner/", detail_views.kpi_owner, name="kpi_owner"),
    path("kpis/<kpi:kpi_id>/trend/", detail_views.kpi_trend, name="kpi_trend"),
    path("kpis/<kpi:kpi_id>/breakdown/", detail_views.kpi_breakdown, name="kpi_breakdown"),
    path("kpis/<kpi:kpi_id>/series.csv", detail_views.series_csv, name="kpi_series_csv"),
    path("kpis/<kpi:kpi_id>/series.xlsx", detail_views.series_xlsx, name="kpi_series_xlsx"),
]

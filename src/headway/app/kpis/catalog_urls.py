"""Routes of the catalog and the KPI editor."""

from django.urls import path

from headway.app.kpis import catalog_views, editor_views

urlpatterns: list = [
    path("catalog/", catalog_views.catalog, name="catalog"),
    path("catalog/add/<slug:kpi_id>/", catalog_views.catalog_add, name="catalog_add"),
    path("kpis/new/", editor_views.kpi_new, name="kpi_new"),
    path("kpis/validate/", editor_views.kpi_validate, name="kpi_validate"),
    path("kpis/<slug:kpi_id>/edit/", editor_views.kpi_edit, name="kpi_edit"),
    path("kpis/<slug:kpi_id>/delete/", editor_views.kpi_delete, name="kpi_delete"),
]

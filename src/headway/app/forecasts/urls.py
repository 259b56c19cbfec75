"""Routes of the forecasts pages."""

from django.urls import path

from headway.app.forecasts import views
from headway.app.kpis import urls as kpi_urls  # noqa: F401 - registers the <kpi:...> converter

urlpatterns = [
    path("kpis/<kpi:kpi_id>/forecast/", views.kpi_forecast, name="kpi_forecast"),
]

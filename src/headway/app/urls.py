"""URL routes: each domain's pages live in its own module."""

from django.urls import include, path

urlpatterns = [
    path("", include("headway.app.accounts.urls")),
    path("", include("headway.app.kpis.urls")),
    path("", include("headway.app.kpis.catalog_urls")),
    path("", include("headway.app.strategy.urls")),
    path("", include("headway.app.sources.urls")),
    path("", include("headway.app.automation.urls")),
    path("", include("headway.app.forecasts.urls")),
    path("", include("headway.app.insights.urls")),
    path("", include("headway.app.reports.urls")),
]

handler403 = "headway.app.kpis.views.forbidden"
handler404 = "headway.app.kpis.views.not_found"

"""Routes of the report pages."""

from django.urls import path

from headway.app.reports import views

urlpatterns = [
    path("reports/", views.report_list, name="reports"),
    path("reports/new/", views.report_new, name="report_new"),
    path("reports/<int:report_id>/", views.report_edit, name="report_edit"),
    path("reports/<int:report_id>/delete/", views.report_delete, name="report_delete"),
    path("reports/<int:report_id>/preview/", views.report_preview, name="report_preview"),
    path("reports/<int:report_id>/pack.<str:kind>", views.report_file, name="report_file"),
    path("reports/<int:report_id>/send/", views.report_send, name="report_send"),
]

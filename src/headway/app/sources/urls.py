"""Routes of the sources pages (Data) and the REST API at /api/v1/."""

from django.urls import path

from headway.app.sources import connection_views, views
from headway.app.sources.api import api

urlpatterns = [
    path("data/", views.sources, name="sources"),
    path("data/upload/", views.upload, name="upload"),
    path("data/imports/<int:import_id>/", views.import_detail, name="import_detail"),
    path("data/imports/<int:import_id>/mapping/", views.import_mapping, name="import_mapping"),
    path("data/imports/<int:import_id>/discard/", views.import_discard, name="import_discard"),
    path("data/imports/<int:import_id>/status/", views.import_status, name="import_status"),
    path("data/imports/<int:import_id>/rejected.csv", views.quarantine_csv, name="quarantine_csv"),
    path("data/sources/<int:source_id>/", views.source_detail, name="source_detail"),
    path("data/sources/<int:source_id>/delete/", views.source_delete, name="source_delete"),
    path("data/sources/<int:source_id>/refresh/", connection_views.source_refresh, name="source_refresh"),
    path("data/sql/new/", connection_views.sql_source, name="sql_source_new"),
    path("data/sql/<int:source_id>/", connection_views.sql_source, name="sql_source_edit"),
    path("data/connectors/new/", connection_views.saas_source, name="saas_source_new"),
    path("data/connectors/<int:source_id>/", connection_views.saas_source, name="saas_source_edit"),
    path("data/tokens/", connection_views.tokens, name="api_tokens"),
    path("data/tokens/<int:token_id>/revoke/", connection_views.token_revoke, name="api_token_revoke"),
    path("api/v1/", api.urls),
]

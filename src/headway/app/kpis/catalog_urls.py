"""Routes of the catalog and the KPI editor."""

urlpatterns: list = []

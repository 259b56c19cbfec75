"""Routes of the insights pages."""

from django.urls import path

from headway.app.insights import demand_views, views

urlpatterns = [
    path("insights/customers-at-risk/", views.customers_at_risk, name="customers_at_risk"),
    path("insights/customers-at-risk/recompute/", views.recompute_churn, name="churn_recompute"),
    path("insights/demand/", demand_views.demand, name="demand"),
    path("insights/demand/recompute/", demand_views.recompute_demand, name="demand_recompute"),
]

"""Routes of the insights pages."""

from django.urls import path

from headway.app.insights import views

urlpatterns = [
    path("insights/customers-at-risk/", views.customers_at_risk, name="customers_at_risk"),
    path("insights/customers-at-risk/recompute/", views.recompute_churn, name="churn_recompute"),
    path("insights/demand/", views.demand, name="demand"),
    path("insights/demand/recompute/", views.recompute_demand, name="demand_recompute"),
]

from django.urls import path

from headway.app.kpis import views

urlpatterns = [
    path("", views.scorecard, name="scorecard"),
    path("refresh/", views.refresh, name="refresh"),
    path("runs/latest/", views.run_status, name="run_status"),
]

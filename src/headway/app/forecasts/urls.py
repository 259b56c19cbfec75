"""Routes of the forecasts pages."""

from django.urls import path  # noqa: F401

urlpatterns: list = []

"""Routes of the automation pages."""

from django.urls import path  # noqa: F401

urlpatterns: list = []

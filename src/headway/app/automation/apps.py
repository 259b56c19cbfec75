"""Automation: jobs, alert rules and alerts, notification channels, scheduled reports."""

from django.apps import AppConfig


class AutomationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "headway.app.automation"
    label = "automation"

    def ready(self) -> None:
        from headway.app.automation import builtin  # noqa: F401 - registers the built-in job kinds

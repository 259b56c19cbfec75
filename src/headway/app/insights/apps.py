"""Customer and product insights: churn risk, customers at risk, demand forecasts."""

from django.apps import AppConfig


class InsightsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "headway.app.insights"
    label = "insights"

    def ready(self) -> None:
        from headway.app.insights import jobs  # noqa: F401 - registers the churn job and its refresh trigger

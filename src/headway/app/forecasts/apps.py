from django.apps import AppConfig


class ForecastsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "headway.app.forecasts"
    label = "forecasts"

    def ready(self) -> None:
        from headway.app.forecasts import jobs  # noqa: F401 - registers the refit job and its refresh trigger

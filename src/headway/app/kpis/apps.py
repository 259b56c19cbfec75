from django.apps import AppConfig


class KpisConfig(AppConfig):
    name = "headway.app.kpis"
    label = "kpis"
    default_auto_field = "django.db.models.BigAutoField"

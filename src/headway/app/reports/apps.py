from django.apps import AppConfig


class ReportsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "headway.app.reports"
    label = "reports"

    def ready(self) -> None:
        from headway.app.reports import jobs, sections  # noqa: F401 - registers the job kind and the tick hook
        from headway.app.reports.pack import SECTIONS

        for provider in (sections.goals_section, sections.alerts_section, sections.review_section):
            if provider not in SECTIONS:
                SECTIONS.append(provider)

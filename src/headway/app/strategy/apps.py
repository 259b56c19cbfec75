from django.apps import AppConfig


class StrategyConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "headway.app.strategy"
    label = "strategy"

    def ready(self) -> None:
        # Goal status and drivers show on the scorecard cards: their last change keys its cache.
        from headway.app.kpis.views import SCORECARD_STATE
        from headway.app.strategy.cards import STATE_ENTRIES

        SCORECARD_STATE.extend(e for e in STATE_ENTRIES if e not in SCORECARD_STATE)
        from headway.app.strategy import reminders  # noqa: F401 - registers the review reminder job and tick hook

"""Data in: sources, file imports with quarantine, SQL and SaaS connections, push API, freshness."""

from django.apps import AppConfig

# What the scorecard's cached content depends on from this app: the stale KPI marks
# (a new failure replaces the rows, so their highest id changes with the reason).
STATE_ENTRIES = (
    "(SELECT COUNT(*) FROM sources_stalekpi WHERE org_id = %(org)s)",
    "(SELECT MAX(id) FROM sources_stalekpi WHERE org_id = %(org)s)",
)


class SourcesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "headway.app.sources"
    label = "sources"

    def ready(self) -> None:
        from headway.app.kpis.cards import STALE_PROVIDERS
        from headway.app.kpis.views import SCORECARD_STATE
        from headway.app.sources import jobs  # noqa: F401 - registers the job kinds and the due-sources tick
        from headway.app.sources.freshness import stale_kpis

        SCORECARD_STATE.extend(e for e in STATE_ENTRIES if e not in SCORECARD_STATE)
        if stale_kpis not in STALE_PROVIDERS:
            STALE_PROVIDERS.append(stale_kpis)

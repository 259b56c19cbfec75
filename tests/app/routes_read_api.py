"""The read REST API in the route net (tests/app/test_every_view.py): token-authenticated, not by the
session, so its routes are PUBLIC here; their auth and tenant isolation are tested in tests/app/test_read_api.py."""

PUBLIC = {
    "api_kpis",
    "api_kpi",
    "api_kpi_series",
    "api_goals",
    "api_goal",
    "api_objectives",
    "api_objective",
    "api_alerts",
    "api_alert",
}

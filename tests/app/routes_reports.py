"""Route values for the report pages in the route net (tests/app/test_every_view.py)."""

from headway.app.reports.models import Report

VALUES = {
    "report_id": lambda org: (
        Report.objects.get_or_create(org=org, name="Monthly pack", recipients="a@example.com")[0].pk
    ),
    "kind": lambda org: "pdf",
}

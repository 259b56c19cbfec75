"""Automation: jobs, alert rules and alerts, notification channels, scheduled reports."""

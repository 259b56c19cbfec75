"""Ingest (Django-free): files, SQL databases, SaaS connectors and push payloads into the warehouse,
with mapping, validation and quarantine."""

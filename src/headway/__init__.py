"""Headway: a strategic KPI platform for small and medium-sized businesses."""

__version__ = "0.1.0"

"""Strategy: objectives, SMARTer goals, KPI relationships, manual values, portfolio review."""

"""Data in: sources, file imports with quarantine, SQL and SaaS connections, push API, freshness."""

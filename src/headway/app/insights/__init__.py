"""Customer and product insights: churn risk, customers at risk, demand forecasts."""

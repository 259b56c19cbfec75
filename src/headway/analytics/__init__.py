"""Analytics (Django-free): goals maths, portfolio review, forecasting, anomalies, churn, demand,
risk and alert evaluation."""

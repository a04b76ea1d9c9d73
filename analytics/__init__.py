"""Analytics and forecasting on the warehouse: an insight report, audience forecasts backtested against seasonal
baselines, per-subscriber scores. Reads ``iptv_dw`` as the read-only role; writes its results
(``forecast_hourly``, ``subscriber_scores``) as the loader. Queries live in ``greenplum/analytics/*.sql``.
"""

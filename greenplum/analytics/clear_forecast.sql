-- Before a forecast run writes its rows: forecast_hourly holds one run only.
DELETE FROM {{ schema }}.forecast_hourly

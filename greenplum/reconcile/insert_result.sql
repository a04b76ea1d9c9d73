-- One row of a reconciliation (iptv/reconcile.py): a figure compared (gap NULL) or a gap of kind {{ gap }}.
INSERT INTO {{ schema }}.reconcile_results
    (checked_at, date_from, date_to, check_name, subject, expected, found, gap, detail)
VALUES (
    CAST({{ checked_at }} AS TIMESTAMP), CAST({{ date_from }} AS DATE), CAST({{ date_to }} AS DATE),
    {{ check_name }}, {{ subject }}, {{ expected }}, {{ found }}, {{ gap }}, {{ detail }}
);

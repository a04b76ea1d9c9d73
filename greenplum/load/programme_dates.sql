-- Every date with a programme guide (the dates of the programme marts, which exist for a guide without sessions).
SELECT DISTINCT dt FROM {{ schema }}.dim_programme ORDER BY 1;

-- Whether table {{ table_name }} of the warehouse schema exists (a row if it does).
SELECT 1 FROM information_schema.tables WHERE table_schema = {{ schema_name }} AND table_name = {{ table_name }};

"""Superset dashboards as code: the tree in ``superset/`` (YAML of the database, datasets, charts, dashboards),
deployed through Superset's REST API (``deploy``), exported back into the tree normalised (``bundle``)."""

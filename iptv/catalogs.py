"""The catalogs data contract: the columns of ``catalogs/channels/`` and ``catalogs/users/``, as the dataset
definition (``schemas/datasets.json``, :mod:`iptv.datasets`: datasets ``channels`` and ``users``) gives them.

The producer (``producer/catalogs.py``) writes these columns in this order, as headerless RFC 4180 CSV (quoted
only when needed, doubled quotes); Hive (``hive/create_tables.sql``, tables ``channels`` and ``users``), the
warehouse staging of the dimensions (``greenplum/load/dims.sql``) and the DuckDB reference
(tests/oracle/marts.py) read exactly these columns. A record with another number of fields is not loaded
into the warehouse (it is counted as rejected by :func:`iptv.warehouse.load_dims`).

What the warehouse keeps (``dim_user``, ``dim_channel``): every column. ``full_name`` is stored as
``dim_user.user_name`` and ``watch_time_share_pct`` as ``dim_channel.watch_share_pct`` (the warehouse's
historical names); ``gender`` (M/F), ``birth_date``, ``city`` and ``signup_date`` are kept as cheap audience
attributes (a value that does not parse becomes NULL; the row still loads).
"""

from __future__ import annotations

from iptv.datasets import CATALOGS, CHANNELS, DATASETS, USERS

#: channels.csv: channel id, name, share of watch time (%), share of viewers (%) -- from the rating table.
CHANNEL_COLUMNS: tuple[str, ...] = CHANNELS.column_names
#: users.csv: subscriber id (1..N, the simulated user ids), full name, gender M/F, birth date, city, signup date
#: (dates YYYY-MM-DD).
USER_COLUMNS: tuple[str, ...] = USERS.column_names

CATALOG_COLUMNS: dict[str, tuple[str, ...]] = {name: DATASETS[name].column_names for name in CATALOGS}

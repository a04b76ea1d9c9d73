"""The catalogs data contract: the columns of ``catalogs/channels/`` and ``catalogs/users/``, defined once.

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

#: channels.csv: channel id, name, share of watch time (%), share of viewers (%) -- from the rating table.
CHANNEL_COLUMNS: tuple[str, ...] = ("channel_id", "channel_name", "watch_time_share_pct", "viewer_share_pct")
#: users.csv: subscriber id (1..N, the simulated user ids), full name, gender M/F, birth date, city, signup date
#: (dates YYYY-MM-DD).
USER_COLUMNS: tuple[str, ...] = ("user_id", "full_name", "gender", "birth_date", "city", "signup_date")

CATALOG_COLUMNS: dict[str, tuple[str, ...]] = {"channels": CHANNEL_COLUMNS, "users": USER_COLUMNS}

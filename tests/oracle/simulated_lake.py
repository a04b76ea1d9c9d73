"""The producer's simulated subscribers as a lake (the layout the flows land on HDFS, written locally; loaded by
:func:`oracle.sample_warehouse.load_lake`): the history that the analytics' integration test and
bench/bench_forecast.py learn from. The analytics read only the warehouse, never the simulation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from producer import catalogs, guide
from producer.events import format_times
from producer.model import Simulator


def write_simulated_lake(
    root: str | Path,
    paths: dict[str, str],
    first: dt.date,
    n_days: int,
    n_users: int,
    seed: int = 0,
    guide_files: bool = True,
) -> list[dt.date]:
    """Write ``n_days`` days from ``first`` of ``n_users`` simulated subscribers under ``root`` in the HDFS
    layout of ``paths`` (config ``hdfs.paths``): one sessions file per date (headerless CSV session_id,
    user_id, channel_id, time_start, time_end, duration_s), the guide of each date (unless not
    ``guide_files``: its load is the slow part) and the catalogs. Returns the dates."""
    root = Path(root)
    sim = Simulator(n_users, seed)
    dates = [first + dt.timedelta(days=i) for i in range(n_days)]
    for day in dates:
        s = sim.day(day)
        part = root / paths["sessions"].lstrip("/") / f"dt={day.isoformat()}"
        part.mkdir(parents=True, exist_ok=True)
        starts, ends = format_times(s.start), format_times(s.end)
        lines = [
            f"{sid},{u},{c},{a},{b},{d}\n"
            for sid, u, c, a, b, d in zip(s.session_id, s.user_id, s.channel_id, starts, ends, s.duration, strict=True)
        ]
        (part / "part-00000.csv").write_text("".join(lines), encoding="utf-8")
        if not guide_files:
            continue
        epg = root / paths["catalogs"].lstrip("/") / "epg" / f"dt={day.isoformat()}"
        epg.mkdir(parents=True, exist_ok=True)
        (epg / guide.file_name(day)).write_text(catalogs.to_csv(guide.day_guide(seed, day).rows()), encoding="utf-8")
    cat = root / paths["catalogs"].lstrip("/")
    catalogs.write_csv(catalogs.channel_rows(), cat / "channels" / "channels.csv")
    catalogs.write_csv(catalogs.user_rows(n_users, seed), cat / "users" / "users.csv")
    return dates

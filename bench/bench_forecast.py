#!/usr/bin/env python
"""Benchmark and acceptance of the analytics (issue #14, item 6) on the simulator's history.

    PYTHONPATH=$PWD:tests python bench/bench_forecast.py [--users 10000] [--days 35] [--first 2025-09-01] \
        [--seed 0] [--keep]

Simulates --days days of --users subscribers (producer.model, no Kafka), writes them as the lake's session,
guide and catalog files (tests/oracle/simulated_lake.py), loads them with iptv.warehouse's loads into a
bench-only schema (iptv_dw_bench_forecast) and runs ``python -m analytics forecast`` and ``score`` (and
``report`` when analytics/report.py exists) on it, timed. Prints the acceptance table -- the best model's MAE
on total hourly viewers against SeasonalNaive(168) (target >= 10 % lower), the share of the 50 most watched
channels where it is >= 10 % lower (target >= 70 %), the 80 % / 95 % interval coverage (75-85 % / 90-98 %),
next-day viewing AUC (>= 0.80 and >= 0.03 above "viewed yesterday"), 7-day inactivity AUC (>= 0.75), the time
of report + forecast + score (<= 300 s) -- and writes it to bench/results/bench_forecast.json. The schema is
dropped at the end unless --keep. Needs PostgreSQL/Greenplum up (config or IPTV__POSTGRES__* overrides).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path

from oracle.sample_warehouse import drop_schema, load_lake
from oracle.simulated_lake import write_simulated_lake

from analytics import cli
from iptv import warehouse
from iptv.config import REPO_ROOT, load_config

SCHEMA = "iptv_dw_bench_forecast"
RESULTS = REPO_ROOT / "bench" / "results"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--users", type=int, default=10_000)
    p.add_argument("--days", type=int, default=35)
    p.add_argument("--first", type=dt.date.fromisoformat, default=dt.date(2025, 9, 1), help="first simulated day")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--keep", action="store_true", help="keep the bench schema")
    p.add_argument("--reuse", metavar="SCHEMA", help="run the analytics on this loaded schema (no simulation)")
    return p.parse_args(argv)


def timed(what: str, fn, *a, **kw):
    t0 = time.monotonic()
    out = fn(*a, **kw)
    elapsed = time.monotonic() - t0
    print(f"{what}: {elapsed:.1f} s", flush=True)
    return out, elapsed


def acceptance(bt: dict, sc: dict, seconds: float) -> list[tuple[str, str, str, bool]]:
    """(criterion, measured, target, met) rows."""
    best, best_total = bt["chosen"], bt.get("chosen_total", bt["chosen"])
    m = bt["models"][best]
    nxt, ina = sc["evaluation"]["view_next"], sc["evaluation"]["inactive_7d"]
    gain = 1 - bt["models"][best_total]["total_rel_mae"]
    lift = nxt["model"]["roc_auc"] - nxt["baseline"]["roc_auc"]
    rows = [
        (f"total hourly viewers: MAE of {best_total} below SeasonalNaive(168)", f"{gain:.1%}", ">= 10 %", gain >= 0.10),
        (
            "top-50 channels with MAE >= 10 % below SeasonalNaive(168)",
            f"{m['top_channels_beating_baseline']:.0%} ({best})",
            ">= 70 %",
            m["top_channels_beating_baseline"] >= 0.70,
        ),
        ("80 % interval coverage", f"{m['coverage80']:.1%}", "75-85 %", 0.75 <= m["coverage80"] <= 0.85),
        ("95 % interval coverage", f"{m['coverage95']:.1%}", "90-98 %", 0.90 <= m["coverage95"] <= 0.98),
        ("next-day viewing ROC-AUC", f"{nxt['model']['roc_auc']:.3f}", ">= 0.80", nxt["model"]["roc_auc"] >= 0.80),
        (
            "  ... above the baseline 'viewed yesterday'",
            f"+{lift:.3f} (baseline {nxt['baseline']['roc_auc']:.3f})",
            ">= +0.03",
            lift >= 0.03,
        ),
        ("7-day inactivity ROC-AUC", f"{ina['model']['roc_auc']:.3f}", ">= 0.75", ina["model"]["roc_auc"] >= 0.75),
        ("report + forecast + score", f"{seconds:.0f} s", "<= 300 s", seconds <= 300),
    ]
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cfg = load_config()
    wh = warehouse.Warehouse(cfg, args.reuse or SCHEMA)
    with tempfile.TemporaryDirectory(prefix="iptv-bench-forecast-") as tmp:
        out = Path(tmp) / "out"
        try:
            if args.reuse:
                dates, t_sim, t_load = [args.first + dt.timedelta(days=i) for i in range(args.days)], 0.0, 0.0
            else:
                dates, t_sim = timed(
                    f"simulate {args.users:,} x {args.days} days and write the lake", write_simulated_lake,
                    tmp, cfg.hdfs.paths.as_dict(), args.first, args.days, args.users, args.seed,
                )  # fmt: skip
                drop_schema(cfg, wh)
                _, t_load = timed("load the warehouse", load_lake, cfg, wh, tmp, dates)
            common = ["--schema", wh.schema, "--out", str(out), "--no-progress"]
            until = ["--until", dates[-1].isoformat(), "--days", str(args.days)]
            steps = {}
            if importlib.util.find_spec("analytics.report") is not None:
                steps["report"] = common
            steps["forecast"] = [*common, *until]
            steps["score"] = [*common, *until]
            seconds = {}
            for name, argv_ in steps.items():
                code, seconds[name] = timed(f"analytics {name}", cli.run_command, name, argv_, cfg)
                if code != 0:
                    print(f"analytics {name} failed (exit {code})", file=sys.stderr)
                    return 1
            bt = json.loads((out / "backtest.json").read_text())
            sc = json.loads((out / "scores.json").read_text())
        finally:
            if not args.keep and not args.reuse:
                drop_schema(cfg, wh)
    total = sum(seconds.values())
    rows = acceptance(bt, sc, total)
    print_table(bt, rows, seconds)
    RESULTS.mkdir(parents=True, exist_ok=True)
    result = {
        "users": args.users, "days": args.days, "first": args.first.isoformat(), "seed": args.seed,
        "seconds": {"simulate_write": t_sim, "load": t_load, **seconds},
        "acceptance": [dict(zip(("criterion", "measured", "target", "met"), r, strict=True)) for r in rows],
        "backtest": bt, "scores": sc,
    }  # fmt: skip
    (RESULTS / "bench_forecast.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0 if all(r[3] for r in rows) else 1


def print_table(bt: dict, rows: list[tuple[str, str, str, bool]], seconds: dict[str, float]) -> None:
    print(f"\nbacktest ({bt['windows']} windows x {bt['horizon_h']} h, {bt['series']} series), chosen: {bt['chosen']}")
    print(
        f"| {'model':22} | series | MASE  | WAPE  | MAE / SN168 | total MAE / SN168 | top-50 >= 10 % | cov80 | cov95 |"
    )
    print(f"|{'-' * 24}|--------|-------|-------|-------------|-------------------|----------------|-------|-------|")
    f = lambda v, p=3: "-" if v is None else f"{v:.{p}f}"  # noqa: E731
    for name, m in bt["models"].items():
        print(
            f"| {name:22} | {m['series']:6} | {f(m['mase'])} | {f(m['wape'])} | {f(m['rel_mae']):>11} | "
            f"{f(m.get('total_rel_mae')):>17} | {f(m.get('top_channels_beating_baseline'), 2):>14} | "
            f"{f(m['coverage80'], 2):>5} | {f(m['coverage95'], 2):>5} |"
        )
    print(f"\n| {'criterion':58} | {'measured':30} | {'target':9} | met |")
    print(f"|{'-' * 60}|{'-' * 32}|{'-' * 11}|-----|")
    for crit, got, target, ok in rows:
        print(f"| {crit:58} | {got:30} | {target:9} | {'yes' if ok else 'NO':3} |")
    print("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items()))


if __name__ == "__main__":
    sys.exit(main())

"""`make demo`: bring the stack up and push four weeks of viewing (--days) through Kafka -> NiFi -> HDFS -> Hive
-> Greenplum.

Steps (each prints a line; a failing step ends the demo with exit 1 and one line saying why):
  1. stack up (every service);  2. platform check (events through Kafka -> HDFS -> Hive and back);
  3. catalogs (channels, subscribers) and the programme guide of the demo's days to HDFS;
  4. deploy the NiFi flows (scripts/deploy_flows.py);
  5. the producer's --days-day backfill (default 28: four weekly cycles for the forecasts) and today's live
     day to Kafka at --speed max;
  6. wait until the ingestion flow has landed the sessions of every day on HDFS (bounded);
  7. warehouse sync: the NiFi SyncWarehouse flow when deployed (bounded wait), else iptv.lake_sync here;
  8. report from Greenplum as the read-only role: per day watch hours, views, viewers; top 5 channels; then
     scripts/reconcile.py --store (its gaps, if any, on the Pipeline health dashboard);
  9. analytics (python -m analytics): the insight report (<state dir>/report/report.html), the hourly forecasts
     and the subscriber scores written back to the warehouse;
  10. deploy the Superset dashboards (scripts/deploy_dashboards.py) and print their URLs and the logins.

Without the NiFi ingestion flow (NiFi down, or the deploy fails) steps 5-6 are skipped and said so: nothing
lands sessions, and the demo does not fake them; the report then shows what the warehouse holds.

Exit codes: 0 done; 1 a step failed; 2 bad arguments.
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import time

from rich.console import Console
from rich.table import Table

from iptv.config import REPO_ROOT, Config, ConfigError, load_config, state_dir
from local_stack import SERVICE_MODULES, control

console = Console(highlight=False)
PY = sys.executable
#: Four weekly cycles: the forecasts' weekly season and their backtest need them. At the default 2,000
#: subscribers that is ~325,000 events (3 s to simulate; docs/producer.md and docs/ingestion.md put Kafka at
#: ~70,000 and the pairing flow at ~26,000 events/s, so ~20 s more).
DAYS = 28
WAREHOUSE_FLOW = "IPTV warehouse sync"


class StepFailedError(RuntimeError):
    pass


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--users", type=int, default=2000, help="subscribers simulated (default %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="producer seed (default %(default)s)")
    p.add_argument("--days", type=int, default=DAYS, help="days of backfill before the live day (%(default)s)")
    p.add_argument(
        "--faults", type=float, default=0.01,
        help="fraction of sessions given a fault (bad messages, duplicates, ...), as set-top boxes send them; they "
        "land in the quarantine that Pipeline health shows (default %(default)s; 0 for none)",
    )  # fmt: skip
    p.add_argument("--date", type=dt.date.fromisoformat, default=dt.date.today(), help="the live day (default today)")
    p.add_argument("--land-timeout", type=float, default=1200, help="seconds to wait for landing (%(default)s)")
    p.add_argument("--sync-timeout", type=float, default=1200, help="seconds to wait for the NiFi sync (%(default)s)")
    p.add_argument("--skip-check", action="store_true", help="skip the platform check")
    p.add_argument(
        "--no-flows", action="store_true", help="do not deploy NiFi flows nor send data (sync and report only)"
    )
    args = p.parse_args(argv)
    if args.users < 1:
        p.error("--users must be positive")
    if args.days < 1:
        p.error("--days must be positive")
    if not 0 <= args.faults < 1:
        p.error("--faults must be a fraction, 0 or more and below 1")
    return args


def step(title: str) -> None:
    console.print(f"[bold cyan]==>[/] {title}")


def note(text: str) -> None:
    console.print(f"    {text}")


def skip(text: str) -> None:
    console.print(f"    [yellow]skipped:[/] {text}")


def run(cmd: list[str], what: str, timeout: float = 3600) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0:
        tail = (res.stderr or res.stdout).strip().splitlines()[-1:] or ["no output"]
        raise StepFailedError(f"{what} failed (exit {res.returncode}): {tail[0]}")
    return res


def last_line(res: subprocess.CompletedProcess[str]) -> str:
    lines = [ln for ln in res.stdout.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


# ------------------------------------------------------------------------------------------------ steps


def stack_up(cfg: Config) -> bool:
    """Every service up; if NiFi cannot start, the others (the demo then skips the flows). True: NiFi is up."""

    try:
        note(f"all services up ({control.up(cfg):.0f}s)")
        return True
    except Exception as exc:  # noqa: BLE001 - NiFi is the optional one
        others = [n for n in SERVICE_MODULES if n != "nifi"]
        note(f"[yellow]the full stack did not come up:[/] {' '.join(str(exc).split())[:200]}")
        control.up(cfg, others)  # raises (ends the demo) if one of these fails
        skip(f"NiFi: only {', '.join(others)} are up")
        return False


def deploy_flows() -> bool:
    try:
        res = run([PY, "-m", "iptv.nifi.deploy_cli"], "deploy_flows", timeout=1800)
    except (StepFailedError, subprocess.TimeoutExpired) as exc:
        skip(f"NiFi flows not deployed: {exc}")
        return False
    note(last_line(res) or "flows deployed")
    return True


def warehouse_flow_deployed(cfg: Config) -> bool:
    try:
        import nipyapi

        from iptv.nifi.client import login

        login(cfg)
        return bool(nipyapi.canvas.get_process_group(WAREHOUSE_FLOW, "name"))
    except Exception:  # noqa: BLE001 - no NiFi, no flow
        return False


def session_dates_on_hdfs(cfg: Config) -> dict[str, str]:
    from iptv import lake_sync

    return {k: v for k, v in lake_sync.list_lake(cfg).items() if lake_sync.parse_key(k)[0] == "sessions"}


def wait_landed(cfg: Config, dates: list[dt.date], timeout: float) -> None:
    """Until every date has sessions on HDFS and the listing has been stable for three polls."""
    want = {f"sessions/dt={d.isoformat()}" for d in dates}
    deadline = time.monotonic() + timeout
    last, stable = None, 0
    while True:
        now = session_dates_on_hdfs(cfg)
        stable = stable + 1 if now == last else 0
        last = now
        have = sorted(k.split("=")[1] for k in want & now.keys())
        if want <= now.keys() and stable >= 3:
            note(f"sessions landed for {len(have)} days, no new files for {3 * 10} s")
            return
        if time.monotonic() > deadline:
            missing = sorted(k.split("=")[1] for k in want - now.keys())
            raise StepFailedError(
                f"landing not complete after {timeout:.0f}s (no sessions yet for {', '.join(missing)})"
            )
        note(f"landed so far: {len(have)}/{len(want)} days; waiting")
        time.sleep(10)


def sync_directly(cfg: Config) -> None:
    from iptv import lake_sync
    from iptv.lake_sync_cli import STATE_FILE, load_state, save_state

    path = state_dir(cfg) / STATE_FILE
    state = load_state(path)

    def progress(what: str, done: int, total: int) -> None:
        if what not in ("done", "listing"):
            note(f"sync {done + 1}/{total}: {what}")

    res, state = lake_sync.sync(cfg, state, progress=progress)
    save_state(path, state)
    note(res.summary())
    if res.errors:
        raise StepFailedError(f"warehouse sync: {res.errors[0]}")


def wait_nifi_sync(cfg: Config, dates: list[str], timeout: float) -> bool:
    """Until mart_daily covers every landed date and the facts hold every session file's rows (approx.: the
    NiFi sync has loaded each date at least once after its last change). False on timeout."""
    from iptv import db

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = db.connect(cfg, "reader")
            with conn, conn.cursor() as cur:
                cur.execute("SELECT DISTINCT dt FROM iptv_dw.fact_session")
                have = {r[0].isoformat() for r in cur.fetchall()}
            conn.close()
        except Exception:  # noqa: BLE001 - schema not there yet
            have = set()
        if set(dates) <= have:
            return True
        note(f"NiFi sync: {len(set(dates) & have)}/{len(dates)} days in the warehouse; waiting")
        time.sleep(15)
    return False


def report(cfg: Config, schema: str = "iptv_dw") -> None:
    from iptv import db, warehouse

    wh = warehouse.Warehouse(cfg, schema=schema)
    conn = db.connect(cfg, "reader", application_name="iptv-demo")
    try:
        with conn.cursor() as cur:
            cur.execute(wh.sql("reports/daily_summary.sql"))
            days = cur.fetchall()
            cur.execute(wh.sql("reports/top_channels.sql"))
            top = cur.fetchall()
    finally:
        conn.close()
    t = Table(title=f"Per day (Greenplum {schema}.mart_daily)")
    for c in ("date", "watch hours", "views", "viewers"):
        t.add_column(c, justify="right")
    for d, hours, views, viewers in days:
        t.add_row(d.isoformat(), f"{hours:,.1f}", f"{views:,}", f"{viewers:,}")
    console.print(t)
    t = Table(title="Top 5 channels by watch hours (all days)")
    for c in ("channel", "watch hours", "views", "share %"):
        t.add_column(c, justify="right")
    for cid, name, hours, views, share in top:
        t.add_row(f"{name} ({cid})", f"{hours:,.1f}", f"{views:,}", f"{share}")
    console.print(t)
    if not days:
        note("the warehouse holds no sessions yet")


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:
        return 130


def reconcile() -> None:
    """scripts/reconcile.py --store: the counts end to end into reconcile_results (the Pipeline health dashboard).
    A gap is reported, not a failure of the demo: the dashboard is where to look at it."""
    res = subprocess.run(
        [PY, str(REPO_ROOT / "scripts" / "reconcile.py"), "--store"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    if res.returncode not in (0, 1):
        raise StepFailedError(f"reconcile failed (exit {res.returncode}): {(res.stderr or res.stdout).strip()[-300:]}")
    note(last_line(res))


def analytics() -> None:
    """The insight report, then the forecasts (forecast_hourly) and scores (subscriber_scores) that the Forecast
    dashboard shows, with their default options (python -m analytics)."""
    for command in ("report", "forecast", "score"):
        note(last_line(run([PY, "-m", "analytics", command, "--no-progress"], f"analytics {command}")))


def dashboards(cfg: Config) -> None:
    """Deploy superset/ (a second run changes nothing) and say where to look and how to log in."""
    from iptv.superset import deploy

    rep = deploy.deploy(cfg)
    note(f"{rep.changed} object(s) changed" + (" (imported)" if rep.imported else ", nothing to import"))
    for title, url in rep.dashboards.items():
        console.print(f"    {title}: {url}", soft_wrap=True)  # whole URLs, never wrapped
    s = cfg.superset
    creds = s.credentials_file
    console.print(
        f"    log in as [bold]{s.viewer_user}[/] (read-only): password = viewer_password in {creds}", soft_wrap=True
    )
    note(f"admin: {s.admin_user}, password = admin_password in the same file")


def _main(argv: list[str] | None) -> int:
    args = parse_args(argv)
    t0 = time.monotonic()
    try:
        cfg = load_config()
    except ConfigError as exc:
        console.print(f"[red]demo failed:[/] {exc}", soft_wrap=True)
        return 1
    dates = [args.date - dt.timedelta(days=i) for i in range(args.days, -1, -1)]
    common = ["--users", str(args.users), "--seed", str(args.seed), "--no-progress"]
    try:
        step("1/10 stack up")
        nifi_up = stack_up(cfg)

        step("2/10 platform check")
        if args.skip_check:
            skip("--skip-check")
        else:
            from iptv.platform_check import run_check

            res = run_check(cfg)
            if not res.ok:
                raise StepFailedError(f"platform check: sent={res.sent} consumed={res.consumed} hive={res.hive_count}")
            note(f"ok: {res.sent} events through Kafka -> HDFS -> Hive ({res.seconds:.1f}s)")

        step("3/10 catalogs and programme guide to HDFS")
        note(last_line(run([PY, "-m", "producer", "catalogs", "--to", "hdfs", *common], "producer catalogs")))
        epg = ["epg", "--to", "hdfs", "--date", dates[0].isoformat(), "--days", str(len(dates))]
        note(last_line(run([PY, "-m", "producer", *epg, "--seed", str(args.seed), "--no-progress"], "producer epg")))

        step("4/10 deploy NiFi flows")
        if args.no_flows:
            skip("--no-flows")
            flows = False
        elif nifi_up:
            flows = deploy_flows()
        else:
            skip("NiFi is not running: no flows deployed")
            flows = False

        what = f"{args.days}-day backfill and the live day {args.date}"
        step(f"5/10 send {what} to Kafka (--speed max, {args.users} users)")
        step6 = f"6/10 wait for the ingestion flow to land sessions of {dates[0]}..{dates[-1]}"
        if not flows:
            skip("no NiFi ingestion flow: events would only wait in Kafka, nothing would land them")
            step(step6)
            skip("no NiFi ingestion flow")
        else:
            day = ["--date", args.date.isoformat()]
            faults = ["--faults", str(args.faults)] if args.faults else []
            backfill = [PY, "-m", "producer", "backfill", "--days", str(args.days), *day, *common, *faults]
            note(last_line(run(backfill, "producer backfill")))
            live = [PY, "-m", "producer", "live", "--speed", "max", *day, *common, *faults]
            note(last_line(run(live, "producer live")))
            step(step6)
            wait_landed(cfg, dates, args.land_timeout)

        step("7/10 warehouse sync (Hive partitions + aggregates, Greenplum facts + marts)")
        landed = sorted(k.split("=")[1] for k in session_dates_on_hdfs(cfg))
        if flows and warehouse_flow_deployed(cfg):
            note(f"NiFi flow '{WAREHOUSE_FLOW}' is deployed: waiting for it")
            if not wait_nifi_sync(cfg, landed, args.sync_timeout):
                note("NiFi sync did not finish in time: syncing here")
                sync_directly(cfg)
        else:
            note("NiFi warehouse flow not deployed: running iptv.lake_sync here")
            sync_directly(cfg)

        step("8/10 report from Greenplum (read-only role), and the reconciliation")
        report(cfg)
        reconcile()

        step("9/10 analytics: insight report, hourly forecasts, subscriber scores")
        if landed:
            analytics()
        else:
            skip("no sessions landed: nothing to analyse")

        step("10/10 Superset dashboards")
        dashboards(cfg)
    except StepFailedError as exc:
        console.print(f"[red]demo failed:[/] {exc}")
        return 1
    except Exception as exc:  # noqa: BLE001 - one line, not a traceback
        console.print(f"[red]demo failed:[/] {type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
        return 1
    ingest = "ingested through NiFi" if flows else "NiFi ingestion skipped"
    console.print(f"[bold green]demo done[/] in {time.monotonic() - t0:.0f}s ({ingest}; {len(landed)} days synced)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What the warehouse benches share: their command line, the timed steps with a progress display, Ctrl-C and
SIGTERM handling that always cleans up, the results file, and simulated sessions written as the flow lands them.
Imported by the bench scripts beside it (a script's own directory is on Python's path), never by the pipeline."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import signal
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from producer.events import format_times

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "bench" / "results"
DEFAULT_DATE = dt.date(2026, 3, 4)  # a Wednesday

console = Console()
CHUNK_ROWS = 200_000  # rows formatted at a time when writing session CSV files
#: Set on Ctrl-C / SIGTERM: a bench's Hive cursor runs no further statement (see run_interruptible).
STOP = threading.Event()


def date_arg(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def parse_day_args(description: str, argv: list[str] | None = None) -> argparse.Namespace:
    """The options of a one-day warehouse bench: --users, --date, --seed, --rounds, --files, --no-progress."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--users", type=int, default=1_000_000, help="subscribers (default 1000000)")
    ap.add_argument("--date", type=date_arg, default=DEFAULT_DATE, help=f"day to simulate (default {DEFAULT_DATE})")
    ap.add_argument("--seed", type=int, default=0, help="simulation seed (default 0)")
    ap.add_argument("--rounds", type=int, default=1, help="timed rounds, medians reported (default 1)")
    ap.add_argument("--files", type=int, default=8, help="sessions files the day is split into (default 8)")
    ap.add_argument("--no-progress", action="store_true", help="no progress display")
    args = ap.parse_args(argv)
    if args.users < 1 or args.rounds < 1 or args.files < 1:
        ap.error("--users, --rounds and --files must be at least 1")
    return args


def run_interruptible(fn: Callable[[], Any], cancel: Callable[[], None]) -> Any:
    """Run ``fn`` in a worker thread; the main thread waits and takes Ctrl-C / SIGTERM (a blocking libpq call
    would not let the signal through): then ``STOP`` is set (Hive stops before its next statement), ``cancel()``
    runs (PostgreSQL's cancel request, thread-safe), the worker is awaited and KeyboardInterrupt re-raised."""
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["out"] = fn()
        except BaseException as exc:
            box["exc"] = exc

    worker = threading.Thread(target=work, name="bench-step", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.2)
    except KeyboardInterrupt:
        STOP.set()
        cancel()
        console.print("[yellow]interrupted: waiting for the running statement (a Hive one runs to its end)")
        worker.join(600)
        raise
    if "exc" in box:
        raise box["exc"]
    return box.get("out")


class Steps:
    """The bench's steps on one progress bar: each is run interruptibly, timed, and printed with its seconds.
    ``cancel`` (settable once the engines exist) is what an interruption calls."""

    def __init__(self, progress: Progress, total: int) -> None:
        self.progress = progress
        self.task = progress.add_task("setup", total=total)
        self.cancel: Callable[[], None] = lambda: None

    def run(self, desc: str, fn: Callable[[], Any]) -> tuple[Any, float]:
        self.progress.update(self.task, description=desc)
        t0 = time.monotonic()
        out = run_interruptible(fn, lambda: self.cancel())
        elapsed = time.monotonic() - t0
        self.progress.advance(self.task)
        self.progress.console.print(f"{desc}: {elapsed:.1f} s")
        return out, elapsed


@contextmanager
def steps(total: int, enabled: bool = True) -> Iterator[Steps]:
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not enabled,
        transient=True,
    )
    with progress:
        yield Steps(progress, total)


def medians(times: dict[str, list[float]]) -> dict[str, float]:
    return {engine: statistics.median(values) for engine, values in times.items()}


def write_results(path: Path, summary: dict[str, Any]) -> dict[str, Any]:
    """``summary`` (plus the time it was written) as JSON at ``path`` (under the git-ignored bench/results/)."""
    summary = {**summary, "when": time.strftime("%Y-%m-%d %H:%M:%S")}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def _sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def run_bench(body: Callable[[], int], cleanup: Callable[[], None]) -> int:
    """``body()``'s exit status, 130 after Ctrl-C / SIGTERM, 1 after an error (printed on one line); ``cleanup()``
    runs in every case and is not itself interrupted by Ctrl-C."""
    signal.signal(signal.SIGTERM, _sigterm)
    status = 1
    try:
        status = body()
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: cleaning up")
        status = 130
    except Exception as exc:
        console.print(f"[red]error: {type(exc).__name__}: {' '.join(str(exc).split())[:400]}")
        status = 1
    finally:
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            cleanup()
        finally:
            signal.signal(signal.SIGINT, old)
    return status


def write_session_rows(s: Any, idx: np.ndarray, path: Path) -> Path:
    """Rows ``idx`` of the simulated sessions ``s`` as a headerless CSV file at ``path``, as the flow lands them
    (session_id, user_id, channel_id, time_start, time_end, duration_s)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        for i in range(0, len(idx), CHUNK_ROWS):
            rows = idx[i : i + CHUNK_ROWS]
            starts, ends = format_times(s.start[rows]), format_times(s.end[rows])
            cols = zip(
                s.session_id[rows].tolist(),
                s.user_id[rows].tolist(),
                s.channel_id[rows].tolist(),
                starts,
                ends,
                (s.end[rows] - s.start[rows]).tolist(),
                strict=True,
            )
            fh.write("".join(f"{a},{b},{c},{d},{e},{f}\n" for a, b, c, d, e, f in cols))
    return path

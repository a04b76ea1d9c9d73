"""Offline micro-benchmark of the pairer's per-batch path (no services): the CPU time PairViewingEvents spends on
one consumer batch, per stage, for this checkout's code and for a baseline revision side by side in one process.

Batches are made as the flow gets them: one simulated day of the producer's model (producer.model.Simulator,
producer.events.Plan, optional labelled faults of producer.faults), keyed by session id, spread over Kafka
partitions by key, cut into consumer batches of ``--batch`` lines in the current line format and gzip
(iptv_ingest.kafka_batches.Batch). Each batch then runs through ingestion.IngestState.process (read, offsets,
validate, dedup, pair, expire, render, gzip) and IngestState.save (one journal record in a temporary directory),
as the processor's transform does, timed with time.process_time. The baseline (``--baseline``, a git revision) is
a copy of its iptv_sessions package imported under another name; the two run alternately, batch by batch, so a
noisy machine affects both alike. The outputs of the two are compared byte for byte.

    PYTHONPATH=nifi/python-processors .venv/bin/python bench/bench_pairing.py --users 40000 --batches 6
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import importlib
import importlib.util
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

from iptv_ingest.kafka_batches import Batch  # nifi/python-processors: run with PYTHONPATH (see above)

REPO = Path(__file__).resolve().parent.parent

PACKAGE = "iptv_sessions"
SCHEMA = REPO / "schemas" / "viewing_event.schema.json"
#: The stages timed inside IngestState.process: (label, owner attribute path, function name). A stage missing in
#: one version is not reported for it; stages may nest (finish = render + gzip; pair includes finish_batch).
STAGES = (
    ("batch_text", "ingestion", "batch_text"),
    ("pair_batch", "ingestion", "pair_batch"),
    ("finish_batch", "session_pairer.SessionPairer", "finish_batch"),
    ("read_batch", "ingestion", "read_batch"),
    ("take_new", "ingestion.IngestState", "_take_new"),
    ("pair", "session_pairer.SessionPairer", "process_batch"),
    ("accounting", "ingestion", "accounting_rows"),
    ("render", "ingestion", "render_output"),
    ("finish", "ingestion.IngestState", "_finish"),
)


# ------------------------------------------------------------------------------------------------ input


def make_batches(users: int, seed: int, day: dt.date, faults: float, partitions: int, size: int) -> list[bytes]:
    """Gzip consumer batches of one simulated day, in send order, ``size`` lines each."""
    from producer import faults as fault_mod
    from producer.events import Plan
    from producer.model import Simulator

    plan = Plan(Simulator(n_users=users, seed=seed).day(day))
    if faults > 0:
        fault_mod.inject(plan, faults, seed)
    offsets = [0] * partitions
    batches: list[bytes] = []
    batch = Batch()
    for send_time, key, value in plan.messages():
        kb = key.encode()
        p = zlib.crc32(kb) % partitions  # any stable hash: both halves of a session in one partition
        batch.add(p, offsets[p], value.encode(), kb, send_time * 1000)
        offsets[p] += 1
        if len(batch) >= size:
            batches.append(batch.content())
            batch = Batch()
    if len(batch):
        batches.append(batch.content())
    return batches


# ------------------------------------------------------------------------------------------------ versions


def load_baseline(rev: str, tmp: Path) -> str:
    """Copy ``rev``'s iptv_sessions package into ``tmp`` under another name; returns that name."""
    name = f"{PACKAGE}_baseline"
    dest = tmp / name
    dest.mkdir(parents=True)
    listing = subprocess.run(
        ["git", "-C", str(REPO), "ls-tree", "--name-only", f"{rev}:nifi/python-processors/{PACKAGE}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    for fname in listing:
        if not fname.endswith(".py"):
            continue
        text = subprocess.run(
            ["git", "-C", str(REPO), "show", f"{rev}:nifi/python-processors/{PACKAGE}/{fname}"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        (dest / fname).write_text(text.replace(f"from {PACKAGE}.", f"from {name}."), encoding="utf-8")
    shutil.copy(REPO / "schemas" / "datasets.json", tmp / "datasets.json")  # lake_datasets looks beside the package
    # Registered as a package of its own, so that its modules import from it and not from this checkout.
    spec = importlib.util.spec_from_file_location(name, dest / "__init__.py", submodule_search_locations=[str(dest)])
    package = importlib.util.module_from_spec(spec)
    sys.modules[name] = package
    spec.loader.exec_module(package)
    return name


class Version:
    """One version of the package: its IngestState, a journal in a temporary directory, per-stage CPU times."""

    def __init__(self, label: str, package: str, state_dir: Path, channels: frozenset[int]) -> None:
        self.label = label
        self.mods = {
            m: importlib.import_module(f"{package}.{m}")
            for m in ("ingestion", "session_pairer", "state_store", "schema_validation")
        }
        validator = self.mods["schema_validation"].load_schema_validator(str(SCHEMA))
        config = self.mods["session_pairer"].PairerConfig(channels=channels)
        self.store = self.mods["state_store"].JournalStore(str(state_dir))
        self.state = self.mods["ingestion"].IngestState.from_store(self.store, config, validator)
        self.times: dict[str, float] = {}
        self._wrap_stages()

    def _wrap_stages(self) -> None:
        times = self.times
        for label, owner_path, attr in STAGES:
            mod_name, _, cls_name = owner_path.partition(".")
            owner = self.mods[mod_name]
            if cls_name:
                owner = getattr(owner, cls_name)
            fn = getattr(owner, attr, None)
            if fn is None:
                continue
            setattr(owner, attr, _timed(fn, label, times))

    def run(self, index: int, content: bytes, now: float) -> bytes:
        t0 = time.process_time()
        result = self.state.process(f"batch-{index}", content, now=now)
        t1 = time.process_time()
        self.state.save(self.store)
        t2 = time.process_time()
        self.times["process"] = self.times.get("process", 0.0) + t1 - t0
        self.times["save"] = self.times.get("save", 0.0) + t2 - t1
        return result.content


def _timed(fn: Callable, label: str, times: dict[str, float]) -> Callable:
    def wrapper(*args, **kwargs):
        t0 = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            times[label] = times.get(label, 0.0) + time.process_time() - t0

    wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
    return wrapper


# ------------------------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--users", type=int, default=40_000, help="simulated subscribers (default 40000: ~345k events)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--day", type=dt.date.fromisoformat, default=dt.date(2026, 3, 4), help="simulated day")
    ap.add_argument("--faults", type=float, default=0.01, help="fraction of sessions given a fault (default 0.01)")
    ap.add_argument("--partitions", type=int, default=3)
    ap.add_argument("--batch", type=int, default=50_000, help="lines per consumer batch (default 50000)")
    ap.add_argument("--batches", type=int, default=0, help="process only the first N batches (0: all)")
    ap.add_argument("--warmup", type=int, default=1, help="first batches processed but not timed (default 1)")
    ap.add_argument("--baseline", default="main", help="git revision compared with this checkout ('' for none)")
    ap.add_argument("--catalog", type=int, default=148, help="channel catalog 1..N (0: no unknown_channel check)")
    args = ap.parse_args(argv)

    t = time.perf_counter()
    batches = make_batches(args.users, args.seed, args.day, args.faults, args.partitions, args.batch)
    if args.batches:
        batches = batches[: args.batches]
    print(f"{len(batches)} batches of up to {args.batch} lines made in {time.perf_counter() - t:.1f} s")
    channels = frozenset(range(1, args.catalog + 1)) if args.catalog else None

    with tempfile.TemporaryDirectory(prefix="bench-pairing-") as tmp_name:
        tmp = Path(tmp_name)
        versions = [Version("this", PACKAGE, tmp / "state-this", channels)]
        if args.baseline:
            name = load_baseline(args.baseline, tmp / "pkg")
            versions.insert(0, Version(args.baseline, name, tmp / "state-base", channels))
        now = time.time()
        events = 0
        mismatches = 0
        gc.collect()
        for i, content in enumerate(batches):
            outputs = []
            if i == args.warmup:
                for v in versions:
                    v.times.clear()
                events = 0
            # alternate which version goes first so neither always gets a warm cache
            order = versions if i % 2 == 0 else versions[::-1]
            for v in order:
                outputs.append((v.label, v.run(i, content, now + i)))
            events += _lines(content)
            if len({o for _, o in outputs}) > 1:
                mismatches += 1
                print(f"batch {i}: OUTPUTS DIFFER between {', '.join(label for label, _ in outputs)}")
        for v in versions:
            v.store.close()
    if not events:
        print("no timed batches (fewer batches than --warmup + 1)")
        return 1

    labels = [s[0] for s in STAGES] + ["process", "save"]
    print(f"\nCPU us/event over {events} events ({len(batches) - args.warmup} timed batches of {args.batch})")
    header = f"{'stage':<12}" + "".join(f"{v.label:>12}" for v in versions)
    if len(versions) == 2:
        header += f"{'ratio':>10}"
    print(header)
    for label in labels + ["total"]:
        vals = []
        for v in versions:
            if label == "total":
                vals.append(v.times.get("process", 0.0) + v.times.get("save", 0.0))
            else:
                vals.append(v.times.get(label))
        row = f"{label:<12}" + "".join(f"{'-':>12}" if x is None else f"{x / events * 1e6:>12.2f}" for x in vals)
        if len(vals) == 2 and vals[0] and vals[1]:
            row += f"{vals[0] / vals[1]:>9.2f}x"
        print(row)
    if len(versions) == 2:
        print("outputs: identical" if not mismatches else f"outputs: {mismatches} batches DIFFER")
    return 1 if mismatches else 0


def _lines(content: bytes) -> int:
    import gzip

    return gzip.decompress(content).count(b"\n")


if __name__ == "__main__":
    sys.exit(main())

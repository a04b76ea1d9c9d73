"""Labelled bad data mixed into a :class:`~producer.events.Plan` (``--faults RATE``).

``RATE`` is the fraction of sessions picked; each picked session gets one fault kind (uniformly). Faults that
need a message of their own (malformed JSON, schema-invalid) use a fresh session id and leave the picked
session intact. Every fault is written to a JSONL manifest with the raw message(s) and the outcome the
downstream flow must produce:

===================== ============================================================== ================
kind                  what is sent                                                   expected
===================== ============================================================== ================
exact_duplicate       one event sent twice, byte for byte                            dropped+counted;
                                                                                     session forms once
out_of_order          the pair in reverse send order (disabled before enabled)       normal session
unmatched_start       enabled, never closed                                          unmatched_start
unmatched_end         disabled without enabled                                       unmatched_end
conflicting_duplicate a second event with the same session_id+status, other channel  conflicting_duplicate
                      (the session stays as formed by the first enabled/disabled)    (+ session forms)
invalid_json          a message that is not JSON (Kafka only)                        invalid_json
invalid_schema        JSON (CSV line) that breaks the schema                         invalid_schema
unknown_channel       a session on a channel id missing from the catalog             unknown_channel
end_before_start      a session whose disabled timer is before its enabled timer     end_before_start
===================== ============================================================== ================
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from producer.events import Plan, format_time, render

KINDS = (
    "exact_duplicate",
    "out_of_order",
    "unmatched_start",
    "unmatched_end",
    "conflicting_duplicate",
    "invalid_json",
    "invalid_schema",
    "unknown_channel",
    "end_before_start",
)
#: Kinds possible in headerless CSV files (there is no JSON to break).
CSV_KINDS = tuple(k for k in KINDS if k != "invalid_json")

EXPECTED: dict[str, dict[str, str]] = {
    "exact_duplicate": {"outcome": "dropped_duplicate", "session": "formed"},
    "out_of_order": {"outcome": "session", "session": "formed"},
    "unmatched_start": {"outcome": "quarantine", "reason": "unmatched_start", "session": "none"},
    "unmatched_end": {"outcome": "quarantine", "reason": "unmatched_end", "session": "none"},
    "conflicting_duplicate": {"outcome": "quarantine", "reason": "conflicting_duplicate", "session": "formed"},
    "invalid_json": {"outcome": "quarantine", "reason": "invalid_json", "session": "none"},
    "invalid_schema": {"outcome": "quarantine", "reason": "invalid_schema", "session": "none"},
    "unknown_channel": {"outcome": "quarantine", "reason": "unknown_channel", "session": "none"},
    "end_before_start": {"outcome": "quarantine", "reason": "end_before_start", "session": "none"},
}

Fault = dict[str, Any]


def _fresh_id(rng: np.random.Generator) -> str:
    return rng.bytes(16).hex()


def _within(plan: Plan, s: int, rng: np.random.Generator, status: int) -> int:
    """A send time shortly after event (s, status) -- for an enabled, still before the session ends."""
    ev = plan.event(s, status)
    t = int(plan.ev_send[ev])
    if status == 0:
        room = int(plan.ev_send[plan.event(s, 1)]) - t
        return t + int(rng.integers(0, max(1, min(30, room))))
    return t + int(rng.integers(0, 30))


def _entry(kind: str, session_id: str, refs: list[int], plan: Plan, **extra: Any) -> Fault:
    return {"kind": kind, "session_id": session_id, "_refs": refs, "expected": dict(EXPECTED[kind]), **extra}


def _exact_duplicate(plan: Plan, s: int, rng: np.random.Generator) -> Fault:
    status = int(rng.integers(0, 2))
    ev = plan.event(s, status)
    value = plan.value(ev)
    sid = str(plan.sessions.session_id[s])
    dup = plan.add(_within(plan, s, rng, status), sid, value)
    return _entry("exact_duplicate", sid, [ev, dup], plan, extra_messages=1, removed_messages=0)


def _out_of_order(plan: Plan, s: int, rng: np.random.Generator) -> Fault:
    en, dis = plan.event(s, 0), plan.event(s, 1)
    plan.ev_send[dis] = plan.ev_send[en]
    plan.ev_rank[dis] = 0  # before its enabled (rank 1) in the same second
    return _entry(
        "out_of_order", str(plan.sessions.session_id[s]), [dis, en], plan, extra_messages=0, removed_messages=0
    )


def _unmatched(kind: str, keep_status: int) -> Callable[[Plan, int, np.random.Generator], Fault]:
    def inject(plan: Plan, s: int, rng: np.random.Generator) -> Fault:
        plan.ev_keep[plan.event(s, 1 - keep_status)] = False
        plan.formed[s] = False
        sid = str(plan.sessions.session_id[s])
        return _entry(kind, sid, [plan.event(s, keep_status)], plan, extra_messages=0, removed_messages=1)

    return inject


def _conflicting_duplicate(plan: Plan, s: int, rng: np.random.Generator) -> Fault:
    status = int(rng.integers(0, 2))
    ev = plan.event(s, status)
    sid = str(plan.sessions.session_id[s])
    ch = int(plan.channel[s])
    other = (ch - 1 + int(rng.integers(1, 148))) % 148 + 1  # another catalog channel
    value = render(
        plan.fmt,
        sid,
        int(plan.sessions.user_id[s]),
        other,
        format_time(int(plan.ev_timer[ev])),
        ("enabled", "disabled")[status],
    )
    ref = plan.add(_within(plan, s, rng, status), sid, value)
    return _entry(
        "conflicting_duplicate", sid, [ev, ref], plan, extra_messages=1, removed_messages=0, quarantined=value
    )


def _invalid_json(plan: Plan, s: int, rng: np.random.Generator) -> Fault:
    sid = _fresh_id(rng)
    good = render(
        "json",
        sid,
        int(plan.sessions.user_id[s]),
        int(plan.channel[s]),
        format_time(int(plan.ev_send[plan.event(s, 0)])),
        "enabled",
    )
    variant = int(rng.integers(0, 3))
    if variant == 0:
        value = good[: int(rng.integers(10, len(good) - 5))]  # truncated
    elif variant == 1:
        value = good.replace('"', "'")  # single quotes
    else:
        value = good[:-1] + ',"status":}'  # broken trailer
    ref = plan.add(int(plan.ev_send[plan.event(s, 0)]), sid, value)
    return _entry("invalid_json", sid, [ref], plan, extra_messages=1, removed_messages=0)


def _invalid_schema(plan: Plan, s: int, rng: np.random.Generator) -> Fault:
    sid = _fresh_id(rng)
    t = int(plan.ev_send[plan.event(s, 0)])
    uid, ch, timer = int(plan.sessions.user_id[s]), int(plan.channel[s]), format_time(t)
    variant = int(rng.integers(0, 4))
    if plan.fmt == "json":
        obj: dict[str, Any] = {"session_id": sid, "user_id": uid, "channel_id": ch, "timer": timer, "status": "enabled"}
        if variant == 0:
            obj["status"] = "paused"
        elif variant == 1:
            obj["timer"] = timer.replace(" ", "T") + "Z"
        elif variant == 2:
            obj["user_id"] = str(uid)
        else:
            del obj["channel_id"]
            obj["channel"] = ch
        value = json.dumps(obj, separators=(",", ":"))
    else:
        fields = [sid, str(uid), str(ch), timer, "enabled"]
        if variant == 0:
            fields[4] = "paused"
        elif variant == 1:
            fields[3] = timer.replace("-", "/")
        elif variant == 2:
            fields[1] = "u" + fields[1]
        else:
            fields = fields[:4]
        value = ",".join(fields)
    ref = plan.add(t, sid, value)
    return _entry("invalid_schema", sid, [ref], plan, extra_messages=1, removed_messages=0)


def _unknown_channel(plan: Plan, s: int, rng: np.random.Generator) -> Fault:
    plan.channel[s] = int(rng.integers(1000, 10000))
    plan.formed[s] = False
    sid = str(plan.sessions.session_id[s])
    return _entry(
        "unknown_channel", sid, [plan.event(s, 0), plan.event(s, 1)], plan, extra_messages=0, removed_messages=0
    )


def _end_before_start(plan: Plan, s: int, rng: np.random.Generator) -> Fault:
    dis = plan.event(s, 1)
    plan.ev_timer[dis] = plan.ev_timer[plan.event(s, 0)] - int(rng.integers(60, 3600))
    plan.formed[s] = False
    sid = str(plan.sessions.session_id[s])
    return _entry("end_before_start", sid, [plan.event(s, 0), dis], plan, extra_messages=0, removed_messages=0)


INJECTORS: dict[str, Callable[[Plan, int, np.random.Generator], Fault]] = {
    "exact_duplicate": _exact_duplicate,
    "out_of_order": _out_of_order,
    "unmatched_start": _unmatched("unmatched_start", keep_status=0),
    "unmatched_end": _unmatched("unmatched_end", keep_status=1),
    "conflicting_duplicate": _conflicting_duplicate,
    "invalid_json": _invalid_json,
    "invalid_schema": _invalid_schema,
    "unknown_channel": _unknown_channel,
    "end_before_start": _end_before_start,
}


def inject(plan: Plan, rate: float, seed: int, kinds: tuple[str, ...] | None = None) -> list[Fault]:
    """Alter ``plan`` in place: ``round(rate * sessions)`` sessions get one fault each. Deterministic for seed."""
    if not 0 <= rate <= 1:
        raise ValueError("fault rate must be between 0 and 1")
    kinds = kinds or (KINDS if plan.fmt == "json" else CSV_KINDS)
    rng = np.random.default_rng([seed, 0xFA17])
    k = min(int(round(rate * plan.n_sessions)), plan.n_sessions)
    if k == 0:
        return []
    picked = np.sort(rng.choice(plan.n_sessions, size=k, replace=False))
    which = rng.integers(0, len(kinds), size=k)
    return [INJECTORS[kinds[w]](plan, int(s), rng) for s, w in zip(picked.tolist(), which.tolist(), strict=True)]


def finalize(plan: Plan, faults: list[Fault], sent: int | None = None) -> list[Fault]:
    """Manifest entries with their raw messages in send order; with ``sent``, only the faults whose messages
    were all among the first ``sent`` messages (an interrupted run)."""
    out = []
    for f in faults:
        refs = f["_refs"]
        pos = [plan.position(r) for r in refs]
        if any(p < 0 for p in pos) or (sent is not None and max(pos) >= sent):
            continue
        n2 = 2 * plan.n_sessions
        msgs = [plan.value(r) if r < n2 else plan.extra[r - n2][3] for _, r in sorted(zip(pos, refs, strict=True))]
        entry = {k: v for k, v in f.items() if k != "_refs"}
        entry["messages"] = msgs
        out.append(entry)
    return out


def write_manifest(entries: list[Fault], path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for e in entries:
            fh.write(json.dumps(e, ensure_ascii=False) + "\n")


def read_manifest(path: str | Path) -> list[Fault]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]

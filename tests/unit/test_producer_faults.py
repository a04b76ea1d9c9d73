"""Fault injection: what the stream holds matches the manifest, kind by kind."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict

import jsonschema
import pytest

from producer import faults
from producer.events import Plan, load_schema
from producer.model import Simulator

pytestmark = pytest.mark.unit

DAY = dt.date(2025, 3, 5)
RATE = 0.05

#: What the downstream flow must do with each kind, written out from the table in producer/faults.py's docstring
#: (not read from the module: a wrong outcome in faults.EXPECTED must fail here).
WANT = {
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


@pytest.fixture(scope="module")
def injected():
    sessions = Simulator(2000, seed=21).day(DAY)
    plan = Plan(sessions)
    raw = faults.inject(plan, RATE, seed=21)
    entries = faults.finalize(plan, raw)
    return sessions, plan, entries, list(plan.messages())


def _analyse(messages: list[tuple[int, str, str]]) -> Counter:
    """Count each fault kind from the stream alone (what a downstream flow would see)."""
    validator = jsonschema.Draft202012Validator(load_schema())
    found: Counter = Counter()
    raw_count = Counter(v for _t, _k, v in messages)
    by_session: dict[str, list[dict]] = defaultdict(list)
    for _t, _key, value in messages:
        try:
            e = json.loads(value)
        except json.JSONDecodeError:
            found["invalid_json"] += 1
            continue
        if not validator.is_valid(e):
            found["invalid_schema"] += 1
            continue
        by_session[e["session_id"]].append(e)
    found["exact_duplicate"] = sum(1 for v, c in raw_count.items() if c == 2)
    for events in by_session.values():
        statuses = [e["status"] for e in events]
        firsts = {}
        for e in events:
            prev = firsts.setdefault(e["status"], e)
            if prev is not e and prev != e:
                found["conflicting_duplicate"] += 1
        if "disabled" not in statuses:
            found["unmatched_start"] += 1
        elif "enabled" not in statuses:
            found["unmatched_end"] += 1
        else:
            if statuses.index("disabled") < statuses.index("enabled"):
                found["out_of_order"] += 1
            if not 1 <= events[0]["channel_id"] <= 148:
                found["unknown_channel"] += 1
            if firsts["disabled"]["timer"] < firsts["enabled"]["timer"]:
                found["end_before_start"] += 1
    return found


def test_manifest_counts_match_the_stream(injected):
    sessions, plan, entries, messages = injected
    assert len(entries) == round(RATE * len(sessions))
    manifest = Counter(e["kind"] for e in entries)
    assert set(manifest) == set(WANT), "every kind should occur at this rate"
    assert _analyse(messages) == manifest


def test_message_total_and_manifest_messages_are_in_the_stream(injected):
    sessions, plan, entries, messages = injected
    extra = sum(e["extra_messages"] for e in entries)
    removed = sum(e["removed_messages"] for e in entries)
    assert len(messages) == 2 * len(sessions) + extra - removed
    sent = Counter(v for _t, _k, v in messages)
    for e in entries:
        need = Counter(e["messages"])
        for raw, n in need.items():
            assert sent[raw] >= n, (e["kind"], raw)
        assert e["expected"] == WANT[e["kind"]]
        assert len(e["session_id"]) == 32


def test_truth_holds_exactly_the_sessions_expected_to_form(injected):
    sessions, plan, entries, _messages = injected
    lost = {e["session_id"] for e in entries if WANT[e["kind"]]["session"] == "none"}
    truth = plan.truth()
    assert len(truth) == len(sessions) - len(lost & set(sessions.session_id))
    assert not lost & set(truth.session_id)


def test_out_of_order_pairs_are_sent_disabled_first(injected):
    _s, _p, entries, _m = injected
    for e in entries:
        if e["kind"] == "out_of_order":
            assert [json.loads(m)["status"] for m in e["messages"]] == ["disabled", "enabled"]


def test_manifest_file_round_trip(tmp_path, injected):
    _s, _p, entries, _m = injected
    path = tmp_path / "m.jsonl"
    faults.write_manifest(entries, path)
    assert faults.read_manifest(path) == entries
    assert len(path.read_text(encoding="utf-8").splitlines()) == len(entries)


def test_injection_is_deterministic_and_zero_rate_is_clean():
    s = Simulator(300, seed=4).day(DAY)
    a, b = Plan(s), Plan(s)
    fa, fb = faults.finalize(a, faults.inject(a, 0.1, 4)), faults.finalize(b, faults.inject(b, 0.1, 4))
    assert fa == fb and list(a.messages()) == list(b.messages())
    c = Plan(s)
    assert faults.inject(c, 0.0, 4) == [] and len(c) == 2 * len(s)


def test_csv_faults_have_no_json_kind():
    plan = Plan(Simulator(500, seed=8).day(DAY), fmt="csv")
    entries = faults.finalize(plan, faults.inject(plan, 0.2, 8))
    kinds = {e["kind"] for e in entries}
    assert "invalid_json" not in kinds and "invalid_schema" in kinds

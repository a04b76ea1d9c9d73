"""Messages: schema validity, event-time order, enabled before disabled, truth, --from-now window."""

from __future__ import annotations

import csv
import datetime as dt
import json

import jsonschema
import numpy as np
import pytest

from iptv.datasets import SESSIONS
from producer.events import Plan, format_times, load_schema, write_truth
from producer.model import Simulator, epoch_seconds

pytestmark = pytest.mark.unit

DAY = dt.date(2025, 3, 8)  # a Saturday


@pytest.fixture(scope="module")
def plan() -> Plan:
    return Plan(Simulator(1500, seed=11).day(DAY))


def test_schema_is_a_valid_draft_2020_12_schema():
    schema = load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize(
    "bad",
    [
        {"status": "paused"},
        {"timer": "2025-03-08T10:00:00"},
        {"timer": "2025-03-08 24:00:00"},
        {"session_id": "ABCDEF0123456789ABCDEF0123456789"},
        {"session_id": "abc"},
        {"user_id": "5"},
        {"channel_id": 0},
        {"extra": 1},
    ],
)
def test_schema_rejects(bad):
    good = {
        "session_id": "0123456789abcdef0123456789abcdef",
        "user_id": 5,
        "channel_id": 7,
        "timer": "2025-03-08 10:00:00",
        "status": "enabled",
    }
    validator = jsonschema.Draft202012Validator(load_schema())
    assert validator.is_valid(good)
    assert not validator.is_valid({**good, **bad})


def test_every_event_validates_and_keys_are_session_ids(plan):
    validator = jsonschema.Draft202012Validator(load_schema())
    n = 0
    for _t, key, value in plan.messages():
        event = json.loads(value)
        assert validator.is_valid(event), value
        assert key == event["session_id"]
        n += 1
    assert n == 2 * plan.n_sessions


def test_events_in_event_time_order_enabled_then_disabled_per_session(plan):
    started: dict[str, str] = {}  # session -> enabled timer
    closed: set[str] = set()
    last_send, last_timer = -1, ""
    for t, key, value in plan.messages():
        event = json.loads(value)
        assert t >= last_send and event["timer"] >= last_timer  # same-format strings sort as times
        last_send, last_timer = t, event["timer"]
        if event["status"] == "enabled":
            assert key not in started
            started[key] = event["timer"]
        else:
            assert key in started and key not in closed, "disabled before its enabled"
            assert event["timer"] >= started[key]
            closed.add(key)
    assert closed == set(started)


def test_a_subscriber_never_has_two_sessions_open_in_send_order(plan):
    open_session: dict[int, str] = {}
    for _t, key, value in plan.messages():
        e = json.loads(value)
        if e["status"] == "enabled":
            assert e["user_id"] not in open_session
            open_session[e["user_id"]] = key
        else:
            assert open_session.pop(e["user_id"]) == key


def test_messages_are_reproducible_for_a_seed():
    a = list(Plan(Simulator(200, seed=1).day(DAY)).messages())
    b = list(Plan(Simulator(200, seed=1).day(DAY)).messages())
    assert a == b


def test_from_now_sends_running_sessions_at_once_and_skips_ended_ones():
    sessions = Simulator(500, seed=2).day(DAY)
    now = epoch_seconds(DAY) + 20 * 3600
    plan = Plan(sessions, not_before=now)
    assert plan.n_sessions == int((sessions.end > now).sum())
    sends = [t for t, _k, _v in plan.messages()]
    assert min(sends) == now and len(sends) == 2 * plan.n_sessions


def test_csv_format_matches_the_original_stream_layout():
    plan = Plan(Simulator(50, seed=3).day(DAY), fmt="csv")
    for _t, key, line in plan.messages():
        row = next(csv.reader([line]))
        assert len(row) == 5 and row[0] == key and row[4] in ("enabled", "disabled")
        int(row[1]), int(row[2])
        dt.datetime.strptime(row[3], "%Y-%m-%d %H:%M:%S")


def test_truth_file(tmp_path, plan):
    path = tmp_path / "truth.csv"
    n = write_truth(plan.truth(), path)
    rows = list(csv.DictReader(open(path, encoding="utf-8")))
    assert n == len(rows) == plan.n_sessions
    r = rows[0]
    assert tuple(r) == SESSIONS.column_names
    start = dt.datetime.strptime(r["time_start"], "%Y-%m-%d %H:%M:%S")
    end = dt.datetime.strptime(r["time_end"], "%Y-%m-%d %H:%M:%S")
    assert (end - start).total_seconds() == int(r["duration_s"])


def test_truth_of_an_interrupted_run_holds_only_completed_sessions(plan):
    sent = len(plan) // 2
    partial = plan.truth(sent)
    assert 0 < len(partial) < plan.n_sessions
    cutoff = [t for t, _k, _v in plan.messages()][sent - 1]
    assert np.all(partial.end <= cutoff)


def test_format_times():
    assert format_times(np.array([0, 86399 + 86400])) == ["1970-01-01 00:00:00", "1970-01-02 23:59:59"]

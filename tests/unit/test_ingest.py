"""Unit tests of the ingestion processors' logic (no NiFi, no Kafka, no HDFS): consumer batches and offsets,
exactly-once bookkeeping of the pairer (redelivery skip, replay after a crash, state round trip), the section
format and the WebHDFS writer against a fake file system, and the processors against fakes of the nifiapi context."""

from __future__ import annotations

import csv
import gzip
import importlib
import io
import json
import shutil
import sys
import types

import pytest

from iptv_ingest import hdfs_sections
from iptv_ingest.kafka_batches import Batch, PendingCommits, format_line
from iptv_sessions import flowfile_formats, ingestion, schema_validation
from iptv_sessions.flowfile_formats import parse_batch, render_output
from iptv_sessions.ingestion import IngestState, OffsetRanges
from iptv_sessions.schema_validation import default_schema_validator
from iptv_sessions.session_pairer import PairerConfig, SessionPairer
from iptv_sessions.state_store import JournalStore, StateStoreLockedError

pytestmark = pytest.mark.unit


A, B, C, D = "a" * 32, "b" * 32, "c" * 32, "d" * 32
T0 = 2_000_000_000.0


def ev(sid, user, channel, timer, status) -> str:
    return json.dumps({"session_id": sid, "user_id": user, "channel_id": channel, "timer": timer, "status": status})


def batch(*msgs: tuple[int, int, str]) -> bytes:
    return b"".join(format_line(p, o, m.encode()) for p, o, m in msgs)


def state(**kw) -> IngestState:
    kw.setdefault("channels", frozenset(range(1, 149)))
    return IngestState(SessionPairer(PairerConfig(**kw), default_schema_validator()))


def sections(content: bytes) -> dict[tuple[str, str], list[str]]:
    return {(s.kind, s.dt): s.data.decode().splitlines() for s in hdfs_sections.parse_sections(content)}


# ------------------------------------------------------------------------------------------------ consumer side


def test_line_format_round_trip_with_awkward_messages():
    msgs = ['{"a": 1}', "multi\nline\r\nmsg", "back\\slash\\n literal", "tab\tinside", ""]
    content = batch(*[(1, i, m) for i, m in enumerate(msgs)])
    assert content.count(b"\n") == len(msgs)
    assert parse_batch(content) == [(1, i, m, None) for i, m in enumerate(msgs)]  # first format: no envelope


def test_batch_limits_ranges_and_pending_commits():
    b = Batch()
    for off in (5, 6, 7):
        b.add(0, off, b"x" * 10)
    b.add(2, 40, b"y")
    assert len(b) == 4 and b.describe() == "0:5-7,2:40-40"
    assert b.full(4, 10**6) and b.full(100, 20) and not b.full(100, 10**6)
    pending = PendingCommits()
    pending.add_batch(b)
    b2 = Batch()
    b2.add(0, 8, b"z")
    pending.add_batch(b2)
    taken = pending.take()
    assert taken == {0: 9, 2: 41} and not pending
    pending.restore({0: 9})
    pending.restore({0: 3})
    assert pending.take() == {0: 9}


def test_offset_ranges_merge_out_of_order_and_bound():
    r = OffsetRanges()
    for o in (0, 1, 2, 10, 11, 5):
        r.add(o)
    assert r.ranges == [[0, 2], [5, 5], [10, 11]]
    for o in (3, 4, 6, 7, 8, 9):
        r.add(o)
    assert r.ranges == [[0, 11]] and r.contains(7) and not r.contains(12)
    big = OffsetRanges()
    for o in range(0, 2 * (ingestion.MAX_RANGES_PER_PARTITION + 10), 2):
        big.add(o)
    assert len(big.ranges) == ingestion.MAX_RANGES_PER_PARTITION and big.contains(0)


# ------------------------------------------------------------------------------------------------ pairer side


def test_sections_raw_sessions_quarantine_with_dates():
    st = state()
    content = batch(
        (0, 0, ev(A, 1, 5, "2025-03-05 23:50:00", "enabled")),
        (0, 1, ev(A, 1, 5, "2025-03-05 23:50:00", "enabled")),  # identical duplicate: dropped everywhere
        (0, 2, ev(A, 1, 5, "2025-03-06 00:10:00", "disabled")),
        (1, 0, "{not json"),
        (1, 1, ev(B, 2, 9999, "2025-03-06 01:00:00", "enabled")),  # unknown channel: raw + quarantine
        (1, 2, ev(C, 3, 7, "2025-03-06 02:00:00", "enabled")),
        (1, 3, ev(C, 3, 7, "2025-03-06 01:00:00", "disabled")),  # end before start: two quarantine lines
    )
    res = st.process("ff-1", content, now=T0)
    got = sections(res.content)
    assert got[("viewing_events", "2025-03-05")] == [f"{A},1,5,2025-03-05 23:50:00,enabled"]
    assert len(got[("viewing_events", "2025-03-06")]) == 4
    assert got[("sessions", "2025-03-05")] == [f"{A},1,5,2025-03-05 23:50:00,2025-03-06 00:10:00,1200"]
    arrival_dt = "2033-05-18"  # date of T0
    rows = list(csv.reader(io.StringIO("\n".join(got[("quarantine", arrival_dt)]))))
    assert [r[0] for r in rows] == ["invalid_json", "unknown_channel", "end_before_start", "end_before_start"]
    assert all(len(r) == 5 for r in rows) and rows[0][4] == "{not json" and rows[0][1] == ""
    assert json.loads(rows[2][4])["status"] == "enabled" and json.loads(rows[3][4])["status"] == "disabled"
    assert res.counts == {"viewing_events": 5, "sessions": 1, "quarantine": 4, "ingest_batches": 2}
    assert res.counters["duplicates_dropped"] == 1
    # The accounting, per partition: offsets first..last, messages = landed + rejected + duplicates. The
    # unknown channel and the end-before-start pair landed (and were quarantined later, by a pairing rule).
    arrival = rows[0][2]
    assert got[("ingest_batches", arrival_dt)] == [
        f"ff-1,{arrival},0,0,2,3,2,0,1,0",
        f"ff-1,{arrival},1,0,3,4,3,1,0,0",
    ]


def test_accounting_counts_redeliveries_once_and_malformed_lines_without_partition():
    st = state()
    st.process("ff-1", batch((0, 0, ev(A, 1, 5, "2025-03-05 10:00:00", "enabled"))), now=T0)
    again = batch(
        (0, 0, ev(A, 1, 5, "2025-03-05 10:00:00", "enabled")),  # redelivered: not a message of this batch
        (0, 1, ev(A, 1, 5, "2025-03-05 10:05:00", "disabled")),
    )
    res = st.process("ff-2", again + b"no tabs here\n", now=T0 + 1)
    lines = [line.split(",") for line in sections(res.content)[("ingest_batches", "2033-05-18")]]
    assert [r[2:] for r in lines] == [["0", "1", "1", "1", "1", "0", "0", "1"], ["-1", "", "", "1", "0", "1", "0", "0"]]
    replay = st.process("ff-2", again, now=T0 + 2)  # NiFi replays the FlowFile: the same rows, byte for byte
    assert replay.replayed and replay.content == res.content


def test_quarantine_raw_with_line_breaks_and_quotes_stays_one_line():
    """Quotes stay text (CSV quoting); a raw with a line break is written as base64, so its bytes come back."""
    q = {"reason": "invalid_json", "session_id": None, "arrival_ts": "2025-01-01T00:00:00.000Z"}
    lines = flowfile_formats.quarantine_lines({**q, "raw": 'a,"b"\nc', "detail": "x, y"})
    assert len(lines) == 1 and lines[0].count("\n") == 1
    row = next(csv.reader(io.StringIO(lines[0])))
    assert row == ["invalid_json", "", q["arrival_ts"], "x, y", "base64:YSwiYiIKYw=="]
    assert flowfile_formats.raw_bytes(row[4]) == b'a,"b"\nc'
    quoted = flowfile_formats.quarantine_lines({**q, "raw": 'a,"b" c', "detail": ""})
    assert next(csv.reader(io.StringIO(quoted[0])))[4] == 'a,"b" c'


def test_redelivered_offsets_are_skipped_silently():
    st = state()
    first = batch(
        (0, 0, ev(A, 1, 5, "2025-03-05 10:00:00", "enabled")), (0, 1, ev(B, 1, 5, "2025-03-05 10:00:01", "enabled"))
    )
    st.process("ff-1", first, now=T0)
    again = batch(
        (0, 0, ev(A, 1, 5, "2025-03-05 10:00:00", "enabled")),
        (0, 1, ev(B, 1, 5, "2025-03-05 10:00:01", "enabled")),
        (0, 2, ev(A, 1, 5, "2025-03-05 10:05:00", "disabled")),
    )
    res = st.process("ff-2", again, now=T0 + 1)
    assert res.skipped_redelivered == 2 and res.counters["duplicates_dropped"] == 0
    got = sections(res.content)
    assert got == {
        ("viewing_events", "2025-03-05"): [f"{A},1,5,2025-03-05 10:05:00,disabled"],
        ("sessions", "2025-03-05"): [f"{A},1,5,2025-03-05 10:00:00,2025-03-05 10:05:00,300"],
        # the accounting counts the two redelivered offsets beside the one new message, never as messages
        ("ingest_batches", "2033-05-18"): [
            f"ff-2,{got[('ingest_batches', '2033-05-18')][0].split(',')[1]},0,2,2,1,1,0,0,2"
        ],
    }


def test_crash_after_state_save_replays_identical_output():
    """State is saved before NiFi commits the output; after a crash NiFi hands the same FlowFile over again."""
    st = state()
    st.process("ff-1", batch((0, 0, ev(A, 1, 5, "2025-03-05 10:00:00", "enabled"))), now=T0)
    saved_before = st.to_state_map()
    content = batch(
        (0, 1, ev(A, 1, 5, "2025-03-05 10:05:00", "disabled")), (0, 2, ev(B, 2, 6, "2025-03-05 10:06:00", "enabled"))
    )
    out = st.process("ff-2", content, now=T0 + 5)
    saved = st.to_state_map()
    # crash: output lost, NiFi restarts, state as saved
    restored = IngestState.from_state_map(
        saved, PairerConfig(channels=frozenset(range(1, 149))), default_schema_validator()
    )
    again = restored.process("ff-2", content, now=T0 + 500)
    assert again.replayed and again.content == out.content and again.counts == out.counts
    # the pairing is not repeated: next batch behaves as if uninterrupted
    nxt = restored.process("ff-3", batch((0, 3, ev(B, 2, 6, "2025-03-05 10:16:00", "disabled"))), now=T0 + 501)
    assert sections(nxt.content)[("sessions", "2025-03-05")] == [f"{B},2,6,2025-03-05 10:06:00,2025-03-05 10:16:00,600"]
    # the state before ff-2 did not know ff-2: processing it from there gives the same result
    older = IngestState.from_state_map(saved_before, PairerConfig(channels=frozenset(range(1, 149))))
    assert older.process("ff-2", content, now=T0 + 5).content == out.content


def test_tick_expires_unmatched_half_without_data():
    st = state(timeout_s=1, grace_s=10)
    st.process(
        "ff-1",
        batch(
            (0, 0, ev(A, 1, 5, "2025-03-05 10:00:00", "enabled")), (0, 1, ev(B, 1, 5, "2025-03-05 11:00:00", "enabled"))
        ),
        now=T0,
    )
    assert st.process("tick-1", b"", now=T0 + 5, tick=True).content == b""
    res = st.process("tick-2", b"", now=T0 + 11, tick=True)
    rows = [r for (k, _), lines in sections(res.content).items() if k == "quarantine" for r in csv.reader(lines)]
    assert [(r[0], r[1]) for r in rows] == [("unmatched_start", A)]


def test_state_values_are_chunked_below_nifi_limit():
    st = state()
    msgs = [(0, i, ev(f"{i:032x}", 1, 5, "2025-03-05 10:00:00", "enabled")) for i in range(3000)]
    st.process("ff-1", batch(*msgs), now=T0)
    m = st.to_state_map()
    assert max(len(v.encode()) for v in m.values()) <= 65535
    assert any(k.endswith("#n") for k in m)
    back = IngestState.from_state_map(m)
    assert back.pairer.pending_count() == 3000 and back.last_output == st.last_output
    assert ingestion.unchunk_state(ingestion.chunk_state({"a": "x" * 10, "b": "y" * 25}, limit=10)) == {
        "a": "x" * 10,
        "b": "y" * 25,
    }
    with pytest.raises(ValueError):
        ingestion.unchunk_state({"b#n": "2", "b#0": "y"})


def test_state_map_round_trip_and_format_check():
    st = state()
    st.process("ff-1", batch((2, 7, ev(A, 1, 5, "2025-03-05 10:00:00", "enabled"))), now=T0)
    m = st.to_state_map()
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in m.items())
    back = IngestState.from_state_map(m)
    assert back.offsets[2].ranges == [[7, 7]] and back.last_input == "ff-1" and back.last_output == st.last_output
    assert back.pairer.pending_count() == 1
    assert IngestState.from_state_map({}).pairer.entries == {}
    with pytest.raises(ValueError):
        IngestState.from_state_map({**m, "ingest.format": "other"})


# ------------------------------------------------------------------------------------------------ HDFS side


class FakeFs:
    def __init__(self, fail_times=0):
        self.files: dict[str, bytes] = {}
        self.fail_times = fail_times

    def put_file(self, final, tmp, data):
        if self.fail_times:
            self.fail_times -= 1
            raise OSError("namenode down")
        assert tmp.rsplit("/", 1)[1].startswith(".")
        self.files[final] = data


def test_write_sections_deterministic_names_overwrite_on_retry():
    content, _ = render_output(
        [(A, 1, 2, "2025-03-05 10:00:00", "enabled")],
        [],
        [
            {
                "reason": "invalid_json",
                "session_id": None,
                "raw": "x",
                "detail": "d",
                "arrival_ts": "2025-03-06T01:02:03.000Z",
            }
        ],
    )
    fs = FakeFs()
    bases = {"viewing_events": "/r", "sessions": "/s", "quarantine": "/q/"}
    assert hdfs_sections.write_sections(fs, bases, "uuid-1", content) == {
        "viewing_events": 1,
        "sessions": 0,
        "quarantine": 1,
    }
    hdfs_sections.write_sections(fs, bases, "uuid-1", content)
    assert sorted(fs.files) == ["/q/dt=2025-03-06/part-uuid-1.csv", "/r/dt=2025-03-05/part-uuid-1.csv"]
    assert hdfs_sections.parse_sections(b"") == []
    with pytest.raises(ValueError):
        hdfs_sections.parse_sections(b"#@ viewing_events dt=2025-03-05 n=2\nonly one\n")
    with pytest.raises(ValueError):
        hdfs_sections.parse_sections(b"no marker\n")


# ------------------------------------------------------------------------------------------------ processors


class _Descriptor:
    def __init__(self, name, description="", required=False, default_value=None, allowable_values=None, **kw):
        self.name, self.default_value, self.allowable_values = name, default_value, allowable_values


class _Rel:
    def __init__(self, name, description="", auto_terminated=False):
        self.name = name


class _Result:
    def __init__(self, relationship, attributes=None, contents=None):
        self.relationship, self.attributes = relationship, attributes
        self.contents = contents.encode() if isinstance(contents, str) else contents


class _Base:
    def __init__(self):
        self.logger = None


_UNITS = {"sec": 1, "secs": 1, "min": 60, "mins": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


class _Value:
    def __init__(self, value):
        self.value = value

    def getValue(self):
        return self.value

    def asInteger(self):
        return int(self.value)

    def asTimePeriod(self, unit):
        n, u = self.value.split()
        seconds = int(n) * _UNITS[u]
        return seconds * 1000 if unit == "MILLISECONDS" else seconds


class _StateManager:
    def __init__(self):
        self.store = {}
        self.version = None
        self.decoded = 0

    def getState(self, scope):
        def to_map():
            self.decoded += 1
            return dict(self.store.get(scope, {}))

        return types.SimpleNamespace(toMap=to_map, getStateVersion=lambda: self.version)

    def setState(self, state, scope):
        self.store[scope] = dict(state)
        self.version = (self.version or 0) + 1

    def clear(self, scope):
        self.store[scope] = {}
        self.version = (self.version or 0) + 1


class _Context:
    def __init__(self, props):
        self.props, self.sm = props, _StateManager()

    def getProperty(self, d):
        return _Value(self.props.get(d.name))

    def getStateManager(self):
        return self.sm


class _FlowFile:
    def __init__(self, uuid, content=b"", attributes=None):
        self.attrs = {"uuid": uuid, **(attributes or {})}
        self.content = content

    def getAttribute(self, name):
        return self.attrs.get(name)

    def getSize(self):
        return len(self.content)

    def getContentsAsBytes(self):
        return self.content


@pytest.fixture
def fake_nifiapi(monkeypatch):
    fakes = {
        "nifiapi": types.ModuleType("nifiapi"),
        "nifiapi.componentstate": types.SimpleNamespace(Scope=types.SimpleNamespace(LOCAL="LOCAL", CLUSTER="CLUSTER")),
        "nifiapi.properties": types.SimpleNamespace(
            PropertyDescriptor=_Descriptor,
            StandardValidators=types.SimpleNamespace(
                TIME_PERIOD_VALIDATOR=1, POSITIVE_INTEGER_VALIDATOR=2, NON_EMPTY_VALIDATOR=3, DATA_SIZE_VALIDATOR=4
            ),
            TimeUnit=types.SimpleNamespace(SECONDS="SECONDS", MILLISECONDS="MILLISECONDS"),
        ),
        "nifiapi.flowfiletransform": types.SimpleNamespace(FlowFileTransform=_Base, FlowFileTransformResult=_Result),
        "nifiapi.flowfilesource": types.SimpleNamespace(FlowFileSource=_Base, FlowFileSourceResult=_Result),
        "nifiapi.relationship": types.SimpleNamespace(Relationship=_Rel),
    }
    for name, mod in fakes.items():
        monkeypatch.setitem(sys.modules, name, mod)
    names = ("iptv_sessions.PairViewingEvents", "iptv_ingest.PutHdfsPartitioned", "iptv_ingest.ConsumeViewingEvents")
    for n in names:
        monkeypatch.delitem(sys.modules, n, raising=False)
    yield {n.split(".")[1]: importlib.import_module(n) for n in names}
    for n in names:
        sys.modules.pop(n, None)


def test_pair_processor_end_to_end_with_replay(fake_nifiapi, tmp_path):
    mod = fake_nifiapi["PairViewingEvents"]
    props = {d.name: d.default_value for d in mod.PairViewingEvents.PROPERTIES}
    props.update({"Channel Catalog": "1-148", "Event-Time Timeout": "1 hours", "Wall-Clock Grace": "1 mins"})
    props["State Directory"] = str(tmp_path / "pairing")
    ctx = _Context(props)
    proc = mod.PairViewingEvents()
    proc.identifier = "p-1"
    proc.clock = lambda: T0
    proc.onScheduled(ctx)
    content = batch(
        (0, 0, ev(A, 1, 5, "2025-03-05 10:00:00", "enabled")), (0, 1, ev(A, 1, 5, "2025-03-05 10:30:00", "disabled"))
    )
    r1 = proc.transform(ctx, _FlowFile("u1", content))
    assert r1.relationship == "success" and r1.attributes["iptv.sessions.count"] == "1"
    journal = tmp_path / "pairing" / "p-1" / "journal-0.log"
    assert journal.stat().st_size > 0  # durable before the output is handed to NiFi
    # NiFi component state only records where the journal is
    assert ctx.sm.store == {"LOCAL": {"iptv.pairing.journal.dir": str(tmp_path / "pairing" / "p-1")}}
    r2 = proc.transform(ctx, _FlowFile("u1", content))  # NiFi replays the uncommitted FlowFile
    assert r2.contents == r1.contents and r2.attributes["iptv.replayed"] == "true"
    r3 = proc.transform(ctx, _FlowFile("u2", content))  # Kafka redelivery in a new FlowFile
    assert r3.contents == b"" and r3.attributes["iptv.redelivered.skipped"] == "2"
    tick = proc.transform(ctx, _FlowFile("u3", b"", {"iptv.tick": "true"}))
    assert tick.relationship == "success"
    # a failure half-way drops the in-memory state; the next invocation rebuilds it from the journal
    proc._state.process = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom"))
    with pytest.raises(RuntimeError):
        proc.transform(ctx, _FlowFile("u4", content))
    assert proc._state is None
    assert proc.transform(ctx, _FlowFile("u4", content)).attributes["iptv.redelivered.skipped"] == "2"
    # a second processor on the same directory is refused while the first holds it
    other = mod.PairViewingEvents()
    other.identifier = "p-1"
    with pytest.raises(StateStoreLockedError, match="in use by another processor"):
        other.onScheduled(ctx)
    proc.onStopped(ctx)
    restarted = mod.PairViewingEvents()  # NiFi restarted: a new object reads the stored state
    restarted.identifier = "p-1"
    restarted.clock = lambda: T0
    restarted.onScheduled(ctx)
    again = restarted.transform(ctx, _FlowFile("u5", content))
    assert again.attributes["iptv.redelivered.skipped"] == "2"
    assert restarted.transform(ctx, _FlowFile("u5", content)).attributes["iptv.replayed"] == "true"
    restarted.onStopped(ctx)


def test_pair_processor_takes_over_legacy_component_state(fake_nifiapi, tmp_path):
    """State kept in NiFi component state by versions before 0.4.0 moves to the journal once, then is cleared."""
    mod = fake_nifiapi["PairViewingEvents"]
    legacy = IngestState(SessionPairer(PairerConfig()))
    content = batch((1, 7, ev(A, 1, 5, "2025-03-05 10:00:00", "enabled")))
    legacy.process("old-1", content, now=T0)
    proc, ctx = _pair_processor(mod, tmp_path)
    ctx.sm.store["LOCAL"] = legacy.to_state_map()
    proc.clock = lambda: T0 + 10
    proc.onScheduled(ctx)
    assert ctx.sm.store["LOCAL"] == {"iptv.pairing.journal.dir": str(tmp_path / "pairing" / "p-1")}  # replaced
    end = batch(
        (1, 7, ev(A, 1, 5, "2025-03-05 10:00:00", "enabled")), (1, 8, ev(A, 1, 5, "2025-03-05 11:00:00", "disabled"))
    )
    r = proc.transform(ctx, _FlowFile("new-1", end))
    assert r.attributes["iptv.redelivered.skipped"] == "1"  # offset 7 was processed before the upgrade
    assert sections(r.contents)[("sessions", "2025-03-05")] == [f"{A},1,5,2025-03-05 10:00:00,2025-03-05 11:00:00,3600"]
    proc.onStopped(ctx)


def _pair_processor(mod, tmp_path, **props):
    """PairViewingEvents with a channel catalog file (1..148), timeout 1 hour and grace 5 mins."""
    catalog = tmp_path / "channels.csv"
    catalog.write_text("channel_id,channel_name\n" + "".join(f"{i},ch{i}\n" for i in range(1, 149)))
    values = {d.name: d.default_value for d in mod.PairViewingEvents.PROPERTIES}
    values.update({"Channel Catalog": str(catalog), "Event-Time Timeout": "1 hours", "Wall-Clock Grace": "5 mins"})
    values["State Directory"] = str(tmp_path / "pairing")
    values.update(props)
    proc = mod.PairViewingEvents()
    proc.identifier = "p-1"
    return proc, _Context(values)


def _stored_state(tmp_path) -> IngestState:
    with JournalStore(tmp_path / "pairing" / "p-1") as store:
        return IngestState.from_store(store)


def _quarantine_rows(content: bytes) -> list[list[str]]:
    return [r for (k, _), lines in sections(content).items() if k == "quarantine" for r in csv.reader(lines)]


def test_pair_processor_descriptors_and_relationships(fake_nifiapi):
    cls = fake_nifiapi["PairViewingEvents"].PairViewingEvents
    names = [d.name for d in cls().getPropertyDescriptors()]
    assert names == [
        "Event-Time Timeout",
        "Wall-Clock Grace",
        "Completed Session Retention",
        "Max State Entries",
        "Max Timer Lead",
        "Max Timer Lag",
        "Channel Catalog",
        "Event Schema File",
        "State Scope",
        "State Directory",
        "Attempts Before Split",
    ]
    assert [r.name for r in cls().getRelationships()] == ["success"]
    assert cls.ProcessorDetails.version and "jsonschema>=4.20" in cls.ProcessorDetails.dependencies


def test_pair_processor_cluster_scope_catalog_file_and_state_across_restart(fake_nifiapi, tmp_path):
    """Settings read without onScheduled, catalog from a file, state kept across a restart (journal store)."""
    mod = fake_nifiapi["PairViewingEvents"]
    proc, ctx = _pair_processor(mod, tmp_path, **{"State Scope": "CLUSTER"})
    proc.clock = lambda: T0
    start = ev(A, 7, 5, "2023-09-23 10:00:00", "enabled")
    content = batch((0, 0, start), (0, 1, "{broken"), (0, 2, ev(B, 1, 500, "2023-09-23 10:00:00", "enabled")))
    r1 = proc.transform(ctx, _FlowFile("u1", content))
    rows = _quarantine_rows(r1.contents)
    assert [(r[0], r[1]) for r in rows] == [("invalid_json", ""), ("unknown_channel", B)]
    assert rows[0][3] == "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"
    assert rows[1][3] == "channel_id 500"
    assert r1.attributes["iptv.sessions.count"] == "0" and r1.attributes["iptv.quarantine.count"] == "2"
    assert ctx.sm.store == {"CLUSTER": {"iptv.pairing.journal.dir": str(tmp_path / "pairing" / "p-1")}}
    proc.onStopped(ctx)
    # state survives between invocations (new processor object = restart); the start again is a duplicate
    proc2 = mod.PairViewingEvents()
    proc2.identifier = "p-1"
    proc2.clock = lambda: T0 + 10
    content2 = batch((0, 3, ev(A, 7, 5, "2023-09-23 10:45:00", "disabled")), (0, 4, start))
    r2 = proc2.transform(ctx, _FlowFile("u2", content2))
    assert sections(r2.contents)[("sessions", "2023-09-23")] == [
        f"{A},7,5,2023-09-23 10:00:00,2023-09-23 10:45:00,2700"
    ]
    assert r2.attributes["iptv.duplicates.dropped"] == "1" and r2.attributes["iptv.quarantine.count"] == "0"
    proc2.onStopped(ctx)
    stored = _stored_state(tmp_path)
    assert stored.pairer.totals["duplicates_dropped"] == 1 and stored.pairer.totals["sessions_out"] == 1


def test_pair_processor_tick_expires_without_data(fake_nifiapi, tmp_path):
    """A tick FlowFile (no content, iptv.tick=true) closes a half once timeout and wall-clock grace are over."""
    mod = fake_nifiapi["PairViewingEvents"]
    proc, ctx = _pair_processor(mod, tmp_path)
    proc.clock = lambda: T0
    content = batch(
        (0, 0, ev(A, 7, 5, "2023-09-23 10:00:00", "enabled")), (0, 1, ev(B, 1, 1, "2023-09-23 12:00:00", "enabled"))
    )
    proc.transform(ctx, _FlowFile("u1", content))
    proc.clock = lambda: T0 + 299
    early = proc.transform(ctx, _FlowFile("t1", b"", {"iptv.tick": "true"}))
    assert early.contents == b"" and early.attributes["iptv.quarantine.count"] == "0"  # grace not over yet
    proc.clock = lambda: T0 + 300
    due = proc.transform(ctx, _FlowFile("t2", b"", {"iptv.tick": "true"}))
    assert [(r[0], r[1]) for r in _quarantine_rows(due.contents)] == [("unmatched_start", A)]
    assert due.attributes["iptv.quarantine.count"] == "1"
    proc.onStopped(ctx)
    stored = _stored_state(tmp_path)
    assert stored.pairer.pending_count() == 1 and list(ctx.sm.store) == ["LOCAL"]


def test_fast_schema_check_agrees_with_jsonschema():
    with open(schema_validation.DEFAULT_SCHEMA_PATH, encoding="utf-8") as fh:
        schema = json.load(fh)
    fast = schema_validation._compile_fast_validator(schema)
    assert fast is not None, "fastjsonschema (a declared dependency) must be importable"
    import jsonschema

    slow = jsonschema.validators.validator_for(schema)(schema)
    good = {"session_id": A, "user_id": 1, "channel_id": 2, "timer": "2025-03-05 10:00:00", "status": "enabled"}
    cases = [
        good,
        {**good, "status": "paused"},
        {**good, "timer": "2025-03-05T10:00:00"},
        {**good, "timer": "2025-13-05 10:00:00"},
        {**good, "user_id": "1"},
        {**good, "user_id": 0},
        {**good, "channel_id": 1.5},
        {**good, "session_id": A.upper()},
        {**good, "extra": 1},
        {k: v for k, v in good.items() if k != "timer"},
        [good],
        "text",
        {**good, "user_id": True},
    ]
    for case in cases:
        assert fast(case) == slow.is_valid(case), case


def test_put_processor_routes_failures_to_retry(fake_nifiapi):
    mod = fake_nifiapi["PutHdfsPartitioned"]
    proc = mod.PutHdfsPartitioned()
    proc.fs = FakeFs(fail_times=1)
    proc.bases = {"viewing_events": "/r", "sessions": "/s", "quarantine": "/q"}
    proc.pause = 0
    content, _ = render_output([], [], [])
    assert proc.transform(None, _FlowFile("u0", content)).relationship == "success"
    content, _ = render_output([(A, 1, 2, "2025-03-05 10:00:00", "enabled")], [], [])
    first = proc.transform(None, _FlowFile("u1", content))
    assert first.relationship == "retry" and "namenode down" in first.attributes["iptv.hdfs.error"]
    second = proc.transform(None, _FlowFile("u1", content))
    assert second.relationship == "success" and second.attributes["iptv.hdfs.viewing_events.written"] == "1"
    assert list(proc.fs.files) == ["/r/dt=2025-03-05/part-u1.csv"]


def test_consumer_emits_batches_commits_later_and_ticks(fake_nifiapi, monkeypatch):
    mod = fake_nifiapi["ConsumeViewingEvents"]

    class Msg:
        def __init__(self, p, o, v):
            self.p, self.o, self.v = p, o, v

        def key(self):
            return b"k%d" % self.o if self.p == 0 else None

        def timestamp(self):
            return (1, 1_741_176_000_000 + self.o)

        def error(self):
            return None

        def partition(self):
            return self.p

        def offset(self):
            return self.o

        def value(self):
            return self.v

    class FakeConsumer:
        def __init__(self, queue):
            self.queue, self.commits = queue, []

        def consume(self, num_messages, timeout):
            out, self.queue[:] = self.queue[:num_messages], self.queue[num_messages:]
            return out

        def commit(self, offsets, asynchronous):
            self.commits.append({tp.partition: tp.offset for tp in offsets})

        def close(self):
            self.closed = True

    fake_kafka = types.SimpleNamespace(
        TopicPartition=lambda t, p, o: types.SimpleNamespace(topic=t, partition=p, offset=o), KafkaException=Exception
    )
    monkeypatch.setitem(sys.modules, "confluent_kafka", fake_kafka)
    proc = mod.ConsumeViewingEvents()
    proc.consumer = FakeConsumer([Msg(0, i, f"m{i}".encode()) for i in range(5)] + [Msg(1, 0, b"x\ny")])
    proc.topic = "t"
    proc.settings = {"max_count": 4, "max_bytes": 10**6, "max_wait": 0.05, "tick": 0.0}
    first = proc.create(None)
    assert first.attributes["iptv.kafka.offsets"] == "0:0-3" and proc.consumer.commits == []
    second = proc.create(None)
    assert proc.consumer.commits == [{0: 4}]  # committed only once the first batch's session was committed
    assert parse_batch(second.contents) == [
        (0, 4, "m4", ("k4", 1_741_176_000_004)),
        (1, 0, "x\ny", (None, 1_741_176_000_000)),
    ]
    tick = proc.create(None)
    assert tick.attributes["iptv.tick"] == "true" and tick.contents == b""
    assert proc.consumer.commits[-1] == {0: 5, 1: 1}
    proc.onStopped(None)
    assert proc.consumer is None


def test_batch_lines_are_bytes_and_round_trip_escapes_and_bad_utf8():
    raw = [b'{"a":"x\\\\y"}', b"line\nbreak\rcr", b"\xff\xfe{", b"plain", None]
    keys = [b"k\t\\1\n", None, b"\xff", b"", b"k"]
    b = Batch()
    for i, value in enumerate(raw):
        b.add(2, 10 + i, value, keys[i], 1_741_176_000_000 if i else -1)
    assert b.content(compress=False).count(b"\n") == len(raw)  # one physical line per message
    assert b.content()[:2] == b"\x1f\x8b" and gzip.decompress(b.content()) == b.content(compress=False)
    assert b.content() == b.content()  # deterministic (no timestamp in the gzip header)
    assert b.ranges == {2: [10, 14]}
    assert b.content(compress=False).split(b"\n")[2] == b"2\t12@1741176000000\t=\xff\t\xff\xfe{"
    assert parse_batch(b.content(compress=False)) == parse_batch(b.content())
    assert parse_batch(b.content()) == [
        (2, 10, '{"a":"x\\\\y"}', ("k\t\\1\n", -1)),
        (2, 11, "line\nbreak\rcr", (None, 1_741_176_000_000)),
        (2, 12, "\udcff\udcfe{", ("\udcff", 1_741_176_000_000)),  # bytes that are not UTF-8 kept (surrogateescape)
        (2, 13, "plain", ("", 1_741_176_000_000)),
        (2, 14, "", ("k", 1_741_176_000_000)),
    ]


def test_first_format_lines_still_read_beside_current_ones():
    """A FlowFile queued before the upgrade holds lines without key and timestamp."""
    content = format_line(0, 5, b"a\tb\\c") + b"0\t6@-1\t-\ta\tb\n" + b"0\t7@x\t-\tm\n" + b"0\t8@1\t?k\tm\n"
    items, malformed = flowfile_formats.read_batch(content)
    assert items == [(0, 5, "a\tb\\c", None), (0, 6, "a\tb", (None, -1))]
    assert malformed == ["0\t7@x\t-\tm", "0\t8@1\t?k\tm"]


def test_sections_gzip_and_only_newline_ends_a_line():
    """A quarantined message may hold Unicode line separators (U+2028, form feed): still one record."""
    q = {
        "reason": "invalid_json",
        "session_id": None,
        "raw": "{\u2028\x0c",
        "detail": "x",
        "arrival_ts": "2025-03-05T10:00:00.000Z",
    }
    plain, counts = render_output([(A, 1, 2, "2025-03-05 10:00:00", "enabled")], [], [q])
    assert counts == {"viewing_events": 1, "sessions": 0, "quarantine": 1, "ingest_batches": 0}
    for content in (plain, gzip.compress(plain)):
        secs = hdfs_sections.parse_sections(content)
        assert [(s.kind, s.dt, s.lines) for s in secs] == [
            ("viewing_events", "2025-03-05", 1),
            ("quarantine", "2025-03-05", 1),
        ]
        assert "\u2028" in secs[1].data.decode()
    with pytest.raises(ValueError, match="marker says 2"):
        hdfs_sections.parse_sections(plain.replace(b"n=1", b"n=2", 1))


def test_pair_processor_moves_its_journal_when_the_state_directory_changes(fake_nifiapi, tmp_path):
    """A new State Directory (changed setting, or a flow upgrade filling it in) moves the journal, keeps the state."""
    mod = fake_nifiapi["PairViewingEvents"]
    proc, ctx = _pair_processor(mod, tmp_path, **{"State Directory": str(tmp_path / "old")})
    proc.clock = lambda: T0
    proc.onScheduled(ctx)
    content = batch((0, 0, ev(A, 1, 5, "2025-03-05 10:00:00", "enabled")))
    proc.transform(ctx, _FlowFile("u1", content))
    proc.onStopped(ctx)
    ctx.props["State Directory"] = str(tmp_path / "new")
    moved = mod.PairViewingEvents()
    moved.identifier = "p-1"
    moved.clock = lambda: T0
    moved.onScheduled(ctx)
    assert not list((tmp_path / "old" / "p-1").glob("journal-*")) and list((tmp_path / "new" / "p-1").glob("journal-*"))
    assert ctx.sm.store["LOCAL"] == {"iptv.pairing.journal.dir": str(tmp_path / "new" / "p-1")}
    end = batch(
        (0, 0, ev(A, 1, 5, "2025-03-05 10:00:00", "enabled")), (0, 1, ev(A, 1, 5, "2025-03-05 10:05:00", "disabled"))
    )
    r = moved.transform(ctx, _FlowFile("u2", end))
    assert r.attributes["iptv.redelivered.skipped"] == "1" and r.attributes["iptv.sessions.count"] == "1"
    moved.onStopped(ctx)
    # state in both places: a clear error instead of picking one
    ctx.props["State Directory"] = str(tmp_path / "old")
    again = mod.PairViewingEvents()
    again.identifier = "p-1"
    again.onScheduled(ctx)
    again.transform(ctx, _FlowFile("u3", batch((0, 2, ev(B, 1, 5, "2025-03-05 11:00:00", "enabled")))))
    again.onStopped(ctx)
    assert not list((tmp_path / "new" / "p-1").glob("journal-*"))  # moved back
    for f in (tmp_path / "old" / "p-1").glob("journal-*"):  # e.g. a backup restored into the other directory
        shutil.copy(f, tmp_path / "new" / "p-1" / f.name)
    ctx.sm.store["LOCAL"] = {"iptv.pairing.journal.dir": str(tmp_path / "new" / "p-1")}
    conflict = mod.PairViewingEvents()
    conflict.identifier = "p-1"
    with pytest.raises(RuntimeError, match="pairing state found both in"):
        conflict.onScheduled(ctx)


def test_pair_processor_retries_a_failing_batch_then_splits_it(fake_nifiapi, tmp_path, monkeypatch):
    """A batch that fails as a whole is raised to NiFi (its 'failure' relationship is retried with back-off) until
    its Attempts Before Split-th failure; then it is processed split, and the rest of it lands."""
    mod = fake_nifiapi["PairViewingEvents"]
    proc, ctx = _pair_processor(mod, tmp_path, **{"Attempts Before Split": "3"})
    proc.clock = lambda: T0
    proc.onScheduled(ctx)
    content = batch(
        (0, 0, ev(A, 1, 5, "2025-03-05 10:00:00", "enabled")), (0, 1, ev(A, 1, 5, "2025-03-05 10:30:00", "disabled"))
    )
    monkeypatch.setattr(IngestState, "process", lambda *a, **k: (_ for _ in ()).throw(OSError("disk hiccup")))
    for _ in range(2):
        with pytest.raises(OSError, match="disk hiccup"):
            proc.transform(ctx, _FlowFile("u1", content))
    third = proc.transform(ctx, _FlowFile("u1", content))
    assert third.relationship == "success" and third.attributes["iptv.split"] == "true"
    assert sections(third.contents)[("sessions", "2025-03-05")] == [
        f"{A},1,5,2025-03-05 10:00:00,2025-03-05 10:30:00,1800"
    ]
    assert proc._failures.counts == {}  # landed: forgotten
    assert _stored_state_offsets(proc) == {0: [[0, 1]]}  # saved durably like any batch
    proc.onStopped(ctx)


def _stored_state_offsets(proc) -> dict[int, list[list[int]]]:
    return {p: r.ranges for p, r in IngestState.from_store(proc._store).offsets.items()}


def test_put_processor_writes_unreadable_content_as_quarantine(fake_nifiapi):
    mod = fake_nifiapi["PutHdfsPartitioned"]
    proc = mod.PutHdfsPartitioned()
    proc.fs = FakeFs()
    proc.bases = {"viewing_events": "/r", "sessions": "/s", "quarantine": "/q"}
    proc.pause = 0
    result = proc.transform(None, _FlowFile("u1", b"not sections\nat all\n"))
    assert result.relationship == "success" and result.attributes["iptv.hdfs.quarantine.written"] == "2"
    [(path, data)] = proc.fs.files.items()
    assert path.startswith("/q/dt=") and path.endswith("/part-u1.csv")
    assert [row[0] for row in csv.reader(io.StringIO(data.decode()))] == ["unreadable_output"] * 2

"""NiFi 2 Python processor wrapping :mod:`pairing` (all pairing rules live there; this file is I/O only).

Interface: RecordTransform, because it is the only NiFi 2 Python interface that routes output to several
relationships in one invocation. ``transformRecord`` (the method NiFi's Java side calls once per chunk of about
1 MB of records) is overridden so that a chunk is processed as a batch: load state, pair, expire, save state,
then return any number of result records routed to ``sessions`` / ``quarantine`` (/ ``metrics``).
See docs/session-pairing.md for the flow wiring (Record Reader/Writer, tick FlowFiles, concurrency).
"""

from __future__ import annotations

import json
import os
import time

from nifiapi.componentstate import Scope
from nifiapi.properties import PropertyDescriptor, StandardValidators, TimeUnit
from nifiapi.recordtransform import RecordTransform, RecordTransformResult
from nifiapi.recordtransform import __RecordTransformResult__ as _JavaRecordTransformResult
from nifiapi.relationship import Relationship

try:  # package import (tests, or extension dir on sys.path)
    from iptv_sessions.ingestion import chunk_state, unchunk_state
    from iptv_sessions.pairing import (
        PairerConfig,
        SessionPairer,
        default_schema_validator,
        load_channel_catalog_file,
        load_schema_validator,
        parse_channel_catalog,
    )
except ImportError:  # NiFi loads sibling modules of the package as top-level modules
    from ingestion import chunk_state, unchunk_state
    from pairing import (
        PairerConfig,
        SessionPairer,
        default_schema_validator,
        load_channel_catalog_file,
        load_schema_validator,
        parse_channel_catalog,
    )

REL_SESSIONS = "sessions"
REL_QUARANTINE = "quarantine"
REL_METRICS = "metrics"
MODE_SEPARATE = "sessions and quarantine"
MODE_WITH_METRICS = "sessions, quarantine and metrics"
TICK_MARKER = "TICK"


class PairViewingSessions(RecordTransform):
    class Java:
        implements = ["org.apache.nifi.python.processor.RecordTransform"]

    class ProcessorDetails:
        version = "0.1.0"
        description = (
            "Pairs IPTV viewing events (enabled/disabled, JSON per Kafka message) into sessions per session_id. "
            "Validates each message, drops identical duplicates, and routes sessions to 'sessions' and invalid, "
            "conflicting, unknown-channel or unmatched events to 'quarantine'. Keeps pending halves and a bounded "
            "memory of completed sessions in processor state. Run with one concurrent task. Send a record 'TICK' "
            "periodically so unmatched halves are closed when no data arrives."
        )
        tags = ["iptv", "sessions", "pairing", "kafka", "json", "stateful", "quarantine"]
        dependencies = ["jsonschema>=4.20"]

    TIMEOUT = PropertyDescriptor(
        name="Event-Time Timeout",
        description="How far the event-time watermark (max timer seen) must be past a pending half's timer before "
        "the half is closed as unmatched_start / unmatched_end.",
        required=True,
        default_value="12 hours",
        validators=[StandardValidators.TIME_PERIOD_VALIDATOR],
    )
    GRACE = PropertyDescriptor(
        name="Wall-Clock Grace",
        description="Minimum wall-clock time a pending half must have been held (since it arrived) before it can be "
        "closed as unmatched, in addition to the event-time timeout. Protects late history and fast backfills.",
        required=True,
        default_value="5 mins",
        validators=[StandardValidators.TIME_PERIOD_VALIDATOR],
    )
    RETENTION = PropertyDescriptor(
        name="Completed Session Retention",
        description="Event time for which a closed session's event fingerprints are remembered past its last "
        "event, to drop later duplicates and quarantine conflicting duplicates.",
        required=True,
        default_value="24 hours",
        validators=[StandardValidators.TIME_PERIOD_VALIDATOR],
    )
    MAX_ENTRIES = PropertyDescriptor(
        name="Max State Entries",
        description="Hard bound on remembered session ids (pending and closed). Oldest (by event time) are evicted "
        "first; an evicted pending half is quarantined as unmatched. Mind the state provider's size limit "
        "(ZooKeeper: about 1 MB per component for Cluster scope).",
        required=True,
        default_value="200000",
        validators=[StandardValidators.POSITIVE_INTEGER_VALIDATOR],
    )
    CHANNELS = PropertyDescriptor(
        name="Channel Catalog",
        description="Known channel ids: a comma list with optional ranges (e.g. '1-148'), or the path of a file whose "
        "first CSV column holds the ids (a header line is skipped). Empty: no unknown_channel check.",
        required=False,
    )
    SCHEMA_FILE = PropertyDescriptor(
        name="Event Schema File",
        description="JSON Schema of the event contract, checked with jsonschema in addition to the built-in contract "
        "check (which also checks that the timer is a real date). Empty: the repository's "
        "schemas/viewing_event.schema.json if present next to the processors directory.",
        required=False,
        validators=[StandardValidators.FILE_EXISTS_VALIDATOR],
    )
    RAW_FIELD = PropertyDescriptor(
        name="Raw Message Field",
        description="Record field holding the raw Kafka message text (e.g. a GrokReader with pattern "
        "'%{GREEDYDATA:raw}'). Records without it are taken as the event itself (e.g. a JsonTreeReader), or their "
        "'value' field when it is a ConsumeKafka wrapper record.",
        required=True,
        default_value="raw",
    )
    STATE_SCOPE = PropertyDescriptor(
        name="State Scope",
        description="LOCAL (one node owns the Kafka partitions) or CLUSTER (state follows partition reassignment; "
        "subject to the cluster state provider's size limit).",
        required=True,
        default_value="LOCAL",
        allowable_values=["LOCAL", "CLUSTER"],
    )
    OUTPUT_MODE = PropertyDescriptor(
        name="Output Mode",
        description="Which relationships receive records: sessions and quarantine, or additionally one metrics record "
        "(batch and cumulative counters, state size, watermark) per invocation to 'metrics'.",
        required=True,
        default_value=MODE_SEPARATE,
        allowable_values=[MODE_SEPARATE, MODE_WITH_METRICS],
    )

    PROPERTIES = [TIMEOUT, GRACE, RETENTION, MAX_ENTRIES, CHANNELS, SCHEMA_FILE, RAW_FIELD, STATE_SCOPE, OUTPUT_MODE]

    def __init__(self, **kwargs) -> None:
        super().__init__()
        self._settings = None
        self.clock = time.time  # replaceable in tests

    def getPropertyDescriptors(self):
        return self.PROPERTIES

    def getRelationships(self):
        return [
            Relationship(
                REL_SESSIONS,
                "Paired sessions: session_id, user_id, channel_id, time_start, time_end, "
                "duration_s (configure the Record Writer, e.g. CSV without header).",
            ),
            Relationship(
                REL_QUARANTINE,
                "Quarantine records: reason, session_id ('' if unknown), raw, detail, "
                "arrival_ts; FlowFiles are partitioned by attribute quarantine.reason.",
            ),
            Relationship(
                REL_METRICS,
                "One counters record per invocation when Output Mode includes metrics.",
                auto_terminated=True,
            ),
        ]

    # ------------------------------------------------------------------ configuration

    def onScheduled(self, context) -> None:
        self._settings = self._read_settings(context)

    def _read_settings(self, context) -> dict:
        catalog_spec = context.getProperty(self.CHANNELS).getValue()
        if catalog_spec and os.path.isfile(catalog_spec.strip()):
            channels = load_channel_catalog_file(catalog_spec.strip())
        else:
            channels = parse_channel_catalog(catalog_spec)
        config = PairerConfig(
            timeout_s=int(context.getProperty(self.TIMEOUT).asTimePeriod(TimeUnit.SECONDS)),
            grace_s=float(context.getProperty(self.GRACE).asTimePeriod(TimeUnit.SECONDS)),
            retention_s=int(context.getProperty(self.RETENTION).asTimePeriod(TimeUnit.SECONDS)),
            max_entries=int(context.getProperty(self.MAX_ENTRIES).asInteger()),
            channels=channels,
        )
        scope_name = context.getProperty(self.STATE_SCOPE).getValue() or "LOCAL"
        schema_file = context.getProperty(self.SCHEMA_FILE).getValue()
        return {
            "config": config,
            "validator": load_schema_validator(schema_file) if schema_file else default_schema_validator(),
            "raw_field": context.getProperty(self.RAW_FIELD).getValue() or "raw",
            "scope": Scope.CLUSTER if scope_name == "CLUSTER" else Scope.LOCAL,
            "metrics": context.getProperty(self.OUTPUT_MODE).getValue() == MODE_WITH_METRICS,
        }

    # ------------------------------------------------------------------ processing

    def transform(self, context, record, schema, attributemap):  # pragma: no cover - never called
        raise NotImplementedError("PairViewingSessions processes whole chunks in transformRecord")

    def transformRecord(self, jsonarray, schema, attributemap):
        """Called by NiFi with a JSON array of records (one chunk of a FlowFile); returns a Java list of results."""
        context = self.process_context
        settings = self._settings or self._read_settings(context)
        records = json.loads(jsonarray)
        raws = []
        ticks = 0
        for record in records:
            raw = self._raw_message(record, settings["raw_field"])
            if raw is None:
                ticks += 1
            else:
                raws.append(raw)

        state_manager = context.getStateManager()
        scope = settings["scope"]
        pairer = SessionPairer.from_state_map(
            unchunk_state(dict(state_manager.getState(scope).toMap())), settings["config"], settings["validator"]
        )
        result = pairer.process_batch(raws, now=self.clock(), tick=ticks > 0)
        # NiFi's local state provider stores each value with writeUTF (<= 64 KB): large states are chunked
        state_manager.setState(chunk_state(pairer.to_state_map()), scope)

        results = self.arrayList()
        for session in result.sessions:
            results.add(_result(session.as_dict(), REL_SESSIONS, None))
        for q in result.quarantine:
            rec = dict(q)
            if rec["session_id"] is None:
                rec["session_id"] = ""  # keeps the inferred record schema stable (string) across records
            results.add(_result(rec, REL_QUARANTINE, {"quarantine.reason": q["reason"]}))
        if settings["metrics"]:
            metrics = {"batch": result.counters, **pairer.stats()}
            results.add(_result({"metrics": json.dumps(metrics, sort_keys=True)}, REL_METRICS, None))
        if self.logger is not None and (result.quarantine or result.counters["evicted"]):
            self.logger.info(
                f"pairing: {result.counters['events_in']} events, {len(result.sessions)} sessions, "
                f"{len(result.quarantine)} quarantined, {result.counters['evicted']} evicted"
            )
        return results

    @staticmethod
    def _raw_message(record, raw_field: str):
        """Raw message text of one input record; None for a tick record."""
        if isinstance(record, dict):
            if raw_field in record:
                value = record[raw_field]
                text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
            elif set(record) == {"tick"}:
                return None
            elif "value" in record and "metadata" in record:  # ConsumeKafka wrapper (Output Strategy: wrapper)
                value = record["value"]
                text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
            else:
                text = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
        else:
            text = json.dumps(record, separators=(",", ":"))
        if text is None or text.strip().upper() in ("", TICK_MARKER):
            return None
        return text


def _result(record: dict, relationship: str, partition: dict | None):
    """A result the Java side accepts (nifiapi's internal wrapper, as RecordTransform.transformRecord builds)."""
    processor_result = RecordTransformResult(record=record, relationship=relationship, partition=partition)
    return _JavaRecordTransformResult(processor_result, json.dumps(record, ensure_ascii=False))

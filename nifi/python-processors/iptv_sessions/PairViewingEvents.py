"""NiFi 2 Python processor: validate, deduplicate and pair the Kafka batches of ``ConsumeViewingEvents``, exactly once.

Interface: FlowFileTransform (one FlowFile in, one out, content passed as bytes in one call: far cheaper over the
Py4J bridge than a RecordTransform returning one Java object per record). The output holds the distinct valid
events, the sessions and the quarantine records as dated sections (``flowfile_formats.py``) that
``PutHdfsPartitioned`` writes to their HDFS directories. The rules are in ``session_pairer.py`` (validation in
``event_contract.py``); the exactly-once bookkeeping (processed Kafka offsets, replay of the last output) in
``ingestion.py``. See docs/ingestion.md and docs/session-pairing.md.
"""

from __future__ import annotations

import os
import shutil
import time

from nifiapi.componentstate import Scope
from nifiapi.flowfiletransform import FlowFileTransform, FlowFileTransformResult
from nifiapi.properties import PropertyDescriptor, StandardValidators, TimeUnit
from nifiapi.relationship import Relationship

try:  # package import (tests)
    from iptv_sessions.channel_catalog import load_channel_catalog_file, parse_channel_catalog
    from iptv_sessions.event_contract import describe_error
    from iptv_sessions.flowfile_formats import KINDS
    from iptv_sessions.ingestion import FailedAttempts, IngestState
    from iptv_sessions.schema_validation import default_schema_validator, load_schema_validator
    from iptv_sessions.session_pairer import PairerConfig
    from iptv_sessions.state_store import JOURNAL_MAGIC, JournalStore
except ImportError:  # NiFi loads sibling modules as top-level modules. Names, not modules, are imported: NiFi
    # retries a sibling whose first load failed but leaves that half-run module in sys.modules, and a name missing
    # from it makes NiFi retry this module too, instead of keeping a reference to the half-run one.
    from channel_catalog import load_channel_catalog_file, parse_channel_catalog
    from event_contract import describe_error
    from flowfile_formats import KINDS
    from ingestion import FailedAttempts, IngestState
    from schema_validation import default_schema_validator, load_schema_validator
    from session_pairer import PairerConfig
    from state_store import JOURNAL_MAGIC, JournalStore

REL_SUCCESS = "success"
#: The one value this processor keeps in NiFi component state: the directory of its journal.
JOURNAL_DIR_KEY = "iptv.pairing.journal.dir"


class PairViewingEvents(FlowFileTransform):
    class Java:
        implements = ["org.apache.nifi.python.processor.FlowFileTransform"]

    class ProcessorDetails:
        version = "0.8.0"
        description = (
            "Validates IPTV viewing events (JSON Schema + contract check), drops identical duplicates and Kafka "
            "redeliveries, pairs enabled/disabled events into sessions and emits one FlowFile with dated sections: "
            "distinct valid events (viewing_events), sessions and quarantine, as headerless CSV. Input: batches of "
            "ConsumeViewingEvents (partition, offset, message per line); an empty FlowFile is a tick. State (pending "
            "halves, processed offsets, last output for replay) is kept in a local journal (State Directory): one "
            "fsynced record of what changed per batch, compacted into snapshots. One concurrent task. A message that "
            "fails validation or pairing in any way is quarantined with the error; a batch that fails as a whole "
            "goes to 'failure' (retried by NiFi with back-off) and, from its Attempts Before Split-th failure on, is "
            "split so that what fails is quarantined as batch_failed and the rest lands."
        )
        tags = ["iptv", "sessions", "pairing", "kafka", "exactly-once", "stateful", "quarantine"]
        dependencies = ["jsonschema>=4.20", "fastjsonschema>=2.19"]

    TIMEOUT = PropertyDescriptor(
        name="Event-Time Timeout",
        description="How far the event-time watermark must be past a pending half before it is closed as unmatched.",
        required=True,
        default_value="12 hours",
        validators=[StandardValidators.TIME_PERIOD_VALIDATOR],
    )
    GRACE = PropertyDescriptor(
        name="Wall-Clock Grace",
        description="Minimum wall-clock time since a pending half arrived before it can be closed as unmatched.",
        required=True,
        default_value="5 mins",
        validators=[StandardValidators.TIME_PERIOD_VALIDATOR],
    )
    RETENTION = PropertyDescriptor(
        name="Completed Session Retention",
        description="Event time a closed session is remembered past its last event (duplicate detection).",
        required=True,
        default_value="24 hours",
        validators=[StandardValidators.TIME_PERIOD_VALIDATOR],
    )
    MAX_ENTRIES = PropertyDescriptor(
        name="Max State Entries",
        description="Hard bound on remembered session ids (about 0.6-0.9 KB each); beyond it the oldest closed "
        "sessions are forgotten first, then the oldest pending halves (-> unmatched). Size it above the open sessions "
        "of the evening peak.",
        required=True,
        default_value="1000000",
        validators=[StandardValidators.POSITIVE_INTEGER_VALIDATOR],
    )
    TIMER_LEAD = PropertyDescriptor(
        name="Max Timer Lead",
        description="A valid event whose timer is more than this after its Kafka record's timestamp is quarantined "
        "as implausible_timer (a device clock that runs ahead; bounded by the record's timestamp, not the wall "
        "clock, so that a replay gives the same verdicts).",
        required=True,
        default_value="2 days",
        validators=[StandardValidators.TIME_PERIOD_VALIDATOR],
    )
    TIMER_LAG = PropertyDescriptor(
        name="Max Timer Lag",
        description="A valid event whose timer is more than this before its Kafka record's timestamp is quarantined "
        "as implausible_timer (a reset device clock); history sent later (a backfill) must be younger.",
        required=True,
        default_value="366 days",
        validators=[StandardValidators.TIME_PERIOD_VALIDATOR],
    )
    CHANNELS = PropertyDescriptor(
        name="Channel Catalog",
        description="Known channel ids: comma list with ranges ('1-148') or a CSV file path (first column). "
        "Empty: no unknown_channel check.",
        required=False,
    )
    SCHEMA_FILE = PropertyDescriptor(
        name="Event Schema File",
        description="JSON Schema of the event contract. Empty: the repository's schemas/viewing_event.schema.json.",
        required=False,
    )
    STATE_SCOPE = PropertyDescriptor(
        name="State Scope",
        description="Scope of the NiFi component state that versions before 0.4.0 kept; it is read once and moved "
        "to the State Directory.",
        required=True,
        default_value="LOCAL",
        allowable_values=["LOCAL", "CLUSTER"],
    )
    STATE_DIR = PropertyDescriptor(
        name="State Directory",
        description="Node-local directory of the pairing state (pending halves, remembered sessions, processed "
        "offsets, last output); this processor uses its subdirectory named after the processor id. A relative "
        "path is resolved against NiFi's working directory (its home, beside state/local). Each batch appends one "
        "fsynced record of what changed; the journal is compacted into a snapshot when it outgrows it. Reset: stop "
        "the processor and delete the subdirectory.",
        required=True,
        default_value="./state/iptv-pairing",
        validators=[StandardValidators.NON_EMPTY_VALIDATOR],
    )

    SPLIT_AFTER = PropertyDescriptor(
        name="Attempts Before Split",
        description="A batch FlowFile that failed this many times (each failure goes to 'failure': set NiFi's retry "
        "with back-off on that relationship) is processed split: each part on a copy of the state, a failing part "
        "halved down to single messages, which are quarantined as batch_failed with the error; the rest lands.",
        required=True,
        default_value="3",
        validators=[StandardValidators.POSITIVE_INTEGER_VALIDATOR],
    )

    PROPERTIES = [
        TIMEOUT,
        GRACE,
        RETENTION,
        MAX_ENTRIES,
        TIMER_LEAD,
        TIMER_LAG,
        CHANNELS,
        SCHEMA_FILE,
        STATE_SCOPE,
        STATE_DIR,
        SPLIT_AFTER,
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__()
        self._settings = None
        self._store = None  # JournalStore, open (and locked) while the processor is scheduled
        self._state = None  # IngestState as of the last durable save; None: reload from the store
        self._failures = FailedAttempts()
        self.clock = time.time  # replaceable in tests

    def getPropertyDescriptors(self):
        return self.PROPERTIES

    def getRelationships(self):
        return [
            Relationship(
                REL_SUCCESS,
                "Dated sections of viewing_events, sessions and quarantine records (for PutHdfsPartitioned).",
            )
        ]

    def onScheduled(self, context) -> None:
        self._settings = self._read_settings(context)
        self._close_store()
        self._open_state(context)

    def onStopped(self, context) -> None:
        self._close_store()

    def _close_store(self) -> None:
        self._state = None
        if self._store is not None:
            self._store.close()
            self._store = None

    def _open_state(self, context) -> None:
        """Open (and lock) the journal store and rebuild the state from it.

        NiFi component state holds one small value, the journal's directory. When the State Directory changes
        (a new setting, or a flow upgrade that fills it in), the journal is moved from the recorded directory
        instead of starting empty. An empty store takes over the NiFi component state of versions before 0.4.0,
        once: saved as a first snapshot, then replaced by the directory value."""
        settings = self._settings
        scope = settings["scope"]
        directory = os.path.join(settings["state_dir"], getattr(self, "identifier", None) or "default")
        state_manager = context.getStateManager()
        stored = dict(state_manager.getState(scope).toMap() or {})
        recorded = stored.pop(JOURNAL_DIR_KEY, None)
        if self._store is None:
            if recorded and os.path.abspath(recorded) != directory:
                self._adopt_journal(recorded, directory)
            self._store = JournalStore(directory)
        state = IngestState.from_store(self._store, settings["config"], settings["validator"])
        if state.is_empty() and stored:
            state = IngestState.from_state_map(stored, settings["config"], settings["validator"])
            state.save(self._store, full=True)
            if self.logger is not None:
                self.logger.info(f"moved the pairing state from NiFi component state to {directory}")
        if stored or recorded != directory:
            state_manager.setState({JOURNAL_DIR_KEY: directory}, scope)
        self._state = state

    def _adopt_journal(self, old: str, new: str) -> None:
        """Move the snapshot and journal files of ``old`` (where this processor's state was) to ``new``."""
        files = [f for f in os.listdir(old) if f.startswith(("snapshot-", "journal-"))] if os.path.isdir(old) else []
        if not files:
            return
        if os.path.isdir(new) and any(
            f.startswith(("snapshot-", "journal-")) and os.path.getsize(os.path.join(new, f)) > len(JOURNAL_MAGIC)
            for f in os.listdir(new)
        ):
            raise RuntimeError(f"pairing state found both in {old} and in {new}: keep one of them, delete the other")
        os.makedirs(new, exist_ok=True)
        for f in files:
            shutil.move(os.path.join(old, f), os.path.join(new, f))
        if self.logger is not None:
            self.logger.info(f"moved the pairing journal from {old} to {new} (State Directory changed)")

    def _read_settings(self, context) -> dict:
        catalog_spec = (context.getProperty(self.CHANNELS).getValue() or "").strip()
        if catalog_spec and os.path.isfile(catalog_spec):
            channels = load_channel_catalog_file(catalog_spec)
        else:
            channels = parse_channel_catalog(catalog_spec)
        config = PairerConfig(
            timeout_s=int(context.getProperty(self.TIMEOUT).asTimePeriod(TimeUnit.SECONDS)),
            grace_s=float(context.getProperty(self.GRACE).asTimePeriod(TimeUnit.SECONDS)),
            retention_s=int(context.getProperty(self.RETENTION).asTimePeriod(TimeUnit.SECONDS)),
            max_entries=int(context.getProperty(self.MAX_ENTRIES).asInteger()),
            channels=channels,
            max_timer_lead_s=int(context.getProperty(self.TIMER_LEAD).asTimePeriod(TimeUnit.SECONDS)),
            max_timer_lag_s=int(context.getProperty(self.TIMER_LAG).asTimePeriod(TimeUnit.SECONDS)),
        )
        schema_file = context.getProperty(self.SCHEMA_FILE).getValue()
        scope_name = context.getProperty(self.STATE_SCOPE).getValue() or "LOCAL"
        return {
            "config": config,
            "validator": load_schema_validator(schema_file) if schema_file else default_schema_validator(),
            "scope": Scope.CLUSTER if scope_name == "CLUSTER" else Scope.LOCAL,
            "state_dir": os.path.abspath(context.getProperty(self.STATE_DIR).getValue() or "./state/iptv-pairing"),
            "split_after": int(context.getProperty(self.SPLIT_AFTER).asInteger() or 3),
        }

    def transform(self, context, flowfile):
        t0 = time.monotonic()
        if self._settings is None:
            self._settings = self._read_settings(context)
        state, self._state = self._state, None  # dropped if this invocation fails half-way: reloaded next time
        if state is None:
            self._open_state(context)
            state, self._state = self._state, None
        input_id = flowfile.getAttribute("uuid") or ""
        tick = (flowfile.getAttribute("iptv.tick") or "") == "true"
        t1 = time.monotonic()
        content = flowfile.getContentsAsBytes() if flowfile.getSize() else b""
        t2 = time.monotonic()
        try:
            result = state.process(input_id, content or b"", now=self.clock(), tick=tick)
            t3 = time.monotonic()
            if not result.replayed:
                # Durable before NiFi commits the output: a crash in between makes NiFi hand this FlowFile over
                # again, and the stored output is then returned as is (IngestState.process).
                state.save(self._store)
        except Exception as exc:
            # Not one message's content (those are quarantined inside process): a bug, or the state directory
            # failing. The half-changed state is dropped (reloaded from the journal on the next call).
            attempts = self._failures.record(input_id)
            split_after = self._settings["split_after"]
            if attempts < split_after:
                if self.logger is not None:
                    self.logger.warn(
                        f"batch {input_id} failed (attempt {attempts}; split from attempt {split_after}): "
                        f"{describe_error(exc)}"
                    )
                raise
            if self.logger is not None:
                self.logger.error(f"batch {input_id} failed {attempts} times, splitting it: {describe_error(exc)}")
            self._open_state(context)
            state, self._state = self._state, None
            result = state.process_isolating(input_id, content or b"", now=self.clock(), error=describe_error(exc))
            t3 = time.monotonic()
            if not result.replayed:
                state.save(self._store)
        self._failures.forget(input_id)
        self._state = state
        if result.replayed and self.logger is not None:
            self.logger.info(f"replaying the stored output of FlowFile {input_id} (processed before a restart)")
        counters = result.counters or {}
        quarantined = sum((counters.get("quarantined") or {}).values())
        attributes = {
            "mime.type": "application/gzip" if result.content else "text/plain",
            **{f"iptv.{kind}.count": str(result.counts.get(kind, 0)) for kind in KINDS},
            "iptv.redelivered.skipped": str(result.skipped_redelivered),
            "iptv.duplicates.dropped": str(counters.get("duplicates_dropped", 0)),
            "iptv.replayed": "true" if result.replayed else "false",
            "iptv.split": "true" if result.isolated else "false",
            # where the time went (ms): state reload (after a failure only), content read, pairing, state save
            "iptv.pair.timing": f"load={(t1 - t0) * 1000:.0f} read={(t2 - t1) * 1000:.0f} "
            f"pair={(t3 - t2) * 1000:.0f} save={(time.monotonic() - t3) * 1000:.0f}",
        }
        if self.logger is not None and (quarantined or result.skipped_redelivered):
            self.logger.debug(
                f"{counters.get('events_in', 0)} events: {result.counts}, {result.skipped_redelivered} redelivered"
            )
        return FlowFileTransformResult(relationship=REL_SUCCESS, attributes=attributes, contents=result.content)

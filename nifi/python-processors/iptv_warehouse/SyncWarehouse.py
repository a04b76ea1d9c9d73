"""NiFi 2 Python processor: keep Hive and the Greenplum warehouse in step with the data lake (issue #5).

A FlowFileSource run on a timer (one task, primary node). The flow runs two of them: SyncWarehouse (Sync Targets
"warehouse", every 5 s) and SyncHive ("hive", every 30 s), each with its own state, so that the warehouse never
waits for Hive's Spark jobs. Each run lists the dt= directories of viewing_events, sessions, quarantine and the
guide and the catalogs on HDFS (WebHDFS LISTSTATUS; a directory whose modification time has not moved since the
processor last listed it is not listed again), compares their fingerprints with the sync state kept in NiFi's
StateManager, and for every changed date: the warehouse target appends the date's new session files to Greenplum
(the warehouse's ledger of loaded files says which are new; their sessions added to the marts of the dates they
reach), loads a changed guide and counts a changed quarantine; the Hive target registers the Hive partitions
and recomputes the Hive aggregates of the date and the next one (see ``iptv/lake_sync.py``, which does all the
work). "Triggered by data arrival" thus means: new
files in the lake are synced within one timer period, whoever wrote them (the ingestion flow, the producer's
backfill, an operator); a late file for an old date re-syncs that date.

Why a timer-driven source rather than a transform fed by the landing processor: the lake is the source of truth
(files also arrive outside the flow), a listing of the lake is cheap, one run batches every date that changed
since the last run, and a failed date (engine down) is simply retried by the next run without FlowFiles to
park. The state is saved after every run, including partial progress.

Output: one small JSON FlowFile per run that did something (dates synced, rows, errors) to ``success``, or to
``failure`` when some date failed (it stays changed and is retried); nothing when idle.

The project's ``iptv`` package is imported from the "Project Root" directory (default: the repository this file
is in); the configuration file is a property too (environment overrides ``IPTV__...`` still apply).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from nifiapi.componentstate import Scope
from nifiapi.flowfilesource import FlowFileSource, FlowFileSourceResult
from nifiapi.properties import PropertyDescriptor, StandardValidators
from nifiapi.relationship import Relationship

DEFAULT_ROOT = str(Path(__file__).resolve().parents[3])
REL_SUCCESS = "success"
REL_FAILURE = "failure"


class SyncWarehouse(FlowFileSource):
    class Java:
        implements = ["org.apache.nifi.python.processor.FlowFileSource"]

    class ProcessorDetails:
        version = "0.4.0"
        description = (
            "Syncs the IPTV data lake into Hive and the Greenplum warehouse: for every dt= partition whose files "
            "changed since the last run, registers the Hive partitions, loads the new session files into "
            "Greenplum (marts recomputed) and recomputes the Hive aggregates of the date and the next one. Run it on a "
            "timer; state (fingerprints of synced directories) in the LOCAL state. Emits a JSON summary per run "
            "that did something."
        )
        tags = ["iptv", "hive", "greenplum", "postgresql", "hdfs", "warehouse", "sync"]
        dependencies = [
            "PyHive==0.7.0",
            "thrift>=0.16",
            "thrift-sasl>=0.4.3",
            "pure-sasl>=0.6.2",
            "psycopg2-binary>=2.9",
            "hdfs>=2.7",
            "PyYAML>=6.0",
            "requests>=2.28",
        ]

    PROJECT_ROOT = PropertyDescriptor(
        name="Project Root",
        description="Directory of the IPTV repository (holds the iptv package, hive/ and greenplum/ SQL).",
        required=True,
        default_value=DEFAULT_ROOT,
        validators=[StandardValidators.NON_EMPTY_VALIDATOR],
    )
    CONFIG_FILE = PropertyDescriptor(
        name="Config File",
        description="IPTV configuration file; relative to the project root. Empty: config/local.yaml there "
        "(or $IPTV_CONFIG). Environment overrides IPTV__<SECTION>__<KEY> apply.",
        required=False,
    )
    TARGETS = PropertyDescriptor(
        name="Sync Targets",
        description="What a run updates: the Greenplum warehouse (facts, guide, quarantine counts, dimensions and "
        "their marts), Hive (partitions and Hive marts), or both. Two processors, one per target, let the "
        "warehouse sync every few seconds while Hive's Spark jobs run on their own schedule.",
        required=True,
        default_value="warehouse,hive",
        allowable_values=["warehouse,hive", "warehouse", "hive"],
    )
    SCHEMA = PropertyDescriptor(
        name="Warehouse Schema",
        description="Greenplum/PostgreSQL schema of the warehouse.",
        required=True,
        default_value="iptv_dw",
        validators=[StandardValidators.NON_EMPTY_VALIDATOR],
    )

    PROPERTIES = [PROJECT_ROOT, CONFIG_FILE, SCHEMA, TARGETS]

    def __init__(self, **kwargs) -> None:
        super().__init__()
        self.cfg = None
        self.schema = "iptv_dw"
        self.targets: tuple[str, ...] = ("warehouse", "hive")
        self.unsaved: dict[str, str] | None = None
        self.listing_cache = None  # fingerprints of unchanged directories, kept while the processor runs

    def getPropertyDescriptors(self):
        return self.PROPERTIES

    def getRelationships(self):
        return [
            Relationship(REL_SUCCESS, "JSON summary of a run that synced something."),
            Relationship(REL_FAILURE, "JSON summary of a run where some date failed (it is retried next run)."),
        ]

    def onScheduled(self, context) -> None:
        root = Path(context.getProperty(self.PROJECT_ROOT).getValue() or DEFAULT_ROOT)
        # NiFi's Python bridge runs this processor in a virtualenv of its own, built from the processor's declared
        # dependencies, where the project is not installed: the iptv package can only come from the checkout.
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
        from iptv.config import load_config

        config_file = context.getProperty(self.CONFIG_FILE).getValue()
        path = None
        if config_file:
            path = Path(config_file)
            if not path.is_absolute():
                path = root / path
        self.cfg = load_config(path)
        self.schema = context.getProperty(self.SCHEMA).getValue() or "iptv_dw"
        self.targets = tuple((context.getProperty(self.TARGETS).getValue() or "warehouse,hive").split(","))
        from iptv.lake_state import ListingCache

        self.listing_cache = ListingCache()

    def create(self, context):
        if self.cfg is None:
            self.onScheduled(context)
        from iptv import lake_sync

        state_manager = context.getStateManager()
        if self.unsaved is not None:
            state = self.unsaved  # the last run could not save its state: go on from it
        else:
            state = dict(state_manager.getState(Scope.LOCAL).toMap())
        res, new_state = lake_sync.sync(
            self.cfg, state, schema=self.schema, cache=self.listing_cache, targets=self.targets
        )
        retrying = self.unsaved is not None
        if new_state != state or retrying:
            try:
                state_manager.setState(new_state, Scope.LOCAL)
                self.unsaved = None
            except Exception as exc:  # noqa: BLE001 - e.g. NiFi's local state journal failing
                # Keep it in memory and retry saving next run; if NiFi restarts first, the lost dates are
                # simply synced again (every step is idempotent).
                self.unsaved = new_state
                message = f"NiFi state not saved (kept in memory, retried next run): {str(exc)[:200]}"
                if not res.idle or not retrying:
                    res.errors.append(message)
                elif self.logger is not None:  # an idle run that still cannot save: log, emit nothing
                    self.logger.warn(message)
        if res.idle:
            return None
        if self.logger is not None:
            if res.errors:
                self.logger.warn(f"{res.summary()}; first error: {res.errors[0]}")
            else:
                self.logger.info(res.summary())
        body = json.dumps({**res.to_dict(), "synced_keys": len(new_state)}, indent=1).encode("utf-8")
        attributes = {
            "mime.type": "application/json",
            "iptv.sync.dates": ",".join(res.dates),
            "iptv.sync.rows.loaded": str(res.rows_loaded),
            "iptv.sync.rows.rejected": str(res.rows_rejected),
            "iptv.sync.errors": str(len(res.errors)),
        }
        return FlowFileSourceResult(
            relationship=REL_FAILURE if res.errors else REL_SUCCESS, attributes=attributes, contents=body
        )

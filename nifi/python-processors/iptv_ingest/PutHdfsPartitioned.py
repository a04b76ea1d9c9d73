"""NiFi 2 Python processor: land the dated sections of ``PairViewingEvents`` on HDFS (WebHDFS), idempotently.

Each section (viewing_events, sessions, quarantine, ingest_batches: the batch's accounting; one per date) is written to
``<directory>/dt=<date>/part-<uuid>.csv`` where ``uuid`` is the FlowFile's: a retry, or a replay after a restart,
overwrites the same file. Writes go to a hidden temporary name first and are renamed into place. Failures (HDFS
down, ...) route the FlowFile to ``retry`` (connect it back to this processor) after a short pause. See
hdfs_sections.py and docs/ingestion.md.
"""

from __future__ import annotations

import time

from nifiapi.flowfiletransform import FlowFileTransform, FlowFileTransformResult
from nifiapi.properties import PropertyDescriptor, StandardValidators, TimeUnit
from nifiapi.relationship import Relationship

try:
    from iptv_ingest.hdfs_sections import WebHdfs, write_sections
except ImportError:  # NiFi loads sibling modules as top-level modules
    from hdfs_sections import WebHdfs, write_sections

REL_SUCCESS = "success"
REL_RETRY = "retry"


class PutHdfsPartitioned(FlowFileTransform):
    class Java:
        implements = ["org.apache.nifi.python.processor.FlowFileTransform"]

    class ProcessorDetails:
        version = "0.6.0"
        description = (
            "Writes the dated CSV sections of PairViewingEvents (viewing_events, sessions, quarantine, ingest_batches) "
            "to HDFS over "
            "WebHDFS under <directory>/dt=<date>/part-<flowfile uuid>.csv (temporary name + rename; a retry "
            "overwrites). HDFS failures go to 'retry'; content that is not valid sections is written as quarantine "
            "records (unreadable_output), since no retry could mend it."
        )
        tags = ["iptv", "hdfs", "webhdfs", "put", "partitioned", "csv"]
        dependencies = ["requests>=2.28"]

    WEBHDFS_URL = PropertyDescriptor(
        name="WebHDFS URL",
        description="NameNode HTTP address, e.g. http://namenode:9870.",
        required=True,
        validators=[StandardValidators.NON_EMPTY_VALIDATOR],
    )
    HDFS_USER = PropertyDescriptor(
        name="HDFS User",
        description="User name for WebHDFS simple authentication.",
        required=True,
        validators=[StandardValidators.NON_EMPTY_VALIDATOR],
    )
    VIEWING_EVENTS_DIR = PropertyDescriptor(
        name="Viewing Events Directory",
        description="Base directory of the viewing events (dt=<date of timer> below it).",
        required=True,
        validators=[StandardValidators.NON_EMPTY_VALIDATOR],
    )
    SESSIONS_DIR = PropertyDescriptor(
        name="Sessions Directory",
        description="Base directory of sessions (dt=<date of time_start> below it).",
        required=True,
        validators=[StandardValidators.NON_EMPTY_VALIDATOR],
    )
    QUARANTINE_DIR = PropertyDescriptor(
        name="Quarantine Directory",
        description="Base directory of quarantine records (dt=<arrival date> below it).",
        required=True,
        validators=[StandardValidators.NON_EMPTY_VALIDATOR],
    )
    INGEST_BATCHES_DIR = PropertyDescriptor(
        name="Ingest Batches Directory",
        description="Base directory of the batches' accounting, ingest_batches (dt=<arrival date> below it).",
        required=True,
        validators=[StandardValidators.NON_EMPTY_VALIDATOR],
    )
    TIMEOUT = PropertyDescriptor(
        name="Request Timeout",
        description="Timeout of each WebHDFS request.",
        required=True,
        default_value="30 sec",
        validators=[StandardValidators.TIME_PERIOD_VALIDATOR],
    )
    RETRY_PAUSE = PropertyDescriptor(
        name="Retry Pause",
        description="Pause before a failed FlowFile is routed to 'retry' (keeps a retry loop from spinning).",
        required=True,
        default_value="2 sec",
        validators=[StandardValidators.TIME_PERIOD_VALIDATOR],
    )

    PROPERTIES = [
        WEBHDFS_URL,
        HDFS_USER,
        VIEWING_EVENTS_DIR,
        SESSIONS_DIR,
        QUARANTINE_DIR,
        INGEST_BATCHES_DIR,
        TIMEOUT,
        RETRY_PAUSE,
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__()
        self.fs = None
        self.bases: dict[str, str] = {}
        self.pause = 2.0

    def getPropertyDescriptors(self):
        return self.PROPERTIES

    def getRelationships(self):
        return [
            Relationship(REL_SUCCESS, "Written to HDFS."),
            Relationship(REL_RETRY, "Could not be written (yet); loop it back to this processor."),
        ]

    def onScheduled(self, context) -> None:
        timeout = float(context.getProperty(self.TIMEOUT).asTimePeriod(TimeUnit.MILLISECONDS)) / 1000.0
        self.fs = WebHdfs(
            context.getProperty(self.WEBHDFS_URL).getValue(),
            context.getProperty(self.HDFS_USER).getValue(),
            timeout=timeout,
        )
        # Section kind (= dataset name, schemas/datasets.json) -> its directory.
        self.bases = {
            "viewing_events": context.getProperty(self.VIEWING_EVENTS_DIR).getValue(),
            "sessions": context.getProperty(self.SESSIONS_DIR).getValue(),
            "quarantine": context.getProperty(self.QUARANTINE_DIR).getValue(),
            "ingest_batches": context.getProperty(self.INGEST_BATCHES_DIR).getValue(),
        }
        self.pause = float(context.getProperty(self.RETRY_PAUSE).asTimePeriod(TimeUnit.MILLISECONDS)) / 1000.0

    def transform(self, context, flowfile):
        if self.fs is None:
            self.onScheduled(context)
        if not flowfile.getSize():
            return FlowFileTransformResult(relationship=REL_SUCCESS)
        name = flowfile.getAttribute("uuid")
        try:
            counts = write_sections(self.fs, self.bases, name, flowfile.getContentsAsBytes())
        except Exception as exc:  # noqa: BLE001 - any failure is retried
            if self.logger is not None:
                self.logger.warn(f"HDFS write of {name} failed, will retry: {exc}")
            time.sleep(self.pause)
            return FlowFileTransformResult(relationship=REL_RETRY, attributes={"iptv.hdfs.error": str(exc)[:500]})
        attributes = {f"iptv.hdfs.{k}.written": str(v) for k, v in counts.items()}
        return FlowFileTransformResult(relationship=REL_SUCCESS, attributes=attributes)

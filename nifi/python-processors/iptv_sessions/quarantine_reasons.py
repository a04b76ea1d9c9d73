"""Why a message is quarantined: the reason written in the first column of a quarantine record
(docs/session-pairing.md). Stdlib only, no imports."""

INVALID_JSON = "invalid_json"
INVALID_SCHEMA = "invalid_schema"
UNKNOWN_CHANNEL = "unknown_channel"
CONFLICTING_PAIR = "conflicting_pair"
END_BEFORE_START = "end_before_start"
CONFLICTING_DUPLICATE = "conflicting_duplicate"
UNMATCHED_START = "unmatched_start"
UNMATCHED_END = "unmatched_end"
#: A message longer than event_contract.MAX_MESSAGE_CHARS (not parsed; a misbehaving or hostile client).
OVERSIZED_MESSAGE = "oversized_message"
#: A valid event whose Kafka key is null or not its session_id (the producer's partitioning is broken).
INVALID_KEY = "invalid_key"
#: A valid event whose timer is far from its Kafka record's timestamp (a device clock that is off).
IMPLAUSIBLE_TIMER = "implausible_timer"
#: An exception while pairing one message that its validation did not foresee: the message is quarantined with
#: the error instead of failing its whole batch (and the batch's valid events with it).
PROCESSING_ERROR = "processing_error"
#: A consumer batch line of neither format (``<partition>\t<offset>@<timestamp>\t<key>\t<message>`` or the first,
#: ``<partition>\t<offset>\t<message>``; see flowfile_formats.read_batch).
MALFORMED_BATCH_LINE = "malformed_batch_line"
#: A message of a batch that kept failing for a reason outside any one message's validation, isolated by
#: splitting the batch (ingestion.IngestState.process_isolating); the detail holds the error.
BATCH_FAILED = "batch_failed"
#: Reasons given by the pairing rules (docs/session-pairing.md).
RULE_REASONS = (
    INVALID_JSON,
    INVALID_SCHEMA,
    OVERSIZED_MESSAGE,
    INVALID_KEY,
    IMPLAUSIBLE_TIMER,
    UNKNOWN_CHANNEL,
    CONFLICTING_PAIR,
    END_BEFORE_START,
    CONFLICTING_DUPLICATE,
    UNMATCHED_START,
    UNMATCHED_END,
)
#: Reasons given by the guards that keep one bad message from failing its batch.
GUARD_REASONS = (PROCESSING_ERROR, MALFORMED_BATCH_LINE, BATCH_FAILED)
REASONS = RULE_REASONS + GUARD_REASONS

"""The pairer's fast path: one regular expression that reads a message in the producer's canonical shape without
``json`` and the schema validator, and the digest of the schema rules it was written for (stdlib only).

A message that does not match is not invalid, it just takes the full path (event_contract.validate_message), which also
names the reason. The fast path must change nothing observable (tests/unit/test_pairing_fast_path.py).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

try:  # package import (tests)
    from iptv_sessions.event_contract import parse_timer
except ImportError:  # NiFi loads sibling modules as top-level modules. Names, not modules, are imported: NiFi
    # retries a sibling whose first load failed but leaves that half-run module in sys.modules, and a name missing
    # from it makes NiFi retry this module too, instead of keeping a reference to the half-run one.
    from event_contract import parse_timer

_ID = r"[1-9][0-9]{0,17}"  # <= 18 digits: always <= 2^63-1
DAY_PATTERN = r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"


def canonical_event_pattern(session_id: str, day: str, clock: str) -> str:
    """The canonical message shape as a pattern, with the caller's groups for the session id, the day and the
    clock time (so that the batch expression of batch_fast_path.py matches exactly what this one does)."""
    return (
        r'\{"session_id": ?"' + session_id + r'", ?'
        r'"user_id": ?(' + _ID + r"), ?"
        r'"channel_id": ?(' + _ID + r"), ?"
        r'"timer": ?"' + day + " " + clock + r'", ?'
        r'"status": ?"(enabled|disabled)"\}'
    )


#: Full match of the producer's canonical message shape (fixed key order, compact or ``json.dumps`` spacing),
#: accepting exactly the values the project schema *and* event_contract.check_event accept (the date's reality is
#: checked separately, see :func:`midnight`). Groups: session_id, user_id, channel_id, day, hour, minute,
#: second, status. Only used when validation is the project's own contract (see ``canonical_fast_path`` in
#: schema_validation.load_schema_validator).
match_canonical_event = re.compile(
    canonical_event_pattern(r"([0-9a-f]{32})", "(" + DAY_PATTERN + ")", r"([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9])")
).fullmatch

#: sha256 of the validation keywords of schemas/viewing_event.schema.json (titles, descriptions and ids left
#: out, see :func:`schema_rules_digest`): the schema the expression above was written for. A changed schema
#: disables the fast path (correct, only slower) until the expression is reviewed and this digest updated.
CANONICAL_SCHEMA_DIGEST = "c06660400ce25408bfedec88a80346d6da244a30cd2a6d699c1fefdfadd80b9c"
_ANNOTATION_KEYWORDS = frozenset({"$schema", "$id", "$comment", "title", "description", "examples"})


def _schema_rules(node: Any, in_properties: bool = False) -> Any:
    if isinstance(node, dict):
        return {
            k: _schema_rules(v, k == "properties")
            for k, v in node.items()
            if in_properties or k not in _ANNOTATION_KEYWORDS
        }
    if isinstance(node, list):
        return [_schema_rules(v) for v in node]
    return node


def schema_rules_digest(schema: dict) -> str:
    """sha256 of a JSON Schema's validation keywords (annotations left out), to compare with
    :data:`CANONICAL_SCHEMA_DIGEST`."""
    text = json.dumps(_schema_rules(schema), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def midnight(day: str) -> int:
    """Epoch seconds of ``YYYY-MM-DD`` 00:00:00 UTC, or -1 when it is not a real date."""
    try:
        return parse_timer(day + " 00:00:00")
    except ValueError:
        return -1

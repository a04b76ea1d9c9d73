"""Validators built from the JSON Schema of the viewing events (schemas/viewing_event.schema.json): jsonschema
names the error, fastjsonschema (when importable) accepts valid events about 50 times faster. Both packages are
optional: without them event_contract.check_event stands alone."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

try:  # package import (tests)
    from iptv_sessions.fast_path import CANONICAL_SCHEMA_DIGEST, schema_rules_digest
except ImportError:  # NiFi loads sibling modules as top-level modules. Names, not modules, are imported: NiFi
    # retries a sibling whose first load failed but leaves that half-run module in sys.modules, and a name missing
    # from it makes NiFi retry this module too, instead of keeping a reference to the half-run one.
    from fast_path import CANONICAL_SCHEMA_DIGEST, schema_rules_digest


def load_schema_validator(schema_path: str | None) -> Callable[[Any], str | None] | None:
    """A callable(obj) -> error message or None from a JSON Schema file, or None when there is no schema file
    or the ``jsonschema`` package is not importable (the hand check then stands alone).

    The callable's ``canonical_fast_path`` attribute says whether the schema's rules are the ones the pairer's
    fast path was written for (fast_path.CANONICAL_SCHEMA_DIGEST)."""
    if not schema_path:
        return None
    try:
        import jsonschema
    except ImportError:
        return None
    with open(schema_path, encoding="utf-8") as fh:
        schema = json.load(fh)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)
    fast = _compile_fast_validator(schema)

    def _validate(obj: Any) -> str | None:
        if fast is not None and fast(obj):
            return None  # valid per the compiled schema; jsonschema only explains rejections
        error = jsonschema.exceptions.best_match(validator.iter_errors(obj))
        if error is None:
            return None
        where = "/".join(str(p) for p in error.absolute_path)
        return f"{where}: {error.message}" if where else error.message

    digest = schema_rules_digest(schema)
    _validate.canonical_fast_path = digest == CANONICAL_SCHEMA_DIGEST  # type: ignore[attr-defined]
    return _validate


#: Keywords whose meaning is the same in draft-07 (fastjsonschema's newest draft) and draft 2020-12.
_DRAFT7_SAFE_KEYWORDS = frozenset(
    "$schema $id title description type properties required additionalProperties pattern enum minimum maximum "
    "minLength maxLength const".split()
)


def _schema_keywords(node: Any) -> set[str]:
    keys: set[str] = set()
    if isinstance(node, dict):
        for k, v in node.items():
            keys.add(k)
            if k == "properties" and isinstance(v, dict):
                for sub in v.values():
                    keys |= _schema_keywords(sub)
            elif isinstance(v, dict) and k not in ("enum", "const"):
                keys |= _schema_keywords(v)
    return keys


def _compile_fast_validator(schema: dict) -> Callable[[Any], bool] | None:
    """A compiled is-valid check (``fastjsonschema``, ~50x faster than jsonschema's iter_errors) when the package is
    importable and the schema only uses keywords that mean the same in draft-07; else None."""
    try:
        import fastjsonschema
    except ImportError:
        return None
    if not _schema_keywords(schema) <= _DRAFT7_SAFE_KEYWORDS:
        return None
    draft7 = {**schema, "$schema": "http://json-schema.org/draft-07/schema#"}
    try:
        check = fastjsonschema.compile(draft7)
    except Exception:  # noqa: BLE001 - fall back to jsonschema alone
        return None

    def is_valid(obj: Any) -> bool:
        try:
            check(obj)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    return is_valid


# schemas/viewing_event.schema.json of the repository, when this module runs from the repository layout.
DEFAULT_SCHEMA_PATH = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
    "schemas",
    "viewing_event.schema.json",
)


def default_schema_validator() -> Callable[[Any], str | None] | None:
    """Validator for the project's event schema file if it exists here and jsonschema is importable, else None."""
    return load_schema_validator(DEFAULT_SCHEMA_PATH) if os.path.isfile(DEFAULT_SCHEMA_PATH) else None

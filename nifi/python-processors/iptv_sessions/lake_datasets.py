"""The lake's dataset definition, ``schemas/datasets.json``, as the pairer reads it (stdlib only).

The processors cannot import the ``iptv`` package, whose :mod:`iptv.datasets` reads the same file for the rest of
the project (tests/unit/test_datasets.py checks that both readers agree). The pairer takes from it the names of
the datasets it writes (its section kinds) and their column order; :func:`require_columns` lets the code that
writes a dataset with fixed f-strings (for speed) check at import that it writes the definition's columns, so a
changed definition fails loudly instead of landing wrong columns.

The file is looked for beside the processor packages (``<python extensions dir>/datasets.json``, where a cluster
deployment copies it together with ``nifi/python-processors/``), then in the repository layout
(``<repository>/schemas/datasets.json``).
"""

from __future__ import annotations

import json
import os

_HERE = os.path.dirname(os.path.abspath(__file__))
#: Where the definition is looked for, in order (see the module doc).
DEFINITION_PATHS = (
    os.path.join(os.path.dirname(_HERE), "datasets.json"),
    os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(_HERE))), "schemas", "datasets.json"),
)


def definition_path() -> str:
    """The first existing file of :data:`DEFINITION_PATHS`; FileNotFoundError naming them all otherwise."""
    for path in DEFINITION_PATHS:
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(
        "dataset definition datasets.json not found (copy schemas/datasets.json of the repository beside the "
        "processor packages): looked for " + ", ".join(DEFINITION_PATHS)
    )


def load(path: str | None = None) -> dict[str, dict]:
    """The datasets of the definition, by name, as in the file (``columns``, ``partition``, ``csv``, ...)."""
    with open(path or definition_path(), encoding="utf-8") as fh:
        return {d["name"]: d for d in json.load(fh)["datasets"]}


DATASETS = load()


def column_names(name: str) -> tuple[str, ...]:
    """The columns of dataset ``name`` in file order; KeyError naming the known datasets if there is none."""
    try:
        dataset = DATASETS[name]
    except KeyError:
        raise KeyError(f"no dataset {name!r} in {definition_path()} (known: {', '.join(DATASETS)})") from None
    return tuple(c["name"] for c in dataset["columns"])


def require_columns(name: str, written: tuple[str, ...], where: str) -> tuple[str, ...]:
    """Check that ``where`` writes dataset ``name`` with the definition's columns, in order; returns them.
    Raises ImportError (this runs at import) naming both orders otherwise."""
    columns = column_names(name)
    if tuple(written) != columns:
        raise ImportError(
            f"{where} writes {name} as {','.join(written)} but the dataset definition ({definition_path()}) "
            f"says {','.join(columns)}: change the code with the definition"
        )
    return columns

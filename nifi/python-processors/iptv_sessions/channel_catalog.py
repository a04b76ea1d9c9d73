"""The channel catalog of the pairer's unknown-channel check: the ids of the channels that exist, from a
property value (``"1,2,5-9"``) or a CSV file (stdlib only, no imports)."""

from __future__ import annotations


def parse_channel_catalog(spec: str | None) -> frozenset[int] | None:
    """``"1,2,5-9"`` -> {1,2,5,6,7,8,9}; None/blank -> None (no check)."""
    if spec is None or not spec.strip():
        return None
    ids: set[int] = set()
    for part in spec.replace("\n", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            lo, hi = (int(x) for x in part.split("-", 1))
            if hi < lo or hi - lo > 1_000_000:
                raise ValueError(f"bad channel range {part!r}")
            ids.update(range(lo, hi + 1))
        else:
            ids.add(int(part))
    return frozenset(ids)


def load_channel_catalog_file(path: str) -> frozenset[int]:
    """Channel ids from a file: first comma-separated column of each line; a non-numeric first line (header)
    and blank lines are skipped."""
    ids: set[int] = set()
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            cell = line.split(",", 1)[0].strip()
            if not cell:
                continue
            try:
                ids.add(int(cell))
            except ValueError:
                if n == 0:
                    continue
                raise ValueError(f"{path}:{n + 1}: not a channel id: {cell!r}") from None
    return frozenset(ids)

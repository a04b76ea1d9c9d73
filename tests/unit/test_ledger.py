"""iptv.warehouse.ledger: which files of a date a load appends, and when it reloads the date whole."""

from __future__ import annotations

import pytest

from iptv.warehouse.ledger import FileVersion, plan

pytestmark = pytest.mark.unit

A = FileVersion("/s/dt=2026-03-02/part-a.csv", 100, 1_000)
B = FileVersion("/s/dt=2026-03-02/part-b.csv", 200, 2_000)
C = FileVersion("/s/dt=2026-03-02/part-c.csv", 300, 3_000)


def ledger(*files: FileVersion) -> dict[str, tuple[int, int]]:
    return {f.path: (f.length, f.mtime_ms) for f in files}


def test_new_files_are_appended():
    p = plan([C, A, B], ledger(A, B))
    assert p.appendable and not p.up_to_date and p.new == [C] and p.why_reload() == ""


def test_nothing_new_is_up_to_date():
    p = plan([B, A], ledger(A, B))
    assert p.up_to_date and p.new == []


@pytest.mark.parametrize(
    ("listed", "why"),
    [
        ([A, FileVersion(B.path, 201, 2_000)], "1 file(s) rewritten"),
        ([A, FileVersion(B.path, 200, 2_001), C], "1 file(s) rewritten"),
        ([A, C], "1 file(s) removed"),
        ([], "1 file(s) removed"),  # also the date's directory gone
    ],
)
def test_a_rewritten_or_removed_file_reloads_the_date(listed, why):
    p = plan(listed, ledger(A, B) if listed != [] else ledger(A))
    assert not p.appendable and p.why_reload() == why


def test_a_date_without_ledger_reloads_whole():
    """Also a date loaded before the ledger existed: its rows are replaced, not doubled."""
    p = plan([A], {})
    assert not p.appendable and p.new == [A] and p.why_reload() == "no ledger for the date"

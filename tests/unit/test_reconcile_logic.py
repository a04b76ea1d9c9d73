"""The reconciliation's comparisons (iptv/reconcile.py) on hand-made figures: a clean chain, and each kind of gap
named with where it is and how many. The same against the real engines: tests/integration/test_reconcile.py."""

from __future__ import annotations

import datetime as dt

import pytest

from iptv import reconcile as rc
from iptv_sessions import quarantine_reasons

pytestmark = pytest.mark.unit

D = dt.date(2025, 3, 5)


def acct(batch, partition, first, last, landed, rejected=0, duplicates=0, messages=None):
    n = landed + rejected + duplicates if messages is None else messages
    return rc.BatchAccount(batch, D, partition, first, last, n, landed, rejected, duplicates)


def clean_accounts():
    return [
        acct("b1", 0, 0, 9, landed=8, rejected=1, duplicates=1),
        acct("b2", 0, 10, 19, landed=10),
        acct("b1", 1, 0, 4, landed=5),
        acct("b1", rc.NO_PARTITION, None, None, landed=0, rejected=1),
    ]


def kafka(committed0=20, end0=20, committed1=5, end1=5):
    return [rc.PartitionOffsets(0, 0, end0, committed0), rc.PartitionOffsets(1, 0, end1, committed1)]


def kinds(report):
    return [(g.kind, g.subject, g.expected, g.found) for g in report.gaps]


def test_a_clean_chain_has_no_gap_and_its_figures():
    r = rc.reconcile_offsets(kafka(), clean_accounts())
    landed = {"b1": rc.BatchLanded(13, {"invalid_json": 2, "unknown_channel": 3}), "b2": rc.BatchLanded(10)}
    rc.reconcile_batches(clean_accounts(), landed, r)
    assert r.ok, r.gaps
    tot = r.totals()
    assert (tot["sent"], tot["accounted"], tot["landed"], tot["rejected"], tot["duplicates"]) == (25, 25, 23, 1, 1)
    assert rc.summary_line(r).startswith("reconcile: ok sent=25 accounted=25 landed=23")


def test_a_hole_in_the_offsets_is_named_with_its_range():
    accounts = [a for a in clean_accounts() if a.batch_id != "b2" or a.partition != 0]  # batch b2 never landed
    r = rc.reconcile_offsets(kafka(), accounts)
    assert kinds(r) == [(rc.OFFSETS_UNACCOUNTED, "partition 0", 10, 0)]
    assert "offsets 10-19 (10 messages) committed by the consumer group" in str(r.gaps[0])


def test_a_hole_between_batches_and_at_the_start():
    accounts = [acct("b1", 0, 3, 9, landed=7), acct("b2", 0, 12, 19, landed=8)]
    r = rc.reconcile_offsets([rc.PartitionOffsets(0, 0, 20, 20)], accounts)
    assert kinds(r) == [(rc.OFFSETS_UNACCOUNTED, "partition 0", 3, 0), (rc.OFFSETS_UNACCOUNTED, "partition 0", 2, 0)]
    assert "offsets 0-2" in r.gaps[0].detail and "offsets 10-11" in r.gaps[1].detail


def test_offsets_accounted_twice_are_a_gap():
    accounts = clean_accounts() + [acct("b3", 0, 15, 19, landed=5)]
    r = rc.reconcile_offsets(kafka(), accounts)
    assert kinds(r) == [(rc.OFFSETS_TWICE, "partition 0", 0, 5)]
    assert "offsets 15-19 accounted twice (again in batch b3)" in r.gaps[0].detail


def test_lag_is_named_not_consumed():
    r = rc.reconcile_offsets(kafka(committed0=20, end0=26), clean_accounts())
    assert kinds(r) == [(rc.OFFSETS_NOT_CONSUMED, "partition 0", 6, 0)]
    assert "offsets 20-25 (6 messages) in Kafka, not consumed yet" in r.gaps[0].detail


def test_offsets_deleted_by_retention_are_not_compared():
    r = rc.reconcile_offsets([rc.PartitionOffsets(0, 12, 20, 20)], clean_accounts()[:2])
    assert r.ok, r.gaps
    assert r.figures[("sent", "partition 0")] == (8, 8) and r.figures[("accounted", "partition 0")] == (8, 8)


def test_an_inconsistent_row_and_an_unknown_partition():
    bad = acct("b9", 0, 0, 9, landed=5, messages=10)
    r = rc.reconcile_offsets([rc.PartitionOffsets(0, 0, 10, 10)], [bad, acct("b9", 7, 0, 0, landed=1)])
    assert kinds(r) == [
        (rc.ACCOUNTING_INCONSISTENT, "batch b9 partition 0", 10, 5),
        (rc.OFFSETS_UNACCOUNTED, "partition 7", 0, 1),
    ]


def test_a_batch_missing_on_the_lake_is_named():
    landed = {"b1": rc.BatchLanded(13, {"invalid_json": 1, "malformed_batch_line": 1})}  # b2's file dropped
    r = rc.reconcile_batches(clean_accounts(), landed)
    assert kinds(r) == [(rc.EVENTS_MISSING, "batch b2", 10, 0)]
    assert "viewing_events part-b2.csv hold 0 events, the batch landed 10" in str(r.gaps[0])


def test_missing_quarantine_records_are_named():
    landed = {"b1": rc.BatchLanded(13, {"unmatched_start": 4}), "b2": rc.BatchLanded(10)}
    r = rc.reconcile_batches(clean_accounts(), landed)
    assert kinds(r) == [(rc.QUARANTINE_MISSING, "batch b1", 2, 0)]


def totals(**kw):
    base = dict(
        lake_sessions=100,
        fact_sessions=98,
        load_rejects=2,
        fact_watch_s=36000.0,
        mart_daily_sessions=98,
        mart_daily_watch_s=36000.0,
        mart_channel_sessions=98,
        mart_hourly_watch_s=35999.5,  # rounding of watch_minutes: within the tolerance
    )
    return rc.DateTotals(**{**base, **kw})


def test_dates_clean_and_each_mart_gap():
    assert rc.reconcile_dates({D: totals()}).ok
    r = rc.reconcile_dates({D: totals(fact_sessions=95)})
    assert kinds(r)[0] == (rc.SESSIONS_NOT_LOADED, "2025-03-05 fact_session", 100, 97)
    assert "+3 missing" in r.gaps[0].detail
    # fact_session lost 3 rows: the marts (computed before) no longer match it either
    assert [g.subject for g in r.gaps[1:]] == ["2025-03-05 mart_daily", "2025-03-05 mart_channel_daily"]
    r = rc.reconcile_dates({D: totals(mart_hourly_watch_s=30000.0, mart_daily_sessions=None)})
    assert kinds(r) == [
        (rc.MART_MISMATCH, "2025-03-05 mart_daily", 98, 0),
        (rc.MART_MISMATCH, "2025-03-05 mart_hourly", 36000.0, 30000.0),
    ]


def test_the_landed_event_reasons_are_pairing_rules_of_the_pairer():
    """Every reason the reconciliation counts as 'landed, then quarantined by a rule' is a pairing rule's reason;
    the guards' reasons (processing_error, malformed_batch_line, batch_failed) and the parse errors reject."""
    assert rc.LANDED_EVENT_REASONS <= set(quarantine_reasons.RULE_REASONS)
    rejecting = set(quarantine_reasons.REASONS) - rc.LANDED_EVENT_REASONS
    parse_errors = {"invalid_json", "invalid_schema", "oversized_message", "invalid_key", "implausible_timer"}
    assert rejecting == {*parse_errors, *quarantine_reasons.GUARD_REASONS}

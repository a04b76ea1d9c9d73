"""``python -m analytics score``: for every subscriber, the probability of viewing tomorrow and the risk of no
viewing in the next 7 days, from warehouse features only (analytics/subscribers.py), and the viewing segment
(analytics/segments.py); rows replace ``iptv_dw.subscriber_scores`` (loader role).

Models: LightGBM classifiers on the features of every cutoff day of the history. Evaluation is time-based: the
last TEST_CUTOFFS cutoffs with known outcomes are the test set, trained on the cutoffs whose outcome days end
before the first of them; scores (ROC-AUC, PR-AUC, Brier) on the subscribers who viewed in the feature
window, against the baseline "viewed yesterday" (for inactivity: "did not view yesterday"), go to
``scores.json``. The final models learn from every cutoff and score the day after the history.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import time
from typing import Any

import pandas as pd

from analytics import metrics
from analytics.subscribers import FEATURES, INACTIVE_DAYS, WINDOW, Activity
from iptv.config import Config

log = logging.getLogger(__name__)

TEST_CUTOFFS = 3
TARGETS = {"view_next": 1, "inactive_7d": INACTIVE_DAYS}  # outcome -> days after the cutoff it needs


def classifier(n_estimators: int = 200) -> Any:
    import lightgbm as lgb

    return lgb.LGBMClassifier(
        n_estimators=n_estimators, learning_rate=0.05, num_leaves=15, min_child_samples=50,
        subsample=0.8, subsample_freq=1, n_jobs=2, verbose=-1, random_state=0,
    )  # fmt: skip


def split_cutoffs(n_days: int, lead: int, n_test: int = TEST_CUTOFFS) -> tuple[list[int], list[int]]:
    """(training, test) cutoff indices for an outcome ``lead`` days ahead in a history of ``n_days`` days:
    the test set is the last ``n_test`` cutoffs with a known outcome (1 when that leaves no training cutoff);
    training cutoffs' outcome days end before the first test cutoff's outcome day, so no outcome day is in
    both."""
    labelled = list(range(WINDOW - 1, n_days - lead))
    for n in (n_test, 1):  # a short history keeps one test cutoff rather than none
        test = labelled[-n:]
        train = [c for c in labelled if c + lead < test[0] + 1] if test else []
        if train:
            return train, test
    return [], []


def evaluate(act: Activity, n_estimators: int = 200) -> dict[str, dict]:
    """Time-based evaluation of each outcome's model against its baseline."""
    out: dict[str, dict] = {}
    for target, lead in TARGETS.items():
        train_c, test_c = split_cutoffs(len(act.dates), lead)
        if not train_c or not test_c:
            out[target] = {"error": f"history too short: {len(act.dates)} days"}
            continue
        train, test = act.panel(train_c), act.panel(test_c)
        test = test[test["days_14"] > 0]
        model = classifier(n_estimators).fit(train[list(FEATURES)], train[target])
        p = model.predict_proba(test[list(FEATURES)])[:, 1]
        base = test["viewed_today"] if target == "view_next" else 1 - test["viewed_today"]
        out[target] = {
            "train_cutoffs": [act.dates[c].isoformat() for c in train_c],
            "test_cutoffs": [act.dates[c].isoformat() for c in test_c],
            "model": metrics.classifier_scores(test[target], p),
            "baseline": metrics.classifier_scores(test[target], base.astype(float)),
        }
    return out


def score(act: Activity, n_estimators: int = 200) -> pd.DataFrame:
    """Each signed-up subscriber's p_view_tomorrow and p_inactive_7d for the day after the history, from
    models trained on every cutoff with a known outcome."""
    last = len(act.dates) - 1
    now = act.features(last)[act.signed_up(last)]
    out = pd.DataFrame({"user_id": now["user_id"].to_numpy()})
    for target, lead in TARGETS.items():
        panel = act.panel(range(WINDOW - 1, len(act.dates) - lead))
        model = classifier(n_estimators).fit(panel[list(FEATURES)], panel[target])
        out[target] = model.predict_proba(now[list(FEATURES)])[:, 1]
    return out.rename(columns={"view_next": "p_view_tomorrow", "inactive_7d": "p_inactive_7d"})


def add_arguments(p: argparse.ArgumentParser) -> None:
    from analytics.db import add_history_arguments

    add_history_arguments(p, "subscriber_scores")
    p.add_argument("--segments", type=int, default=5, help="k-means segments (default %(default)s)")


def run(args: argparse.Namespace, cfg: Config) -> int:
    from tqdm import tqdm

    from analytics import db
    from analytics.segments import fit_segments

    t0 = time.monotonic()
    bar = tqdm(total=4, desc="score", disable=True if args.no_progress else None, leave=False)
    until, frames = db.read_history(cfg, args, ("user_channel_daily", "user_profile"), whole=("users",))
    if until is None:
        print("analytics score: fact_session is empty")
        return 1
    ucd, users, profile = frames["user_channel_daily"], frames["users"], frames["user_profile"]
    bar.update(1)
    first = until - dt.timedelta(days=args.days - 1)
    dates = [first + dt.timedelta(days=i) for i in range(args.days)]
    act = Activity(ucd, users, dates)
    if len(dates) < WINDOW + INACTIVE_DAYS + TEST_CUTOFFS:
        print(f"analytics score: {len(dates)} days of history; {WINDOW + INACTIVE_DAYS + TEST_CUTOFFS} needed")
        return 1
    trees = 60 if args.fast else 200
    evaluation = evaluate(act, trees)
    bar.update(1)
    scores = score(act, trees)
    bar.update(1)
    seg = fit_segments(profile, scores["user_id"], k=args.segments)
    scores["segment"] = scores["user_id"].map(seg.assignment)
    scores.insert(1, "scored_for", until + dt.timedelta(days=1))
    scores["created_at"] = dt.datetime.now().replace(microsecond=0)
    out = db.results_dir(args, cfg)
    report = {
        "history_until": until.isoformat(),
        "history_days": args.days,
        "subscribers": int(len(scores)),
        "evaluation": evaluation,
        "segments": {str(k): int(v) for k, v in seg.sizes.items()},
    }
    (out / "scores.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    if not args.no_write:
        db.replace_rows(cfg, args.schema, "subscriber_scores", "clear_scores", scores)
    bar.update(1)
    bar.close()
    print(summary(report, scores, time.monotonic() - t0, not args.no_write))
    return 0


def summary(report: dict, scores: pd.DataFrame, elapsed: float, wrote: bool) -> str:
    lines = [f"{'outcome':12} {'AUC':>6} {'base':>6} {'PR-AUC':>7} {'Brier':>6} {'rate':>6}"]
    for target, ev in report["evaluation"].items():
        if "error" in ev:
            lines.append(f"{target:12} {ev['error']}")
            continue
        m, b = ev["model"], ev["baseline"]
        lines.append(
            f"{target:12} {m['roc_auc']:6.3f} {b['roc_auc']:6.3f} {m['pr_auc']:7.3f} {m['brier']:6.3f} "
            f"{m['positive_rate']:6.3f}"
        )
    at_risk = int((scores["p_inactive_7d"] >= 0.5).sum())
    target = "subscriber_scores" if wrote else "(not written)"
    lines.append(
        f"{len(scores):,} subscribers scored for {scores['scored_for'].iloc[0]}, {at_risk:,} at risk (p >= 0.5), "
        f"{len(report['segments'])} segments -> {target} ({elapsed:.1f} s)"
    )
    return "\n".join(lines)

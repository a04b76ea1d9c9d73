"""Unit tests of how the deploy (iptv.nifi.layout) lays out the flows' process groups on the root canvas (plan_layout)
and renders the canvas labels (render_canvas_text), issue #17. No NiFi."""

from __future__ import annotations

import itertools

import pytest

from iptv.config import load_config
from iptv.nifi import flows, layout

pytestmark = pytest.mark.unit

G = layout.CanvasGroup
INGESTION, SYNC = flows.FLOWS["ingestion"].base_name, flows.FLOWS["warehouse-sync"].base_name


def _assert_no_overlap(plan: dict[str, tuple[float, float]]) -> None:
    for (a, pa), (b, pb) in itertools.combinations(plan.items(), 2):
        assert not layout.boxes_overlap(pa, pb), f"{a} at {pa} overlaps {b} at {pb}"


def test_flow_columns_follow_the_data_path():
    assert layout.flow_column(INGESTION) == (0, True)
    assert layout.flow_column(SYNC) == (1, True)
    assert layout.flow_column(f"{INGESTION} [test-1]") == (0, False)
    assert layout.flow_column(f"{SYNC} [b]") == (1, False)
    assert layout.flow_column("test-nifi-1234") == (None, True)
    assert layout.flow_column(INGESTION + " copy") == (None, True)


def test_fresh_canvas_lays_flows_out_left_to_right_without_overlap():
    plan = layout.plan_layout([G("s", SYNC, None, 1), G("i", INGESTION, None, 0)])
    assert plan == {"i": (0.0, 0.0), "s": (layout.GROUP_PITCH[0], 0.0)}
    assert plan["i"][0] + layout.GROUP_SIZE[0] < plan["s"][0]  # a visible gap between the boxes
    _assert_no_overlap(plan)


def test_groups_stacked_at_the_origin_by_old_deploys_are_spread_out():
    # what deploys before #17 left: every group at (0, 0), the ingestion one hiding the sync one
    groups = [G("s", SYNC, (0.0, 0.0), 1), G("i", INGESTION, (0.0, 0.0), 0)]
    plan = layout.plan_layout(groups)
    assert plan == {"i": (0.0, 0.0), "s": layout.slot(1, 0)}


def test_operator_position_is_kept_and_new_groups_avoid_it():
    # the operator dragged the sync group onto the cell where a later flow's group would go
    moved = (2 * layout.GROUP_PITCH[0] + 30.0, 40.0)
    groups = [G("i", INGESTION, (0.0, 0.0), 0), G("s", SYNC, moved, 1), G("n", "later flow", None, 2)]
    plan = layout.plan_layout(groups)
    assert plan["s"] == moved and plan["i"] == (0.0, 0.0)
    assert plan["n"] == layout.slot(2, 1)  # its row-0 cell is covered by the moved group: next free row
    _assert_no_overlap(plan)


def test_a_second_deploy_moves_nothing():
    groups = [G("i", INGESTION, None, 0), G("s", SYNC, None, 1), G("t", f"{INGESTION} [t]", None, 0, False)]
    first = layout.plan_layout(groups)
    again = layout.plan_layout([G(g.id, g.name, first[g.id], g.column, g.production) for g in groups])
    assert again == first
    assert first["t"] == layout.slot(0, 1)  # an instance goes below its flow's production group


def test_foreign_groups_stay_and_are_avoided():
    # a group made by hand (or by another test) at the origin: kept, and the ingestion group goes below it
    groups = [G("x", "hand-made", (10.0, 10.0)), G("i", INGESTION, None, 0)]
    plan = layout.plan_layout(groups)
    assert plan["x"] == (10.0, 10.0)
    assert plan["i"] == layout.slot(0, 1)
    _assert_no_overlap(plan)


def test_an_instance_on_a_free_cell_keeps_it_when_production_arrives():
    groups = [G("t", f"{INGESTION} [t]", (0.0, 0.0), 0, False), G("i", INGESTION, None, 0)]
    plan = layout.plan_layout(groups)
    assert plan == {"t": (0.0, 0.0), "i": layout.slot(0, 1)}  # nothing already placed is moved under the operator


def test_boxes_overlap_edges():
    w, h = layout.GROUP_SIZE
    assert layout.boxes_overlap((0, 0), (w - 1, h - 1))
    assert not layout.boxes_overlap((0, 0), (w, 0))  # touching edges share no area
    assert not layout.boxes_overlap((0, 0), (0, -h))


def test_labels_render_parameter_values_and_version():
    text = "Kafka #{kafka.topic} -> HDFS #{hdfs.sessions.path}\nVersion @FLOW_VERSION@"
    out = flows.render_canvas_text(text, {"kafka.topic": "t1", "hdfs.sessions.path": "/s"}, "abc sha:0")
    assert out == "Kafka t1 -> HDFS /s\nVersion abc sha:0"
    with pytest.raises(ValueError, match="no.such"):
        flows.render_canvas_text("#{no.such}", {}, "v")


@pytest.mark.parametrize("flow", list(flows.FLOWS))
def test_every_label_of_the_flows_shows_real_values(flow):
    cfg = load_config()
    spec = flows.FLOWS[flow]
    params = flows.parameters_from_config(cfg, None, {}, spec)
    snap = flows.prepared_snapshot(params, None, "v1 sha:123456789abc", spec)
    labels = snap["flowContents"]["labels"]
    assert labels
    for label in labels:
        assert "#{" not in label["label"] and "@FLOW_VERSION@" not in label["label"]
        assert "v1 sha:123456789abc" in label["label"]
    text = "\n".join(lb["label"] for lb in labels)
    if flow == "ingestion":
        assert cfg.kafka.topics["viewing_events"].name in text
        for path in (cfg.hdfs.paths.viewing_events, cfg.hdfs.paths.sessions, cfg.hdfs.paths.quarantine):
            assert path in text
    else:
        assert params["iptv.config.file"] in text and params["warehouse.schema"] in text


#: The height NiFi's canvas gives one 12 px line of a label (the sync label's 7 lines fill its 140 px); a label
#: with less room per line is drawn clipped, its last lines missing.
LABEL_LINE_PX = 20


@pytest.mark.parametrize("flow", list(flows.FLOWS))
def test_every_label_is_tall_enough_for_its_lines(flow):
    for label in flows.load_snapshot(flows.FLOWS[flow].file)["flowContents"]["labels"]:
        lines = label["label"].count("\n") + 1
        assert label["height"] >= LABEL_LINE_PX * lines, f"{lines} lines in {label['height']} px: {label['label']!r}"

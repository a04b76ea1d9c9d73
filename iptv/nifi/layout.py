"""Where the flows' process groups go on NiFi's root canvas (pure): one column per flow in the order of the data's
path, production in row 0 and instances below, no two boxes overlapping; a group an operator moved stays where it is.
:mod:`iptv.nifi.deploy` applies the plan."""

from __future__ import annotations

from dataclasses import dataclass

from iptv.nifi.flows import FLOWS

Position = tuple[float, float]
# NiFi 2 draws every process group as a fixed 384 x 176 box (the REST API reports no size for groups).
GROUP_SIZE: Position = (384.0, 176.0)
# One column per flow along the data's path, instances of a flow in rows below it; 96 px between boxes.
GROUP_PITCH: Position = (GROUP_SIZE[0] + 96.0, GROUP_SIZE[1] + 96.0)
# Where deploys before issue #17 left every group: the replace request moves a group to the snapshot's position,
# which was (0, 0) for all flows. A group found there was put there by the deploy, not by an operator.
LEGACY_POSITION: Position = (0.0, 0.0)
NEW_GROUP = "<new>"  # plan_layout's id for the group a deploy is about to create


@dataclass(frozen=True)
class CanvasGroup:
    """A process group on the root canvas as the layout sees it."""

    id: str
    name: str
    position: Position | None  # None: the group is about to be created
    column: int | None = None  # its flow's place on the data's path; None: not a group of the project's flows
    production: bool = True  # False: a copy deployed with --instance


def slot(column: int, row: int) -> Position:
    """Top-left corner of the layout cell (column = place on the data's path, row 0 = production)."""
    return (column * GROUP_PITCH[0], row * GROUP_PITCH[1])


def boxes_overlap(a: Position, b: Position, size: Position = GROUP_SIZE) -> bool:
    """True if two process-group boxes with top-left corners ``a`` and ``b`` share any area."""
    return abs(a[0] - b[0]) < size[0] and abs(a[1] - b[1]) < size[1]


def same_position(a: Position, b: Position) -> bool:
    return abs(a[0] - b[0]) < 0.5 and abs(a[1] - b[1]) < 0.5


def _on_own_slot(g: CanvasGroup) -> bool:
    if g.position is None or g.column is None:
        return False
    row = round(g.position[1] / GROUP_PITCH[1])
    return row >= 0 and same_position(g.position, slot(g.column, row))


def _deploy_given(g: CanvasGroup) -> bool:
    """The position is one the deploy gives (or the group is new), so the layout may set it. Anything else was
    chosen by an operator (or belongs to a group the deploy does not manage) and is kept."""
    if g.column is None:
        return False
    return g.position is None or same_position(g.position, LEGACY_POSITION) or _on_own_slot(g)


def plan_layout(groups: list[CanvasGroup]) -> dict[str, Position]:
    """Position of every group of the root canvas: a group at a position an operator chose, or one the deploy does
    not manage, stays; each of the deploy's groups goes to its flow's column (the data's path from left to
    right), production in row 0, instances below, in the first row whose box overlaps no other group. A group
    already on a free cell of its column stays there, so a second deploy moves nothing."""
    plan: dict[str, Position] = {}
    taken: list[Position] = []
    movable: list[CanvasGroup] = []
    for g in groups:
        if _deploy_given(g):
            movable.append(g)
        elif g.position is not None:
            plan[g.id] = g.position
            taken.append(g.position)
    movable.sort(key=lambda g: (g.column, not g.production, g.name))
    unplaced = []
    for g in movable:  # first those already on a free cell of their column: they keep it
        if g.position is not None and _on_own_slot(g) and not any(boxes_overlap(g.position, t) for t in taken):
            plan[g.id] = g.position
            taken.append(g.position)
        else:
            unplaced.append(g)
    for g in unplaced:
        assert g.column is not None  # only the deploy's groups are movable
        row = 0
        while any(boxes_overlap(slot(g.column, row), t) for t in taken):
            row += 1
        plan[g.id] = slot(g.column, row)
        taken.append(plan[g.id])
    return plan


def flow_column(name: str) -> tuple[int | None, bool]:
    """(column, production) of a root group by its name: the place of its flow in FLOWS (declared in the order of
    the data's path), and False for an instance copy "<base name> [<instance>]"; (None, True) for other groups."""
    for column, spec in enumerate(FLOWS.values()):
        if name == spec.base_name:
            return column, True
        if name.startswith(spec.base_name + " [") and name.endswith("]"):
            return column, False
    return None, True

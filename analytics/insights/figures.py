"""What the insights' figures share: a figure of the report's size, and number formats for the sentences.

Figures are :class:`matplotlib.figure.Figure` objects made without pyplot, so building one touches no global
state and needs no display.
"""

from __future__ import annotations

from matplotlib.figure import Figure

#: Size of a report figure in inches (at the report's 100 dpi: 900 x 400 pixels).
WIDTH, HEIGHT = 9.0, 4.0


def new_figure(width: float = WIDTH, height: float = HEIGHT) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def pct(share: float) -> str:
    """A share (0..1) as a percentage with one decimal, two under 1 % (so a small share does not read as 0):
    ``0.4567`` -> ``45.7 %``, ``0.00027`` -> ``0.03 %``."""
    return f"{share * 100:.{2 if 0 < abs(share) < 0.01 else 1}f} %"


def count(n: float) -> str:
    """A count or a large amount with thousands separators and no decimals: ``12345.6`` -> ``12,346``."""
    return f"{n:,.0f}"


def counted(n: float, one: str, many: str | None = None) -> str:
    """``n`` (as :func:`count`) and the noun ``one`` if n is 1, else ``many`` (default ``one`` + s):
    ``1 airing``, ``2,000 airings``, ``3 switches``."""
    return f"{count(n)} {one if n == 1 else many or one + 's'}"

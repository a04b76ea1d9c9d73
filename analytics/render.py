"""The report's files: one PNG per insight, ``insights.json`` (titles and sentences) and ``report.html``, a
single self-contained page (the figures embedded as base64 PNG, no external resource)."""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
from pathlib import Path

import pandas as pd

from analytics.insight import Insight

HTML_NAME, JSON_NAME = "report.html", "insights.json"
DPI = 100
#: Rows of an insight's table shown under its figure.
TABLE_ROWS = 12

_STYLE = """
body { font-family: sans-serif; max-width: 960px; margin: 2em auto; color: #222; }
section { margin-bottom: 2.5em; }
p.sentence { font-size: 1.05em; }
img { max-width: 100%; }
table { border-collapse: collapse; font-size: 0.85em; }
td, th { border: 1px solid #ccc; padding: 2px 6px; text-align: right; }
.skipped { color: #888; }
div.table { overflow-x: auto; }
"""


def png_bytes(insight: Insight) -> bytes:
    buf = io.BytesIO()
    insight.figure.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _section(insight: Insight, png: bytes) -> str:
    table = ""
    if insight.table is not None and len(insight.table):
        rows = insight.table.head(TABLE_ROWS)
        # A plain row number says nothing; a named index (e.g. the weekdays) is the table's first column.
        frame = rows.to_html(
            float_format=lambda v: f"{v:,.3f}", border=0, index=not isinstance(rows.index, pd.RangeIndex)
        )
        table = f'<div class="table">{frame}</div>'
    return (
        f'<section id="{html.escape(insight.key)}"><h2>{html.escape(insight.title)}</h2>'
        f'<p class="sentence">{html.escape(insight.sentence)}</p>'
        f'<img alt="{html.escape(insight.title)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
        f"{table}</section>"
    )


def write_report(
    out_dir: Path, insights: list[Insight], skipped: dict[str, str], heading: str, generated: dt.datetime
) -> Path:
    """Write ``<key>.png`` per insight, ``insights.json`` and ``report.html`` into ``out_dir`` (created);
    ``skipped``: the insights left out and why. Returns the HTML file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    sections, entries = [], []
    for insight in insights:
        png = png_bytes(insight)
        (out_dir / f"{insight.key}.png").write_bytes(png)
        sections.append(_section(insight, png))
        entries.append(
            {"key": insight.key, "title": insight.title, "sentence": insight.sentence, "figure": f"{insight.key}.png"}
        )
    if skipped:
        items = "".join(f"<li>{html.escape(k)}: {html.escape(why)}</li>" for k, why in skipped.items())
        sections.append(f'<section class="skipped"><h2>Left out</h2><ul>{items}</ul></section>')
    page = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(heading)}</title>'
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(heading)}</h1>"
        f"<p>Generated {generated:%Y-%m-%d %H:%M} UTC.</p>{''.join(sections)}</body></html>\n"
    )
    (out_dir / JSON_NAME).write_text(
        json.dumps({"generated": generated.isoformat(), "insights": entries, "skipped": skipped}, indent=2) + "\n",
        encoding="utf-8",
    )
    html_file = out_dir / HTML_NAME
    html_file.write_text(page, encoding="utf-8")
    return html_file

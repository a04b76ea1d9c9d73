"""The data query of a chart of the tree, as ``POST /api/v1/chart/data`` takes it.

Charts written as code have no saved ``query_context`` (the frontend saves one when a chart is saved in
Explore), so ``GET /api/v1/chart/{id}/data/`` refuses them. This builds the equivalent query of the chart types
the tree uses from their params: the same columns, metrics, order and row limit the frontend asks for, so a test
or a health check can run every chart's query and compare its numbers with the marts.
"""

from __future__ import annotations

import json
from typing import Any

TIMESERIES = {"echarts_timeseries_bar", "echarts_timeseries_line", "echarts_timeseries", "echarts_area"}


def _axis(column: str, params: dict[str, Any], temporal: bool) -> Any:
    if not temporal:
        return column
    return {
        "columnType": "BASE_AXIS",
        "sqlExpression": column,
        "label": column,
        "expressionType": "SQL",
        "timeGrain": params.get("time_grain_sqla") or "P1D",
    }


def _where(params: dict[str, Any]) -> str:
    parts = [
        f"({f['sqlExpression']})"
        for f in params.get("adhoc_filters") or []
        if f.get("expressionType") == "SQL" and f.get("clause", "WHERE") == "WHERE"
    ]
    return " AND ".join(parts)


def query_object(viz: str, params: dict[str, Any], temporal_columns: set[str]) -> dict[str, Any]:
    """One query object of chart type ``viz``; ``temporal_columns``: the dataset's is_dttm columns."""
    p = params
    limit = p.get("row_limit") or 10000
    q: dict[str, Any] = {"filters": [], "extras": {"having": "", "where": _where(p)}, "row_limit": limit}
    q["time_range"] = p.get("time_range") or "No filter"
    if viz == "table" and p.get("query_mode") == "raw":
        q["columns"] = list(p["all_columns"])
        q["metrics"] = []
        q["orderby"] = [json.loads(o) for o in p.get("order_by_cols") or []]
    elif viz == "table":
        q["columns"] = list(p.get("groupby") or [])
        q["metrics"] = list(p.get("metrics") or [])
        q["orderby"] = [[q["metrics"][0], False]] if q["metrics"] else []
    elif viz == "pie":
        q["columns"] = list(p.get("groupby") or [])
        q["metrics"] = [p["metric"]]
        q["orderby"] = [[p["metric"], False]]
    elif viz == "heatmap_v2":
        x, y = p["x_axis"], p["groupby"]
        y = y[0] if isinstance(y, list) else y
        q["columns"] = [_axis(x, p, x in temporal_columns), y]
        q["metrics"] = [p["metric"]]
        q["orderby"] = [[p["metric"], False]]
    elif viz in ("big_number", "big_number_total"):
        x = p.get("x_axis")
        q["columns"] = [_axis(x, p, True)] if viz == "big_number" and x else []
        q["metrics"] = [p["metric"]]
        q["orderby"] = []
    elif viz in TIMESERIES:
        x = p["x_axis"]
        q["columns"] = [_axis(x, p, x in temporal_columns), *(p.get("groupby") or [])]
        q["metrics"] = list(p["metrics"])
        order = p.get("timeseries_limit_metric") or q["metrics"][0]
        q["orderby"] = [[order, not p.get("order_desc", True)]]
        if x in temporal_columns:
            q["orderby"] = []
    else:
        raise ValueError(f"no query builder for chart type {viz!r}")
    return q


def query_context(dataset_id: int, chart: dict[str, Any], temporal_columns: set[str]) -> dict[str, Any]:
    """The body of ``POST /api/v1/chart/data`` for a chart of the tree on dataset ``dataset_id``."""
    params = chart["params"]
    viz = chart["viz_type"]
    return {
        "datasource": {"id": dataset_id, "type": "table"},
        "force": True,
        "queries": [query_object(viz, params, temporal_columns)],
        "form_data": {**params, "viz_type": viz, "datasource": f"{dataset_id}__table"},
        "result_format": "json",
        "result_type": "full",
    }

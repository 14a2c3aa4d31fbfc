"""Grafana dashboards as data: queries derived from declared series, laid out, serialized."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chartgen.load.sources import HEADER
from chartgen.monitoring import params
from chartgen.monitoring.series import Series, panel_queries, panel_unit, read, selector
from chartgen.monitoring.slo_dashboard import slo_dashboard
from chartgen.render.serialize import to_json
from chartgen.spec import Alert, ChartSpec, Dashboard, Panel, Row, Threshold

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
GRID_COLUMNS = 24
UID_LENGTH = 40  # Grafana refuses longer uids
SEVERITY_COLORS = {"info": "blue", "warning": "orange", "critical": "red"}
#: kubectl apply keeps the whole object in an annotation; annotations hold 256 KiB in all.
APPLY_ANNOTATION_LIMIT = 262_144
CONFIGMAP_LIMIT = 1_048_576
#: Room for the ConfigMap's name, labels and annotations around the dashboard text.
METADATA_ALLOWANCE = 2_048


@dataclass(frozen=True)
class DashboardView:
    """A dashboard as the chart ships it: JSON text whose alert thresholds are slots."""

    name: str
    title: str
    uid: str
    file_name: str
    text: str
    slots: tuple[params.Slot, ...]

    def with_values(self, values: Mapping[tuple[str, str], float | int] | None = None) -> str:
        """The JSON text with each slot filled as the ConfigMap template does (default: spec)."""
        given = {(s.alert, s.param): s.default for s in self.slots} | dict(values or {})
        return params.fill(self.text, lambda alert, p: params.format_number(given[alert, p]))


def uid(chart: str, name: str) -> str:
    """A stable Grafana uid from the chart and dashboard names, cut to Grafana's 40."""
    full = f"{chart}-{name}"
    if len(full) <= UID_LENGTH:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:8]
    return f"{full[: UID_LENGTH - 9]}-{digest}"


def threshold_side(threshold: Threshold, alert: Alert | None) -> str | None:
    """Which side of the threshold is bad: as the spec says, or from the alert's comparison."""
    if threshold.when or alert is None:
        return threshold.when or "above"
    param = re.escape(threshold.param)
    if before := re.search(r"([<>])=?\s*\$" + param + r"\b", alert.expr):
        return "above" if before.group(1) == ">" else "below"
    if after := re.search(r"\$" + param + r"\s*([<>])", alert.expr):
        return "below" if after.group(1) == ">" else "above"
    return None


def threshold_steps(
    thresholds: Sequence[Threshold], alerts: Mapping[str, Alert]
) -> list[dict[str, Any]]:
    """Grafana threshold steps: bad sides colored by severity, the good middle green."""
    below: list[tuple[float, Any, str]] = []
    above: list[tuple[float, Any, str]] = []
    for threshold in thresholds:
        alert = alerts.get(threshold.alert or "")
        default: float | int
        if alert is not None:
            default = alert.params[threshold.param]
            value: Any = params.slot(alert.alert, threshold.param)
            color = threshold.color or SEVERITY_COLORS[alert.severity]
        else:
            default = value = threshold.value or 0
            color = threshold.color or "red"
        side = threshold_side(threshold, alert)
        (below if side == "below" else above).append((float(default), value, color))
    below.sort(key=lambda item: item[0])
    above.sort(key=lambda item: item[0])
    # A step's color holds from its value up to the next step's value.
    values = [None, *(value for _, value, _ in below), *(value for _, value, _ in above)]
    colors = [*(color for *_, color in below), "green", *(color for *_, color in above)]
    return [{"color": color, "value": value} for color, value in zip(colors, values, strict=True)]


def _panel_options(panel: Panel, unit: str) -> dict[str, Any]:
    reduce = {"calcs": ["lastNotNull"], "fields": "", "values": False}
    if panel.type == "stat":
        return {
            "reduceOptions": reduce,
            "colorMode": "value",
            "graphMode": "area",
            "justifyMode": "auto",
            "orientation": "auto",
            "textMode": "auto",
        }
    if panel.type == "gauge":
        return {
            "reduceOptions": reduce,
            "orientation": "auto",
            "showThresholdLabels": False,
            "showThresholdMarkers": True,
        }
    if panel.type == "heatmap":
        return {
            "calculate": False,
            "cellGap": 1,
            "color": {"mode": "scheme", "scheme": "Oranges", "steps": 64},
            "legend": {"show": True},
            "tooltip": {"show": True, "yHistogram": True},
            "yAxis": {"unit": unit},
        }
    if panel.type == "table":
        return {"showHeader": True, "cellHeight": "sm"}
    return {
        "legend": {
            "calcs": ["lastNotNull", "max"],
            "displayMode": "table",
            "placement": "bottom",
            "showLegend": True,
        },
        "tooltip": {"mode": "multi", "sort": "desc"},
    }


def _field_defaults(panel: Panel, unit: str, alerts: Mapping[str, Alert]) -> dict[str, Any]:
    defaults: dict[str, Any] = {"unit": unit}
    for key in ("min", "max", "decimals", "noValue"):
        if getattr(panel, key) is not None:
            defaults[key] = getattr(panel, key)
    defaults["color"] = {"mode": "palette-classic" if panel.type == "timeseries" else "thresholds"}
    defaults["thresholds"] = {
        "mode": "absolute",
        "steps": threshold_steps(panel.thresholds, alerts),
    }
    if panel.type == "timeseries":
        defaults["custom"] = {
            "drawStyle": "line",
            "fillOpacity": 10,
            "lineWidth": 1,
            "showPoints": "never",
            "spanNulls": False,
            "thresholdsStyle": {"mode": "dashed" if panel.thresholds else "off"},
        }
    return defaults


def panel_json(
    panel: Panel,
    panel_id: int,
    grid: dict[str, int],
    *,
    variables: Sequence[str],
    known: Mapping[str, Series],
    alerts: Mapping[str, Alert],
) -> dict[str, Any]:
    """One Grafana panel."""
    unit = panel_unit(panel, known)
    out: dict[str, Any] = {"id": panel_id, "type": panel.type, "title": panel.title}
    if panel.description:
        out["description"] = panel.description
    out["datasource"] = DATASOURCE
    out["gridPos"] = grid
    out["targets"] = [
        {
            "refId": _ref_id(index),
            "datasource": DATASOURCE,
            "editorMode": "code",
            "expr": query.expr,
            "legendFormat": query.legend or "__auto",
            "format": query.format,
            "range": not query.instant,
            "instant": query.instant,
        }
        for index, query in enumerate(panel_queries(panel, known, variables))
    ]
    out["fieldConfig"] = {"defaults": _field_defaults(panel, unit, alerts), "overrides": []}
    out["options"] = _panel_options(panel, unit)
    if panel.type == "table":
        # one row per label set, one column per query, named by its legend
        columns = {f"Value #{t['refId']}": t["legendFormat"] for t in out["targets"]}
        out["transformations"] = [
            {"id": "merge", "options": {}},
            {
                "id": "organize",
                "options": {"excludeByName": {"Time": True}, "renameByName": columns},
            },
        ]
    return out


def _ref_id(index: int) -> str:
    # A to Z, then AA, AB and on, as Grafana names a panel's queries.
    head, rest = divmod(index, 26)
    return (_ref_id(head - 1) if head else "") + chr(ord("A") + rest)


def variable_sources(dashboard: Dashboard, known: Mapping[str, Series]) -> dict[str, Series]:
    """For each label variable, the first series the dashboard reads that carries the label."""
    series = [
        found
        for row in dashboard.rows
        for panel in row.panels
        for t in panel.targets
        if (found := read(t, known)) is not None
    ]
    return {
        label: found
        for label in dashboard.variables
        if (found := next((s for s in series if s.labels is not None and label in s.labels), None))
    }


def templating(dashboard: Dashboard, known: Mapping[str, Series]) -> list[dict[str, Any]]:
    """The datasource variable, then a multi-value variable per label, filtered by those before."""
    out: list[dict[str, Any]] = [
        {
            "name": "datasource",
            "label": "Data source",
            "type": "datasource",
            "query": "prometheus",
            "current": {},
            "hide": 0,
            "includeAll": False,
            "multi": False,
            "options": [],
            "refresh": 1,
            "regex": "",
        }
    ]
    sources = variable_sources(dashboard, known)
    for index, label in enumerate(dashboard.variables):
        series = sources[label]
        suffix = "_count" if series.kind == "histogram" else ""
        query = f"label_values({selector(series, dashboard.variables[:index], suffix)}, {label})"
        out.append(
            {
                "name": label,
                "label": label,
                "type": "query",
                "datasource": DATASOURCE,
                "definition": query,
                "query": {"query": query, "refId": "StandardVariableQuery"},
                "current": {},
                "hide": 0,
                "includeAll": True,
                "allValue": ".*",
                "multi": True,
                "options": [],
                "refresh": 2,
                "regex": "",
                "sort": 1,
            }
        )
    return out


def layout(dashboard: Dashboard) -> Iterator[tuple[Row, Panel | None, dict[str, int]]]:
    """(row, panel or None for the row itself, gridPos) in order, without overlap."""
    y = 0
    for row in dashboard.rows:
        yield row, None, {"h": 1, "w": GRID_COLUMNS, "x": 0, "y": y}
        y += 1
        x = line_height = 0
        for panel in row.panels:
            if x + panel.width > GRID_COLUMNS:
                y, x, line_height = y + line_height, 0, 0
            yield row, panel, {"h": panel.height, "w": panel.width, "x": x, "y": y}
            x += panel.width
            line_height = max(line_height, panel.height)
        y += line_height


def dashboard_json(
    chart: str, dashboard: Dashboard, known: Mapping[str, Series], alerts: Mapping[str, Alert]
) -> dict[str, Any]:
    """The Grafana dashboard model; alert thresholds are slots filled from chart values."""
    panels: list[dict[str, Any]] = []
    for panel_id, (row, panel, grid) in enumerate(layout(dashboard), start=1):
        if panel is None:
            panels.append(
                {
                    "id": panel_id,
                    "type": "row",
                    "title": row.title,
                    "collapsed": False,
                    "gridPos": grid,
                    "panels": [],
                }
            )
            continue
        panels.append(
            panel_json(
                panel, panel_id, grid, variables=dashboard.variables, known=known, alerts=alerts
            )
        )
    return {
        "uid": uid(chart, dashboard.name),
        "title": dashboard.title,
        **({"description": dashboard.description} if dashboard.description else {}),
        "tags": list(dashboard.tags),
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "refresh": dashboard.refresh,
        "time": {"from": dashboard.time, "to": "now"},
        "templating": {"list": templating(dashboard, known)},
        "links": [],
        "panels": panels,
    }


def alerts_by_name(spec: ChartSpec) -> dict[str, Alert]:
    """Every alert of the spec by name."""
    return {alert.alert: alert for service in spec.services for alert in service.alerts}


def all_dashboards(spec: ChartSpec) -> list[Dashboard]:
    """Every dashboard the chart ships: the spec's, then the SLO dashboard when it has SLOs."""
    generated = slo_dashboard(spec)
    return [*spec.dashboards, *([generated] if generated else [])]


def configmap_bytes(name: str, text: str) -> int:
    """About how many bytes the dashboard's ConfigMap takes as JSON, as kubectl stores it."""
    encoded = json.dumps({f"{name}.json": text}, ensure_ascii=False)
    # Go's encoding/json writes <, > and & as \u003c, \u003e and \u0026
    return len(encoded.encode()) + 5 * sum(encoded.count(c) for c in "<>&") + METADATA_ALLOWANCE


def dashboard_views(spec: ChartSpec, known: Mapping[str, Series]) -> tuple[DashboardView, ...]:
    """Every dashboard of the spec, ready to ship; ``known`` is its series catalog."""
    alerts = alerts_by_name(spec)
    views = []
    for dashboard in all_dashboards(spec):
        data = dashboard_json(spec.chart.name, dashboard, known, alerts)
        text = to_json({"$comment": HEADER, **data})  # the generated-file marker first
        file_name = f"dashboards/{dashboard.name}.json"
        slots = params.slots(text, alerts)
        views.append(
            DashboardView(dashboard.name, dashboard.title, data["uid"], file_name, text, slots)
        )
    return tuple(views)

"""Grafana dashboards as data: queries derived from declared series, laid out, serialized."""

from __future__ import annotations

import hashlib
import json
import re
import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import promql_parser

from chartgen import promql
from chartgen.serialize import to_json
from chartgen.sources import HEADER
from chartgen.spec import Alert, ChartSpec, Dashboard, Panel, Target, Threshold

#: Labels every scraped series carries: job (the service name), and pod, namespace, instance
#: from discovery.
STANDARD_LABELS = frozenset({"job", "namespace", "pod", "instance"})
#: Grafana's own variables, e.g. $__rate_interval, replaced by a duration to parse a query.
GRAFANA_MACRO = re.compile(r"\$(__[a-z_]+|\{__[a-z_]+\})")
#: A dashboard variable in a query: $name or ${name}.
VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
GRID_COLUMNS = 24
UID_LENGTH = 40  # Grafana refuses longer uids
DEFAULT_QUANTILES = (0.5, 0.95, 0.99)
SEVERITY_COLORS = {"info": "blue", "warning": "orange", "critical": "red"}
#: Spec units of a metric family, as Grafana unit ids.
UNITS = {"seconds": "s", "milliseconds": "ms", "ratio": "percentunit", "bytes": "bytes"}
SLOT_PREFIX = "@chartgen:alerts."
SLOT = re.compile(r'"@chartgen:alerts\.([A-Za-z0-9]+)\.([A-Za-z0-9]+)"')
#: kubectl apply keeps the whole object in an annotation; annotations hold 256 KiB in all.
APPLY_ANNOTATION_LIMIT = 262_144
CONFIGMAP_LIMIT = 1_048_576
#: Room for the ConfigMap's name, labels and annotations around the dashboard text.
METADATA_ALLOWANCE = 2_048

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Series:
    """A series a dashboard may read: a metric family or a recording rule."""

    name: str
    kind: str  # counter, gauge, histogram, summary, or recording
    job: str
    labels: frozenset[str] | None  # None: not known (every label may be present)
    unit: str


@dataclass(frozen=True)
class Query:
    """One Grafana target, with the spec path of the target it came from."""

    where: Loc
    expr: str
    legend: str
    format: str
    instant: bool


@dataclass(frozen=True)
class Slot:
    """A threshold that follows an alert parameter's value: alerts.<alert>.<param>."""

    alert: str
    param: str
    default: float | int


@dataclass(frozen=True)
class DashboardView:
    """A dashboard as the chart ships it: JSON text whose alert thresholds are slots."""

    name: str
    title: str
    uid: str
    file_name: str
    text: str
    slots: tuple[Slot, ...]

    def with_values(self, values: Mapping[tuple[str, str], float | int] | None = None) -> str:
        """The JSON text with each slot filled as the ConfigMap template does (default: spec)."""
        given = {(s.alert, s.param): s.default for s in self.slots} | dict(values or {})
        return SLOT.sub(lambda m: promql.format_number(given[m.group(1), m.group(2)]), self.text)


def catalog(spec: ChartSpec) -> Mapping[str, Series]:
    """Every series the spec declares, by name: metric families, then recording rules.

    The checks and the build both read it; it is worked out once per spec.
    """
    if _CATALOG and _CATALOG[0][0]() is spec:
        return _CATALOG[0][1]
    found: dict[str, Series] = {}
    for service in spec.services:
        for family in service.metrics.families if service.metrics else []:
            labels = STANDARD_LABELS | set(family.labels)
            found.setdefault(
                family.name, Series(family.name, family.type, service.name, labels, family.unit)
            )
    for service in spec.services:
        for rule in service.recordingRules:
            inferred = output_labels(rule.expr, found)
            if inferred is not None:
                inferred = inferred | set(rule.labels)
            found.setdefault(
                rule.record, Series(rule.record, "recording", service.name, inferred, "")
            )
    known = MappingProxyType(found)
    _CATALOG[:] = [(weakref.ref(spec), known)]
    return known


#: The last spec's catalog, while that spec lives (the weak reference lets it go).
_CATALOG: list[tuple[weakref.ref[ChartSpec], Mapping[str, Series]]] = []


def output_labels(expr: str, known: Mapping[str, Series]) -> frozenset[str] | None:
    """The labels the result of a PromQL expression carries, None where it cannot be told."""
    try:
        tree = promql_parser.parse(expr)
    except ValueError:
        return None
    return _labels(tree, known)


def _labels(node: Any, known: Mapping[str, Series]) -> frozenset[str] | None:
    labels: frozenset[str] | None = None
    if isinstance(node, promql_parser.AggregateExpr):
        if node.modifier is None:
            labels = frozenset()
        elif str(node.modifier.type).endswith("By"):
            labels = frozenset(node.modifier.labels)
    elif isinstance(node, promql_parser.BinaryExpr):
        labels = _labels(node.rhs if _scalar(node.lhs) else node.lhs, known)
    elif isinstance(node, promql_parser.ParenExpr):
        labels = _labels(node.expr, known)
    elif isinstance(node, promql_parser.Call):
        vectors = [a for a in node.args if not isinstance(a, promql_parser.NumberLiteral)]
        labels = _labels(vectors[-1], known) if vectors else frozenset()
    elif isinstance(node, promql_parser.MatrixSelector):
        labels = _labels(node.vector_selector, known)
    elif isinstance(node, promql_parser.VectorSelector):
        series = known.get(node.name or "")
        labels = series.labels if series else None
    elif isinstance(node, promql_parser.NumberLiteral):
        labels = frozenset()
    return labels


def _scalar(node: Any) -> bool:
    if isinstance(node, promql_parser.ParenExpr):
        return _scalar(node.expr)
    if isinstance(node, promql_parser.Call):
        return str(node.func.return_type).endswith("Scalar")
    return isinstance(node, promql_parser.NumberLiteral)


def parsable(expr: str) -> str:
    """A Grafana query as plain PromQL: Grafana's macros replaced by a duration."""
    return GRAFANA_MACRO.sub("5m", expr)


def uid(chart: str, name: str) -> str:
    """A stable Grafana uid from the chart and dashboard names, cut to Grafana's 40."""
    full = f"{chart}-{name}"
    if len(full) <= UID_LENGTH:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:8]
    return f"{full[: UID_LENGTH - 9]}-{digest}"


def _carries(series: Series, label: str) -> bool:
    return series.labels is None or label in series.labels


def _selector(series: Series, variables: Sequence[str], suffix: str = "") -> str:
    matchers = [f'job="{series.job}"'] if series.kind != "recording" else []
    matchers += [f'{v}=~"${v}"' for v in variables if _carries(series, v)]
    return f"{series.name}{suffix}{{{', '.join(matchers)}}}" if matchers else series.name + suffix


def _legend(labels: Sequence[str]) -> str:
    return " ".join("{{" + label + "}}" for label in labels)


def target_queries(
    target: Target, series: Series, panel_type: str, variables: Sequence[str], where: Loc
) -> Iterator[Query]:
    """The queries of a metric target: counters as rates, histograms as quantiles or buckets."""
    by = list(target.by)
    grouping = f" by ({', '.join(by)})" if by else ""
    instant = panel_type == "table"
    fmt = "table" if instant else "time_series"
    if series.kind == "histogram":
        buckets = f"rate({_selector(series, variables, '_bucket')}[$__rate_interval])"
        if panel_type == "heatmap":
            expr = f"sum by (le) ({buckets})"
            yield Query(where, expr, target.legend or "{{le}}", "heatmap", False)
            return
        for q in target.quantiles or DEFAULT_QUANTILES:
            expr = f"histogram_quantile({q:g}, sum by ({', '.join(['le', *by])}) ({buckets}))"
            legend = target.legend or f"p{q * 100:g} {_legend(by)}".strip()
            yield Query(where, expr, legend.replace("$q", f"p{q * 100:g}"), fmt, instant)
        return
    if series.kind == "counter":
        expr = f"{target.aggregate or 'sum'}{grouping} "
        expr += f"(rate({_selector(series, variables)}[$__rate_interval]))"
        yield Query(where, expr, target.legend or _legend(by) or series.name, fmt, instant)
        return
    expr = _selector(series, variables)
    if by or target.aggregate:
        expr = f"{target.aggregate or 'avg'}{grouping} ({expr})"
    default = _legend(by) if by else ("{{pod}}" if series.kind != "recording" else series.name)
    if instant or (not by and target.aggregate):
        default = series.name  # a table column, or one aggregated line
    yield Query(where, expr, target.legend or default, fmt, instant)


def panel_queries(
    panel: Panel, known: Mapping[str, Series], variables: Sequence[str], where: Loc
) -> list[Query]:
    """Every query of a panel; targets naming undeclared series are left to the checks."""
    out: list[Query] = []
    instant = panel.type == "table"
    for number, target in enumerate(panel.targets):
        at = (*where, "targets", number)
        if target.expr is not None:
            legend = target.legend or ""
            fmt = "heatmap" if panel.type == "heatmap" else ("table" if instant else "time_series")
            out.append(Query((*at, "expr"), target.expr, legend, fmt, instant))
        elif (series := read(target, known)) is not None:
            out.extend(target_queries(target, series, panel.type, variables, (*at, "metric")))
    return out


def read(target: Target, known: Mapping[str, Series]) -> Series | None:
    """The declared series a metric target reads, None for expr targets and unknown names."""
    return known.get(target.metric) if target.metric is not None else None


def panel_unit(panel: Panel, known: Mapping[str, Series]) -> str:
    """The panel's unit: as the spec says, else from its first declared series."""
    if panel.unit:
        return panel.unit
    first = next(filter(None, (read(t, known) for t in panel.targets)), None)
    if first is None:
        return "short"
    if first.kind == "counter":
        return "reqps" if first.unit == "requests" else "cps"
    return UNITS.get(first.unit, "short")


def threshold_side(threshold: Threshold, alert: Alert | None) -> str | None:
    """Which side of the threshold is bad: as the spec says, or from the alert's comparison."""
    if threshold.when or alert is None:
        return threshold.when or "above"
    param = re.escape(threshold.param)
    before = re.search(r"([<>])=?\s*\$" + param + r"\b", alert.expr)
    after = re.search(r"\$" + param + r"\s*([<>])", alert.expr)
    if before:
        return "above" if before.group(1) == ">" else "below"
    if after:
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
            value: Any = f"{SLOT_PREFIX}{alert.alert}.{threshold.param}"
            color = threshold.color or SEVERITY_COLORS[alert.severity]
        else:
            default = value = threshold.value or 0
            color = threshold.color or "red"
        side = threshold_side(threshold, alert)
        (below if side == "below" else above).append((float(default), value, color))
    below.sort(key=lambda item: item[0])
    above.sort(key=lambda item: item[0])
    steps: list[dict[str, Any]] = [{"color": below[0][2] if below else "green", "value": None}]
    for index, (_, value, _) in enumerate(below):
        color = below[index + 1][2] if index + 1 < len(below) else "green"
        steps.append({"color": color, "value": value})
    steps.extend({"color": color, "value": value} for _, value, color in above)
    return steps


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
    queries = panel_queries(panel, known, variables, ())
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
        for index, query in enumerate(queries)
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
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def variable_sources(dashboard: Dashboard, known: Mapping[str, Series]) -> dict[str, Series]:
    """For each label variable, the first series the dashboard reads that carries the label."""
    series = [
        found
        for row in dashboard.rows
        for panel in row.panels
        for t in panel.targets
        if (found := read(t, known)) is not None
    ]
    sources: dict[str, Series] = {}
    for label in dashboard.variables:
        found = next((s for s in series if s.labels is not None and label in s.labels), None)
        if found is not None:
            sources[label] = found
    return sources


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
        query = f"label_values({_selector(series, dashboard.variables[:index], suffix)}, {label})"
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


def layout(dashboard: Dashboard) -> Iterator[tuple[int, int, dict[str, int]]]:
    """(row index, panel index or -1 for the row itself, gridPos) in order, without overlap."""
    y = 0
    for row_index, row in enumerate(dashboard.rows):
        yield row_index, -1, {"h": 1, "w": GRID_COLUMNS, "x": 0, "y": y}
        y += 1
        x = line_height = 0
        for panel_index, panel in enumerate(row.panels):
            if x + panel.width > GRID_COLUMNS:
                y, x, line_height = y + line_height, 0, 0
            yield row_index, panel_index, {"h": panel.height, "w": panel.width, "x": x, "y": y}
            x += panel.width
            line_height = max(line_height, panel.height)
        y += line_height


def dashboard_json(
    chart: str, dashboard: Dashboard, known: Mapping[str, Series], alerts: Mapping[str, Alert]
) -> dict[str, Any]:
    """The Grafana dashboard model; alert thresholds are slots filled from chart values."""
    panels: list[dict[str, Any]] = []
    for panel_id, (row_index, panel_index, grid) in enumerate(layout(dashboard), start=1):
        row = dashboard.rows[row_index]
        if panel_index < 0:
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
        panel = row.panels[panel_index]
        panels.append(
            panel_json(
                panel, panel_id, grid, variables=dashboard.variables, known=known, alerts=alerts
            )
        )
    out: dict[str, Any] = {
        "uid": uid(chart, dashboard.name),
        "title": dashboard.title,
    }
    if dashboard.description:
        out["description"] = dashboard.description
    out.update(
        {
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
    )
    return out


def alerts_by_name(spec: ChartSpec) -> dict[str, Alert]:
    """Every alert of the spec by name."""
    return {alert.alert: alert for service in spec.services for alert in service.alerts}


def dashboard_text(data: dict[str, Any]) -> str:
    """The dashboard file: indented JSON, the generated-file marker first."""
    return to_json({"$comment": HEADER, **data})


def configmap_bytes(name: str, text: str) -> int:
    """About how many bytes the dashboard's ConfigMap takes as JSON, as kubectl stores it."""
    encoded = json.dumps({f"{name}.json": text}, ensure_ascii=False)
    # Go's encoding/json writes <, > and & as \u003c, \u003e and \u0026
    html = sum(encoded.count(c) for c in "<>&")
    return len(encoded.encode()) + 5 * html + METADATA_ALLOWANCE


def dashboard_views(spec: ChartSpec) -> tuple[DashboardView, ...]:
    """Every dashboard of the spec, ready to ship."""
    known = catalog(spec)
    alerts = alerts_by_name(spec)
    views = []
    for dashboard in spec.dashboards:
        text = dashboard_text(dashboard_json(spec.chart.name, dashboard, known, alerts))
        used = dict.fromkeys((m.group(1), m.group(2)) for m in SLOT.finditer(text))
        slots = tuple(Slot(a, p, alerts[a].params[p]) for a, p in used)
        views.append(
            DashboardView(
                name=dashboard.name,
                title=dashboard.title,
                uid=uid(spec.chart.name, dashboard.name),
                file_name=f"dashboards/{dashboard.name}.json",
                text=text,
                slots=slots,
            )
        )
    return tuple(views)

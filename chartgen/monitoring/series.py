"""The series a spec declares, and the Grafana queries that read them."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import promql_parser

from chartgen.spec import ChartSpec, Panel, Target

#: Labels every scraped series carries: job (the service name), and pod, namespace, instance
#: from discovery.
STANDARD_LABELS = frozenset({"job", "namespace", "pod", "instance"})
#: Grafana's own variables, e.g. $__rate_interval, replaced by a duration to parse a query.
GRAFANA_MACRO = re.compile(r"\$(__[a-z_]+|\{__[a-z_]+\})")
#: A dashboard variable in a query: $name or ${name}.
VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")
DEFAULT_QUANTILES = (0.5, 0.95, 0.99)
#: Spec units of a metric family, as Grafana unit ids.
UNITS = {"seconds": "s", "milliseconds": "ms", "ratio": "percentunit", "bytes": "bytes"}


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
    """One Grafana target."""

    expr: str
    legend: str
    format: str
    instant: bool


def catalog(spec: ChartSpec) -> Mapping[str, Series]:
    """Every series the spec declares, by name: metric families, then recording rules."""
    found: dict[str, Series] = {}
    for service in spec.services:
        for family in service.metrics.families if service.metrics else []:
            labels = STANDARD_LABELS | set(family.labels)
            series = Series(family.name, family.type, service.name, labels, family.unit)
            found.setdefault(family.name, series)
    for service in spec.services:
        for rule in service.recordingRules:
            inferred = output_labels(rule.expr, found)
            inferred = None if inferred is None else inferred | set(rule.labels)
            series = Series(rule.record, "recording", service.name, inferred, "")
            found.setdefault(rule.record, series)
    return MappingProxyType(found)


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


def selector(series: Series, variables: Sequence[str], suffix: str = "") -> str:
    """A selector of the series: its job, and each dashboard variable its labels carry."""
    matchers = [f'job="{series.job}"'] if series.kind != "recording" else []
    matchers += [f'{v}=~"${v}"' for v in variables if series.labels is None or v in series.labels]
    return f"{series.name}{suffix}{{{', '.join(matchers)}}}" if matchers else series.name + suffix


def _legend(labels: Sequence[str]) -> str:
    return " ".join("{{" + label + "}}" for label in labels)


def target_queries(
    target: Target, series: Series, panel_type: str, variables: Sequence[str]
) -> Iterator[Query]:
    """The queries of a metric target: counters as rates, histograms as quantiles or buckets."""
    by = list(target.by)
    grouping = f" by ({', '.join(by)})" if by else ""
    instant = panel_type == "table"
    fmt = "table" if instant else "time_series"
    if series.kind == "histogram":
        buckets = f"rate({selector(series, variables, '_bucket')}[$__rate_interval])"
        if panel_type == "heatmap":
            expr = f"sum by (le) ({buckets})"
            yield Query(expr, target.legend or "{{le}}", "heatmap", False)
            return
        for q in target.quantiles or DEFAULT_QUANTILES:
            expr = f"histogram_quantile({q:g}, sum by ({', '.join(['le', *by])}) ({buckets}))"
            legend = target.legend or f"p{q * 100:g} {_legend(by)}".strip()
            yield Query(expr, legend.replace("$q", f"p{q * 100:g}"), fmt, instant)
        return
    if series.kind == "counter":
        expr = f"{target.aggregate or 'sum'}{grouping} "
        expr += f"(rate({selector(series, variables)}[$__rate_interval]))"
        yield Query(expr, target.legend or _legend(by) or series.name, fmt, instant)
        return
    expr = selector(series, variables)
    if by or target.aggregate:
        expr = f"{target.aggregate or 'avg'}{grouping} ({expr})"
    default = _legend(by) if by else ("{{pod}}" if series.kind != "recording" else series.name)
    if instant or (not by and target.aggregate):
        default = series.name  # a table column, or one aggregated line
    yield Query(expr, target.legend or default, fmt, instant)


def panel_queries(
    panel: Panel, known: Mapping[str, Series], variables: Sequence[str]
) -> Iterator[Query]:
    """Every query of a panel; targets naming undeclared series are left to the checks."""
    instant = panel.type == "table"
    for target in panel.targets:
        if target.expr is not None:
            fmt = "heatmap" if panel.type == "heatmap" else ("table" if instant else "time_series")
            yield Query(target.expr, target.legend or "", fmt, instant)
        elif (series := read(target, known)) is not None:
            yield from target_queries(target, series, panel.type, variables)


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

"""The series a spec declares, the labels PromQL keeps of them, and the Grafana queries."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import promql_parser

from chartgen.monitoring import promql, slos
from chartgen.spec import ChartSpec, MetricFamily, Panel, Target

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
#: Aggregations that pick series rather than combine them: the result keeps their labels.
PICKING = frozenset({"topk", "bottomk", "limitk", "limit_ratio"})
#: Argument types whose labels a function passes on.
VECTOR_TYPES = (promql_parser.ValueType.Vector, promql_parser.ValueType.Matrix)
#: Functions that write a label: each one's source labels, from its string arguments.
LABEL_WRITERS: Mapping[str, Callable[[list[str]], list[str]]] = MappingProxyType(
    {
        "label_replace": lambda strings: strings[2:3],  # dst, replacement, src, regex
        "label_join": lambda strings: strings[2:],  # dst, separator, src...
    }
)


@dataclass(frozen=True)
class Series:
    """A series PromQL may read: a family or one of its series, a recording rule, Prometheus'."""

    name: str
    kind: str  # counter, gauge, histogram, summary, or recording
    job: str
    labels: frozenset[str] | None  # None: not known (every label may be present)
    unit: str


@dataclass(frozen=True)
class MissingLabel:
    """A label an expression names that the series it reads do not carry."""

    label: str
    named_in: str  # the clause that names it, e.g. "by (job, knd)" or "a matcher"
    reads: tuple[str, ...]  # what lacks it: a series name, or the PromQL that made the input
    labels: frozenset[str]  # the labels the input does carry


@dataclass(frozen=True)
class _Read:
    """What a node of an expression gives: its labels, and the node that decided them."""

    labels: frozenset[str] | None
    source: promql_parser.Expr


@dataclass(frozen=True)
class Query:
    """One Grafana target."""

    expr: str
    legend: str
    format: str
    instant: bool


def _declared_labels(family: MetricFamily) -> frozenset[str]:
    """The labels of a family's series: those of every scraped series, and its own."""
    return STANDARD_LABELS | set(family.labels)


def catalog(spec: ChartSpec) -> Mapping[str, Series]:
    """Every series the spec declares, by name: metric families, then recording rules."""
    readable = read_labels(spec)
    found: dict[str, Series] = {}
    for service in spec.services:
        for family in service.metrics.families if service.metrics else []:
            labels = _declared_labels(family)
            series = Series(family.name, family.type, service.name, labels, family.unit)
            found.setdefault(family.name, series)
    for name in slo_records(spec):
        found.setdefault(name, readable[name])
    for service in spec.services:
        for rule in service.recordingRules:
            found.setdefault(rule.record, readable[rule.record])
    return MappingProxyType(found)


def slo_records(spec: ChartSpec) -> list[str]:
    """The names the SLO rules of the spec record, in rule order, each once."""
    names = (record for _, slo in slos.all_slos(spec.services) for record in slos.record_names(slo))
    return list(dict.fromkeys(names))


def read_labels(spec: ChartSpec) -> Mapping[str, Series]:
    """Every series PromQL may read, by name, with the labels it carries.

    A histogram's buckets carry ``le`` and a summary's quantiles ``quantile``; Prometheus' scrape
    series carry the target's labels; a recording rule carries the labels its expression keeps,
    read against the series before it, and its own; the SLO rules' records come before the
    spec's recording rules, which may read them.
    """
    found: dict[str, Series] = {}
    for service in spec.services:
        for family in service.metrics.families if service.metrics else []:
            for name in family.series_names():
                found.setdefault(name, _family_series(family, name, service.name))
    for name in sorted(promql.BUILTIN_SERIES):
        labels = STANDARD_LABELS if name in promql.SCRAPE_SERIES else None
        found.setdefault(name, Series(name, "gauge", "", labels, ""))
    for service, slo in slos.all_slos(spec.services):
        for record, expr, own in slos.records(service, slo):
            inferred = output_labels(expr, found)
            inferred = None if inferred is None else inferred | set(own)
            # Every SLO records the same names, with the same labels: one series each.
            before = found.get(record)
            if before is not None and before.labels is not None and inferred is not None:
                inferred |= before.labels
            found[record] = Series(record, "recording", "", inferred, "")
    for service in spec.services:
        for rule in service.recordingRules:
            inferred = output_labels(rule.expr, found)
            inferred = None if inferred is None else inferred | set(rule.labels)
            series = Series(rule.record, "recording", service.name, inferred, "")
            found.setdefault(rule.record, series)
    return MappingProxyType(found)


def _family_series(family: MetricFamily, name: str, job: str) -> Series:
    """One series of a family: buckets add ``le``, a summary's own series ``quantile``."""
    labels = _declared_labels(family)
    if family.type == "histogram" and name == f"{family.name}_bucket":
        labels |= {"le"}
    if family.type == "summary" and name == family.name:
        labels |= {"quantile"}
    kind = family.type if name == family.name else "counter"
    return Series(name, kind, job, labels, family.unit)


def output_labels(expr: str, known: Mapping[str, Series]) -> frozenset[str] | None:
    """The labels the result of a PromQL expression carries, None where it cannot be told."""
    try:
        tree = promql.parse(expr)
    except ValueError:
        return None
    return _read(tree, known, []).labels


def missing_labels(tree: promql_parser.Expr, known: Mapping[str, Series]) -> list[MissingLabel]:
    """Each label a parsed expression names that the series it reads do not carry."""
    found: list[MissingLabel] = []
    _read(tree, known, found)
    return found


def missing(used: Iterable[str], labels: frozenset[str]) -> list[str]:
    """The labels of ``used``, in order, that a series carrying ``labels`` lacks."""
    carried = labels | {promql.NAME_LABEL}
    return [label for label in dict.fromkeys(used) if label not in carried]


def describe(source: promql_parser.Expr) -> str:
    """A node as a problem names it: a selector by its series, anything else as PromQL."""
    if isinstance(source, promql_parser.VectorSelector):
        names = promql.selector_names(source)
        if len(names) == 1:
            return repr(names.pop())
    return repr(" ".join(source.prettify().split()))


def _read(
    node: promql_parser.Expr, known: Mapping[str, Series], found: list[MissingLabel]
) -> _Read:
    """What a node gives; each label it names that its input lacks is added to ``found``."""
    while isinstance(node, promql_parser.ParenExpr | promql_parser.UnaryExpr):
        node = node.expr
    read = _Read(frozenset(), node)  # a number or a string carries no labels
    if isinstance(node, promql_parser.VectorSelector):
        read = _selector(node, known, found)
    elif isinstance(node, promql_parser.MatrixSelector):
        read = _selector(node.vector_selector, known, found)
    elif isinstance(node, promql_parser.SubqueryExpr):
        read = _read(node.expr, known, found)
    elif isinstance(node, promql_parser.AggregateExpr):
        read = _aggregate(node, known, found)
    elif isinstance(node, promql_parser.BinaryExpr):
        read = _binary(node, known, found)
    elif isinstance(node, promql_parser.Call):
        read = _call(node, known, found)
    return read


def _note(found: list[MissingLabel], read: _Read, used: Iterable[str], named_in: str) -> None:
    """Add each label of ``used`` the input ``read`` lacks, when its labels are known."""
    lacking = [] if read.labels is None else missing(used, read.labels)
    if lacking and read.labels is not None:
        reads = (describe(read.source),)
        found.extend(MissingLabel(label, named_in, reads, read.labels) for label in lacking)


def _selector(
    node: promql_parser.VectorSelector, known: Mapping[str, Series], found: list[MissingLabel]
) -> _Read:
    """A selector gives its series' labels; each of its matchers must name one of them."""
    names = promql.selector_names(node)
    series = known.get(names.pop()) if len(names) == 1 else None
    read = _Read(series.labels if series else None, node)
    _note(found, read, (m.name for m in promql.matchers(node)), "a matcher")
    return read


def _aggregate(
    node: promql_parser.AggregateExpr, known: Mapping[str, Series], found: list[MissingLabel]
) -> _Read:
    """``by`` keeps the labels it names, no grouping none; ``without`` all but those it names.

    topk, bottomk and limitk pick series and keep their labels; count_values adds its label.
    """
    inner = _read(node.expr, known, found)
    if node.param is not None:
        _read(node.param, known, found)
    modifier = node.modifier
    grouping = list(modifier.labels) if modifier else []
    by = modifier is None or modifier.type == promql_parser.AggModifierType.By
    if modifier is not None:
        _note(found, inner, grouping, f"{'by' if by else 'without'} ({', '.join(grouping)})")
    op = str(node.op)
    if op in PICKING:
        return inner
    if by:
        labels: frozenset[str] | None = frozenset(grouping)
    else:
        labels = None if inner.labels is None else inner.labels - set(grouping)
    param = node.param
    if (
        op == "count_values"
        and labels is not None
        and isinstance(param, promql_parser.StringLiteral)
    ):
        labels |= {str(param.val)}
    return _Read(labels, node)


def _binary(
    node: promql_parser.BinaryExpr, known: Mapping[str, Series], found: list[MissingLabel]
) -> _Read:
    """A vector and a scalar give the vector's labels; two vectors, those Prometheus keeps."""
    lhs, rhs = _read(node.lhs, known, found), _read(node.rhs, known, found)
    if _scalar(node.lhs):
        return rhs
    if _scalar(node.rhs):
        return lhs
    modifier = node.modifier
    if modifier is not None:
        _note_matching(modifier, lhs, rhs, found)
    op = str(node.op)
    if op in ("and", "unless"):
        return lhs
    if op == "or":
        both = None if lhs.labels is None or rhs.labels is None else lhs.labels | rhs.labels
        return _Read(both, node)
    return _Read(_matched(modifier, lhs.labels, rhs.labels), node)


def _note_matching(
    modifier: promql_parser.BinModifier, lhs: _Read, rhs: _Read, found: list[MissingLabel]
) -> None:
    """Labels of on must be on both sides, of ignoring on either, of group_x on the "one" side."""
    include = list(modifier.group_labels or [])
    if modifier.card == promql_parser.VectorMatchCardinality.ManyToOne:
        _note(found, rhs, include, f"group_left ({', '.join(include)})")
    if modifier.card == promql_parser.VectorMatchCardinality.OneToMany:
        _note(found, lhs, include, f"group_right ({', '.join(include)})")
    matching = modifier.matching
    if matching is None:
        return
    names = list(matching.labels)
    if matching.type == promql_parser.LabelModifierType.Include:
        for side in (lhs, rhs):
            _note(found, side, names, f"on ({', '.join(names)})")
    elif lhs.labels is not None and rhs.labels is not None:
        either = lhs.labels | rhs.labels
        reads = (describe(lhs.source), describe(rhs.source))
        named_in = f"ignoring ({', '.join(names)})"
        found.extend(MissingLabel(x, named_in, reads, either) for x in missing(names, either))


def _matched(
    modifier: promql_parser.BinModifier | None,
    lhs: frozenset[str] | None,
    rhs: frozenset[str] | None,
) -> frozenset[str] | None:
    """The labels of an arithmetic or comparison result, as Prometheus' resultMetric keeps them.

    group_left keeps the left side's and adds its labels, group_right the same from the right;
    one-to-one matching keeps the left side's, only those of on, or all but those of ignoring.
    """
    if modifier is None:
        return lhs
    include = frozenset(modifier.group_labels or [])
    if modifier.card == promql_parser.VectorMatchCardinality.ManyToOne:
        return None if lhs is None else lhs | include
    if modifier.card == promql_parser.VectorMatchCardinality.OneToMany:
        return None if rhs is None else rhs | include
    matching = modifier.matching
    if matching is None:
        return lhs
    names = frozenset(matching.labels)
    if matching.type == promql_parser.LabelModifierType.Include:
        return names if lhs is None else lhs & names
    return None if lhs is None else lhs - names


def _call(
    node: promql_parser.Call, known: Mapping[str, Series], found: list[MissingLabel]
) -> _Read:
    """A function gives its vector argument's labels; some add, drop or check labels."""
    reads = [_read(arg, known, found) for arg in node.args]
    func = node.func
    vectors = [i for i in range(len(node.args)) if _argument_type(func, i) in VECTOR_TYPES]
    if not vectors or func.return_type == promql_parser.ValueType.Scalar:
        return _Read(frozenset(), node)
    read = reads[vectors[0]]
    strings = [arg.val for arg in node.args if isinstance(arg, promql_parser.StringLiteral)]
    if func.name in LABEL_WRITERS:
        destination, sources = strings[0], LABEL_WRITERS[func.name](strings)
        _note(found, read, [s for s in sources if s], func.name)
        return _Read(None if read.labels is None else read.labels | {destination}, node)
    if func.name in ("sort_by_label", "sort_by_label_desc"):
        _note(found, read, strings, func.name)
    if func.name in ("absent", "absent_over_time"):
        return _Read(_equal_matched(node.args[0]), node)
    if func.name == "histogram_quantile":
        _note(found, read, ["le"], "histogram_quantile, which reads le")
        return _Read(None if read.labels is None else read.labels - {"le"}, node)
    if func.name == "info":
        return _Read(None, node)
    return read


def _argument_type(func: promql_parser.Function, index: int) -> promql_parser.ValueType | None:
    """The type a function takes at an argument, the last one repeating for variadic ones."""
    types = func.arg_types
    return types[min(index, len(types) - 1)] if types else None


def _equal_matched(node: promql_parser.Expr) -> frozenset[str]:
    """The labels absent() gives: those its selector matches with ``=``."""
    if isinstance(node, promql_parser.MatrixSelector):
        node = node.vector_selector
    if not isinstance(node, promql_parser.VectorSelector):
        return frozenset()
    return frozenset(
        m.name
        for m in promql.matchers(node)
        if m.op == promql_parser.MatchOp.Equal and m.name != promql.NAME_LABEL
    )


def _scalar(node: promql_parser.Expr) -> bool:
    """Whether a node gives a scalar: a number, a scalar function, or arithmetic of those."""
    if isinstance(node, promql_parser.ParenExpr | promql_parser.UnaryExpr):
        return _scalar(node.expr)
    if isinstance(node, promql_parser.BinaryExpr):
        return _scalar(node.lhs) and _scalar(node.rhs)
    if isinstance(node, promql_parser.Call):
        return node.func.return_type is promql_parser.ValueType.Scalar
    return isinstance(node, promql_parser.NumberLiteral)


def parsable(expr: str) -> str:
    """A Grafana query as plain PromQL: macros as 5m, or as 300 where numbers ($__range_s)."""
    return GRAFANA_MACRO.sub(
        lambda m: "300" if m.group(1).strip("{}").endswith(("_s", "_ms")) else "5m", expr
    )


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

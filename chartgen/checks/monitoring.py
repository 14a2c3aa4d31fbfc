"""Checks on the monitoring: PromQL parses and reads declared series; dashboards refer to it."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence

import promql_parser

from chartgen.checks.names import Locate, duplicate_name, first_indexes
from chartgen.errors import Diagnostic
from chartgen.monitoring import dashboards, dialect, promql, series, slo_dashboard, templates
from chartgen.spec import Alert, ChartSpec, Dashboard, Panel, Threshold


def check_monitoring(
    spec: ChartSpec, readable: Mapping[str, series.Series], locate: Locate
) -> list[Diagnostic]:
    """PromQL parses, reads only known series and their labels; names are unique in the chart."""
    found: list[Diagnostic] = []
    first: dict[tuple[str, str], Sequence[str | int]] = {}
    slo_records = set(series.slo_records(spec))

    def unique(kind: str, name: str, where: Sequence[str | int]) -> None:
        # Locating reads line numbers, which costs a second parse: only for duplicates.
        if (kind, name) in first:
            found.append(
                Diagnostic(
                    locate(where),
                    f"duplicate {kind} {name!r} (also {locate(first[kind, name]).path})",
                    f"give each {kind} a unique name",
                )
            )
        first.setdefault((kind, name), where)

    for index, service in enumerate(spec.services):
        families = service.metrics.families if service.metrics else []
        for number, family in enumerate(families):
            unique("metric family", family.name, ["services", index, "metrics", "families", number])
        for number, rule in enumerate(service.recordingRules):
            unique("recording rule", rule.record, ["services", index, "recordingRules", number])
            if rule.record in slo_records:
                found.append(
                    Diagnostic(
                        locate(["services", index, "recordingRules", number, "record"]),
                        f"recording rule {rule.record!r} has the name of a series the SLO rules "
                        "record: both would write it, and SLO panels and alerts read it",
                        f"give the rule a name of its own (e.g. {service.name}:"
                        f"{rule.record.split(':', 1)[-1]}); SLO records are read as they are",
                    )
                )
        for number, alert in enumerate(service.alerts):
            unique("alert", alert.alert, ["services", index, "alerts", number])
    for index, service in enumerate(spec.services):
        for number, rule in enumerate(service.recordingRules):
            where: list[str | int] = ["services", index, "recordingRules", number]
            found.extend(_expr_problems(rule.expr, {}, readable, [*where, "expr"], locate))
        for number, alert in enumerate(service.alerts):
            where = ["services", index, "alerts", number]
            expr_where = [*where, "expr"]
            found.extend(_expr_problems(alert.expr, alert.params, readable, expr_where, locate))
            fields = ("summary", "description", "runbook")
            found.extend(
                Diagnostic(locate([*where, *at]), what, fix)
                for at, what, fix in template_problems(
                    {("labels", key): value for key, value in alert.labels.items()},
                    {(field,): (getattr(alert, field), alert.alert) for field in fields},
                )
            )
    return found


def template_problems(
    labels: Mapping[tuple[str, ...], str], annotations: Mapping[tuple[str, ...], tuple[str, str]]
) -> Iterator[tuple[tuple[str, ...], str, str]]:
    """(where, what, fix) for an alert's texts Prometheus would refuse to load the rules for.

    ``labels`` holds label values by where they are written, which must hold no template;
    ``annotations`` texts (with the alert they reach), which must parse as templates.
    """
    for at, value in labels.items():
        if "$" in value or "{{" in value:
            yield (
                at,
                "an alert label holds a template ($value or {{ }})",
                "move changing text into annotations; labels identify the alert",
            )
    for at, (text, alert) in annotations.items():
        problem = templates.problem(text, alert)
        if problem:
            yield (
                at,
                f"Prometheus cannot parse the {at[-1]} as a template: {problem.what}",
                problem.fix,
            )


def _expr_problems(
    expr: str,
    params: dict[str, float | int],
    readable: Mapping[str, series.Series],
    where: Sequence[str | int],
    locate: Locate,
) -> Iterator[Diagnostic]:
    """Parameters, parsing, the series and labels read, and the result type of one expression."""
    used = promql.params_used(expr)
    missing = [p for p in used if p not in params]
    if missing:
        yield Diagnostic(
            locate(where),
            f"unknown parameter(s) {', '.join('$' + p for p in missing)}",
            "declare each under 'params:' with its default value",
        )
        return
    quoted = promql.params_in_strings(expr)
    if quoted:
        yield Diagnostic(
            locate(where),
            f"{', '.join('$' + p for p in quoted)} inside quotes: a parameter is a number, "
            "which a string or label value cannot hold",
            "use parameters as numbers outside quotes (x > $threshold); write label values "
            "out in full",
        )
        return
    timed = dialect.params_in_durations(expr)
    if timed:
        yield Diagnostic(
            locate(where),
            f"{', '.join('$' + p for p in timed)} as a range or offset: a parameter is a number, "
            f"and {dialect.TARGET} reads only a duration there",
            "write the duration in expr (rate(x[5m])); parameters are thresholds",
        )
        return
    for name in sorted(set(params) - set(used)):
        yield Diagnostic(
            locate([*where[:-1], "params", name]),
            f"parameter {name!r} is not used in expr",
            f"use ${name} in expr, or remove it",
        )
    text = promql.substitute(expr, params)
    try:
        tree = promql.parse(text)
    except ValueError as err:
        yield Diagnostic(locate(where), f"invalid PromQL: {err}", "fix the expression")
        return
    for what, fix in dialect.problems(text, tree):
        yield Diagnostic(locate(where), what, fix)
    for name in sorted(promql.metric_names(tree) - readable.keys()):
        yield Diagnostic(locate(where), *_undeclared(name))
    for problem in series.missing_labels(tree, readable):
        what, fix = _missing_label(problem.reads, problem.label, problem.labels)
        yield Diagnostic(locate(where), f"{what} (named in {problem.named_in})", fix)
    while isinstance(tree, promql_parser.ParenExpr):
        tree = tree.expr
    ranges = promql_parser.MatrixSelector | promql_parser.SubqueryExpr
    if isinstance(tree, ranges | promql_parser.StringLiteral):
        kind = "a range vector" if isinstance(tree, ranges) else "a string"
        what = f"the expression gives {kind}; a rule's result must be a vector or scalar"
        yield Diagnostic(locate(where), what, "make it one, e.g. rate(x[5m]) instead of x[5m]")


def _undeclared(name: str) -> tuple[str, str]:
    """What and fix for reading a series that nothing declares."""
    return (
        f"reads {name!r}, which no service declares and no recording rule produces",
        "declare it under the exposing service's metrics.families, or fix the name",
    )


def _missing_label(reads: Sequence[str], label: str, labels: frozenset[str]) -> tuple[str, str]:
    """What and fix for a label the series read lack: the closest label, and all of them."""
    if len(reads) == 1:
        what = f"{reads[0]} has no label {label!r}"
    else:
        what = f"neither {' nor '.join(reads)} has a label {label!r}"
    close = difflib.get_close_matches(label, sorted(labels), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return what, f"{hint}its labels are: {', '.join(sorted(labels)) or 'none'}"


def check_dashboards(
    spec: ChartSpec,
    known: Mapping[str, series.Series],
    readable: Mapping[str, series.Series],
    locate: Locate,
) -> list[Diagnostic]:
    """Panels read declared series, and labels they carry, in valid PromQL; thresholds too."""
    alerts = dashboards.alerts_by_name(spec)
    found: list[Diagnostic] = []
    first_index = first_indexes(dashboard.name for dashboard in spec.dashboards)
    generated = slo_dashboard.slo_dashboard(spec)
    for index, dashboard in enumerate(spec.dashboards):
        where: list[str | int] = ["dashboards", index]
        found.extend(duplicate_name("dashboards", index, dashboard.name, first_index, locate))
        if generated is not None and dashboard.name == generated.name:
            found.append(
                Diagnostic(
                    locate([*where, "name"]),
                    f"dashboard name {dashboard.name!r} is the SLO dashboard's, which the chart "
                    "generates for the spec's SLOs",
                    f"give this dashboard another name (e.g. {dashboard.name}-overview)",
                )
            )
        found.extend(
            Diagnostic(locate([*where, *loc]), what, fix)
            for loc, what, fix in _dashboard_problems(dashboard, known, readable, alerts)
        )
    if generated is not None:
        # A row per SLO, in spec order: a problem of a row is located at its SLO.
        rows: list[list[str | int]] = [
            ["services", index, "slos", number]
            for index, service in enumerate(spec.services)
            for number, _ in enumerate(service.slos)
        ]
        for loc, what, fix in _dashboard_problems(generated, known, readable, alerts):
            row = loc[1] if loc[:1] == ("rows",) and isinstance(loc[1], int) else 0
            found.append(Diagnostic(locate(rows[row]), f"the generated SLO dashboard: {what}", fix))
    return found


def _dashboard_problems(
    dashboard: Dashboard,
    known: Mapping[str, series.Series],
    readable: Mapping[str, series.Series],
    alerts: Mapping[str, Alert],
) -> Iterator[tuple[Sequence[str | int], str, str]]:
    """(path inside the dashboard, what, fix) for each problem of one dashboard."""
    sources = dashboards.variable_sources(dashboard, known)
    for number, label in enumerate(dashboard.variables):
        if dashboard.variables.index(label) != number:
            yield ("variables", number), f"variable {label!r} is listed twice", "remove one"
        elif label not in sources:
            yield (
                ("variables", number),
                f"no series this dashboard reads carries the label {label!r}",
                "add a panel reading a series with that label, or remove the variable",
            )
    allowed = {*dashboard.variables, "datasource"}
    for row_number, row in enumerate(dashboard.rows):
        for panel_number, panel in enumerate(row.panels):
            at: tuple[str | int, ...] = ("rows", row_number, "panels", panel_number)
            yield from _panel_problems(panel, at, known)
            for number, threshold in enumerate(panel.thresholds):
                yield from _threshold_problems(threshold, (*at, "thresholds", number), alerts)
            # Queries chartgen writes from metric targets read what _panel_problems checked,
            # through the dashboard's own variables; only queries the spec writes are parsed.
            for number, target in enumerate(panel.targets):
                if target.expr is not None:
                    where = (*at, "targets", number, "expr")
                    yield from _query_problems(target.expr, where, readable, allowed)


def _panel_problems(
    panel: Panel, at: tuple[str | int, ...], known: Mapping[str, series.Series]
) -> Iterator[tuple[Sequence[str | int], str, str]]:
    for number, target in enumerate(panel.targets):
        where = (*at, "targets", number)
        if target.metric is None:
            continue
        source = known.get(target.metric)
        if source is None:
            yield ((*where, "metric"), *_undeclared(target.metric))
            continue
        if target.quantiles and source.kind != "histogram":
            yield (*where, "quantiles"), f"{source.name!r} is a {source.kind}", "remove quantiles"
        if panel.type == "heatmap" and source.kind != "histogram":
            yield (
                (*where, "metric"),
                f"a heatmap shows histogram buckets; {source.name!r} is a {source.kind}",
                "use a timeseries panel, or a histogram metric",
            )
        if source.labels is not None:
            for label in series.missing(target.by, source.labels):
                yield ((*where, "by"), *_missing_label([repr(source.name)], label, source.labels))


def _threshold_problems(
    threshold: Threshold, where: tuple[str | int, ...], alerts: Mapping[str, Alert]
) -> Iterator[tuple[Sequence[str | int], str, str]]:
    if threshold.alert is None:
        return
    alert = alerts.get(threshold.alert)
    if alert is None:
        yield (*where, "alert"), f"no alert named {threshold.alert!r}", "name a declared alert"
    elif threshold.param not in alert.params:
        params = ", ".join(alert.params) or "none"
        yield (
            (*where, "param"),
            f"alert {alert.alert!r} has no parameter {threshold.param!r}",
            f"its parameters are: {params}",
        )
    elif dashboards.threshold_side(threshold, alert) is None:
        yield (
            (*where, "when"),
            f"cannot tell from {alert.alert}'s expr which side of ${threshold.param} is bad",
            "set when: above or when: below",
        )


def _query_problems(
    expr: str,
    where: Sequence[str | int],
    readable: Mapping[str, series.Series],
    allowed: set[str],
) -> Iterator[tuple[Sequence[str | int], str, str]]:
    for name in sorted(set(series.VARIABLE.findall(expr)) - allowed):
        if not name.startswith("__"):
            yield (
                where,
                f"uses ${name}, which is not a variable of this dashboard",
                f"add {name!r} to the dashboard's variables, or write the value",
            )
    # Grafana sends the query to the Prometheus the chart's rules run on: the same dialect.
    text = series.parsable(expr)
    try:
        tree = promql.parse(text)
    except ValueError as err:
        yield where, f"invalid PromQL: {err}", "fix the expression"
        return
    for what, fix in dialect.problems(text, tree):
        yield where, what, fix
    for name in sorted(promql.metric_names(tree) - readable.keys()):
        yield (where, *_undeclared(name))
    for problem in series.missing_labels(tree, readable):
        what, fix = _missing_label(problem.reads, problem.label, problem.labels)
        yield where, f"{what} (named in {problem.named_in})", fix

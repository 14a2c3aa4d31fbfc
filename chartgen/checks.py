"""Checks across objects that a single model cannot see: references, uniqueness, name lengths."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from chartgen import dashboards, naming, promql
from chartgen.errors import ChartgenError, Diagnostic, Location
from chartgen.rules import RulesView
from chartgen.spec import Alert, ChartSpec, Dashboard, Panel, Probe, Service, Threshold
from chartgen.spec.service import ALWAYS_WRITABLE
from chartgen.values import reserved_name

Locate = Callable[[Sequence[str | int]], Location]


def check_spec(spec: ChartSpec, locate: Locate) -> list[Diagnostic]:
    """Every cross-object problem of the spec, errors and warnings, in spec order."""
    found: list[Diagnostic] = []
    first_index = _first_indexes(service.name for service in spec.services)
    services = {s.name: s for s in spec.services}
    for index, service in enumerate(spec.services):
        where: list[str | int] = ["services", index]
        found.extend(_duplicate_name("services", index, service.name, first_index, locate))
        found.extend(_reserved("service", service.name, [*where, "name"], locate))
        found.extend(
            Diagnostic(locate([*where, *loc]), what, fix)
            for loc, what, fix in _service_problems(spec.chart.name, service)
        )
        found.extend(
            Diagnostic(locate([*where, *loc]), what, fix)
            for loc, what, fix in _egress_problems(services, service)
        )
        found.extend(
            Diagnostic(
                locate([*where, "env", number, "secret"]),
                f"env var {env.name} reads a Secret: values in the environment leak into "
                "child processes, crash reports and /proc",
                "mount the Secret as files with secretMounts, and pass the file's path instead",
                warning=True,
            )
            for number, env in enumerate(service.env)
            if env.secret is not None
        )
    return found + check_monitoring(spec, locate) + check_dashboards(spec, locate)


def _reserved(kind: str, name: str, where: Sequence[str | int], locate: Locate) -> list[Diagnostic]:
    """An error if a name is one the chart's values cannot hold as a key of its own."""
    if not reserved_name(name):
        return []
    return [
        Diagnostic(
            locate(where),
            f"{kind} name {name!r} is reserved: the chart's values model uses it for itself",
            "choose another name: schema, json, copy, dict, validate, construct and "
            "model-*/model_* are taken",
        )
    ]


def _first_indexes(names: Iterable[str]) -> dict[str, int]:
    """Each name's first position in a list of names."""
    first: dict[str, int] = {}
    for index, name in enumerate(names):
        first.setdefault(name, index)
    return first


def _duplicate_name(
    section: str, index: int, name: str, first_index: Mapping[str, int], locate: Locate
) -> list[Diagnostic]:
    """An error if an earlier entry of the section has the same name as entry ``index``."""
    first = first_index[name]
    if first == index:
        return []
    kind = section.removesuffix("s")
    return [
        Diagnostic(
            locate([section, index, "name"]),
            f"duplicate {kind} name {name!r} (also {section}[{first}])",
            f"give each {kind} a unique name",
        )
    ]


def _egress_problems(
    services: Mapping[str, Service], service: Service
) -> Iterator[tuple[Sequence[str | int], str, str]]:
    """Egress to another service names a service of the spec and one of its ports."""
    for number, rule in enumerate(service.egress):
        if rule.service is None:
            continue
        target = services.get(rule.service)
        if target is None:
            yield (
                ("egress", number, "service"),
                f"egress to {rule.service!r}, which is not a service of this spec",
                f"use one of: {', '.join(services)}; or cidr: for addresses outside",
            )
            continue
        declared = {(p.port, p.protocol) for p in target.ports}
        for index, port in enumerate(rule.ports):
            if (port.port, port.protocol) not in declared:
                yield (
                    ("egress", number, "ports", index),
                    f"{rule.service} does not declare port {port.port}/{port.protocol}",
                    "use one of its ports: "
                    + ", ".join(f"{p.port}/{p.protocol}" for p in target.ports),
                )


def check_monitoring(spec: ChartSpec, locate: Locate) -> list[Diagnostic]:
    """PromQL parses, reads only known series, and names are unique across the chart."""
    found: list[Diagnostic] = []
    known: set[str] = set(promql.BUILTIN_SERIES)
    first: dict[tuple[str, str], Sequence[str | int]] = {}

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
            known.update(family.series_names())
        for number, rule in enumerate(service.recordingRules):
            unique("recording rule", rule.record, ["services", index, "recordingRules", number])
            known.add(rule.record)
        for number, alert in enumerate(service.alerts):
            at: list[str | int] = ["services", index, "alerts", number]
            unique("alert", alert.alert, at)
            found.extend(_reserved("alert", alert.alert, [*at, "alert"], locate))
            for param in alert.params:
                found.extend(_reserved("parameter", param, [*at, "params", param], locate))

    for index, service in enumerate(spec.services):
        for number, rule in enumerate(service.recordingRules):
            where: list[str | int] = ["services", index, "recordingRules", number]
            found.extend(_expr_problems(rule.expr, {}, known, [*where, "expr"], locate))
        for number, alert in enumerate(service.alerts):
            where = ["services", index, "alerts", number]
            found.extend(_expr_problems(alert.expr, alert.params, known, [*where, "expr"], locate))
            found.extend(
                Diagnostic(
                    locate([*where, "labels", key]),
                    "an alert label holds a template ($value or {{ }})",
                    "move changing text into annotations; labels identify the alert",
                )
                for key, value in alert.labels.items()
                if "$" in value or "{{" in value
            )
    return found


def _expr_problems(
    expr: str,
    params: dict[str, float | int],
    known: set[str],
    where: Sequence[str | int],
    locate: Locate,
) -> Iterator[Diagnostic]:
    used = promql.params_used(expr)
    missing = [p for p in used if p not in params]
    if missing:
        yield Diagnostic(
            locate(where),
            f"unknown parameter(s) {', '.join('$' + p for p in missing)}",
            "declare each under 'params:' with its default value",
        )
        return
    for name in sorted(set(params) - set(used)):
        yield Diagnostic(
            locate([*where[:-1], "params", name]),
            f"parameter {name!r} is not used in expr",
            f"use ${name} in expr, or remove it",
        )
    try:
        names = promql.metric_names(promql.substitute(expr, params))
    except ValueError as err:
        yield Diagnostic(locate(where), f"invalid PromQL: {err}", "fix the expression")
        return
    for name in sorted(names - known):
        yield Diagnostic(locate(where), *_undeclared(name))


def _undeclared(name: str) -> tuple[str, str]:
    """What and fix for reading a series that nothing declares."""
    return (
        f"reads {name!r}, which no service declares and no recording rule produces",
        "declare it under the exposing service's metrics.families, or fix the name",
    )


def check_rule_sizes(rules: Sequence[RulesView | None], locate: Locate) -> list[Diagnostic]:
    """Each built rules ConfigMap (one per service, in spec order) fits kubectl apply."""
    found = []
    for index, view in enumerate(rules):
        if view is None:
            continue
        size = len(view.recording_text.encode()) + sum(len(a.text.encode()) for a in view.alerts)
        if size > dashboards.APPLY_ANNOTATION_LIMIT:
            found.append(
                Diagnostic(
                    locate(["services", index, "name"]),
                    f"the rules ConfigMap of {view.service!r} would hold {size:,} bytes; "
                    f"`kubectl apply` refuses more than {dashboards.APPLY_ANNOTATION_LIMIT:,} "
                    f"(and Kubernetes any ConfigMap over {dashboards.CONFIGMAP_LIMIT:,})",
                    "split the rules across services, or shorten descriptions and expressions",
                )
            )
    return found


#: Helm refuses to load a chart that holds a file over 5 MiB.
HELM_FILE_LIMIT = 5 * 1024 * 1024


def check_file_sizes(
    files: Mapping[str, str], helm_ignored: Sequence[str] = ()
) -> list[Diagnostic]:
    """Each rendered file helm loads (all but ``helm_ignored`` directories) fits its limit."""
    found = (check_file_size(path, text, helm_ignored) for path, text in files.items())
    return [problem for problem in found if problem is not None]


def check_file_size(path: str, text: str, helm_ignored: Sequence[str] = ()) -> Diagnostic | None:
    """The problem with one rendered file if helm would refuse it for its size."""
    if path.startswith(tuple(helm_ignored)) or len(text) * 4 <= HELM_FILE_LIMIT:
        return None  # at most 4 bytes per character: small enough without encoding
    size = len(text.encode())
    if size <= HELM_FILE_LIMIT:
        return None
    return Diagnostic(
        Location(path=path),
        f"{path} would be {size:,} bytes; helm refuses to load a chart holding a "
        f"file over {HELM_FILE_LIMIT:,} bytes (5 MiB)",
        "split the services into several charts, one spec (or directory of spec files) each",
    )


def raise_for_errors(diagnostics: Sequence[Diagnostic]) -> None:
    """Stop with all errors at once; warnings alone let the render go on."""
    if any(not d.warning for d in diagnostics):
        raise ChartgenError(diagnostics)


def _mount_problems(service: Service) -> Iterator[tuple[Sequence[str | int], str, str]]:
    """Writable paths and Secret mounts each take a directory of their own."""
    taken: dict[str, str] = {ALWAYS_WRITABLE: "always writable"}
    mounts: list[tuple[tuple[str | int, ...], str]] = [
        (("writablePaths", i), path) for i, path in enumerate(service.writablePaths)
    ]
    mounts += [(("secretMounts", i, "path"), m.path) for i, m in enumerate(service.secretMounts)]
    for loc, path in mounts:
        for other, why in taken.items():
            if path == other or path.startswith(other + "/") or other.startswith(path + "/"):
                yield (
                    loc,
                    f"{path} overlaps {other} ({why})",
                    "give each writable path and Secret mount a directory of its own",
                )
                break
        taken.setdefault(path, f"{loc[0]}[{loc[1]}]")


def _service_problems(
    chart_name: str, service: Service
) -> Iterator[tuple[Sequence[str | int], str, str]]:
    """(path inside the service, what, fix) for each problem of one service."""
    names: dict[str, int] = {}
    numbers: dict[int, int] = {}
    for index, port in enumerate(service.ports):
        if port.name in names:
            yield ("ports", index, "name"), f"duplicate port name {port.name!r}", "rename one port"
        if port.port in numbers:
            yield ("ports", index, "port"), f"port {port.port} declared twice", "remove one"
        names.setdefault(port.name, index)
        numbers.setdefault(port.port, index)
    declared = ", ".join(f"{p.name} ({p.port})" for p in service.ports)
    for kind, probe in service.probes.items():
        check = probe.http or probe.tcp
        if check is not None and service.port_number(check.port) is None:
            handler = "http" if probe.http else "tcp"
            yield (
                ("probes", kind, handler, "port"),
                f"{kind} probe uses port {check.port!r}, which the service does not declare",
                f"use one of the declared ports: {declared}",
            )
    liveness, readiness = service.probes.liveness, service.probes.readiness
    if liveness and readiness and _same_check(liveness, readiness, service):
        yield (
            ("probes", "readiness"),
            "the liveness and readiness probes make the same check: when a dependency is slow, "
            "the kubelet restarts the pod instead of taking it out of the Service",
            "point liveness at a cheap in-process check (e.g. /health) and readiness at one "
            "that covers dependencies (e.g. /ready), or drop one of them",
        )
    if service.metrics and service.port_number(service.metrics.port) is None:
        yield (
            ("metrics", "port"),
            f"metrics port {service.metrics.port!r} is not declared",
            f"use one of the declared ports: {declared}",
        )
    yield from _mount_problems(service)
    too_long = [
        (limit - (len(name) - len(service.name)), name, limit, kind)
        for name, limit, kind in naming.generated_names(chart_name, service.name)
        if len(name) > limit
    ]
    if too_long:
        room, name, limit, kind = min(too_long)
        yield (
            ("name",),
            f"the {kind} name {name!r} has {len(name)} characters; Kubernetes allows {limit}",
            f"shorten the service name to at most {room} characters",
        )


def _same_check(first: Probe, second: Probe, service: Service) -> bool:
    """Whether two probes check the same thing (ports compared by number)."""

    def key(probe: Probe) -> tuple[object, ...]:
        if probe.http:
            port = service.port_number(probe.http.port)
            return ("http", probe.http.scheme, port, probe.http.path)
        if probe.tcp:
            return ("tcp", service.port_number(probe.tcp.port))
        return ("exec", tuple(probe.exec.command) if probe.exec else ())

    return key(first) == key(second)


def check_dashboards(spec: ChartSpec, locate: Locate) -> list[Diagnostic]:
    """Every panel reads declared series through valid PromQL; thresholds name real alerts."""
    known = dashboards.catalog(spec)
    declared = set(promql.BUILTIN_SERIES) | set(known)
    for service in spec.services:
        for family in service.metrics.families if service.metrics else []:
            declared.update(family.series_names())
    alerts = dashboards.alerts_by_name(spec)
    found: list[Diagnostic] = []
    first_index = _first_indexes(dashboard.name for dashboard in spec.dashboards)
    for index, dashboard in enumerate(spec.dashboards):
        where: list[str | int] = ["dashboards", index]
        found.extend(_duplicate_name("dashboards", index, dashboard.name, first_index, locate))
        found.extend(_reserved("dashboard", dashboard.name, [*where, "name"], locate))
        found.extend(
            Diagnostic(locate([*where, *loc]), what, fix)
            for loc, what, fix in _dashboard_problems(dashboard, known, declared, alerts)
        )
    return found


def _dashboard_problems(
    dashboard: Dashboard,
    known: Mapping[str, dashboards.Series],
    declared: set[str],
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
                    yield from _query_problems(target.expr, where, declared, allowed)


def _panel_problems(
    panel: Panel, at: tuple[str | int, ...], known: Mapping[str, dashboards.Series]
) -> Iterator[tuple[Sequence[str | int], str, str]]:
    for number, target in enumerate(panel.targets):
        where = (*at, "targets", number)
        if target.metric is None:
            continue
        series = known.get(target.metric)
        if series is None:
            yield ((*where, "metric"), *_undeclared(target.metric))
            continue
        if target.quantiles and series.kind != "histogram":
            yield (*where, "quantiles"), f"{series.name!r} is a {series.kind}", "remove quantiles"
        if panel.type == "heatmap" and series.kind != "histogram":
            yield (
                (*where, "metric"),
                f"a heatmap shows histogram buckets; {series.name!r} is a {series.kind}",
                "use a timeseries panel, or a histogram metric",
            )
        if series.labels is not None:
            for label in sorted(set(target.by) - series.labels):
                yield (
                    (*where, "by"),
                    f"{series.name!r} has no label {label!r}",
                    f"its labels are: {', '.join(sorted(series.labels))}",
                )


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
    expr: str, where: Sequence[str | int], declared: set[str], allowed: set[str]
) -> Iterator[tuple[Sequence[str | int], str, str]]:
    for name in sorted(set(dashboards.VARIABLE.findall(expr)) - allowed):
        if not name.startswith("__"):
            yield (
                where,
                f"uses ${name}, which is not a variable of this dashboard",
                f"add {name!r} to the dashboard's variables, or write the value",
            )
    try:
        names = promql.metric_names(dashboards.parsable(expr))
    except ValueError as err:
        yield where, f"invalid PromQL: {err}", "fix the expression"
        return
    for name in sorted(names - declared):
        yield (where, *_undeclared(name))


def check_dashboard_sizes(
    views: Sequence[dashboards.DashboardView], locate: Locate
) -> list[Diagnostic]:
    """Each built dashboard's ConfigMap fits kubectl apply's annotation and Kubernetes' 1 MiB."""
    found = []
    fix = "split it into smaller dashboards, or shorten its panels' descriptions and queries"
    for index, view in enumerate(views):
        size = dashboards.configmap_bytes(view.name, view.text)
        if size > dashboards.CONFIGMAP_LIMIT:
            limit = f"Kubernetes' limit of {dashboards.CONFIGMAP_LIMIT:,} bytes (1 MiB)"
        elif size > dashboards.APPLY_ANNOTATION_LIMIT:
            limit = (
                f"the {dashboards.APPLY_ANNOTATION_LIMIT:,} bytes kubectl apply can keep in its "
                "last-applied annotation"
            )
        else:
            continue
        found.append(
            Diagnostic(
                locate(["dashboards", index]),
                f"dashboard {view.name!r} needs a ConfigMap of about {size:,} bytes, over {limit}",
                fix,
            )
        )
    return found

"""Checks on the spec across objects that one model cannot see: references, uniqueness."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from chartgen import naming
from chartgen.checks.monitoring import check_dashboards, check_monitoring
from chartgen.checks.names import Locate, duplicate_name, first_indexes
from chartgen.checks.slos import check_slos
from chartgen.errors import Diagnostic
from chartgen.monitoring.series import Series, read_labels
from chartgen.spec import ChartSpec, Probe, Service
from chartgen.spec.service import ALWAYS_WRITABLE


def check_spec(spec: ChartSpec, known: Mapping[str, Series], locate: Locate) -> list[Diagnostic]:
    """Every cross-object problem of the spec, errors and warnings, in spec order.

    ``known`` is the spec's series catalog, which the checks and the build share; the series
    PromQL may read, with their labels, are worked out once here for the monitoring checks.
    """
    readable = read_labels(spec)
    found: list[Diagnostic] = []
    first_index = first_indexes(service.name for service in spec.services)
    services = {s.name: s for s in spec.services}
    for index, service in enumerate(spec.services):
        where: list[str | int] = ["services", index]
        found.extend(duplicate_name("services", index, service.name, first_index, locate))
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
    return [
        *found,
        *check_monitoring(spec, readable, locate),
        *check_slos(spec, locate),
        *check_dashboards(spec, known, readable, locate),
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
    envs = first_indexes(env.name for env in service.env)
    for index, env in enumerate(service.env):
        if envs[env.name] != index:
            yield ("env", index, "name"), f"env var {env.name} is set twice", "remove one"
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

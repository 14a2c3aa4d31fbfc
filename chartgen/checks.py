"""Checks across objects that a single model cannot see: references, uniqueness, name lengths."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from chartgen import naming
from chartgen.errors import ChartgenError, Diagnostic, Location
from chartgen.spec import ChartSpec, Service

Locate = Callable[[Sequence[str | int]], Location]


def check_spec(spec: ChartSpec, locate: Locate) -> list[Diagnostic]:
    """Every cross-object problem of the spec, errors and warnings, in spec order."""
    found: list[Diagnostic] = []
    seen: dict[str, int] = {}
    for index, service in enumerate(spec.services):
        where: list[str | int] = ["services", index]
        if service.name in seen:
            found.append(
                Diagnostic(
                    locate([*where, "name"]),
                    f"duplicate service name {service.name!r} "
                    f"(also services[{seen[service.name]}])",
                    "give each service a unique name",
                )
            )
        seen.setdefault(service.name, index)
        found.extend(
            Diagnostic(locate([*where, *loc]), what, fix)
            for loc, what, fix in _service_problems(spec.chart.name, service)
        )
    return found


def raise_for_errors(diagnostics: Sequence[Diagnostic]) -> None:
    """Stop with all errors at once; warnings alone let the render go on."""
    if any(not d.warning for d in diagnostics):
        raise ChartgenError(diagnostics)


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
    if service.metrics and service.port_number(service.metrics.port) is None:
        yield (
            ("metrics", "port"),
            f"metrics port {service.metrics.port!r} is not declared",
            f"use one of the declared ports: {declared}",
        )
    for name, limit, kind in naming.generated_names(chart_name, service.name, service.workload):
        if len(name) > limit:
            room = limit - (len(name) - len(service.name))
            yield (
                ("name",),
                f"the {kind} name {name!r} has {len(name)} characters; Kubernetes allows {limit}",
                f"shorten the service name to at most {room} characters",
            )

"""Checks on SLOs: each SLI reads a family its service declares, with the labels it selects."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence

from chartgen.checks.monitoring import template_problems
from chartgen.checks.names import Locate
from chartgen.errors import Diagnostic
from chartgen.monitoring import slos
from chartgen.monitoring.series import STANDARD_LABELS
from chartgen.spec import SLO, ChartSpec, Counter, MetricFamily, Service

Problem = tuple[Sequence[str | int], str, str]


def check_slos(spec: ChartSpec, locate: Locate) -> list[Diagnostic]:
    """SLO names are unique in their service, alert names in the chart; every SLI is readable."""
    found: list[Diagnostic] = []
    alert_paths: dict[str, Sequence[str | int]] = {}
    for index, service in enumerate(spec.services):
        for number, alert in enumerate(service.alerts):
            alert_paths.setdefault(alert.alert, ["services", index, "alerts", number])
    for index, service in enumerate(spec.services):
        names: dict[str, int] = {}
        for number, slo in enumerate(service.slos):
            where: list[str | int] = ["services", index, "slos", number]
            if slo.name in names:
                found.append(
                    Diagnostic(
                        locate([*where, "name"]),
                        f"duplicate SLO name {slo.name!r} (also slos[{names[slo.name]}])",
                        "give each SLO of a service a unique name",
                    )
                )
            names.setdefault(slo.name, number)
            for kind, _ in slos.alerts(service, slo):
                name = slos.alert_name(service, slo, kind)
                at = [*where, "alerting", kind, "name"]
                if name in alert_paths:
                    found.append(
                        Diagnostic(
                            locate(at),
                            f"duplicate alert {name!r} (also {locate(alert_paths[name]).path})",
                            f"give the {kind} alert a name of its own under alerting.{kind}.name",
                        )
                    )
                alert_paths.setdefault(name, at)
            found.extend(
                Diagnostic(locate([*where, "sli", *loc]), what, fix)
                for loc, what, fix in _sli_problems(service, slo)
            )
            found.extend(
                Diagnostic(locate([*where, *loc]), what, fix)
                for loc, what, fix in _annotation_problems(service, slo)
            )
    return found


def _annotation_problems(service: Service, slo: SLO) -> Iterator[Problem]:
    """Texts that reach the alerts' annotations and labels, which Prometheus reads as templates."""
    labels: dict[tuple[str, ...], str] = {}
    texts: dict[tuple[str, ...], tuple[str, str]] = {}  # where -> (text, an alert it reaches)
    for kind, alert in slos.alerts(service, slo):
        name = slos.alert_name(service, slo, kind)
        texts.setdefault(("description",), (slo.description, name))
        texts.setdefault(("runbook",), (slo.runbook, name))
        for field in ("summary", "description", "runbook"):
            if text := getattr(alert, field):
                texts["alerting", kind, field] = (text, name)
        labels.update({("alerting", kind, "labels", k): v for k, v in alert.labels.items()})
    yield from template_problems(labels, texts)


def _sli_problems(service: Service, slo: SLO) -> Iterator[Problem]:
    """The SLI reads families of its own service, of the right type, with labels they carry."""
    families = {f.name: f for f in service.metrics.families} if service.metrics else {}
    sli = slo.sli
    if service.metrics is None:
        yield (
            (sli.kind,),
            f"{service.name} has no metrics: Prometheus does not scrape it, so no SLI exists",
            "declare metrics: {port, families} for the service",
        )
        return
    if sli.events is not None:
        for role in ("errors", "good", "total"):
            counter: Counter | None = getattr(sli.events, role)
            if counter is not None:
                yield from _family_problems(
                    families, counter.metric, counter.matchers, kind="counter", at=("events", role)
                )
    elif sli.latency is not None:
        latency = sli.latency
        yield from _family_problems(
            families,
            latency.histogram,
            latency.matchers,
            kind="histogram",
            at=("latency",),
            key="histogram",
        )
    elif sli.availability is not None:
        for label in sli.availability.matchers:
            if label not in STANDARD_LABELS:
                yield (
                    ("availability", "matchers", label),
                    f"up has no label {label!r}",
                    f"its labels are: {', '.join(sorted(STANDARD_LABELS))}",
                )


def _family_problems(
    families: dict[str, MetricFamily],
    name: str,
    matchers: dict[str, str],
    *,
    kind: str,
    at: tuple[str, ...],
    key: str = "metric",
) -> Iterator[Problem]:
    family = families.get(name)
    if family is None:
        close = difflib.get_close_matches(name, sorted(families), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        yield (
            (*at, key),
            f"reads {name!r}, which the service does not declare",
            f"{hint}name one of its {kind} families, or declare it under metrics.families",
        )
        return
    if family.type != kind:
        yield (
            (*at, key),
            f"{name!r} is a {family.type}; this SLI counts events of a {kind}",
            f"name a {kind} family of the service",
        )
    labels = STANDARD_LABELS | set(family.labels)
    for label in matchers:
        if label not in labels:
            yield (
                (*at, "matchers", label),
                f"{name!r} has no label {label!r}",
                f"its labels are: {', '.join(sorted(labels))}",
            )

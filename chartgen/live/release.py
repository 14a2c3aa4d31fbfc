"""A release of the chart: its values (defaults, then values files) and what it ships for them.

This is what `chartgen verify` expects to find in Prometheus: the scraped services with their
metric families, the rule groups the rules ConfigMaps hold for those values (the services'
own and their SLOs'), and the SLOs whose error budgets those rules record. It mirrors the
chart's templates, and a test holds it to what `helm template` renders.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from chartgen.checks.values import helm_merge
from chartgen.errors import ChartgenError
from chartgen.load.diagnostics import validation_diagnostics
from chartgen.load.yaml import SourceFile
from chartgen.monitoring import slos
from chartgen.monitoring.promql import duration_seconds
from chartgen.monitoring.rules import rules_file_name
from chartgen.pipeline import Built
from chartgen.spec import SLO, ChartSpec, Service
from chartgen.values.models import Values


@dataclass(frozen=True)
class ExpectedService:
    """A deployed, scraped service: how many targets, and the series of each metric family."""

    name: str
    replicas: int
    families: tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class ExpectedRule:
    """One rule the release ships; alerts carry their severity and `for` in seconds."""

    group: str
    file: str
    type: Literal["recording", "alerting"]
    name: str
    severity: str = ""
    for_seconds: float = 0.0


@dataclass(frozen=True)
class GroupOwner:
    """Whose rules a group holds: a service's own, or one of its SLOs' (Sloth's groups)."""

    service: str
    type: Literal["recording", "alerting"]
    slo: str = ""


@dataclass(frozen=True)
class ExpectedSLO:
    """An SLO the release ships: its Sloth id, objective in percent, period and SLI in words."""

    service: str
    name: str
    id: str
    objective: float | int
    period: str
    indicator: str
    #: Its rule groups, whose rules record the budget verify reads.
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Release:
    """What the chart deploys for a set of values."""

    chart: str
    services: tuple[ExpectedService, ...]
    rules: tuple[ExpectedRule, ...]
    #: Every rule group the chart can ship, by name, with its owner: rules loaded in these
    #: groups belong to the chart, expected or not.
    groups: dict[str, GroupOwner]
    slos: tuple[ExpectedSLO, ...] = ()


def release_values(built: Built) -> dict[str, Any]:
    """The chart's default values with the checked values files merged over them, in order.

    ``prepare`` checked each file on its own, so that problems point at its lines; the
    merge of them all, as `helm -f a -f b` does it, is checked here.
    """
    merged: dict[str, Any] = built.chart.values.defaults
    for document in built.values:
        merged = helm_merge(merged, document.overrides)
    if errors := built.chart.values.errors(merged):
        together = SourceFile(" + ".join(d.name for d in built.values), merged)
        raise ChartgenError(validation_diagnostics(errors, together, Values))
    return merged


#: Where the rules go; a prometheus-operator kind switched "auto" counts as off, as in
#: `helm template`: verify reads Prometheus, not the cluster's API (set true to expect it).
RULE_KINDS = ("configMap", "prometheusRule")


def release(spec: ChartSpec, values: dict[str, Any]) -> Release:
    """What the chart ships for validated values: scraped services, rules, SLOs, in spec order."""
    services = []
    rules: list[ExpectedRule] = []
    groups: dict[str, GroupOwner] = {}
    expected_slos: list[ExpectedSLO] = []
    ships_rules = any(values["rules"][kind]["enabled"] is True for kind in RULE_KINDS)
    for service in spec.services:
        recording_group, alerts_group = f"{service.name}.recording", f"{service.name}.alerts"
        groups[recording_group] = GroupOwner(service.name, "recording")
        groups[alerts_group] = GroupOwner(service.name, "alerting")
        slo_rules = {slo.name: _slo_rules(service, slo) for slo in service.slos}
        for slo_name, found in slo_rules.items():
            groups |= {r.group: GroupOwner(service.name, r.type, slo_name) for r in found}
        service_values = values["services"][service.name]
        if not service_values["enabled"]:
            continue
        # Scraped through the pod annotations, or through a ServiceMonitor.
        scraped = (
            service_values.get("metrics", {}).get("scrape")
            or values["serviceMonitor"]["enabled"] is True
        )
        if service.metrics is not None and scraped:
            families = tuple((f.name, f.series_names()) for f in service.metrics.families)
            services.append(ExpectedService(service.name, service_values["replicas"], families))
        if not ships_rules:
            continue
        file = rules_file_name(service)
        rules += [
            ExpectedRule(recording_group, file, "recording", r.record)
            for r in service.recordingRules
        ]
        for alert in service.alerts:
            settings = values["alerts"][alert.alert]
            if settings["enabled"]:
                seconds = duration_seconds(settings["for"])
                rules.append(
                    ExpectedRule(
                        alerts_group, file, "alerting", alert.alert, settings["severity"], seconds
                    )
                )
        for slo in service.slos:
            settings = (values.get("slos") or {})[service.name][slo.name]
            if settings["enabled"]:
                rules += slo_rules[slo.name]
                expected_slos.append(
                    ExpectedSLO(
                        service.name,
                        slo.name,
                        slos.slo_id(service, slo),
                        settings["objective"],
                        slo.period,
                        slos.indicator(service, slo),
                        tuple(slos.group_names(service, slo)),
                    )
                )
    return Release(spec.chart.name, tuple(services), tuple(rules), groups, tuple(expected_slos))


def _slo_rules(service: Service, slo: SLO) -> list[ExpectedRule]:
    """The rules of an SLO's groups, as the chart builds them; its alerts fire with no for."""
    file = rules_file_name(service)
    found = []
    for group in slos.rule_groups(service, slo):
        for rule in group["rules"]:
            if "alert" in rule:
                severity = rule["labels"]["severity"]
                found.append(ExpectedRule(group["name"], file, "alerting", rule["alert"], severity))
            else:
                found.append(ExpectedRule(group["name"], file, "recording", rule["record"]))
    return found

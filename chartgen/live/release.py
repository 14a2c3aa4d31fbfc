"""A release of the chart: its values (defaults, then values files) and what it ships for them.

This is what `chartgen verify` expects to find in Prometheus: the scraped services with their
metric families, and the rule groups the rules ConfigMaps hold for those values. It mirrors
the chart's templates, and a test holds it to what `helm template` renders.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from chartgen.checks.values import helm_merge
from chartgen.errors import ChartgenError
from chartgen.load.diagnostics import validation_diagnostics
from chartgen.load.yaml import SourceFile
from chartgen.monitoring.promql import duration_seconds
from chartgen.monitoring.rules import rules_file_name
from chartgen.pipeline import Built
from chartgen.spec import ChartSpec
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
class Release:
    """What the chart deploys for a set of values."""

    chart: str
    services: tuple[ExpectedService, ...]
    rules: tuple[ExpectedRule, ...]
    #: Every rule group the chart can ship, by name, with its service: rules loaded in these
    #: groups belong to the chart, expected or not.
    groups: dict[str, str]


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
    """What the chart ships for validated values: scraped services and rules, in spec order."""
    services = []
    rules: list[ExpectedRule] = []
    groups: dict[str, str] = {}
    ships_rules = any(values["rules"][kind]["enabled"] is True for kind in RULE_KINDS)
    for service in spec.services:
        recording_group, alerts_group = f"{service.name}.recording", f"{service.name}.alerts"
        groups |= {recording_group: service.name, alerts_group: service.name}
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
    return Release(spec.chart.name, tuple(services), tuple(rules), groups)

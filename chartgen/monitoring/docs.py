"""The chart README's monitoring reference, computed from the spec: tables and wiring values."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chartgen.monitoring.params import format_number
from chartgen.monitoring.rules import has_rules
from chartgen.naming import rules_configmap_name
from chartgen.render.serialize import to_yaml
from chartgen.spec import Alert, ChartSpec

#: Where the community prometheus chart's server mounts the rules ConfigMaps.
RULES_MOUNT = "/etc/prometheus-rules"
#: The community prometheus chart's own default rule files, kept beside ours.
COMMUNITY_RULE_FILES = ("/etc/config/recording_rules.yml", "/etc/config/alerting_rules.yml")


@dataclass(frozen=True)
class MetricDoc:
    """One metric family a service exposes."""

    service: str
    name: str
    type: str
    unit: str
    labels: tuple[str, ...]
    help: str


@dataclass(frozen=True)
class RecordDoc:
    """One recording rule."""

    service: str
    record: str
    expr: str


@dataclass(frozen=True)
class AlertDoc:
    """One alert with its defaults; `params` is 'name=default' per threshold."""

    service: str
    alert: str
    severity: str
    for_: str
    params: tuple[str, ...]
    expr: str
    summary: str
    runbook: str


@dataclass(frozen=True)
class MonitoringDocs:
    """Everything the README says about monitoring."""

    metrics: tuple[MetricDoc, ...]
    records: tuple[RecordDoc, ...]
    alerts: tuple[AlertDoc, ...]
    #: values for the prometheus-community `prometheus` chart that load the rules and
    #: scrape the services under their own job names, for a release named like the chart.
    prometheus_values: str
    #: Per service with rules, the mount of its ConfigMap as the install notes write it.
    release_mounts: tuple[tuple[str, dict[str, Any]], ...]
    community_rule_files: tuple[str, ...] = COMMUNITY_RULE_FILES


def monitoring_docs(spec: ChartSpec) -> MonitoringDocs:
    """The README's metric, recording rule and alert tables and its wiring snippet."""
    return MonitoringDocs(
        metrics=tuple(
            MetricDoc(s.name, f.name, f.type, f.unit, tuple(f.labels), f.help)
            for s in spec.services
            if s.metrics
            for f in s.metrics.families
        ),
        records=tuple(
            RecordDoc(s.name, r.record, r.expr) for s in spec.services for r in s.recordingRules
        ),
        alerts=tuple(
            AlertDoc(s.name, a.alert, a.severity, a.for_, _params(a), a.expr, a.summary, a.runbook)
            for s in spec.services
            for a in s.alerts
        ),
        prometheus_values=to_yaml(prometheus_values(spec, Release.named(spec.chart.name))),
        release_mounts=tuple(
            (s.name, _mount(Release.in_notes(spec.chart.name), s.name))
            for s in spec.services
            if has_rules(s)
        ),
    )


def _params(alert: Alert) -> tuple[str, ...]:
    return tuple(f"{name}={format_number(value)}" for name, value in alert.params.items())


@dataclass(frozen=True)
class Release:
    """How a release's name and its rules ConfigMaps' names are written."""

    name: str
    configmap: Callable[[str], str]

    @classmethod
    def named(cls, name: str) -> Release:
        """A release of this name whose chart is called the same (the README's example)."""
        return cls(name, lambda service: rules_configmap_name(name, service))

    @classmethod
    def in_notes(cls, chart: str) -> Release:
        """The installed release, as the install notes' template writes it."""
        component = '{{ include "%s.componentName" (dict "root" $ "component" "%s") }}-rules'
        return cls("{{ .Release.Name }}", lambda service: component % (chart, service))


def _mount(release: Release, service: str) -> dict[str, Any]:
    """The community chart's mount of a service's rules ConfigMap."""
    return {
        "name": release.configmap(service),
        "mountPath": f"{RULES_MOUNT}/{release.name}/{service}",
        "configMap": release.configmap(service),
        "readOnly": True,
    }


def prometheus_values(spec: ChartSpec, release: Release) -> dict[str, Any]:
    """Values for the community prometheus chart: mount the rules ConfigMaps, scrape by job."""
    mounts = [_mount(release, s.name) for s in spec.services if has_rules(s)]
    return {
        "server": {"extraConfigmapMounts": mounts},
        # The reloader sidecar watches the same directories and reloads Prometheus on change.
        "configmapReload": {
            "prometheus": {
                "extraConfigmapMounts": mounts,
                "extraVolumeDirs": [m["mountPath"] for m in mounts],
            }
        },
        "serverFiles": {
            "prometheus.yml": {
                # Prometheus takes a glob in the last path element only: one per mount.
                "rule_files": [*COMMUNITY_RULE_FILES, *(f"{m['mountPath']}/*.yaml" for m in mounts)]
            }
        },
        # A string the community chart passes through tpl into scrape_configs.
        "extraScrapeConfigs": textwrap.dedent(to_yaml([scrape_config(spec.chart.name)])),
    }


def scrape_config(chart: str) -> dict[str, Any]:
    """A pod-discovery job for the chart's pods, any release; `job` is the service."""
    meta = "__meta_kubernetes_pod_"
    return {
        "job_name": chart,
        # The scheduler exports its own `namespace` label; keep it, as the harness and the
        # community chart's kubernetes-pods job do.
        "honor_labels": True,
        "kubernetes_sd_configs": [{"role": "pod"}],
        "relabel_configs": [
            {
                "source_labels": [
                    f"{meta}label_app_kubernetes_io_name",
                    f"{meta}annotation_prometheus_io_scrape",
                ],
                "regex": f"{chart};true",
                "action": "keep",
            },
            {
                "source_labels": ["__address__", f"{meta}annotation_prometheus_io_port"],
                "regex": r"(.+?)(?::\d+)?;(\d+)",
                "replacement": "$1:$2",
                "target_label": "__address__",
            },
            {
                "source_labels": [f"{meta}annotation_prometheus_io_path"],
                "regex": "(.+)",
                "target_label": "__metrics_path__",
            },
            {"source_labels": [f"{meta}label_app_kubernetes_io_component"], "target_label": "job"},
            {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
            {"source_labels": [f"{meta}name"], "target_label": "pod"},
        ],
    }

"""Build: turn a validated spec into the frozen, render-ready model the templates see."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chartgen.monitoring.dashboards import DashboardView, all_dashboards, dashboard_views
from chartgen.monitoring.docs import MonitoringDocs, monitoring_docs
from chartgen.monitoring.params import alert_values
from chartgen.monitoring.rules import RulesView, all_alerts, promtool_tests, rules_view
from chartgen.monitoring.series import Series
from chartgen.monitoring.slos import SLOView, slo_views
from chartgen.render import environment
from chartgen.spec import ChartMeta, ChartSpec, EgressRule, EnvVar, Port, Probe, Service
from chartgen.spec.service import ALWAYS_WRITABLE
from chartgen.spec.types import LimitsValues, RequestsValues, ResourcesValues
from chartgen.values.chart import ChartValues, chart_values
from chartgen.values.models import (
    DashboardValues,
    GlobalValues,
    GrafanaDashboardsValues,
    GrafanaValues,
    ImageValues,
    MetricsValues,
    ProbesValues,
    ProbeValues,
    ServiceAccountValues,
    ServiceValues,
    SLOValues,
    TestsValues,
)

#: Image of the `helm test` pods: small, with the sh, wget, grep and timeout the check runs.
TEST_IMAGE = ImageValues(
    registry="docker.io", repository="library/busybox", tag="1.37.0", pullPolicy="IfNotPresent"
)
#: Requests and limits of each `helm test` pod: one wget loop.
TEST_RESOURCES = ResourcesValues(
    requests=RequestsValues(cpu="10m", memory="16Mi"),
    limits=LimitsValues(cpu="100m", memory="32Mi"),
)


@dataclass(frozen=True)
class VolumeView:
    """An emptyDir for a writable path, or an existing Secret mounted as files."""

    name: str
    path: str
    secret: str | None = None
    keys: tuple[str, ...] = ()
    optional: bool = False


@dataclass(frozen=True)
class ScrapeView:
    """Where Prometheus scrapes a service."""

    port: int
    port_name: str
    path: str


@dataclass(frozen=True)
class ServiceView:
    """One service as its templates see it."""

    name: str
    description: str
    stateful: bool
    ports: Sequence[Port]
    env: Sequence[EnvVar]
    volumes: tuple[VolumeView, ...]
    egress: Sequence[EgressRule]
    scrape: ScrapeView | None
    rules: RulesView | None
    test_port: int
    test_path: str
    test_script: str


@dataclass(frozen=True)
class ChartView:
    """The whole chart as its templates see it."""

    name: str
    version: str
    app_version: str
    description: str
    chart_yaml: dict[str, Any]
    services: tuple[ServiceView, ...]
    values: ChartValues
    rule_tests: dict[str, dict[str, Any]]
    docs: MonitoringDocs
    dashboards: tuple[DashboardView, ...]
    slos: tuple[SLOView, ...]


def build(spec: ChartSpec, known: Mapping[str, Series]) -> ChartView:
    """Compute names, values and template inputs once, from the checked spec and its catalog."""
    meta = spec.chart
    alerts = all_alerts(spec)
    grafana: dict[str, Any] = {}
    shipped = all_dashboards(spec)
    if shipped:
        grafana = {
            "grafana": GrafanaValues(dashboards=GrafanaDashboardsValues(folder=meta.name)),
            "dashboards": {d.name: DashboardValues() for d in shipped},
        }
    with_slos = [s for s in spec.services if s.slos]
    slos: dict[str, Any] = {}
    if with_slos:
        slos = {
            "slos": {
                s.name: {o.name: SLOValues(objective=o.objective) for o in s.slos}
                for s in with_slos
            }
        }
    values = chart_values(
        {
            "global": GlobalValues(imageRegistry=meta.imageRegistry),
            "services": {s.name: service_values(s) for s in spec.services},
            "alerts": {a.alert: alert_values(a) for a in alerts},
            **slos,
            **grafana,
            "tests": TestsValues(image=TEST_IMAGE, resources=TEST_RESOURCES),
        },
        services={s.name: s.description for s in spec.services},
        alerts={a.alert: (a.summary, a.params) for a in alerts},
        dashboards={d.name: d.title for d in shipped} if shipped else None,
        slos={s.name: {o.name: o.description for o in s.slos} for s in with_slos} or None,
        ports={s.name: {p.name: p.port for p in s.ports} for s in spec.services},
    )
    return ChartView(
        name=meta.name,
        version=meta.version,
        app_version=meta.appVersion,
        description=meta.description,
        chart_yaml=chart_metadata(meta),
        services=tuple(service_view(s) for s in spec.services),
        values=values,
        rule_tests=promtool_tests(spec),
        docs=monitoring_docs(spec),
        dashboards=dashboard_views(spec, known),
        slos=slo_views(spec.services),
    )


def chart_metadata(meta: ChartMeta) -> dict[str, Any]:
    """Chart.yaml's fields, always in this order; optional ones only when the spec sets them."""
    chart_yaml: dict[str, Any] = {
        "apiVersion": "v2",
        "name": meta.name,
        "description": meta.description,
        "type": "application",
        "version": meta.version,
        "appVersion": meta.appVersion,
    }
    optional: dict[str, Any] = {
        "keywords": list(meta.keywords),
        "home": meta.home,
        "sources": list(meta.sources),
        "maintainers": [m.model_dump(exclude_none=True) for m in meta.maintainers],
        "icon": meta.icon,
    }
    chart_yaml.update((key, value) for key, value in optional.items() if value)
    return chart_yaml


def service_view(service: Service) -> ServiceView:
    """The template inputs of one service."""
    scrape = None
    if service.metrics is not None:
        [port] = [p for p in service.ports if service.metrics.port in (p.name, p.port)]
        scrape = ScrapeView(port.port, port.name, service.metrics.path)
    first = service.ports[0]
    return ServiceView(
        name=service.name,
        description=service.description,
        stateful=service.stateful,
        ports=service.ports,
        env=service.env,
        volumes=volumes(service),
        egress=service.egress,
        scrape=scrape,
        rules=rules_view(service),
        test_port=scrape.port if scrape else first.port,
        test_path=scrape.path if scrape else "/",
        test_script=environment()
        .get_template("metrics-check.sh.jinja")
        .render(service=service.name, families=service.metrics.families if service.metrics else []),
    )


def volume_name(prefix: str, path: str, taken: set[str]) -> str:
    """A unique DNS-1123 volume name from a path: /var/lib/psi-field -> var-lib-psi-field."""
    words = "".join(c if c.isalnum() else " " for c in path.lower()).split()
    base = "-".join([prefix, *words] if prefix else words)[:60].rstrip("-")
    name, number = base, 1
    while name in taken:
        number += 1
        name = f"{base}-{number}"
    taken.add(name)
    return name


def volumes(service: Service) -> tuple[VolumeView, ...]:
    """The pod's volumes: /tmp and each writable path as emptyDir, then the Secret mounts."""
    taken: set[str] = set()
    writable = [
        VolumeView(volume_name("", path, taken), path)
        for path in [ALWAYS_WRITABLE, *service.writablePaths]
    ]
    secrets = [
        VolumeView(
            volume_name("secret", mount.path, taken),
            mount.path,
            secret=mount.secretName,
            keys=tuple(mount.keys),
            optional=mount.optional,
        )
        for mount in service.secretMounts
    ]
    return tuple(writable + secrets)


def service_values(service: Service) -> ServiceValues:
    """The default values of one service, taken from its spec."""
    image = service.image
    return ServiceValues(
        workload=service.workload,
        replicas=service.replicas,
        image=ImageValues(
            repository=image.repository,
            tag=image.tag or "",
            digest=image.digest or "",
            pullPolicy=image.pullPolicy,
        ),
        resources=service.resources,
        probes=ProbesValues(
            **{kind: probe_values(probe) for kind, probe in service.probes.items()}
        ),
        metrics=MetricsValues() if service.metrics else None,
        serviceAccount=ServiceAccountValues(automount=service.automountServiceAccountToken),
    )


def probe_values(probe: Probe) -> ProbeValues:
    """A spec probe in the shape of a Kubernetes probe, plus its switch."""
    return ProbeValues(
        enabled=probe.enabled,
        httpGet=probe.http,
        tcpSocket=probe.tcp,
        exec=probe.exec,
        initialDelaySeconds=probe.initialDelaySeconds,
        periodSeconds=probe.periodSeconds,
        timeoutSeconds=probe.timeoutSeconds,
        failureThreshold=probe.failureThreshold,
        successThreshold=probe.successThreshold,
    )

"""Build: turn a validated spec into the frozen, render-ready model the templates see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chartgen.dashboards import DashboardView, dashboard_views
from chartgen.rules import RulesView, alert_values, all_alerts, promtool_tests, rules_view
from chartgen.spec import ChartSpec, Probe, Service
from chartgen.values import (
    DashboardValues,
    ExecAction,
    GlobalValues,
    GrafanaDashboardsValues,
    GrafanaValues,
    HTTPGetAction,
    ImageValues,
    MetricsValues,
    ProbesValues,
    ProbeValues,
    QuantitiesValues,
    ResourcesValues,
    ServiceValues,
    TCPSocketAction,
    TestsValues,
    ValuesModel,
    alerts_model,
    dashboards_model,
    values_model,
)

#: Image of the `helm test` pods: small, and ships wget.
TEST_IMAGE = ImageValues(
    registry="docker.io", repository="library/busybox", tag="1.37.0", pullPolicy="IfNotPresent"
)
#: Restricted Pod Security Standard defaults, overridable in values.
POD_SECURITY_CONTEXT: dict[str, Any] = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "runAsGroup": 10001,
    "fsGroup": 10001,
    "seccompProfile": {"type": "RuntimeDefault"},
}
CONTAINER_SECURITY_CONTEXT: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
}


@dataclass(frozen=True)
class PortView:
    """A container and Service port."""

    name: str
    port: int
    protocol: str


@dataclass(frozen=True)
class EnvView:
    """An env var from the spec: a value, or a Secret key reference."""

    name: str
    value: str | None
    secret_name: str | None
    secret_key: str | None
    secret_optional: bool


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
    kind: str
    ports: tuple[PortView, ...]
    env: tuple[EnvView, ...]
    scrape: ScrapeView | None
    rules: RulesView | None
    test_port: int
    test_path: str

    @property
    def stateful(self) -> bool:
        """StatefulSets also get a headless Service for stable pod names."""
        return self.kind == "StatefulSet"


@dataclass(frozen=True)
class ChartView:
    """The whole chart as its templates see it."""

    name: str
    version: str
    app_version: str
    description: str
    chart_yaml: dict[str, Any]
    services: tuple[ServiceView, ...]
    values: ValuesModel
    values_schema_model: type[ValuesModel]
    rule_tests: dict[str, Any] | None
    dashboards: tuple[DashboardView, ...]


def build(spec: ChartSpec) -> ChartView:
    """Compute names, values and template inputs once, from the validated spec."""
    meta = spec.chart
    chart_yaml: dict[str, Any] = {
        "apiVersion": "v2",
        "name": meta.name,
        "description": meta.description,
        "type": "application",
        "version": meta.version,
        "appVersion": meta.appVersion,
    }
    if meta.keywords:
        chart_yaml["keywords"] = list(meta.keywords)
    if meta.home:
        chart_yaml["home"] = meta.home
    alerts = all_alerts(spec)
    alerts_values = alerts_model({a.alert: (a.summary, a.params) for a in alerts})
    dashboards_values = None
    grafana: dict[str, Any] = {}
    if spec.dashboards:
        dashboards_values = dashboards_model({d.name: d.title for d in spec.dashboards})
        grafana = {
            "grafana": GrafanaValues(dashboards=GrafanaDashboardsValues(folder=meta.name)),
            "dashboards": {d.name: DashboardValues() for d in spec.dashboards},
        }
    model = values_model(
        {s.name: s.description for s in spec.services}, alerts_values, dashboards_values
    )
    values = model.model_validate(
        {
            "global": GlobalValues(imageRegistry=meta.imageRegistry),
            "podSecurityContext": POD_SECURITY_CONTEXT,
            "securityContext": CONTAINER_SECURITY_CONTEXT,
            "services": {s.name: service_values(s) for s in spec.services},
            "alerts": {a.alert: alert_values(a) for a in alerts},
            **grafana,
            "tests": TestsValues(image=TEST_IMAGE),
        }
    )
    return ChartView(
        name=meta.name,
        version=meta.version,
        app_version=meta.appVersion,
        description=meta.description,
        chart_yaml=chart_yaml,
        services=tuple(service_view(s) for s in spec.services),
        values=values,
        values_schema_model=model,
        rule_tests=promtool_tests(spec),
        dashboards=dashboard_views(spec),
    )


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
        kind=service.workload,
        ports=tuple(PortView(p.name, p.port, p.protocol) for p in service.ports),
        env=tuple(
            EnvView(
                e.name,
                e.value,
                e.secret.name if e.secret else None,
                e.secret.key if e.secret else None,
                e.secret.optional if e.secret else False,
            )
            for e in service.env
        ),
        scrape=scrape,
        rules=rules_view(service),
        test_port=scrape.port if scrape else first.port,
        test_path=scrape.path if scrape else "/",
    )


def service_values(service: Service) -> ServiceValues:
    """The default values of one service, taken from its spec."""
    image = service.image
    return ServiceValues(
        replicas=service.replicas,
        image=ImageValues(
            repository=image.repository,
            tag=image.tag or "",
            digest=image.digest or "",
            pullPolicy=image.pullPolicy,
        ),
        resources=ResourcesValues(
            requests=QuantitiesValues(**service.resources.requests.model_dump()),
            limits=QuantitiesValues(**service.resources.limits.model_dump()),
        ),
        probes=ProbesValues(
            **{kind: probe_values(probe) for kind, probe in service.probes.items()}
        ),
        metrics=MetricsValues() if service.metrics else None,
    )


def probe_values(probe: Probe) -> ProbeValues:
    """A spec probe in the shape of a Kubernetes probe, plus its switch."""
    return ProbeValues(
        enabled=probe.enabled,
        httpGet=HTTPGetAction(**probe.http.model_dump()) if probe.http else None,
        tcpSocket=TCPSocketAction(**probe.tcp.model_dump()) if probe.tcp else None,
        exec=ExecAction(**probe.exec.model_dump()) if probe.exec else None,
        initialDelaySeconds=probe.initialDelaySeconds,
        periodSeconds=probe.periodSeconds,
        timeoutSeconds=probe.timeoutSeconds,
        failureThreshold=probe.failureThreshold,
        successThreshold=probe.successThreshold,
    )

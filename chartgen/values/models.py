"""The values model: pydantic models that check values files and define values.schema.json."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from chartgen.spec.monitoring import Duration
from chartgen.spec.probes import ExecAction, HTTPGetAction, TCPSocketAction, one_success
from chartgen.spec.slo import Objective
from chartgen.spec.types import (
    DNS1035_LABEL,
    DNS1123_LABEL,
    DNS1123_SUBDOMAIN,
    ENV_NAME,
    IMAGE_DIGEST,
    IMAGE_TAG,
    PATTERN_FIXES,
    REGISTRY,
    ImageRepository,
    PositiveInt,
    Replicas,
    ResourcesValues,
    Seconds,
    not_latest,
    optional,
    pattern,
    spec_error,
)
from chartgen.values.kubernetes import Affinity, Toleration
from chartgen.values.policy import (
    ContainerSecurityContextValues,
    NetworkPolicyValues,
    PodDisruptionBudgetValues,
    PodSecurityContextValues,
    ServiceNetworkPolicyValues,
    TopologySpreadValues,
)
from chartgen.values.types import (
    LABEL_KEY_PATTERN,
    LABEL_VALUE_PATTERN,
    Annotations,
    ExtraLabelKey,
    ExtraLabels,
    Labels,
    LocalObjectReference,
    ParamValue,
    ValuesModel,
)


class GlobalValues(BaseModel):
    """Values shared with a parent chart; other keys may come from the parent and pass."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    imageRegistry: str = Field(
        pattern=optional(REGISTRY),
        max_length=255,
        description="Registry of every image that does not set its own image.registry.",
    )
    imagePullSecrets: list[LocalObjectReference] = Field(
        default_factory=list, description="Existing Secrets used to pull images, by name."
    )


class ImageValues(ValuesModel):
    """Where a container image comes from."""

    registry: str = Field(
        "",
        pattern=optional(REGISTRY),
        max_length=255,
        description="Registry host[:port][/path], no scheme; empty uses global.imageRegistry.",
    )
    repository: ImageRepository = Field(description="Image path inside the registry.")
    tag: str = Field(
        "",
        pattern=optional(IMAGE_TAG),
        json_schema_extra={"not": {"const": "latest"}},
        description="Image tag, never 'latest'; ignored when a digest is set.",
    )
    digest: str = Field(
        "",
        pattern=optional(IMAGE_DIGEST),
        description="Image digest (sha256:...); pins the image exactly.",
    )
    pullPolicy: Literal["Always", "IfNotPresent", "Never"] = Field(
        "IfNotPresent", description="When the kubelet pulls the image."
    )

    _pinned = field_validator("tag")(not_latest)

    @model_validator(mode="after")
    def _tag_or_digest(self) -> ImageValues:
        if not self.tag and not self.digest:  # the chart's template fails on such an image
            raise spec_error("an image needs a tag or a digest", "add tag: v1.2.3 (or a digest)")
        return self


class ProbeValues(ValuesModel):
    """A Kubernetes probe plus an on/off switch."""

    enabled: bool = Field(description="Render this probe.")
    httpGet: HTTPGetAction | None = None
    tcpSocket: TCPSocketAction | None = None
    exec: ExecAction | None = None
    initialDelaySeconds: Seconds = Field(description="Seconds before the first check.")
    periodSeconds: PositiveInt = Field(description="Seconds between checks.")
    timeoutSeconds: PositiveInt = Field(description="Seconds before a check times out.")
    failureThreshold: PositiveInt = Field(description="Failures in a row that count.")
    successThreshold: PositiveInt = Field(description="Successes in a row that count.")

    @model_validator(mode="after")
    def _one_handler(self) -> ProbeValues:
        handlers = [h for h in ("httpGet", "tcpSocket", "exec") if getattr(self, h) is not None]
        if len(handlers) != 1:
            raise spec_error(
                "a probe needs exactly one of httpGet, tcpSocket or exec "
                f"(found: {', '.join(handlers) or 'none'})",
                "a values file merges into the spec's probe: set the handler it replaces to null "
                "(e.g. httpGet: null beside tcpSocket: {port: http})",
            )
        return self


class ProbesValues(ValuesModel):
    """The container's probes; a probe the spec does not declare is absent."""

    liveness: ProbeValues | None = Field(None, description="Restarts the container on failure.")
    readiness: ProbeValues | None = Field(None, description="Takes the pod out of its Service.")
    startup: ProbeValues | None = Field(None, description="Holds the other probes until ready.")

    @field_validator("liveness", "startup")
    @classmethod
    def _one_success(cls, probe: ProbeValues | None, info: ValidationInfo) -> ProbeValues | None:
        one_success(probe, info)
        return probe


class EnvValue(ValuesModel):
    """An extra plain environment variable; reference Secrets in the spec, not here."""

    name: str = Field(pattern=ENV_NAME)
    value: str


class ServiceAccountValues(ValuesModel):
    """The service's ServiceAccount."""

    create: bool = Field(True, description="Create a ServiceAccount for this service.")
    name: str = Field(
        "",
        pattern=optional(DNS1123_SUBDOMAIN),
        max_length=253,
        description="Name to use (a DNS-1123 subdomain); empty derives it from the release.",
    )
    annotations: Annotations = Field(default_factory=dict, description="Annotations.")
    automount: bool = Field(
        False, description="Mount the API token into the pods (the spec's default)."
    )


class MetricsValues(ValuesModel):
    """How Prometheus finds the service."""

    scrape: bool = Field(True, description="Add the prometheus.io/* scrape annotations.")


class ServiceValues(ValuesModel):
    """Everything about one service that an environment may change."""

    enabled: bool = Field(True, description="Deploy this service.")
    workload: Literal["Deployment", "StatefulSet"] = Field(
        description="Workload kind; a StatefulSet also gets a headless Service."
    )
    replicas: Replicas = Field(description="Number of pods.")
    image: ImageValues = Field(description="Container image.")
    resources: ResourcesValues = Field(description="Requests and limits.")
    probes: ProbesValues = Field(description="Health probes, each with an on/off switch.")
    extraEnv: list[EnvValue] = Field(
        default_factory=list, description="Extra plain environment variables."
    )
    metrics: MetricsValues | None = Field(None, description="Prometheus scraping.")
    podAnnotations: Annotations = Field(default_factory=dict, description="Pod annotations.")
    podLabels: ExtraLabels = Field(
        default_factory=dict, description="Extra pod labels, beside the chart's own."
    )
    serviceAccount: ServiceAccountValues = Field(
        default_factory=ServiceAccountValues, description="ServiceAccount settings."
    )
    networkPolicy: ServiceNetworkPolicyValues = Field(
        default_factory=ServiceNetworkPolicyValues, description="This service's NetworkPolicy."
    )
    nodeSelector: Labels = Field(default_factory=dict, description="Node selector.")
    tolerations: list[Toleration] = Field(
        default_factory=list, description="Tolerations, as Kubernetes writes them."
    )
    affinity: Affinity = Field(
        default_factory=dict, description="Affinity rules, as Kubernetes writes them."
    )


class TestsValues(ValuesModel):
    """The `helm test` pods that reach each service."""

    enabled: bool = Field(True, description="Render the helm test hooks.")
    image: ImageValues = Field(
        description="A small image with sh, wget, grep and timeout (busybox)."
    )
    resources: ResourcesValues = Field(description="Requests and limits of the test pods.")


#: On, off, or on when the cluster serves the prometheus-operator kind ("auto").
OperatorSwitch = bool | Literal["auto"]


class RuleConfigMapValues(ValuesModel):
    """Rule files as ConfigMaps, for the community prometheus chart to mount."""

    enabled: bool = Field(True, description="Render one rules ConfigMap per service.")
    namespace: str = Field(
        "",
        pattern=optional(DNS1123_LABEL),
        description="Namespace Prometheus runs in: the community chart mounts ConfigMaps "
        "of its own namespace only. Empty: the release's namespace.",
    )
    labels: ExtraLabels = Field(
        default_factory=lambda: {"prometheus_rule": "1"},
        description="Labels a rules sidecar or your extraConfigmapMounts select on.",
    )


class PrometheusRuleValues(ValuesModel):
    """The same rules as prometheus-operator PrometheusRule objects."""

    enabled: OperatorSwitch = Field(
        "auto",
        description="Render one PrometheusRule per service: true, false, or auto (when the "
        "cluster serves monitoring.coreos.com/v1 PrometheusRule).",
    )
    labels: ExtraLabels = Field(
        default_factory=dict,
        description="Labels your Prometheus ruleSelector matches; kube-prometheus-stack's "
        "selects release: <its release name>.",
    )


class RulesValues(ValuesModel):
    """Where the Prometheus rules go."""

    configMap: RuleConfigMapValues = Field(
        default_factory=RuleConfigMapValues, description="Rules ConfigMaps."
    )
    prometheusRule: PrometheusRuleValues = Field(
        default_factory=PrometheusRuleValues, description="PrometheusRule objects."
    )


class ServiceMonitorValues(ValuesModel):
    """prometheus-operator ServiceMonitor objects for the scrape endpoints."""

    enabled: OperatorSwitch = Field(
        "auto",
        description="Render one ServiceMonitor per scraped service: true, false, or auto (when "
        "the cluster serves monitoring.coreos.com/v1 ServiceMonitor).",
    )
    interval: Duration = Field("30s", description="Scrape interval.")
    labels: ExtraLabels = Field(
        default_factory=dict,
        description="Labels your Prometheus serviceMonitorSelector matches; "
        "kube-prometheus-stack's selects release: <its release name>.",
    )


class GrafanaDashboardsValues(ValuesModel):
    """How the Grafana dashboard sidecar finds the dashboard ConfigMaps."""

    enabled: bool = Field(True, description="Render the dashboard ConfigMaps.")
    label: ExtraLabelKey = Field(
        "grafana_dashboard",
        description="Label the sidecar selects on (its sidecar.dashboards.label); not one the "
        "chart sets itself.",
    )
    labelValue: str = Field(
        "1",
        pattern=LABEL_VALUE_PATTERN,
        description="Value of that label (sidecar.dashboards.labelValue).",
    )
    folderAnnotation: str = Field(
        "grafana_folder",
        pattern=pattern(
            f"({LABEL_KEY_PATTERN})|^$", PATTERN_FIXES[LABEL_KEY_PATTERN] + ", or empty"
        ),
        description="Annotation naming the folder (sidecar.dashboards.folderAnnotation); "
        "empty leaves it out.",
    )
    folder: str = Field(description="Grafana folder of the dashboards.")


class GrafanaValues(ValuesModel):
    """Grafana integration."""

    dashboards: GrafanaDashboardsValues = Field(description="Dashboards for the sidecar.")


class DashboardValues(ValuesModel):
    """One dashboard's switch."""

    enabled: bool = Field(True, description="Ship this dashboard.")


class AlertValues(ValuesModel):
    """One alert's settings; its other keys are the parameters of its expr."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, ParamValue] = Field(init=False)

    enabled: bool = Field(description="Ship this alert.")
    severity: Literal["info", "warning", "critical"] = Field(
        description="Severity label; routes the notification."
    )
    for_: Duration = Field(
        alias="for", description="How long the condition holds before the alert fires."
    )


class SLOValues(ValuesModel):
    """One SLO's switch and objective, for this environment."""

    enabled: bool = Field(True, description="Ship this SLO's rules and alerts.")
    objective: Objective = Field(description="Percent of good events promised, e.g. 99.9.")


# Services, alerts and dashboards are keyed by their spec names, which vary from chart to
# chart: chartgen.values.chart checks those names and writes them into the schema. The
# grafana and dashboards sections exist only when the spec has dashboards.
class Values(ValuesModel):
    """Values of the chart."""

    global_: GlobalValues = Field(alias="global", description="Values shared with parent charts.")
    enabled: bool | None = Field(None, description="Set by a parent chart's condition.")
    nameOverride: str = Field(
        "",
        pattern=optional(DNS1123_LABEL),
        description="Replaces the chart name in object names (a DNS-1123 label).",
    )
    fullnameOverride: str = Field(
        "",
        pattern=optional(DNS1035_LABEL),
        description="Replaces the whole object name prefix (a DNS-1035 label: Services are "
        "named after it).",
    )
    commonLabels: ExtraLabels = Field(
        default_factory=dict, description="Labels added to every object, beside the chart's own."
    )
    podSecurityContext: PodSecurityContextValues = Field(
        default_factory=PodSecurityContextValues,
        description="Pod securityContext of every pod (restricted profile).",
    )
    securityContext: ContainerSecurityContextValues = Field(
        default_factory=ContainerSecurityContextValues,
        description="Container securityContext of every container (restricted profile).",
    )
    networkPolicy: NetworkPolicyValues = Field(
        default_factory=NetworkPolicyValues, description="NetworkPolicies."
    )
    podDisruptionBudget: PodDisruptionBudgetValues = Field(
        default_factory=PodDisruptionBudgetValues, description="PodDisruptionBudgets."
    )
    topologySpread: TopologySpreadValues = Field(
        default_factory=TopologySpreadValues, description="Spread of pods over nodes."
    )
    services: dict[str, ServiceValues] = Field(description="The services, by name.")
    rules: RulesValues = Field(default_factory=RulesValues, description="Prometheus rules.")
    serviceMonitor: ServiceMonitorValues = Field(
        default_factory=ServiceMonitorValues, description="ServiceMonitor objects."
    )
    alerts: dict[str, AlertValues] = Field(
        description="Each alert: enabled, severity, for, and its thresholds."
    )
    slos: dict[str, dict[str, SLOValues]] | None = Field(
        None, description="Each service's SLOs, by name: enabled and objective."
    )
    grafana: GrafanaValues | None = Field(None, description="Grafana dashboard sidecar.")
    dashboards: dict[str, DashboardValues] | None = Field(
        None, description="Each dashboard: enabled."
    )
    tests: TestsValues = Field(description="helm test hooks.")

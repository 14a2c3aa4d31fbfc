"""The chart's values: pydantic models of each section, and the defaults of a chart as data.

The models check values files and define values.schema.json; a chart's default values
(ChartValues) write values.yaml, values.schema.json and the README table without a model
class per alert.
"""

from __future__ import annotations

import functools
import inspect
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    WithJsonSchema,
    create_model,
    model_validator,
)
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from chartgen.cache import load_derived, store_derived
from chartgen.serialize import KeyDocs
from chartgen.spec.monitoring import prometheus_duration
from chartgen.spec.types import (
    DNS1123_SUBDOMAIN,
    ENV_NAME,
    HttpPath,
    ImageRepository,
    PortRef,
    PositiveInt,
    Quantity,
    Seconds,
    check_limits_cover_requests,
    spec_error,
)

VALUES_CONFIG = ConfigDict(extra="forbid", populate_by_name=True)
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
# A Prometheus duration, as Go's regexp (and so helm's schema check) can read it.
DECIMAL_TEXT = r"^-?[0-9]+(\.[0-9]+)?$"
_DECIMAL_TEXT = re.compile(DECIMAL_TEXT)


def _number(value: object) -> int | float | str:
    """A number, or a decimal given as text (`helm --set x=0.7` passes decimals as strings)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _DECIMAL_TEXT.match(value):
        return value
    raise spec_error(f"{value!r} is not a number", "write a number, e.g. 0.5")


#: An alert parameter: a number; decimal text too, as helm --set passes it.
ParamValue = Annotated[
    int | float | str,
    PlainValidator(_number),
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string", "pattern": DECIMAL_TEXT}]}),
]
#: A Kubernetes label or annotation key: an optional DNS prefix and '/', then a name.
QUALIFIED_NAME = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
DURATION_PATTERN = r"^(0|([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?)$"
#: A Prometheus duration: checked with a message here, by pattern in the schema.
DurationValue = Annotated[
    str,
    AfterValidator(prometheus_duration),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN, "minLength": 1}),
]


# Kubernetes label keys and values, as Go's regexp (and so helm's schema check) can read them.
LABEL_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
LABEL_KEY_PATTERN = rf"^({DNS1123_SUBDOMAIN[1:-1]}/)?{LABEL_NAME}$"
LABEL_VALUE_PATTERN = rf"^({LABEL_NAME})?$"
_LABEL_KEY = re.compile(LABEL_KEY_PATTERN)
_LABEL_VALUE = re.compile(LABEL_VALUE_PATTERN)


def _label_key(key: str) -> str:
    prefix = key.rpartition("/")[0]
    if not _LABEL_KEY.match(key) or len(prefix) > 253:
        raise spec_error(
            f"{key!r} is not a Kubernetes label key",
            "write name or prefix/name: the name up to 63 letters, digits, '-', '_' or '.', "
            "starting and ending with a letter or digit; the prefix a DNS name "
            "(e.g. team or example.com/team)",
        )
    return key


def _label_value(value: str) -> str:
    if not _LABEL_VALUE.match(value):
        raise spec_error(
            f"{value!r} is not a Kubernetes label value",
            "use up to 63 letters, digits, '-', '_' or '.', starting and ending with a letter "
            "or digit (or leave it empty)",
        )
    return value


#: Kubernetes labels: checked here with a message, and by helm through the schema.
Labels = Annotated[
    dict[Annotated[str, AfterValidator(_label_key)], Annotated[str, AfterValidator(_label_value)]],
    WithJsonSchema(
        {
            "type": "object",
            "propertyNames": {"pattern": LABEL_KEY_PATTERN, "maxLength": 317},
            "additionalProperties": {"type": "string", "pattern": LABEL_VALUE_PATTERN},
        }
    ),
]


class ValuesModel(BaseModel):
    """Base of every values section: unknown keys are typos and are refused."""

    model_config = VALUES_CONFIG


class LocalObjectReference(ValuesModel):
    """A reference to an object in the release's namespace, by name."""

    name: str = Field(min_length=1)


class GlobalValues(BaseModel):
    """Values shared with a parent chart; other keys may come from the parent and pass."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    imageRegistry: str = Field(
        description="Registry of every image that does not set its own image.registry."
    )
    imagePullSecrets: list[LocalObjectReference] = Field(
        default_factory=list, description="Existing Secrets used to pull images, by name."
    )


class ImageValues(ValuesModel):
    """Where a container image comes from."""

    registry: str = Field("", description="Registry; empty uses global.imageRegistry.")
    repository: ImageRepository = Field(description="Image path inside the registry.")
    tag: str = Field(
        "",
        pattern=r"^([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$",
        json_schema_extra={"not": {"const": "latest"}},
        description="Image tag, never 'latest'; ignored when a digest is set.",
    )
    digest: str = Field(
        "",
        pattern=r"^(sha256:[a-f0-9]{64})?$",
        description="Image digest (sha256:...); pins the image exactly.",
    )
    pullPolicy: Literal["Always", "IfNotPresent", "Never"] = Field(
        "IfNotPresent", description="When the kubelet pulls the image."
    )


class HTTPGetAction(ValuesModel):
    """An HTTP GET probe."""

    path: HttpPath
    port: PortRef
    scheme: Literal["HTTP", "HTTPS"] = "HTTP"


class TCPSocketAction(ValuesModel):
    """A TCP probe."""

    port: PortRef


class ExecAction(ValuesModel):
    """A command probe."""

    command: list[str] = Field(min_length=1)


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


class ProbesValues(ValuesModel):
    """The container's probes; a probe the spec does not declare is absent."""

    liveness: ProbeValues | None = Field(None, description="Restarts the container on failure.")
    readiness: ProbeValues | None = Field(None, description="Takes the pod out of its Service.")
    startup: ProbeValues | None = Field(None, description="Holds the other probes until ready.")


class RequestsValues(ValuesModel):
    """What the scheduler reserves; both are required."""

    cpu: Quantity = Field(description="CPU, e.g. 100m; required.")
    memory: Quantity = Field(description="Memory, e.g. 128Mi; required.")


class LimitsValues(ValuesModel):
    """The most the container may use; memory is required."""

    cpu: Quantity | None = Field(None, description="CPU; optional (above it, CPU throttles).")
    memory: Quantity = Field(description="Memory; required (above it, the container is killed).")


class ResourcesValues(ValuesModel):
    """Container resource requests and limits."""

    requests: RequestsValues = Field(description="What the scheduler reserves.")
    limits: LimitsValues = Field(description="The most the container may use.")

    @model_validator(mode="after")
    def _limits_cover_requests(self) -> ResourcesValues:
        check_limits_cover_requests(self.requests, self.limits)
        return self


class SeccompProfileValues(ValuesModel):
    """The seccomp profile of the pods."""

    type: Literal["RuntimeDefault", "Localhost"] = Field(
        "RuntimeDefault", description="RuntimeDefault, or Localhost with localhostProfile."
    )
    localhostProfile: str | None = None


class PodSecurityContextValues(ValuesModel):
    """Pod securityContext: the restricted Pod Security Standard, which values cannot weaken."""

    runAsNonRoot: Literal[True] = Field(True, description="Refuse to start as root.")
    runAsUser: int = Field(10001, ge=10000, description="UID, at least 10000 (no host user).")
    runAsGroup: int = Field(10001, ge=10000, description="GID, at least 10000.")
    fsGroup: int = Field(10001, ge=10000, description="Group owning mounted volumes.")
    seccompProfile: SeccompProfileValues = Field(
        default_factory=SeccompProfileValues, description="Seccomp profile."
    )


class CapabilitiesValues(ValuesModel):
    """Linux capabilities: all dropped; only NET_BIND_SERVICE may come back."""

    drop: list[Literal["ALL"]] = Field(["ALL"], min_length=1, description="Dropped capabilities.")
    add: list[Literal["NET_BIND_SERVICE"]] | None = Field(
        None, description="Added capabilities: at most NET_BIND_SERVICE."
    )


class ContainerSecurityContextValues(ValuesModel):
    """Container securityContext: the restricted Pod Security Standard, read-only root."""

    allowPrivilegeEscalation: Literal[False] = Field(False, description="No setuid gains.")
    privileged: Literal[False] = Field(False, description="Never privileged.")
    readOnlyRootFilesystem: Literal[True] = Field(
        True, description="Writable paths are emptyDir volumes (/tmp and the spec's)."
    )
    capabilities: CapabilitiesValues = Field(
        default_factory=CapabilitiesValues, description="Linux capabilities."
    )


class LabelSelectorRequirement(ValuesModel):
    """One matchExpressions entry of a label selector."""

    key: str = Field(min_length=1)
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[str] | None = None


class LabelSelector(ValuesModel):
    """A Kubernetes label selector; empty selects everything."""

    matchLabels: dict[str, str] = Field(default_factory=dict)
    matchExpressions: list[LabelSelectorRequirement] | None = None


class IPBlock(ValuesModel):
    """An address block of a NetworkPolicy peer."""

    cidr: str = Field(min_length=1)
    except_: list[str] | None = Field(None, alias="except")


class NetworkPolicyPeer(ValuesModel):
    """Who may talk: pods by label, namespaces by label, or an address block."""

    podSelector: LabelSelector | None = None
    namespaceSelector: LabelSelector | None = None
    ipBlock: IPBlock | None = None


class NetworkPolicyPort(ValuesModel):
    """A port of a NetworkPolicy rule."""

    port: int | str
    protocol: Literal["TCP", "UDP", "SCTP"] = "TCP"


class PrometheusPeerValues(ValuesModel):
    """Where Prometheus runs; it may reach every service's metrics port."""

    namespaceSelector: LabelSelector = Field(
        default_factory=LabelSelector, description="Namespaces of Prometheus; empty: any."
    )
    podSelector: LabelSelector = Field(
        default_factory=lambda: LabelSelector(matchLabels={"app.kubernetes.io/name": "prometheus"}),
        description="Prometheus pods (the community chart's server).",
    )


class DnsPeerValues(ValuesModel):
    """The cluster DNS every pod may reach."""

    namespaceSelector: LabelSelector = Field(
        default_factory=lambda: LabelSelector(
            matchLabels={"kubernetes.io/metadata.name": "kube-system"}
        ),
        description="Namespace of the DNS pods.",
    )
    podSelector: LabelSelector = Field(
        default_factory=lambda: LabelSelector(matchLabels={"k8s-app": "kube-dns"}),
        description="The DNS pods.",
    )
    ports: list[NetworkPolicyPort] = Field(
        default_factory=lambda: [
            NetworkPolicyPort(port=53, protocol="UDP"),
            NetworkPolicyPort(port=53, protocol="TCP"),
        ],
        description="DNS ports.",
    )


class NetworkPolicyValues(ValuesModel):
    """One NetworkPolicy per service: Prometheus scrapes, declared traffic, DNS; nothing else."""

    enabled: bool = Field(True, description="Render the NetworkPolicies.")
    prometheus: PrometheusPeerValues = Field(
        default_factory=PrometheusPeerValues, description="Prometheus, admitted to metrics ports."
    )
    dns: DnsPeerValues = Field(default_factory=DnsPeerValues, description="Cluster DNS.")


class ServiceNetworkPolicyValues(ValuesModel):
    """What one service's NetworkPolicy admits beyond Prometheus, DNS and the spec's egress."""

    ingressFrom: list[NetworkPolicyPeer] = Field(
        default_factory=lambda: [NetworkPolicyPeer(podSelector=LabelSelector())],
        description="Sources admitted on the service ports; the default: pods of the namespace.",
    )
    extraIngress: list[dict[str, Any]] = Field(
        default_factory=list, description="More ingress rules, as Kubernetes writes them."
    )
    extraEgress: list[dict[str, Any]] = Field(
        default_factory=list, description="More egress rules, as Kubernetes writes them."
    )


class PodDisruptionBudgetValues(ValuesModel):
    """PodDisruptionBudgets of services with two or more replicas."""

    enabled: bool = Field(True, description="Render one for each service of 2 or more replicas.")
    maxUnavailable: int = Field(1, ge=1, description="Pods a voluntary disruption may take.")


class TopologySpreadValues(ValuesModel):
    """Spread of each service's pods across nodes."""

    enabled: bool = Field(True, description="Render topologySpreadConstraints.")
    topologyKey: str = Field("kubernetes.io/hostname", min_length=1, description="Node label.")
    maxSkew: int = Field(1, ge=1, description="Largest allowed difference in pods per node.")
    whenUnsatisfiable: Literal["ScheduleAnyway", "DoNotSchedule"] = Field(
        "ScheduleAnyway", description="DoNotSchedule makes the spread a hard rule."
    )


class EnvValue(ValuesModel):
    """An extra plain environment variable; reference Secrets in the spec, not here."""

    name: str = Field(pattern=ENV_NAME)
    value: str


class ServiceAccountValues(ValuesModel):
    """The service's ServiceAccount."""

    create: bool = Field(True, description="Create a ServiceAccount for this service.")
    name: str = Field("", description="Name to use; empty derives it from the release.")
    annotations: dict[str, str] = Field(default_factory=dict, description="Annotations.")
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
    replicas: int = Field(ge=0, description="Number of pods.")
    image: ImageValues = Field(description="Container image.")
    resources: ResourcesValues = Field(description="Requests and limits.")
    probes: ProbesValues = Field(description="Health probes, each with an on/off switch.")
    extraEnv: list[EnvValue] = Field(
        default_factory=list, description="Extra plain environment variables."
    )
    metrics: MetricsValues | None = Field(None, description="Prometheus scraping.")
    podAnnotations: dict[str, str] = Field(default_factory=dict, description="Pod annotations.")
    podLabels: Labels = Field(default_factory=dict, description="Extra pod labels.")
    serviceAccount: ServiceAccountValues = Field(
        default_factory=ServiceAccountValues, description="ServiceAccount settings."
    )
    networkPolicy: ServiceNetworkPolicyValues = Field(
        default_factory=ServiceNetworkPolicyValues, description="This service's NetworkPolicy."
    )
    nodeSelector: dict[str, str] = Field(default_factory=dict, description="Node selector.")
    tolerations: list[dict[str, Any]] = Field(default_factory=list, description="Tolerations.")
    affinity: dict[str, Any] = Field(default_factory=dict, description="Affinity rules.")


class TestsValues(ValuesModel):
    """The `helm test` pods that reach each service."""

    enabled: bool = Field(True, description="Render the helm test hooks.")
    image: ImageValues = Field(
        description="A small image with sh, wget, grep and timeout (busybox)."
    )
    resources: ResourcesValues = Field(description="Requests and limits of the test pods.")


class RuleConfigMapValues(ValuesModel):
    """Rule files as ConfigMaps, for the community prometheus chart to mount."""

    enabled: bool = Field(True, description="Render one rules ConfigMap per service.")
    labels: Labels = Field(
        default_factory=lambda: {"prometheus_rule": "1"},
        description="Labels a rules sidecar or your extraConfigmapMounts select on.",
    )


class PrometheusRuleValues(ValuesModel):
    """The same rules as prometheus-operator PrometheusRule objects."""

    enabled: bool = Field(False, description="Render one PrometheusRule per service.")
    labels: Labels = Field(
        default_factory=dict, description="Labels your Prometheus ruleSelector matches."
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

    enabled: bool = Field(False, description="Render one ServiceMonitor per scraped service.")
    interval: DurationValue = Field("30s", description="Scrape interval.")
    labels: Labels = Field(
        default_factory=dict, description="Labels your Prometheus serviceMonitorSelector matches."
    )


class GrafanaDashboardsValues(ValuesModel):
    """How the Grafana dashboard sidecar finds the dashboard ConfigMaps."""

    enabled: bool = Field(True, description="Render the dashboard ConfigMaps.")
    label: str = Field(
        "grafana_dashboard",
        pattern=QUALIFIED_NAME,
        description="Label the sidecar selects on (its sidecar.dashboards.label).",
    )
    labelValue: str = Field("1", description="Value of that label (sidecar.dashboards.labelValue).")
    folderAnnotation: str = Field(
        "grafana_folder",
        pattern=f"({QUALIFIED_NAME})|^$",
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


def dashboards_model(dashboards: dict[str, str]) -> type[ValuesModel]:
    """Values of each dashboard (name -> title): its switch."""
    fields: dict[str, Any] = {
        name.replace("-", "_"): (
            DashboardValues,
            Field(default_factory=DashboardValues, alias=name, description=title),
        )
        for name, title in dashboards.items()
    }
    return create_model(
        "Dashboards", __base__=ValuesModel, __doc__="Dashboards, by name.", **fields
    )


#: Descriptions of the settings every alert has, by key.
ALERT_SETTINGS = {
    "enabled": "Ship this alert.",
    "severity": "Severity label; routes the notification.",
    "for": "How long the condition holds before the alert fires.",
}


def param_description(param: str) -> str:
    """Description of an alert parameter's value."""
    return f"Parameter ${param} of the expr."


def alerts_model(alerts: dict[str, tuple[str, dict[str, float | int]]]) -> type[ValuesModel]:
    """Values of each alert (name -> (description, parameters)): switch, severity, for, params."""
    fields: dict[str, Any] = {}
    for name, (description, params) in alerts.items():
        alert_fields: dict[str, Any] = {
            "enabled": (bool, Field(description=ALERT_SETTINGS["enabled"])),
            "severity": (
                Literal["info", "warning", "critical"],
                Field(description=ALERT_SETTINGS["severity"]),
            ),
            "for_": (DurationValue, Field(alias="for", description=ALERT_SETTINGS["for"])),
        }
        for param in params:
            alert_fields[param] = (ParamValue, Field(description=param_description(param)))
        fields[name] = (
            create_model(name, __base__=ValuesModel, __doc__=description, **alert_fields),
            Field(description=description),
        )
    return create_model("Alerts", __base__=ValuesModel, __doc__="Alerts, by name.", **fields)


class ValuesSchema(GenerateJsonSchema):
    """JSON Schema of the values: every key values.yaml writes is required."""

    def field_is_required(
        self,
        field: core_schema.ModelField | core_schema.DataclassField | core_schema.TypedDictField,
        total: bool,
    ) -> bool:
        """Required unless its default is None (values.yaml leaves such keys out).

        A default from a factory is written too, so it is required: setting it to null in an
        environment would drop it (e.g. the capabilities that drop ALL).
        """
        schema = field["schema"]
        return not (
            schema["type"] == "default" and "default" in schema and schema["default"] is None
        )

    def generate(self, schema: core_schema.CoreSchema, mode: Any = "validation") -> JsonSchemaValue:
        """Add the dialect and the generated-file marker."""
        out = super().generate(schema, mode)
        return {"$schema": SCHEMA_DIALECT, "$comment": "generated by chartgen - do not edit", **out}


def service_description(name: str, description: str) -> str:
    """What values.yaml and the schema say of a service: its spec description, or its name."""
    return description or f"The {name} service."


def values_model(
    services: dict[str, str],
    alerts: type[ValuesModel] | None = None,
    dashboards: type[ValuesModel] | None = None,
) -> type[ValuesModel]:
    """The values model of a chart: services (name -> description), alerts, dashboards.

    The grafana and dashboards sections exist only when the spec has dashboards.
    """
    fields: dict[str, Any] = {
        name.replace("-", "_"): (
            ServiceValues,
            Field(alias=name, description=service_description(name, description)),
        )
        for name, description in services.items()
    }
    services_model = create_model(
        "Services", __base__=ValuesModel, __doc__="One entry per service of the spec.", **fields
    )
    grafana: dict[str, Any] = {}
    if dashboards is not None:
        grafana = {
            "grafana": (GrafanaValues, Field(description="Grafana dashboard sidecar.")),
            "dashboards": (dashboards, Field(description="Each dashboard: enabled.")),
        }
    model: type[ValuesModel] = create_model(
        "Values",
        __base__=ValuesModel,
        __doc__="Values of the chart.",
        global_=(
            GlobalValues,
            Field(alias="global", description="Values shared with parent charts."),
        ),
        enabled=(bool | None, Field(None, description="Set by a parent chart's condition.")),
        nameOverride=(str, Field("", description="Replaces the chart name in object names.")),
        fullnameOverride=(str, Field("", description="Replaces the whole object name prefix.")),
        commonLabels=(
            Labels,
            Field(default_factory=dict, description="Labels added to every object."),
        ),
        podSecurityContext=(
            PodSecurityContextValues,
            Field(
                default_factory=PodSecurityContextValues,
                description="Pod securityContext of every pod (restricted profile).",
            ),
        ),
        securityContext=(
            ContainerSecurityContextValues,
            Field(
                default_factory=ContainerSecurityContextValues,
                description="Container securityContext of every container (restricted profile).",
            ),
        ),
        networkPolicy=(
            NetworkPolicyValues,
            Field(default_factory=NetworkPolicyValues, description="NetworkPolicies."),
        ),
        podDisruptionBudget=(
            PodDisruptionBudgetValues,
            Field(default_factory=PodDisruptionBudgetValues, description="PodDisruptionBudgets."),
        ),
        topologySpread=(
            TopologySpreadValues,
            Field(default_factory=TopologySpreadValues, description="Spread of pods over nodes."),
        ),
        services=(services_model, Field(description="The services, by name.")),
        rules=(RulesValues, Field(default_factory=RulesValues, description="Prometheus rules.")),
        serviceMonitor=(
            ServiceMonitorValues,
            Field(default_factory=ServiceMonitorValues, description="ServiceMonitor objects."),
        ),
        alerts=(
            alerts or create_model("Alerts", __base__=ValuesModel),
            Field(description="Each alert: enabled, severity, for, and its thresholds."),
        ),
        **grafana,
        tests=(TestsValues, Field(description="helm test hooks.")),
    )
    return model


def values_json_schema(model: type[ValuesModel]) -> dict[str, Any]:
    """The values.schema.json document."""
    return model.model_json_schema(by_alias=True, schema_generator=ValuesSchema)


@dataclass(frozen=True)
class ChartValues:
    """The chart's default values as plain data, and the names that vary from chart to chart.

    services (name -> description), alerts (name -> (summary, parameters)) and dashboards
    (name -> title; None without dashboards) stay data: values.yaml, values.schema.json and the
    README table are written from them directly. The pydantic model that checks values files
    needs a class per alert, so it is built only when asked for.
    """

    #: As the model dumps them (by alias, without None); shared, so read it, do not change it.
    defaults: dict[str, Any]
    services: dict[str, str]
    alerts: dict[str, tuple[str, dict[str, float | int]]]
    dashboards: dict[str, str] | None

    @functools.cached_property
    def model(self) -> type[ValuesModel]:
        """The pydantic model of these values: it checks values files, and defines the schema."""
        return values_model(
            self.services,
            alerts_model(self.alerts),
            None if self.dashboards is None else dashboards_model(self.dashboards),
        )


#: The keys whose entries are the spec's services, alerts and dashboards.
_ENTRY_SECTIONS = ("services", "alerts", "dashboards")


def chart_values(
    given: dict[str, Any],
    services: dict[str, str],
    alerts: dict[str, tuple[str, dict[str, float | int]]],
    dashboards: dict[str, str] | None,
) -> ChartValues:
    """The chart's values: ``given`` over the defaults of the sections the spec leaves alone.

    ``given`` holds what the values model validates: the spec's sections as models, and a
    map of valid entries (models or plain data) under each of services, alerts and dashboards.
    """
    sections = _sections_model(dashboards is not None)
    empty: dict[str, dict[str, Any]] = {
        key: {} for key in _ENTRY_SECTIONS if key in sections.model_fields
    }
    defaults = sections.model_validate({**given, **empty}).model_dump(
        by_alias=True, exclude_none=True
    )
    for key in empty:
        defaults[key] = {name: _plain(entry) for name, entry in given[key].items()}
    return ChartValues(defaults, services, alerts, dashboards)


def _plain(entry: Any) -> Any:
    if isinstance(entry, BaseModel):
        return entry.model_dump(by_alias=True, exclude_none=True)
    return entry


@functools.cache
def _sections_model(with_dashboards: bool) -> type[ValuesModel]:
    """The values model with no services, alerts or dashboards: the sections every chart has."""
    return values_model({}, None, dashboards_model({}) if with_dashboards else None)


def values_docs(values: ChartValues) -> KeyDocs:
    """Descriptions of the default values' keys: values.yaml's comments, the README's column."""
    sections = _model_docs(_sections_model(values.dashboards is not None))
    nested = dict(sections.nested)
    service = _model_docs(ServiceValues)
    nested["services"] = KeyDocs(
        {name: service_description(name, text) for name, text in values.services.items()},
        dict.fromkeys(values.services, service),
    )
    nested["alerts"] = KeyDocs(
        {name: summary for name, (summary, _) in values.alerts.items() if summary},
        {
            name: KeyDocs({**ALERT_SETTINGS, **{p: param_description(p) for p in params}}, {})
            for name, (_, params) in values.alerts.items()
        },
    )
    if values.dashboards is not None:
        nested["dashboards"] = KeyDocs(
            {name: title for name, title in values.dashboards.items() if title},
            dict.fromkeys(values.dashboards, _model_docs(DashboardValues)),
        )
    return KeyDocs(sections.descriptions, nested)


@functools.cache
def _model_docs(model: type[BaseModel]) -> KeyDocs:
    """A model's field descriptions by key, and those of the models inside its fields."""
    descriptions: dict[str, str] = {}
    nested: dict[str, KeyDocs] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        if info.description:
            descriptions[key] = info.description
        inner = _model_inside(info.annotation)
        if inner is not None:
            nested[key] = _model_docs(inner)
    return KeyDocs(descriptions, nested)


def _model_inside(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds, alone, optional or in lists; None if it holds no model."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) not in (list, typing.Union, types.UnionType):
        return None
    inner = {_model_inside(arg) for arg in typing.get_args(annotation)} - {None}
    if len(inner) > 1:
        raise TypeError(f"{annotation} holds more than one model: describe its values by type")
    return inner.pop() if inner else None


class _SchemaParts(NamedTuple):
    """Pieces of pydantic's values.schema.json for a chart with one placeholder of each entry."""

    root: dict[str, Any]  # the document; its $defs are the static ones
    services: dict[str, Any]  # the Services def, its properties aside
    alerts: dict[str, Any]  # the Alerts def, its properties aside
    dashboards: tuple[dict[str, Any], dict[str, Any]] | None  # like services, if any
    service_ref: dict[str, Any]  # a service's property, its description aside
    alert: dict[str, Any]  # an alert's def: its properties and required keys the settings
    param: dict[str, Any]  # a parameter's property, its description and title aside
    ref_prefix: str  # what comes before a def's name in a $ref
    title: Callable[[str], str]  # a field's title from its key
    taken: frozenset[str]  # def names the static models use: an alert named so is renamed


_PLACEHOLDER = "Placeholder"
_BASE_MODEL_NAMES = frozenset(dir(BaseModel))
#: Keys whose children pydantic's sort leaves in order: a name equal to one changes the sort.
_UNSORTED_KEYS = frozenset({"properties", "default"})


@functools.cache
def _schema_parts(with_dashboards: bool) -> _SchemaParts:
    """Pydantic's schema of a chart with one service, alert and dashboard, taken apart.

    It depends on chartgen's code alone: worked out once per toolchain and kept in the cache.
    """
    name = "values-schema-parts" + ("-with-dashboards" if with_dashboards else "")
    kept = load_derived(name)
    if isinstance(kept, dict):
        try:
            return _parts_from_data(kept)
        except (KeyError, TypeError, ValueError):
            pass
    parts = _pydantic_schema_parts(with_dashboards)
    store_derived(name, parts._asdict() | {"title": None, "taken": sorted(parts.taken)})
    return parts


def _parts_from_data(data: dict[str, Any]) -> _SchemaParts:
    dashboards = data["dashboards"]
    return _SchemaParts(
        **data
        | {
            "dashboards": None if dashboards is None else (dashboards[0], dashboards[1]),
            "title": ValuesSchema(by_alias=True).get_title_from_name,
            "taken": frozenset(data["taken"]),
        }
    )


def _pydantic_schema_parts(with_dashboards: bool) -> _SchemaParts:
    """What ``_schema_parts`` keeps, worked out through pydantic."""
    model = values_model(
        {"x": "x"},
        alerts_model({_PLACEHOLDER: ("x", {"p": 0})}),
        dashboards_model({"x": "x"}) if with_dashboards else None,
    )
    root = values_json_schema(model)
    defs = root["$defs"]
    taken = frozenset(defs) - {_PLACEHOLDER} | {"Values"}
    alert = defs.pop(_PLACEHOLDER)
    services, alerts = defs.pop("Services"), defs.pop("Alerts")
    dashboards = defs.pop("Dashboards") if with_dashboards else None
    return _SchemaParts(
        root=root,
        services=_without(services, "properties", "required"),
        alerts=_without(alerts, "properties", "required"),
        dashboards=None
        if dashboards is None
        else (
            _without(dashboards, "properties", "required"),
            _without(dashboards["properties"]["x"], "description"),
        ),
        service_ref=_without(services["properties"]["x"], "description"),
        alert={
            **_without(alert, "description", "title"),
            "properties": _without(alert["properties"], "p"),
            "required": [key for key in alert["required"] if key != "p"],
        },
        param=_without(alert["properties"]["p"], "description", "title"),
        ref_prefix=alerts["properties"][_PLACEHOLDER]["$ref"].removesuffix(_PLACEHOLDER),
        title=ValuesSchema(by_alias=True).get_title_from_name,
        taken=taken,
    )


def _without(schema: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in schema.items() if key not in keys}


def values_schema(values: ChartValues) -> dict[str, Any]:
    """values.schema.json: what ``values_json_schema(values.model)`` gives, without the model.

    Pydantic's schema of the sections, and its layout of services, alerts and dashboards,
    filled in with the chart's entries. Names pydantic would write otherwise (renamed defs,
    fields it treats apart, keys its sort skips) take pydantic's own path. Parts are shared
    between calls: read the schema, do not change it.
    """
    parts = _schema_parts(values.dashboards is not None)
    if not _written_as_given(values, parts.taken):
        return values_json_schema(values.model)
    defs = dict(parts.root["$defs"])
    defs["Services"] = _entries_def(
        parts.services,
        {
            name: _ref_property(
                parts.service_ref, service_description(name, text), defs["ServiceValues"]
            )
            for name, text in values.services.items()
        },
    )
    alerts: dict[str, Any] = {}
    for name, (summary, params) in values.alerts.items():
        defs[name] = _alert_def(parts, name, summary, params)
        alerts[name] = _ref_property({"$ref": parts.ref_prefix + name}, summary, defs[name])
    defs["Alerts"] = _entries_def(parts.alerts, alerts)
    if values.dashboards is not None and parts.dashboards is not None:
        template, ref = parts.dashboards
        defs["Dashboards"] = _entries_def(
            template,
            {
                name: _ref_property(ref, title, defs["DashboardValues"])
                for name, title in values.dashboards.items()
            },
        )
    return {**parts.root, "$defs": dict(sorted(defs.items()))}


def _written_as_given(values: ChartValues, taken: frozenset[str]) -> bool:
    """Whether pydantic writes every entry's name as given, in the layout values_schema knows."""
    params = [param for _, entry_params in values.alerts.values() for param in entry_params]
    keyed = [*values.services, *(values.dashboards or ()), *values.alerts, *params]
    fields = [name.replace("-", "_") for name in keyed]
    return (
        taken.isdisjoint(values.alerts)
        and _UNSORTED_KEYS.isdisjoint(keyed)
        and not any(_field_apart(field) for field in fields)
    )


def _field_apart(name: str) -> bool:
    """Whether pydantic treats a field of this name apart (BaseModel's own names, Config)."""
    return name.startswith("model_") or name in _BASE_MODEL_NAMES or name == "Config"


def reserved_name(name: str) -> bool:
    """Whether a name is one the values model cannot hold as a key of its own.

    Services, dashboards, alerts and parameters become keys of pydantic models, where
    BaseModel's own names (model_*, schema, json, copy, dict, validate, ...) are taken.
    """
    return _field_apart(name.replace("-", "_"))


def _entries_def(template: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    """The def of a map of entries (Services, Alerts, Dashboards): each entry required."""
    schema = {**template, "properties": properties}
    if properties:
        schema["required"] = list(properties)
    return dict(sorted(schema.items()))


def _ref_property(ref: dict[str, Any], description: str, target: dict[str, Any]) -> dict[str, Any]:
    """A property that refers to a def; pydantic drops a description equal to the def's."""
    if target.get("description") == description:
        return ref
    return dict(sorted({**ref, "description": description}.items()))


def _alert_def(
    parts: _SchemaParts, name: str, summary: str, params: dict[str, float | int]
) -> dict[str, Any]:
    """The def of one alert, as pydantic writes the model alerts_model makes for it."""
    properties = dict(parts.alert["properties"])
    for param in params:
        properties[param] = dict(
            sorted(
                {
                    **parts.param,
                    "description": param_description(param),
                    "title": parts.title(param),
                }.items()
            )
        )
    schema = {
        **parts.alert,
        "properties": properties,
        "required": [*parts.alert["required"], *params],
        "title": name,
    }
    if summary:
        schema["description"] = inspect.cleandoc(summary)
    return dict(sorted(schema.items()))

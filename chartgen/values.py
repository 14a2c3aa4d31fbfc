"""The chart's values as pydantic models: the source of values.yaml and values.schema.json."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from chartgen.spec.types import (
    ENV_NAME,
    HttpPath,
    ImageRepository,
    PortRef,
    PositiveInt,
    Quantity,
    Seconds,
)

VALUES_CONFIG = ConfigDict(extra="forbid", populate_by_name=True)
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
# A Prometheus duration, as Go's regexp (and so helm's schema check) can read it.
#: A decimal number as text: `helm --set x=0.7` passes decimals as strings.
DecimalText = Annotated[str, StringConstraints(pattern=r"^-?[0-9]+(\.[0-9]+)?$")]
#: A Kubernetes label or annotation key: an optional DNS prefix and '/', then a name.
QUALIFIED_NAME = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
DURATION_PATTERN = r"^(0|([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?)$"


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
    tag: str = Field("", description="Image tag; ignored when a digest is set.")
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


class QuantitiesValues(ValuesModel):
    """CPU and memory amounts."""

    cpu: Quantity | None = None
    memory: Quantity | None = None


class ResourcesValues(ValuesModel):
    """Container resource requests and limits."""

    requests: QuantitiesValues = Field(description="What the scheduler reserves.")
    limits: QuantitiesValues = Field(description="The most the container may use.")


class EnvValue(ValuesModel):
    """An extra plain environment variable; reference Secrets in the spec, not here."""

    name: str = Field(pattern=ENV_NAME)
    value: str


class ServiceAccountValues(ValuesModel):
    """The service's ServiceAccount."""

    create: bool = Field(True, description="Create a ServiceAccount for this service.")
    name: str = Field("", description="Name to use; empty derives it from the release.")
    annotations: dict[str, str] = Field(default_factory=dict, description="Annotations.")
    automount: bool = Field(False, description="Mount the API token into the pods.")


class MetricsValues(ValuesModel):
    """How Prometheus finds the service."""

    scrape: bool = Field(True, description="Add the prometheus.io/* scrape annotations.")


class ServiceValues(ValuesModel):
    """Everything about one service that an environment may change."""

    enabled: bool = Field(True, description="Deploy this service.")
    replicas: int = Field(ge=0, description="Number of pods.")
    image: ImageValues = Field(description="Container image.")
    resources: ResourcesValues = Field(description="Requests and limits.")
    probes: ProbesValues = Field(description="Health probes, each with an on/off switch.")
    extraEnv: list[EnvValue] = Field(
        default_factory=list, description="Extra plain environment variables."
    )
    metrics: MetricsValues | None = Field(None, description="Prometheus scraping.")
    podAnnotations: dict[str, str] = Field(default_factory=dict, description="Pod annotations.")
    podLabels: dict[str, str] = Field(default_factory=dict, description="Extra pod labels.")
    serviceAccount: ServiceAccountValues = Field(
        default_factory=ServiceAccountValues, description="ServiceAccount settings."
    )
    nodeSelector: dict[str, str] = Field(default_factory=dict, description="Node selector.")
    tolerations: list[dict[str, Any]] = Field(default_factory=list, description="Tolerations.")
    affinity: dict[str, Any] = Field(default_factory=dict, description="Affinity rules.")


class TestsValues(ValuesModel):
    """The `helm test` pods that reach each service."""

    enabled: bool = Field(True, description="Render the helm test hooks.")
    image: ImageValues = Field(description="A small image with wget (busybox).")


class RuleConfigMapValues(ValuesModel):
    """Rule files as ConfigMaps, for the community prometheus chart to mount."""

    enabled: bool = Field(True, description="Render one rules ConfigMap per service.")
    labels: dict[str, str] = Field(
        default_factory=lambda: {"prometheus_rule": "1"},
        description="Labels a rules sidecar or your extraConfigmapMounts select on.",
    )


class PrometheusRuleValues(ValuesModel):
    """The same rules as prometheus-operator PrometheusRule objects."""

    enabled: bool = Field(False, description="Render one PrometheusRule per service.")
    labels: dict[str, str] = Field(
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
    interval: str = Field("30s", pattern=DURATION_PATTERN, description="Scrape interval.")
    labels: dict[str, str] = Field(
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


def alerts_model(alerts: dict[str, tuple[str, dict[str, float | int]]]) -> type[ValuesModel]:
    """Values of each alert (name -> (description, parameters)): switch, severity, for, params."""
    fields: dict[str, Any] = {}
    for name, (description, params) in alerts.items():
        alert_fields: dict[str, Any] = {
            "enabled": (bool, Field(description="Ship this alert.")),
            "severity": (
                Literal["info", "warning", "critical"],
                Field(description="Severity label; routes the notification."),
            ),
            "for_": (
                str,
                Field(
                    alias="for",
                    pattern=DURATION_PATTERN,
                    description="How long the condition holds before the alert fires.",
                ),
            ),
        }
        for param in params:
            alert_fields[param] = (
                float | DecimalText,
                Field(description=f"Parameter ${param} of the expr."),
            )
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
        """Required unless its default is None (values.yaml leaves such keys out)."""
        schema = field["schema"]
        return not (schema["type"] == "default" and schema.get("default") is None)

    def generate(self, schema: core_schema.CoreSchema, mode: Any = "validation") -> JsonSchemaValue:
        """Add the dialect and the generated-file marker."""
        out = super().generate(schema, mode)
        return {"$schema": SCHEMA_DIALECT, "$comment": "generated by chartgen - do not edit", **out}


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
            Field(alias=name, description=description or f"The {name} service."),
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
            dict[str, str],
            Field(default_factory=dict, description="Labels added to every object."),
        ),
        podSecurityContext=(
            dict[str, Any],
            Field(description="Pod securityContext of every service."),
        ),
        securityContext=(
            dict[str, Any],
            Field(description="Container securityContext of every service."),
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


def commented_values(values: BaseModel, indent: int = 0) -> CommentedMap:
    """Values as a YAML map with each field's description as a ``# --`` comment above it."""
    out = CommentedMap()
    for name, info in type(values).model_fields.items():
        value = getattr(values, name)
        if value is None:
            continue
        key = info.alias or name
        out[key] = _commented(value, indent + 2)
        if info.description:
            out.yaml_set_comment_before_after_key(
                key, before=f"-- {info.description}", indent=indent
            )
    if isinstance(values, GlobalValues) and values.model_extra:
        for key, value in values.model_extra.items():
            out[key] = _commented(value, indent + 2)
    return out


def _commented(value: Any, indent: int) -> Any:
    if isinstance(value, BaseModel):
        return commented_values(value, indent)
    if isinstance(value, dict):
        return CommentedMap((k, _commented(v, indent + 2)) for k, v in value.items())
    if isinstance(value, list):
        return CommentedSeq(_commented(v, indent + 2) for v in value)
    return value

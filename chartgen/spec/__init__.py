"""User-facing spec models: what a platform is, validated as it is loaded."""

from chartgen.spec.chart import ChartMeta, ChartSpec, SpecFile
from chartgen.spec.dashboard import Dashboard, Panel, Row, Target, Threshold
from chartgen.spec.monitoring import (
    Alert,
    AlertExample,
    ExampleSeries,
    MetricFamily,
    RecordingRule,
)
from chartgen.spec.probes import ExecAction, HTTPGetAction, Probe, Probes, TCPSocketAction
from chartgen.spec.service import (
    EgressPort,
    EgressRule,
    EnvVar,
    Image,
    MetricsEndpoint,
    Port,
    SecretMount,
    SecretRef,
    Service,
)
from chartgen.spec.slo import SLI, SLO, Counter, SLOAlert
from chartgen.spec.types import LimitsValues, RequestsValues, ResourcesValues

__all__ = [
    "SLI",
    "SLO",
    "Alert",
    "AlertExample",
    "ChartMeta",
    "ChartSpec",
    "Counter",
    "Dashboard",
    "EgressPort",
    "EgressRule",
    "EnvVar",
    "ExampleSeries",
    "ExecAction",
    "HTTPGetAction",
    "Image",
    "LimitsValues",
    "MetricFamily",
    "MetricsEndpoint",
    "Panel",
    "Port",
    "Probe",
    "Probes",
    "RecordingRule",
    "RequestsValues",
    "ResourcesValues",
    "Row",
    "SLOAlert",
    "SecretMount",
    "SecretRef",
    "Service",
    "SpecFile",
    "TCPSocketAction",
    "Target",
    "Threshold",
]

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
from chartgen.spec.probes import ExecCheck, HttpCheck, Probe, Probes, TcpCheck
from chartgen.spec.service import (
    EgressPort,
    EgressRule,
    EnvVar,
    Image,
    Limits,
    MetricsEndpoint,
    Port,
    Requests,
    Resources,
    SecretMount,
    SecretRef,
    Service,
)

__all__ = [
    "Alert",
    "AlertExample",
    "ChartMeta",
    "ChartSpec",
    "Dashboard",
    "EgressPort",
    "EgressRule",
    "EnvVar",
    "ExampleSeries",
    "ExecCheck",
    "HttpCheck",
    "Image",
    "Limits",
    "MetricFamily",
    "MetricsEndpoint",
    "Panel",
    "Port",
    "Probe",
    "Probes",
    "RecordingRule",
    "Requests",
    "Resources",
    "Row",
    "SecretMount",
    "SecretRef",
    "Service",
    "SpecFile",
    "Target",
    "TcpCheck",
    "Threshold",
]

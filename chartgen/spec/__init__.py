"""User-facing spec models: what a platform is, validated as it is loaded."""

from chartgen.spec.chart import ChartMeta, ChartSpec, SpecFile
from chartgen.spec.monitoring import (
    Alert,
    AlertExample,
    ExampleSeries,
    MetricFamily,
    RecordingRule,
)
from chartgen.spec.probes import ExecCheck, HttpCheck, Probe, Probes, TcpCheck
from chartgen.spec.service import (
    EnvVar,
    Image,
    MetricsEndpoint,
    Port,
    Quantities,
    Resources,
    SecretRef,
    Service,
)

__all__ = [
    "Alert",
    "AlertExample",
    "ChartMeta",
    "ChartSpec",
    "EnvVar",
    "ExampleSeries",
    "ExecCheck",
    "HttpCheck",
    "Image",
    "MetricFamily",
    "MetricsEndpoint",
    "Port",
    "Probe",
    "Probes",
    "Quantities",
    "RecordingRule",
    "Resources",
    "SecretRef",
    "Service",
    "SpecFile",
    "TcpCheck",
]

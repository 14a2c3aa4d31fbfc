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
    "Dashboard",
    "EnvVar",
    "ExampleSeries",
    "ExecCheck",
    "HttpCheck",
    "Image",
    "MetricFamily",
    "MetricsEndpoint",
    "Panel",
    "Port",
    "Probe",
    "Probes",
    "Quantities",
    "RecordingRule",
    "Resources",
    "Row",
    "SecretRef",
    "Service",
    "SpecFile",
    "Target",
    "TcpCheck",
    "Threshold",
]

"""User-facing spec models: what a platform is, validated as it is loaded."""

from chartgen.spec.chart import ChartMeta, ChartSpec, SpecFile
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
    "ChartMeta",
    "ChartSpec",
    "EnvVar",
    "ExecCheck",
    "HttpCheck",
    "Image",
    "MetricsEndpoint",
    "Port",
    "Probe",
    "Probes",
    "Quantities",
    "Resources",
    "SecretRef",
    "Service",
    "SpecFile",
    "TcpCheck",
]

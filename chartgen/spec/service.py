"""A service: one workload with its image, ports, resources, env, probes and metrics."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from chartgen.spec.monitoring import Alert, MetricFamily, RecordingRule
from chartgen.spec.probes import Probes
from chartgen.spec.types import (
    STRICT_CONFIG,
    EnvName,
    HttpPath,
    ImageDigest,
    ImageRepository,
    ImageTag,
    PortName,
    PortNumber,
    PortRef,
    Quantity,
    SecretKey,
    SecretName,
    ServiceName,
    check_limits_cover_requests,
    spec_error,
)


class Image(BaseModel):
    """A container image without its registry; the registry is a chart value."""

    model_config = STRICT_CONFIG

    repository: ImageRepository = Field(description="Path inside the registry, e.g. team/app.")
    tag: ImageTag | None = Field(None, description="A fixed tag; 'latest' is refused.")
    digest: ImageDigest | None = Field(None, description="sha256 digest; wins over the tag.")
    pullPolicy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"

    @model_validator(mode="after")
    def _pinned(self) -> Image:
        if self.tag is None and self.digest is None:
            raise spec_error("an image needs a tag or a digest", "add tag: v1.2.3 (or a digest)")
        if self.tag == "latest":
            raise spec_error(
                "the tag 'latest' is not reproducible",
                "pin a version tag (e.g. v1.0.2) or a digest (sha256:...)",
            )
        return self


class Port(BaseModel):
    """A container port, exposed by the service's Kubernetes Service."""

    model_config = STRICT_CONFIG

    name: PortName
    port: PortNumber
    protocol: Literal["TCP", "UDP", "SCTP"] = "TCP"


class Quantities(BaseModel):
    """CPU and memory amounts."""

    model_config = STRICT_CONFIG

    cpu: Quantity | None = None
    memory: Quantity | None = None


class Resources(BaseModel):
    """Requests and limits of the container."""

    model_config = STRICT_CONFIG

    requests: Quantities = Quantities()
    limits: Quantities = Quantities()

    @model_validator(mode="after")
    def _limits_cover_requests(self) -> Resources:
        check_limits_cover_requests(self.requests, self.limits)
        return self


class SecretRef(BaseModel):
    """A key of an existing Secret; chartgen never holds secret values."""

    model_config = STRICT_CONFIG

    name: SecretName
    key: SecretKey
    optional: bool = Field(False, description="Start even if the Secret or key is missing.")


class EnvVar(BaseModel):
    """An environment variable: a plain value or a reference to a Secret key."""

    model_config = STRICT_CONFIG

    name: EnvName
    value: str | None = None
    secret: SecretRef | None = None

    @model_validator(mode="after")
    def _one_source(self) -> EnvVar:
        if (self.value is None) == (self.secret is None):
            raise spec_error(
                "an env var needs exactly one of value or secret",
                "set value: for plain text, or secret: {name, key} to read an existing Secret",
            )
        return self


class MetricsEndpoint(BaseModel):
    """Where Prometheus scrapes the service, and the metric families it exposes there."""

    model_config = STRICT_CONFIG

    port: PortRef
    path: HttpPath = "/metrics"
    families: list[MetricFamily] = []


class Service(BaseModel):
    """One VaultMesh-style service: a Deployment or StatefulSet behind a ClusterIP Service."""

    model_config = STRICT_CONFIG

    name: ServiceName
    description: str = ""
    image: Image
    workload: Literal["Deployment", "StatefulSet"] = "Deployment"
    replicas: int = Field(1, ge=0)
    ports: list[Port] = Field(min_length=1)
    resources: Resources = Resources()
    env: list[EnvVar] = []
    probes: Probes = Probes()
    metrics: MetricsEndpoint | None = None
    recordingRules: list[RecordingRule] = []
    alerts: list[Alert] = []

    def port_number(self, ref: str | int) -> int | None:
        """The number of a declared port given by name or number, or None if undeclared."""
        for port in self.ports:
            if ref in (port.name, port.port):
                return port.port
        return None

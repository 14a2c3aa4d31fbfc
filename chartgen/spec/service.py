"""A service: one workload with its image, ports, resources, env, probes and metrics."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chartgen.spec.monitoring import Alert, MetricFamily, RecordingRule
from chartgen.spec.probes import Probes
from chartgen.spec.slo import SLO
from chartgen.spec.types import (
    STRICT_CONFIG,
    AbsolutePath,
    Cidr,
    EnvName,
    HttpPath,
    ImageDigest,
    ImageRepository,
    ImageTag,
    PortName,
    PortNumber,
    PortRef,
    Prose,
    Replicas,
    ResourcesValues,
    SecretKey,
    SecretName,
    ServiceName,
    exactly_one,
    narrower_blocks,
    not_latest,
    spec_error,
)

#: Always writable (an emptyDir), since the root filesystem is read-only.
ALWAYS_WRITABLE = "/tmp"


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
        not_latest(self.tag)
        return self


class Port(BaseModel):
    """A container port, exposed by the service's Kubernetes Service."""

    model_config = STRICT_CONFIG

    name: PortName
    port: PortNumber
    protocol: Literal["TCP", "UDP", "SCTP"] = "TCP"


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
        exactly_one(
            self,
            "an env var",
            ("value", "secret"),
            "set value: for plain text, or secret: {name, key} to read an existing Secret",
        )
        return self


class SecretMount(BaseModel):
    """An existing Secret mounted read-only as files, one file per key, under a directory."""

    model_config = STRICT_CONFIG

    secretName: SecretName = Field(description="Name of an existing Secret.")
    path: AbsolutePath = Field(description="Directory of the files, e.g. /var/run/secrets/app.")
    keys: list[SecretKey] = Field([], description="Keys to mount; empty mounts every key.")
    optional: bool = Field(False, description="Start even if the Secret or a key is missing.")


class EgressPort(BaseModel):
    """A destination port of outgoing traffic."""

    model_config = STRICT_CONFIG

    port: PortNumber
    protocol: Literal["TCP", "UDP", "SCTP"] = "TCP"


class EgressRule(BaseModel):
    """Traffic the service starts: to another service of the spec, or to an address block."""

    model_config = ConfigDict(**STRICT_CONFIG, populate_by_name=True)

    description: Prose = ""
    service: ServiceName | None = Field(None, description="Another service of this spec.")
    cidr: Cidr | None = Field(None, description="An address block outside the cluster.")
    except_: list[Cidr] = Field([], alias="except", description="Blocks inside cidr to refuse.")
    ports: list[EgressPort] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_destination(self) -> EgressRule:
        exactly_one(
            self,
            "an egress rule",
            ("service", "cidr"),
            "set service: <name> for a service of this spec, or cidr: 203.0.113.0/24",
        )
        if self.except_ and self.cidr is None:
            raise spec_error("'except' narrows a cidr", "remove 'except', or use cidr:")
        narrower_blocks(self.cidr, self.except_)
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
    description: Prose = ""
    image: Image
    stateful: bool = Field(
        False,
        description="Each pod keeps its own state: runs as a StatefulSet by default "
        "(the chart value services.<name>.workload switches it).",
    )
    replicas: Replicas = 1
    ports: list[Port] = Field(min_length=1)
    resources: ResourcesValues
    env: list[EnvVar] = []
    secretMounts: list[SecretMount] = []
    writablePaths: list[AbsolutePath] = Field(
        [],
        description="Directories the container writes to besides /tmp (the root filesystem "
        "is read-only); each gets an emptyDir.",
    )
    egress: list[EgressRule] = Field(
        [], description="Outgoing traffic the NetworkPolicy admits (DNS is always admitted)."
    )
    automountServiceAccountToken: bool = Field(
        False, description="Mount the Kubernetes API token: only for services that call the API."
    )
    probes: Probes = Probes()
    metrics: MetricsEndpoint | None = None
    recordingRules: list[RecordingRule] = []
    alerts: list[Alert] = []
    slos: list[SLO] = Field(
        [], description="Service-level objectives, with error-budget burn-rate alerts."
    )

    @property
    def workload(self) -> Literal["Deployment", "StatefulSet"]:
        """The default workload kind: StatefulSet for stateful services."""
        return "StatefulSet" if self.stateful else "Deployment"

    def port_number(self, ref: str | int) -> int | None:
        """The number of a declared port given by name or number, or None if undeclared."""
        for port in self.ports:
            if ref in (port.name, port.port):
                return port.port
        return None

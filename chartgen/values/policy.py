"""Values of the cluster policies every pod gets: security, NetworkPolicies, budgets, spread."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    ConfigDict,
    Field,
    model_validator,
)

from chartgen.spec.types import Cidr, PositiveInt, narrower_blocks, pattern, spec_error
from chartgen.values.kubernetes import EgressRule, IngressRule
from chartgen.values.types import Labels, LabelValue, QualifiedName, ValuesModel

#: A profile file under the kubelet's seccomp directory: a relative path.
LOCALHOST_PROFILE = pattern(
    r"^[A-Za-z0-9._@+-]+(/[A-Za-z0-9._@+-]+)*$",
    "write a path relative to the kubelet's seccomp directory (e.g. profiles/audit.json)",
)

#: What the profile path may not hold: a '..' segment, which would leave the directory.
DOT_DOT_SEGMENT = pattern(r"(^|/)\.\.(/|$)", "write the path without '..' segments")


class SeccompProfileValues(ValuesModel):
    """The seccomp profile of the pods: a Localhost profile names its file, no other does."""

    # Kubernetes' own rule, for helm: localhostProfile is set exactly when type is Localhost.
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"type": {"const": "Localhost"}}},
            "then": {"required": ["localhostProfile"]},
            "else": {"not": {"required": ["localhostProfile"]}},
        }
    )

    type: Literal["RuntimeDefault", "Localhost"] = Field(
        "RuntimeDefault", description="RuntimeDefault, or Localhost with localhostProfile."
    )
    localhostProfile: str | None = Field(
        None,
        pattern=LOCALHOST_PROFILE,
        max_length=4096,
        json_schema_extra={"not": {"pattern": DOT_DOT_SEGMENT}},
        description="The profile file, relative to the kubelet's seccomp directory; only with "
        "type Localhost.",
    )

    @model_validator(mode="after")
    def _profile_with_localhost(self) -> SeccompProfileValues:
        localhost = self.type == "Localhost"
        if localhost and self.localhostProfile is None:
            raise spec_error(
                "a Localhost seccomp profile needs localhostProfile: Kubernetes refuses it "
                "without one",
                "add localhostProfile: <file under the kubelet's seccomp directory> "
                "(e.g. profiles/audit.json), or use type: RuntimeDefault",
            )
        if not localhost and self.localhostProfile is not None:
            raise spec_error(
                f"localhostProfile is set with type {self.type}: Kubernetes refuses it",
                "use type: Localhost with it, or remove localhostProfile",
            )
        if self.localhostProfile is not None and ".." in self.localhostProfile.split("/"):
            raise spec_error(
                f"localhostProfile {self.localhostProfile!r} has a '..' segment: Kubernetes "
                "refuses a path leaving the seccomp directory",
                "write the path without '..'",
            )
        return self


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
    """One matchExpressions entry of a label selector: In and NotIn list values, the others none."""

    # Kubernetes' own rule, for helm.
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"operator": {"enum": ["In", "NotIn"]}}},
            "then": {"required": ["values"], "properties": {"values": {"minItems": 1}}},
            "else": {"properties": {"values": {"maxItems": 0}}},
        }
    )

    key: QualifiedName
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[LabelValue] | None = None

    @model_validator(mode="after")
    def _values_with_in(self) -> LabelSelectorRequirement:
        listed = bool(self.values)
        if self.operator in ("In", "NotIn") and not listed:
            raise spec_error(
                f"operator {self.operator} needs values: Kubernetes refuses it without",
                "list the label values to match (values: [a, b]), or use operator: Exists",
            )
        if self.operator in ("Exists", "DoesNotExist") and listed:
            raise spec_error(
                f"operator {self.operator} takes no values: Kubernetes refuses them",
                "remove values, or use operator: In",
            )
        return self


class LabelSelector(ValuesModel):
    """A Kubernetes label selector; empty selects everything."""

    matchLabels: Labels = Field(default_factory=dict)
    matchExpressions: list[LabelSelectorRequirement] | None = None


class IPBlock(ValuesModel):
    """An address block of a NetworkPolicy peer."""

    cidr: Cidr
    except_: list[Cidr] | None = Field(None, alias="except")

    @model_validator(mode="after")
    def _narrower(self) -> IPBlock:
        narrower_blocks(self.cidr, self.except_)
        return self


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
    extraIngress: list[IngressRule] = Field(
        default_factory=list, description="More ingress rules, as Kubernetes writes them."
    )
    extraEgress: list[EgressRule] = Field(
        default_factory=list, description="More egress rules, as Kubernetes writes them."
    )


class PodDisruptionBudgetValues(ValuesModel):
    """PodDisruptionBudgets of services with two or more replicas."""

    enabled: bool = Field(True, description="Render one for each service of 2 or more replicas.")
    maxUnavailable: PositiveInt = Field(1, description="Pods a voluntary disruption may take.")


class TopologySpreadValues(ValuesModel):
    """Spread of each service's pods across nodes."""

    enabled: bool = Field(True, description="Render topologySpreadConstraints.")
    topologyKey: QualifiedName = Field(
        "kubernetes.io/hostname", description="Node label (a label key) to spread over."
    )
    maxSkew: PositiveInt = Field(1, description="Largest allowed difference in pods per node.")
    whenUnsatisfiable: Literal["ScheduleAnyway", "DoNotSchedule"] = Field(
        "ScheduleAnyway", description="DoNotSchedule makes the spread a hard rule."
    )

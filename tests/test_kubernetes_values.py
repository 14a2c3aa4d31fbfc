"""tolerations, affinity and extra NetworkPolicy rules: checked by Kubernetes' own definitions.

What chartgen refuses there, helm refuses through the chart's values.schema.json, located the
same; what chartgen accepts, helm and kubernetes-validate accept in the rendered objects.
"""

from __future__ import annotations

import json
from pathlib import Path

import kubernetes_validate
import pytest

from chartgen.checks.values import check_values_text
from chartgen.values.kubernetes import API_SERVER_RULES, KUBERNETES_VERSION

from .conftest import ROOT
from .specdata import load_all

CHART = ROOT / "charts" / "vaultmesh"
SCHEMA = json.loads((CHART / "values.schema.json").read_text())
VERSIONS = sorted({KUBERNETES_VERSION, kubernetes_validate.latest_version()})

GOOD = """\
services:
  treaty:
    tolerations:
      - key: node.kubernetes.io/unreachable
        operator: Exists
        effect: NoExecute
        tolerationSeconds: 30
      - {key: dedicated, operator: Equal, value: treaty, effect: NoSchedule}
      - {operator: Exists}
    affinity:
      nodeAffinity:
        requiredDuringSchedulingIgnoredDuringExecution:
          nodeSelectorTerms:
            - matchExpressions:
                - {key: kubernetes.io/arch, operator: In, values: [amd64, arm64]}
                - {key: example.com/spot, operator: DoesNotExist}
        preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 50
            preference:
              matchExpressions: [{key: example.com/cpus, operator: Gt, values: ["4"]}]
      podAntiAffinity:
        requiredDuringSchedulingIgnoredDuringExecution:
          - topologyKey: kubernetes.io/hostname
            labelSelector:
              matchExpressions:
                - {key: app.kubernetes.io/component, operator: In, values: [treaty]}
    networkPolicy:
      extraIngress:
        - from:
            - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}
            - {namespaceSelector: {matchLabels: {team: ops}}, podSelector: {}}
          ports: [{port: 8080, protocol: TCP}, {port: http}]
      extraEgress:
        - to: [{podSelector: {matchLabels: {app: db}}}]
          ports: [{port: 5432, endPort: 5440, protocol: TCP}]
"""

TOLERATIONS = "services:\n  treaty:\n    tolerations:\n      - "
AFFINITY = "services:\n  treaty:\n    affinity:\n      "
INGRESS = "services:\n  treaty:\n    networkPolicy:\n      extraIngress:\n        - "
EGRESS = "services:\n  treaty:\n    networkPolicy:\n      extraEgress:\n        - "

# (values, where chartgen locates the problem, the fix it gives, where helm locates it)
BAD = {
    "an unknown toleration operator": (
        TOLERATIONS + "{key: a, operator: Sometimes}\n",
        "services.treaty.tolerations[0].operator",
        "operator must be one of Exists, Equal (or left out: Equal)",
        "/services/treaty/tolerations/0/operator",
    ),
    "an unknown taint effect": (
        TOLERATIONS + "{key: a, operator: Exists, effect: NoRun}\n",
        "services.treaty.tolerations[0].effect",
        "effect must be one of NoSchedule, PreferNoSchedule, NoExecute (or left out: every effect)",
        "/services/treaty/tolerations/0/effect",
    ),
    "tolerationSeconds on a NoSchedule toleration": (
        TOLERATIONS + "{key: a, operator: Exists, effect: NoSchedule, tolerationSeconds: 30}\n",
        "services.treaty.tolerations[0].effect",
        "tolerationSeconds applies to effect NoExecute only: set effect: NoExecute, or leave "
        "tolerationSeconds out",
        "/services/treaty/tolerations/0/effect",
    ),
    "a value with operator Exists": (
        TOLERATIONS + "{key: a, operator: Exists, value: b}\n",
        "services.treaty.tolerations[0].value",
        "operator Exists matches every value: leave value out",
        "/services/treaty/tolerations/0/value",
    ),
    "a toleration without a key that is not Exists": (
        TOLERATIONS + "{value: b}\n",
        "services.treaty.tolerations[0]",
        "a toleration without a key matches every taint and needs operator: Exists",
        "/services/treaty/tolerations/0",
    ),
    "an unknown toleration field": (
        TOLERATIONS + "{key: a, operator: Exists, tolerationSecond: 30}\n",
        "services.treaty.tolerations[0].tolerationSecond",
        "did you mean 'tolerationSeconds'? allowed fields here: effect, key, operator, "
        "tolerationSeconds, value",
        "/services/treaty/tolerations/0",
    ),
    "an unknown nodeAffinity field": (
        AFFINITY + "nodeAffinity: {bogus: 1}\n",
        "services.treaty.affinity.nodeAffinity.bogus",
        "allowed fields here: preferredDuringSchedulingIgnoredDuringExecution, "
        "requiredDuringSchedulingIgnoredDuringExecution",
        "/services/treaty/affinity/nodeAffinity",
    ),
    "a pod anti-affinity term without a topologyKey": (
        AFFINITY + "podAntiAffinity: {requiredDuringSchedulingIgnoredDuringExecution: "
        "[{labelSelector: {matchLabels: {a: b}}}]}\n",
        "services.treaty.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]",
        "add 'topologyKey'",
        "/services/treaty/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/0",
    ),
    "a preferred term weighing over 100": (
        AFFINITY + "podAffinity: {preferredDuringSchedulingIgnoredDuringExecution: "
        "[{weight: 101, podAffinityTerm: {topologyKey: zone}}]}\n",
        "services.treaty.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution[0]"
        ".weight",
        "weight must be 1 to 100",
        "/services/treaty/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/0"
        "/weight",
    ),
    "a node requirement In with no values": (
        AFFINITY + "nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: "
        "{nodeSelectorTerms: [{matchExpressions: [{key: a, operator: In}]}]}}\n",
        "services.treaty.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
        ".nodeSelectorTerms[0].matchExpressions[0]",
        "values must list at least one value for operator In or NotIn",
        "/services/treaty/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution"
        "/nodeSelectorTerms/0/matchExpressions/0",
    ),
    "a label selector operator Kubernetes does not know": (
        AFFINITY + "podAffinity: {requiredDuringSchedulingIgnoredDuringExecution: "
        "[{topologyKey: zone, labelSelector: {matchExpressions: [{key: a, operator: Is}]}}]}\n",
        "services.treaty.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]"
        ".labelSelector.matchExpressions[0].operator",
        "operator must be one of In, NotIn, Exists, DoesNotExist",
        "/services/treaty/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/0"
        "/labelSelector/matchExpressions/0/operator",
    ),
    "an ingress port protocol Kubernetes does not know": (
        INGRESS + "ports: [{port: 80, protocol: ICMP}]\n",
        "services.treaty.networkPolicy.extraIngress[0].ports[0].protocol",
        "protocol must be one of TCP, UDP, SCTP (or left out: TCP)",
        "/services/treaty/networkPolicy/extraIngress/0/ports/0/protocol",
    ),
    "an ipBlock and a podSelector in one peer": (
        INGRESS + "from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]\n",
        "services.treaty.networkPolicy.extraIngress[0].from[0]",
        "a peer is an ipBlock, or a podSelector and/or namespaceSelector, not both: write them "
        "as two peers",
        "/services/treaty/networkPolicy/extraIngress/0/from/0",
    ),
    "an empty egress peer": (
        EGRESS + "to: [{}]\n",
        "services.treaty.networkPolicy.extraEgress[0].to[0]",
        "a peer needs an ipBlock, a podSelector or a namespaceSelector (podSelector: {} admits "
        "every pod of the namespace)",
        "/services/treaty/networkPolicy/extraEgress/0/to/0",
    ),
    "an egress port 0": (
        EGRESS + "ports: [{port: 0}]\n",
        "services.treaty.networkPolicy.extraEgress[0].ports[0].port",
        "port must be 1 to 65535, or a port name",
        "/services/treaty/networkPolicy/extraEgress/0/ports/0/port",
    ),
    "an endPort after a named port": (
        EGRESS + "ports: [{port: http, endPort: 90}]\n",
        "services.treaty.networkPolicy.extraEgress[0].ports[0].port",
        "endPort needs a numeric port at or below it: set port: <first port>",
        "/services/treaty/networkPolicy/extraEgress/0/ports/0/port",
    ),
    "an egress rule field Kubernetes does not have": (
        EGRESS + "from: [{podSelector: {}}]\n",
        "services.treaty.networkPolicy.extraEgress[0].from",
        "allowed fields here: ports, to",
        "/services/treaty/networkPolicy/extraEgress/0",
    ),
}


@pytest.mark.parametrize("case", BAD.values(), ids=list(BAD))
def test_a_kubernetes_object_kubernetes_refuses_is_refused_by_chartgen_and_helm_alike(
    default_render, helm, tmp_path, case
):
    text, where, fix, helm_where = case
    [problem] = check_values_text(default_render.chart, "env.yaml", text)
    assert (problem.where.line, problem.where.path, problem.fix) == (
        text.count("\n"),
        where,
        fix,
    )
    values = tmp_path / "env.yaml"
    values.write_text(text)
    result = helm("template", "vaultmesh", CHART, "-f", values)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr
    assert f"at '{helm_where}'" in result.stderr
    lint = helm("lint", "--strict", CHART, "-f", values)
    assert lint.returncode != 0
    assert f"at '{helm_where}'" in lint.stdout + lint.stderr


def test_real_tolerations_affinity_and_rules_pass_chartgen_helm_and_kubernetes(
    default_render, helm, tmp_path
):
    assert check_values_text(default_render.chart, "env.yaml", GOOD) == []
    values = tmp_path / "env.yaml"
    values.write_text(GOOD)
    lint = helm("lint", "--strict", CHART, "-f", values)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    result = helm("template", "vaultmesh", CHART, "-f", values)
    assert result.returncode == 0, result.stderr
    docs = load_all(result.stdout)
    for doc in docs:
        for version in VERSIONS:
            kubernetes_validate.validate(doc, version, strict=True)
    by_name = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    pod = by_name["Deployment", "vaultmesh-treaty"]["spec"]["template"]["spec"]
    assert pod["tolerations"][0]["tolerationSeconds"] == 30
    anti = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert anti[0]["topologyKey"] == "kubernetes.io/hostname"
    policy = by_name["NetworkPolicy", "vaultmesh-treaty"]["spec"]
    assert {"port": 5432, "endPort": 5440, "protocol": "TCP"} in policy["egress"][-1]["ports"]
    assert policy["ingress"][-1]["from"][0]["ipBlock"]["except"] == ["10.1.0.0/16"]


def test_the_api_server_rules_refuse_what_kubernetes_openapi_alone_lets_through(
    default_render,
):
    toleration = {"key": "a", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 3}
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}], "tolerations": [toleration]},
    }
    for version in VERSIONS:  # the OpenAPI has the shape of a toleration, not this rule
        kubernetes_validate.validate(pod, version, strict=True)
    text = TOLERATIONS + json.dumps(toleration) + "\n"
    [problem] = check_values_text(default_render.chart, "env.yaml", text)
    assert problem.fix.startswith("tolerationSeconds applies to effect NoExecute only")


def kubernetes_definitions(version: str) -> dict:
    """kubernetes-validate's strict definitions of one Kubernetes version."""
    root = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    path = root / f"v{version}-local-strict" / "_definitions.json"
    return json.loads(path.read_text())["$defs"]


def test_the_chart_schema_carries_kubernetes_definitions_unchanged_plus_the_api_server_rules():
    pinned = kubernetes_definitions(KUBERNETES_VERSION)
    shipped = {name: d for name, d in SCHEMA["$defs"].items() if name.startswith("io.k8s.")}
    assert {
        "io.k8s.api.core.v1.Toleration",
        "io.k8s.api.core.v1.Affinity",
        "io.k8s.api.networking.v1.NetworkPolicyIngressRule",
        "io.k8s.api.networking.v1.NetworkPolicyEgressRule",
    } <= set(shipped)
    for name, definition in shipped.items():
        rules = definition.pop("allOf", None)
        assert definition == pinned[name], name
        assert rules == ([API_SERVER_RULES[name]] if name in API_SERVER_RULES else None)
    assert set(API_SERVER_RULES) <= set(shipped)
    service = SCHEMA["$defs"]["ServiceValues"]["properties"]
    assert service["tolerations"]["items"]["$ref"] == "#/$defs/io.k8s.api.core.v1.Toleration"
    assert service["affinity"]["$ref"] == "#/$defs/io.k8s.api.core.v1.Affinity"


def test_every_api_server_rule_states_its_fix_in_words():
    def comments(node: object) -> list[str]:
        if isinstance(node, dict):
            own = [node["$comment"]] if "$comment" in node else []
            return own + [c for value in node.values() for c in comments(value)]
        if isinstance(node, list):
            return [c for value in node for c in comments(value)]
        return []

    def checks(node: object) -> int:
        """Assertions outside the `if` of each conditional rule."""
        keywords = {"enum", "const", "minimum", "minItems", "maxItems", "minLength", "pattern"}
        keywords |= {"minProperties", "maxProperties"}
        if isinstance(node, dict):
            own = len(keywords & set(node)) if "$comment" in node else 0
            return own + sum(checks(v) for k, v in node.items() if k != "if")
        if isinstance(node, list):
            return sum(checks(value) for value in node)
        return 0

    found = comments(API_SERVER_RULES)
    assert len(found) > 20
    assert all(text[0].islower() and len(text) > 20 for text in found)
    assert checks(API_SERVER_RULES) >= len(API_SERVER_RULES)

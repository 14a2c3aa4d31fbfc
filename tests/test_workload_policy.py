"""Every pod of every environment is restricted, sized, spread, budgeted and fenced (real helm)."""

from __future__ import annotations

import copy
import json
from typing import Any

import kubernetes_validate
import pytest

from chartgen.pipeline import generate
from chartgen.spec import ChartSpec
from chartgen.write import write_chart

from .podspecs import ENVIRONMENT_IDS, ENVIRONMENTS, pod_specs, restricted_violations
from .specdata import load_all, minimal_service, minimal_spec

SERVICES = ("scheduler", "psi-field", "treaty")


@pytest.fixture(scope="module")
def render(helm, default_chart):
    """helm template of the default chart with extra arguments, as a list of objects."""

    def run(*args: Any, namespace: str = "vaultmesh", chart: Any = None) -> list[dict]:
        result = helm(
            "template", "vaultmesh", chart or default_chart, "--namespace", namespace, *args
        )
        assert result.returncode == 0, result.stderr
        return load_all(result.stdout)

    return run


@pytest.fixture(scope="module", params=ENVIRONMENTS, ids=ENVIRONMENT_IDS)
def environment(request, render) -> list[dict]:
    _, args, namespace = request.param
    return render(*args, namespace=namespace)


def objects(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def workloads(docs: list[dict]) -> dict[str, dict]:
    return {**objects(docs, "Deployment"), **objects(docs, "StatefulSet")}


def labels_match(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A matchLabels-only selector against a pod's labels."""
    assert set(selector) <= {"matchLabels"}, selector
    return selector.get("matchLabels", {}).items() <= labels.items()


def test_every_pod_meets_the_restricted_pod_security_standard(environment):
    pods = pod_specs(environment)
    assert len(pods) == 6  # three services and their helm test Jobs
    assert {where: restricted_violations(pod) for where, pod in pods.items()} == {
        where: [] for where in pods
    }


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda pod, c: pod.update(hostNetwork=True), "hostNetwork is true"),
        (lambda pod, c: pod.update(hostPID=True), "hostPID is true"),
        (lambda pod, c: pod["securityContext"].update(runAsUser=1000), "pod runAsUser is 1000"),
        (lambda pod, c: pod["securityContext"].pop("seccompProfile"), "seccompProfile is {}"),
        (lambda pod, c: pod.update(automountServiceAccountToken=True), "automountService"),
        (lambda pod, c: pod["volumes"].append({"name": "h", "hostPath": {}}), "is ['hostPath']"),
        (lambda pod, c: c["securityContext"].update(runAsNonRoot=False), "runAsNonRoot"),
        (lambda pod, c: c["securityContext"].update(privileged=True), "privileged"),
        (lambda pod, c: c["securityContext"].pop("allowPrivilegeEscalation"), "Escalation"),
        (lambda pod, c: c["securityContext"]["capabilities"].update(drop=[]), "drop ALL"),
        (lambda pod, c: c["securityContext"]["capabilities"].update(add=["NET_RAW"]), "NET_RAW"),
        (lambda pod, c: c["securityContext"].update(readOnlyRootFilesystem=False), "writable"),
        (lambda pod, c: c["ports"].append({"containerPort": 1, "hostPort": 1}), "hostPort"),
        (lambda pod, c: c.update(image="r/app:latest"), "no fixed tag"),
        (lambda pod, c: c.update(image="r:5000/app"), "no fixed tag"),
        (lambda pod, c: c.pop("imagePullPolicy"), "imagePullPolicy"),
        (lambda pod, c: c["resources"]["requests"].pop("cpu"), "no requests.cpu"),
        (lambda pod, c: c["resources"]["limits"].pop("memory"), "no limits.memory"),
        (lambda pod, c: c.pop("volumeMounts"), "/tmp is not an emptyDir"),
    ],
)
def test_the_restricted_check_catches_each_violation(render, change, complaint):
    pod = copy.deepcopy(pod_specs(render())["Deployment/vaultmesh-treaty"])
    assert restricted_violations(pod) == []
    change(pod, pod["containers"][0])
    assert any(complaint in problem for problem in restricted_violations(pod))


def test_services_of_two_or_more_replicas_get_a_budget_that_allows_a_disruption(environment):
    budgets = objects(environment, "PodDisruptionBudget")
    for name, workload in workloads(environment).items():
        replicas = workload["spec"]["replicas"]
        if replicas < 2:
            assert name not in budgets
            continue
        spec = budgets[name]["spec"]
        assert spec["selector"] == workload["spec"]["selector"]
        assert 1 <= spec["maxUnavailable"] < replicas


def test_services_of_two_or_more_replicas_spread_over_nodes(environment):
    for workload in workloads(environment).values():
        pod = workload["spec"]["template"]["spec"]
        if workload["spec"]["replicas"] < 2:
            assert "topologySpreadConstraints" not in pod
            continue
        [spread] = pod["topologySpreadConstraints"]
        assert spread["topologyKey"] == "kubernetes.io/hostname"
        assert spread["labelSelector"] == workload["spec"]["selector"]


def test_production_spreads_as_a_hard_rule_and_staging_as_a_preference(render):
    for values, rule in (("staging", "ScheduleAnyway"), ("production", "DoNotSchedule")):
        _, args, _ = ENVIRONMENTS[ENVIRONMENT_IDS.index(values)]
        psi = workloads(render(*args))["vaultmesh-psi-field"]["spec"]["template"]["spec"]
        assert psi["topologySpreadConstraints"][0]["whenUnsatisfiable"] == rule


def test_psi_field_runs_as_a_statefulset_behind_its_headless_service(environment):
    psi = objects(environment, "StatefulSet")["vaultmesh-psi-field"]
    headless = objects(environment, "Service")[psi["spec"]["serviceName"]]
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["selector"] == psi["spec"]["selector"]["matchLabels"]
    assert set(objects(environment, "Deployment")) == {"vaultmesh-scheduler", "vaultmesh-treaty"}


def test_an_environment_switches_the_workload_kind_of_a_service(render):
    docs = render(
        "--set",
        "services.psi-field.workload=Deployment",
        "--set",
        "services.treaty.workload=StatefulSet",
    )
    assert set(objects(docs, "Deployment")) == {"vaultmesh-scheduler", "vaultmesh-psi-field"}
    treaty = objects(docs, "StatefulSet")["vaultmesh-treaty"]
    assert treaty["spec"]["serviceName"] == "vaultmesh-treaty-headless"
    services = objects(docs, "Service")
    assert "vaultmesh-psi-field-headless" not in services
    assert services["vaultmesh-treaty-headless"]["spec"]["clusterIP"] == "None"
    for doc in docs:
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


def test_every_pod_is_selected_by_a_network_policy_of_its_own(environment):
    policies = objects(environment, "NetworkPolicy")
    for where, doc in (
        (d["metadata"]["name"], d)
        for d in environment
        if d["kind"] in ("Deployment", "StatefulSet", "Job")
    ):
        labels = doc["spec"]["template"]["metadata"]["labels"]
        selecting = [
            n for n, p in policies.items() if labels_match(p["spec"]["podSelector"], labels)
        ]
        assert selecting == [where]
        assert policies[where]["spec"]["policyTypes"] == ["Ingress", "Egress"]


def test_network_policies_admit_prometheus_on_the_metrics_port_and_reach_dns(environment):
    policies = objects(environment, "NetworkPolicy")
    metrics_ports = {"scheduler": 9091, "psi-field": 8000, "treaty": 8080}
    for service, port in metrics_ports.items():
        spec = policies[f"vaultmesh-{service}"]["spec"]
        prometheus = spec["ingress"][0]
        assert prometheus["from"] == [
            {
                "namespaceSelector": {"matchLabels": {}},
                "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
            }
        ]
        assert prometheus["ports"] == [{"port": port, "protocol": "TCP"}]
        dns = spec["egress"][0]
        assert dns["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}
        assert {(p["port"], p["protocol"]) for p in dns["ports"]} == {(53, "UDP"), (53, "TCP")}


def test_only_the_scheduler_reaches_out_and_only_on_https(environment):
    policies = objects(environment, "NetworkPolicy")
    egress = {name: spec["spec"]["egress"][1:] for name, spec in policies.items()}
    assert egress["vaultmesh-scheduler"] == [
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 443, "protocol": "TCP"}]}
    ]
    assert egress["vaultmesh-psi-field"] == egress["vaultmesh-treaty"] == []
    assert egress["vaultmesh-treaty-test"] == [
        {
            "to": [{"podSelector": workloads(environment)["vaultmesh-treaty"]["spec"]["selector"]}],
            "ports": [{"port": 8080, "protocol": "TCP"}],
        }
    ]


def test_the_prometheus_and_ingress_sources_are_values(render, tmp_path):
    prometheus = {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
    treaty_from = {"ipBlock": {"cidr": "203.0.113.0/24"}}
    docs = render(
        "--set-json",
        f"networkPolicy.prometheus.namespaceSelector={_json(prometheus)}",
        "--set-json",
        f"services.treaty.networkPolicy.ingressFrom=[{_json(treaty_from)}]",
    )
    treaty = objects(docs, "NetworkPolicy")["vaultmesh-treaty"]["spec"]
    assert treaty["ingress"][0]["from"][0]["namespaceSelector"] == prometheus
    assert treaty["ingress"][2] == {
        "from": [treaty_from],
        "ports": [{"port": 8080, "protocol": "TCP"}],
    }


@pytest.mark.parametrize(
    ("switch", "kind"),
    [
        ("networkPolicy.enabled=false", "NetworkPolicy"),
        ("podDisruptionBudget.enabled=false", "PodDisruptionBudget"),
    ],
)
def test_each_availability_and_network_object_can_be_switched_off(render, switch, kind):
    assert objects(render(), kind)
    assert objects(render("--set", switch), kind) == {}


def test_spreading_can_be_switched_off(render):
    docs = render("--set", "topologySpread.enabled=false")
    for workload in workloads(docs).values():
        assert "topologySpreadConstraints" not in workload["spec"]["template"]["spec"]


def test_spec_egress_selects_another_services_pods_or_an_address_block(helm, tmp_path):
    outside = {
        "cidr": "10.0.0.0/8",
        "except": ["10.1.0.0/16"],
        "ports": [{"port": 53, "protocol": "UDP"}],
    }
    client = minimal_service(
        "client", egress=[{"service": "api", "ports": [{"port": 8080}]}, outside]
    )
    spec = ChartSpec.model_validate(minimal_spec(minimal_service(), client))
    out = tmp_path / "demo"
    write_chart(generate(spec).files, out)
    result = helm("template", "demo", out, "--namespace", "demo")
    assert result.returncode == 0, result.stderr
    docs = load_all(result.stdout)
    policy = objects(docs, "NetworkPolicy")["demo-client"]["spec"]
    assert policy["egress"][1] == {
        "to": [{"podSelector": objects(docs, "Deployment")["demo-api"]["spec"]["selector"]}],
        "ports": [{"port": 8080, "protocol": "TCP"}],
    }
    assert policy["egress"][2] == {
        "to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}],
        "ports": [{"port": 53, "protocol": "UDP"}],
    }


def test_declared_writable_paths_and_secret_mounts_reach_the_pod(helm, tmp_path):
    service = minimal_service(
        writablePaths=["/var/lib/api"],
        secretMounts=[{"secretName": "api-tls", "path": "/etc/tls", "keys": ["tls.key"]}],
    )
    out = tmp_path / "demo"
    write_chart(generate(ChartSpec.model_validate(minimal_spec(service))).files, out)
    result = helm("template", "demo", out, "--namespace", "demo")
    assert result.returncode == 0, result.stderr
    docs = load_all(result.stdout)
    pod = objects(docs, "Deployment")["demo-api"]["spec"]["template"]["spec"]
    assert pod["volumes"] == [
        {"name": "tmp", "emptyDir": {}},
        {"name": "var-lib-api", "emptyDir": {}},
        {
            "name": "secret-etc-tls",
            "secret": {
                "secretName": "api-tls",
                "defaultMode": 0o440,
                "items": [{"key": "tls.key", "path": "tls.key"}],
            },
        },
    ]
    assert pod["containers"][0]["volumeMounts"][2] == {
        "name": "secret-etc-tls",
        "mountPath": "/etc/tls",
        "readOnly": True,
    }
    assert restricted_violations(pod) == []
    for doc in docs:
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


def _json(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))

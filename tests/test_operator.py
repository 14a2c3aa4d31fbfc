"""prometheus-operator: every object it reads validates against its CRDs, each pod is one
target, and kube-prometheus-stack's Prometheus selects the objects labelled for it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from .conftest import VALUES_FILES
from .specdata import load_all

#: prometheus-operator 0.93.0's CRDs, copied verbatim (see SOURCE there).
CRDS = Path(__file__).parent / "reference" / "prometheus-operator-crds"
OPERATOR_KINDS = (
    "--api-versions",
    "monitoring.coreos.com/v1/ServiceMonitor",
    "--api-versions",
    "monitoring.coreos.com/v1/PrometheusRule",
)
NAMESPACE = "apps"


def crd_schemas() -> dict[str, dict[str, Any]]:
    """The v1 openAPIV3Schema of each CRD, by kind."""
    schemas = {}
    for plural in ("servicemonitors", "prometheusrules"):  # the kinds the chart can emit
        path = CRDS / f"monitoring.coreos.com_{plural}.yaml"
        crd = YAML(typ="safe").load(path.read_text())
        [version] = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
        schemas[crd["spec"]["names"]["kind"]] = version["schema"]["openAPIV3Schema"]
    return schemas


def crd_validator(schema: dict[str, Any]) -> jsonschema.Draft7Validator:
    """A validator of the CRD's schema as the API server applies it.

    The schema itself is not checked against JSON Schema's meta-schema: its patterns are Go
    regular expressions, some of which Python's re cannot compile (e.g. a mid-pattern (?i)).
    """
    return jsonschema.Draft7Validator(schema)


def rendered(helm, chart: Path, *args: str | Path) -> list[dict[str, Any]]:
    result = helm("template", "vaultmesh", chart, "--namespace", NAMESPACE, *args)
    assert result.returncode == 0, result.stderr
    return load_all(result.stdout)


@pytest.mark.parametrize("values", [None, *VALUES_FILES], ids=["default", *map(str, VALUES_FILES)])
def test_every_operator_object_validates_against_the_real_crd_schema(helm, default_chart, values):
    schemas = crd_schemas()
    assert {"ServiceMonitor", "PrometheusRule"} <= set(schemas)
    extra = ["-f", values] if values else []
    labels = ["--set", "serviceMonitor.labels.release=kps"]
    labels += ["--set", "rules.prometheusRule.labels.release=kps"]
    docs = rendered(helm, default_chart, *OPERATOR_KINDS, *extra, *labels)
    operator = [d for d in docs if d["apiVersion"].startswith("monitoring.coreos.com/")]
    assert Counter(d["kind"] for d in operator) == {"ServiceMonitor": 3, "PrometheusRule": 3}
    for doc in operator:
        crd_validator(schemas[doc["kind"]]).validate(doc)
    # and an object the CRD refuses is refused: the check can fail
    monitor = next(d for d in operator if d["kind"] == "ServiceMonitor")
    broken = {**monitor, "spec": {**monitor["spec"], "endpoints": "http"}}
    with pytest.raises(jsonschema.ValidationError, match="'http' is not of type 'array'"):
        crd_validator(schemas[broken["kind"]]).validate(broken)


def test_the_operator_kinds_render_where_the_cluster_serves_them_unless_switched(
    helm, default_chart
):
    def kinds(*args: str) -> Counter[str]:
        return Counter(d["kind"] for d in rendered(helm, default_chart, *args))

    assert {"ServiceMonitor", "PrometheusRule"}.isdisjoint(kinds())
    served = kinds(*OPERATOR_KINDS)
    assert (served["ServiceMonitor"], served["PrometheusRule"]) == (3, 3)
    # the rules ConfigMaps stay, for the community chart, beside the 4 dashboards
    assert served["ConfigMap"] == 7
    off = ["--set", "serviceMonitor.enabled=false", "--set", "rules.prometheusRule.enabled=false"]
    assert {"ServiceMonitor", "PrometheusRule"}.isdisjoint(kinds(*OPERATOR_KINDS, *off))
    forced = kinds("--set", "serviceMonitor.enabled=true")
    assert forced["ServiceMonitor"] == 3


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A Kubernetes label selector, as the API server and prometheus-operator apply it."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    tests = {
        "In": lambda key, values: key in labels and labels[key] in values,
        "NotIn": lambda key, values: key not in labels or labels[key] not in values,
        "Exists": lambda key, values: key in labels,
        "DoesNotExist": lambda key, values: key not in labels,
    }
    return all(
        tests[e["operator"]](e["key"], e.get("values", ()))
        for e in selector.get("matchExpressions", ())
    )


def pods(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, str]]]:
    """Each pod the workloads run, (name, labels), in the release's namespace."""
    found = []
    for doc in docs:
        if doc["kind"] in ("Deployment", "StatefulSet"):
            labels = doc["spec"]["template"]["metadata"]["labels"]
            name = doc["metadata"]["name"]
            found += [(f"{name}-{i}", labels) for i in range(doc["spec"]["replicas"])]
    return found


def scrape_targets(docs: list[dict[str, Any]]) -> Counter[tuple[str, str, str]]:
    """(ServiceMonitor, pod, port) of each target, found as prometheus-operator finds them.

    A ServiceMonitor without namespaceSelector selects Services of its own namespace by
    label; each endpoint names a Service port; the Service's Endpoints hold the pods its
    selector matches, each a target of every endpoint whose port the Service has.
    """
    services = [d for d in docs if d["kind"] == "Service"]
    targets: Counter[tuple[str, str, str]] = Counter()
    for monitor in (d for d in docs if d["kind"] == "ServiceMonitor"):
        assert "namespaceSelector" not in monitor["spec"]
        namespace = monitor["metadata"]["namespace"]
        for service in services:
            if service["metadata"]["namespace"] != namespace:
                continue
            if not matches(monitor["spec"]["selector"], service["metadata"]["labels"]):
                continue
            ports = {p["name"] for p in service["spec"]["ports"]}
            for pod, labels in pods(docs):
                if not matches({"matchLabels": service["spec"]["selector"]}, labels):
                    continue
                for endpoint in monitor["spec"]["endpoints"]:
                    if endpoint["port"] in ports:
                        targets[(monitor["metadata"]["name"], pod, endpoint["port"])] += 1
    return targets


@pytest.mark.parametrize("values", VALUES_FILES, ids=[p.stem for p in VALUES_FILES])
def test_each_pod_is_one_scrape_target_under_the_operator(helm, default_chart, values):
    docs = rendered(helm, default_chart, *OPERATOR_KINDS, "-f", values)
    targets = scrape_targets(docs)
    scraped = [pod for pod, labels in pods(docs)]
    assert sorted(pod for _, pod, _ in targets) == sorted(scraped)
    assert set(targets.values()) == {1}
    # psi-field is a StatefulSet with a headless Service beside its own: still one target a pod
    headless = [d for d in docs if d["metadata"]["name"].endswith("-headless")]
    assert [d["metadata"]["name"] for d in headless] == ["vaultmesh-psi-field-headless"]
    assert sum(pod.startswith("vaultmesh-psi-field-") for _, pod, _ in targets) == 2
    # without the headless Service's exclusion, each psi-field pod would be two targets
    for monitor in (d for d in docs if d["kind"] == "ServiceMonitor"):
        monitor["spec"]["selector"].pop("matchExpressions")
    doubled = {pod for (_, pod, _), n in scrape_targets(docs).items() if n == 2}
    assert doubled == {"vaultmesh-psi-field-0", "vaultmesh-psi-field-1"}


def test_kube_prometheus_stack_selects_the_objects_labelled_with_its_release(helm, default_chart):
    # kube-prometheus-stack's Prometheus (serviceMonitorSelectorNilUsesHelmValues and
    # ruleSelectorNilUsesHelmValues true, the defaults) selects `release: <stack release>`
    # in every namespace (serviceMonitorNamespaceSelector and ruleNamespaceSelector {}).
    stack = {"matchLabels": {"release": "kube-prometheus-stack"}}

    def selected(*args: str) -> Counter[str]:
        docs = rendered(helm, default_chart, *OPERATOR_KINDS, *args)
        return Counter(
            d["kind"]
            for d in docs
            if d["kind"] in ("ServiceMonitor", "PrometheusRule")
            and matches(stack, d["metadata"]["labels"])
        )

    assert selected() == {}
    labelled = selected(
        "--set",
        "serviceMonitor.labels.release=kube-prometheus-stack",
        "--set",
        "rules.prometheusRule.labels.release=kube-prometheus-stack",
    )
    assert labelled == {"ServiceMonitor": 3, "PrometheusRule": 3}


def notes(helm, chart: Path, *args: str) -> str:
    result = helm("install", "shop", chart, "--dry-run=client", "--namespace", NAMESPACE, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout.split("NOTES:\n", 1)[1]


def test_the_rules_configmaps_go_where_prometheus_runs_and_the_notes_name_them(helm, default_chart):
    docs = rendered(helm, default_chart, "--set", "rules.configMap.namespace=monitoring")
    namespaces = {
        d["metadata"]["name"]: d["metadata"]["namespace"] for d in docs if d["kind"] == "ConfigMap"
    }
    assert {n: ns for n, ns in namespaces.items() if n.endswith("-rules")} == {
        "vaultmesh-scheduler-rules": "monitoring",
        "vaultmesh-psi-field-rules": "monitoring",
        "vaultmesh-treaty-rules": "monitoring",
    }
    assert {d["metadata"]["namespace"] for d in docs if d["kind"] != "ConfigMap"} == {NAMESPACE}

    text = notes(helm, default_chart, "--set", "rules.configMap.namespace=monitoring")
    assert "The rules ConfigMaps are in namespace monitoring.\n" in text
    block = text.split("chart's README):\n", 1)[1]
    wiring = YAML(typ="safe").load(block.split("\n\n", 1)[0])
    mounts = wiring["server"]["extraConfigmapMounts"]
    assert [m["configMap"] for m in mounts] == [
        "shop-vaultmesh-scheduler-rules",
        "shop-vaultmesh-psi-field-rules",
        "shop-vaultmesh-treaty-rules",
    ]
    assert wiring["configmapReload"]["prometheus"]["extraConfigmapMounts"] == mounts
    assert wiring["serverFiles"]["prometheus.yml"]["rule_files"][2:] == [
        f"{m['mountPath']}/*.yaml" for m in mounts
    ]
    default = notes(helm, default_chart)
    assert f"in namespace {NAMESPACE} (set rules.configMap.namespace" in default


def test_the_notes_list_only_enabled_services_and_count_replicas_in_words(helm, default_chart):
    text = notes(helm, default_chart, "--set", "services.treaty.enabled=false")
    assert "(Deployment, 1 replica, metrics on :9091/metrics)" in text
    assert "(StatefulSet, 2 replicas, metrics on :8000/metrics)" in text
    # no line for treaty, no port-forward to it, no mount of its rules ConfigMap
    assert "treaty" not in text.replace("Aurora Treaty", "")

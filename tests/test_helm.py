"""Real tools on the real chart: helm lint --strict, helm template, kubernetes-validate."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import kubernetes_validate
import pytest

from chartgen.checks.output import HELM_FILE_LIMIT, check_file_size
from chartgen.pipeline import generate
from chartgen.spec import ChartSpec
from chartgen.write import write_chart

from .conftest import ROOT, VALUES_FILES
from .specdata import dump_yaml, load_all, minimal_service, minimal_spec

KUBERNETES_VERSIONS = [kubernetes_validate.latest_version(), "1.30.0"]
VALUES_IDS = [p.stem for p in VALUES_FILES]


def template(helm, chart: Path, *args: str | Path) -> list[dict]:
    result = helm("template", "vaultmesh", chart, "--namespace", "aurora-staging", *args)
    assert result.returncode == 0, result.stderr
    return load_all(result.stdout)


def by_kind_and_name(docs: list[dict]) -> dict[tuple[str, str], dict]:
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def workloads(docs: list[dict]) -> dict[str, dict]:
    """Deployments and StatefulSets by name."""
    return {d["metadata"]["name"]: d for d in docs if d["kind"] in ("Deployment", "StatefulSet")}


def container(docs: list[dict], name: str) -> dict:
    return workloads(docs)[name]["spec"]["template"]["spec"]["containers"][0]


def test_there_is_a_values_file_per_environment():
    assert VALUES_IDS == ["production", "staging"]


def test_helm_lint_strict_passes_with_each_values_file(helm, default_chart):
    for values in [None, *VALUES_FILES]:
        args = ["-f", values] if values else []
        result = helm("lint", "--strict", default_chart, *args)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize("values", VALUES_FILES, ids=VALUES_IDS)
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_passes_kubernetes_strict_validation(helm, default_chart, values, version):
    docs = template(helm, default_chart, "-f", values)
    kinds = Counter(d["kind"] for d in docs)
    # per service: ServiceAccount, Service, workload, rules ConfigMap, NetworkPolicy, and the
    # test Job with its NetworkPolicy; psi-field's headless Service; a PDB per 2+ replicas;
    # a ConfigMap per dashboard (the SLOs dashboard with them)
    assert kinds == {
        "ServiceAccount": 3,
        "Service": 4,
        "Deployment": 2,
        "StatefulSet": 1,
        "ConfigMap": 7,
        "NetworkPolicy": 6,
        "Job": 3,
        "PodDisruptionBudget": 2 if values.stem == "production" else 1,
    }
    for doc in docs:
        kubernetes_validate.validate(doc, version, strict=True)


@pytest.mark.parametrize("values", VALUES_FILES, ids=VALUES_IDS)
def test_helm_template_output_matches_its_snapshot(helm, default_chart, values, snapshot):
    result = helm("template", "vaultmesh", default_chart, "-f", values, "--namespace", "vm")
    assert result.returncode == 0, result.stderr
    assert result.stdout == snapshot


def test_staging_probes_the_scheduler_on_metrics_and_production_on_health(helm, default_chart):
    staging = template(helm, default_chart, "-f", ROOT / "values" / "staging.yaml")
    production = template(helm, default_chart, "-f", ROOT / "values" / "production.yaml")
    probes = ("livenessProbe", "readinessProbe", "startupProbe")
    scheduler = container(staging, "vaultmesh-scheduler")
    assert [scheduler[p]["httpGet"] for p in probes] == [
        {"path": "/metrics", "port": "metrics", "scheme": "HTTP"}
    ] * 3
    assert container(staging, "vaultmesh-treaty")["livenessProbe"]["httpGet"]["path"] == "/health"
    for service in ("scheduler", "psi-field", "treaty"):
        checks = container(production, f"vaultmesh-{service}")
        assert [checks[p]["httpGet"]["path"] for p in probes] == ["/health", "/ready", "/health"]
    prod_scheduler = container(production, "vaultmesh-scheduler")
    assert prod_scheduler["startupProbe"]["failureThreshold"] == 30


def test_a_probe_switched_off_in_values_is_not_rendered(helm, default_chart):
    off = "services.scheduler.probes.liveness.enabled=false"
    scheduler = container(template(helm, default_chart, "--set", off), "vaultmesh-scheduler")
    assert "livenessProbe" not in scheduler
    assert "readinessProbe" in scheduler


def test_environments_override_replicas_resources_and_image_tag(helm, default_chart, tmp_path):
    override = tmp_path / "override.yaml"
    override.write_text(
        dump_yaml(
            {
                "global": {"imageRegistry": "mirror.local:5000"},
                "services": {
                    "treaty": {
                        "replicas": 4,
                        "image": {"tag": "v1.0.3"},
                        "resources": {"limits": {"memory": "1Gi"}},
                        "probes": {"liveness": {"periodSeconds": 7}},
                    }
                },
            }
        )
    )
    treaty = workloads(template(helm, default_chart, "-f", override))["vaultmesh-treaty"]
    spec = treaty["spec"]["template"]["spec"]["containers"][0]
    assert treaty["spec"]["replicas"] == 4
    assert spec["image"] == "mirror.local:5000/vaultmesh/treaty:v1.0.3"
    assert spec["resources"]["limits"] == {"cpu": "500m", "memory": "1Gi"}
    assert spec["livenessProbe"]["periodSeconds"] == 7


def test_the_pods_carry_the_prometheus_scrape_annotations(helm, default_chart):
    docs = workloads(template(helm, default_chart))
    expected = {"scheduler": "9091", "psi-field": "8000", "treaty": "8080"}
    for service, port in expected.items():
        pod = docs[f"vaultmesh-{service}"]["spec"]["template"]["metadata"]
        assert pod["annotations"] == {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": port,
            "prometheus.io/path": "/metrics",
        }


def test_a_digest_pins_the_image_over_the_tag(helm, default_chart):
    digest = "sha256:" + "0" * 64
    docs = template(helm, default_chart, "--set", f"services.scheduler.image.digest={digest}")
    image = container(docs, "vaultmesh-scheduler")["image"]
    assert image == f"registry.vaultmesh.internal/vaultmesh/scheduler@{digest}"


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"services": {"scheduler": {"replicas": "two"}}}, "want integer"),
        ({"services": {"scheduler": {"replcas": 1}}}, "additional properties 'replcas'"),
        ({"services": {"nope": {}}}, "additional properties 'nope'"),
        ({"services": {"treaty": {"image": {"pullPolicy": "Sometimes"}}}}, "pullPolicy"),
        ({"services": {"treaty": {"resources": {"limits": {"memory": "lots"}}}}}, "memory"),
        ({"services": {"treaty": {"probes": {"liveness": {"enabled": "yes"}}}}}, "want boolean"),
        ({"services": {"treaty": {"image": {"tag": "latest"}}}}, "tag"),
        ({"services": {"treaty": {"workload": "DaemonSet"}}}, "workload"),
        ({"services": {"treaty": {"resources": {"limits": {"memory": None}}}}}, "memory"),
        ({"services": {"treaty": {"resources": {"requests": {"cpu": None}}}}}, "cpu"),
        ({"podSecurityContext": {"runAsUser": 0}}, "runAsUser"),
        ({"podSecurityContext": {"runAsNonRoot": False}}, "runAsNonRoot"),
        ({"securityContext": {"allowPrivilegeEscalation": True}}, "allowPrivilegeEscalation"),
        ({"securityContext": {"readOnlyRootFilesystem": False}}, "readOnlyRootFilesystem"),
        ({"securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}, "capabilities"),
        ({"securityContext": {"capabilities": None}}, "capabilities"),
        ({"podSecurityContext": {"seccompProfile": None}}, "seccompProfile"),
        ({"networkPolicy": {"dns": None}}, "dns"),
    ],
)
def test_values_that_break_the_schema_fail_helm_template(
    helm, default_chart, tmp_path, values, complaint
):
    bad = tmp_path / "bad.yaml"
    bad.write_text(dump_yaml(values))
    result = helm("template", "vaultmesh", default_chart, "-f", bad)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr
    assert complaint in result.stderr


def test_the_chart_works_as_a_subchart_with_globals_from_its_parent(helm, default_chart, tmp_path):
    parent = tmp_path / "platform"
    (parent / "charts").mkdir(parents=True)
    (parent / "Chart.yaml").write_text("apiVersion: v2\nname: platform\nversion: 1.0.0\n")
    (parent / "values.yaml").write_text(
        "global:\n  imageRegistry: parent.registry\n  team: aurora\n"
        "vaultmesh:\n  tests:\n    enabled: false\n"
    )
    (parent / "charts" / "vaultmesh").symlink_to(default_chart)
    docs = template(helm, parent)
    assert container(docs, "vaultmesh-treaty")["image"].startswith("parent.registry/")
    assert not any(d["kind"] == "Job" for d in docs)


def test_strings_yaml_1_1_would_misread_reach_kubernetes_unchanged(helm, tmp_path):
    tricky = ["no", "on", "y", "1.10", "010", "0x1F", "1:20", "2001-12-14", "{{ .Values }}", "a: b"]
    env = [{"name": f"V{i}", "value": v} for i, v in enumerate(tricky)]
    spec = ChartSpec.model_validate(minimal_spec(minimal_service(env=env)))
    out = tmp_path / "demo"
    write_chart(generate(spec).files, out)
    result = helm("template", "demo", out)
    assert result.returncode == 0, result.stderr
    [deployment] = [d for d in load_all(result.stdout) if d["kind"] == "Deployment"]
    values = [e["value"] for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]]
    assert values == tricky


def test_a_statefulset_gets_a_headless_service_and_passes_validation(helm, tmp_path):
    spec = ChartSpec.model_validate(minimal_spec(minimal_service(stateful=True)))
    out = tmp_path / "demo"
    write_chart(generate(spec).files, out)
    docs = by_kind_and_name(template(helm, out))
    assert docs[("StatefulSet", "vaultmesh-demo-api")]["spec"]["serviceName"] == (
        "vaultmesh-demo-api-headless"
    )
    assert docs[("Service", "vaultmesh-demo-api-headless")]["spec"]["clusterIP"] == "None"
    for doc in docs.values():
        kubernetes_validate.validate(doc, KUBERNETES_VERSIONS[0], strict=True)


def test_the_file_size_limit_is_the_one_helm_enforces(helm, default_chart, tmp_path):
    chart = tmp_path / "vaultmesh"
    shutil.copytree(default_chart, chart)
    readme = chart / "README.md"
    readme.write_text("a" * HELM_FILE_LIMIT)
    assert helm("template", "vaultmesh", chart).returncode == 0
    assert check_file_size("README.md", readme.read_text()) is None
    readme.write_text("é" * (HELM_FILE_LIMIT // 2) + "a")  # one byte over, counted encoded
    refused = helm("template", "vaultmesh", chart)
    assert refused.returncode != 0
    assert "README.md" in refused.stderr and "larger than the maximum file size" in refused.stderr
    problem = check_file_size("README.md", readme.read_text())
    assert problem is not None
    assert problem.where.path == "README.md"
    assert f"{HELM_FILE_LIMIT + 1:,} bytes" in problem.what


def test_files_helm_ignores_are_not_held_to_its_limit():
    big = "a" * (HELM_FILE_LIMIT + 1)
    assert check_file_size("rule-tests/alerts.test.yaml", big, ("rule-tests/",)) is None


def test_large_whole_numbers_from_values_reach_kubernetes_as_integers(
    helm, default_chart, tmp_path
):
    # helm reads every number in a values file as a float, which prints as 1e+06 from 10**6 up
    big = 2**31 - 1
    override = tmp_path / "big.yaml"
    override.write_text(
        dump_yaml(
            {
                "services": {"treaty": {"replicas": big}},
                "podDisruptionBudget": {"maxUnavailable": 1_000_000},
                "topologySpread": {"maxSkew": big},
                "podSecurityContext": {"runAsUser": big, "runAsGroup": 1_000_680_000},
            }
        )
    )
    result = helm("template", "vaultmesh", default_chart, "-f", override)
    assert result.returncode == 0, result.stderr
    assert not re.search(r"[0-9]e\+[0-9]", result.stdout)
    docs = load_all(result.stdout)
    treaty = workloads(docs)["vaultmesh-treaty"]["spec"]
    assert treaty["replicas"] == big
    assert treaty["template"]["spec"]["securityContext"]["runAsUser"] == big
    assert treaty["template"]["spec"]["topologySpreadConstraints"][0]["maxSkew"] == big
    budgets = [d for d in docs if d["kind"] == "PodDisruptionBudget"]
    assert {d["spec"]["maxUnavailable"] for d in budgets} == {1_000_000}
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSIONS[0], strict=True)

"""Environment values files: checked by chartgen with where/what/fix, and by helm's schema."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from chartgen.checks.values import check_values_text, helm_merge
from chartgen.load.hygiene import document_problems, names_credential

from .conftest import ROOT, VALUES_FILES
from .specdata import load_all
from .test_cli import refused_leaving_chart_untouched, run

BAD_VALUES = sorted((Path(__file__).parent / "bad_values").glob("*.yaml"))
CHART = ROOT / "charts" / "vaultmesh"


def test_the_environment_files_pass_the_check(default_render):
    args = [arg for path in VALUES_FILES for arg in ("--values", path)]
    result = run("render", "--check", *args, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"charts/vaultmesh is up to date ({len(default_render.files)} files)\n"


@pytest.mark.parametrize("bad_values", BAD_VALUES, ids=[p.stem for p in BAD_VALUES])
def test_a_bad_values_file_is_refused_with_a_clear_message_and_the_chart_untouched(
    bad_values, tmp_path, snapshot
):
    stderr = refused_leaving_chart_untouched(tmp_path, "--values", bad_values)
    assert f"{bad_values}:" in stderr
    assert "fix:" in stderr
    assert stderr.replace(str(bad_values.parent), "bad_values") == snapshot


@pytest.mark.parametrize(
    "name",
    [
        "bad-label-key",
        "bad-label-value",
        "bad-duration",
        "unknown-field",
        "quoted-number",
        "kubernetes-objects",
    ],
)
def test_helm_refuses_the_same_values_through_the_schema(helm, name):
    result = helm(
        "template", "vaultmesh", CHART, "-f", Path(__file__).parent / "bad_values" / f"{name}.yaml"
    )
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr


def test_good_labels_pass_both_checks(default_render, helm, tmp_path):
    text = (
        "commonLabels:\n  example.com/team: payments\n  tier: backend_1\n  empty: ''\n"
        "services:\n  treaty:\n    podLabels: {example.com/squad: ledger}\n"
    )
    assert check_values_text(default_render.chart, "labels.yaml", text) == []
    values = tmp_path / "labels.yaml"
    values.write_text(text)
    result = helm("template", "vaultmesh", CHART, "-f", values)
    assert result.returncode == 0, result.stderr
    assert "example.com/team: payments" in result.stdout


def test_values_merge_like_helm():
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 1, "e": {"f": 1}}
    override = {"a": {"c": [3]}, "d": None, "e": {"g": 2}}
    assert helm_merge(base, override) == {"a": {"b": 1, "c": [3]}, "e": {"f": 1, "g": 2}}
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": 1, "e": {"f": 1}}


@pytest.mark.parametrize("values", [None, *VALUES_FILES], ids=lambda v: v.stem if v else "defaults")
def test_no_rendered_object_or_doc_holds_a_credential_in_the_clear(helm, values):
    args = ["-f", values] if values else []
    result = helm("template", "vaultmesh", CHART, *args)
    assert result.returncode == 0, result.stderr
    yaml = YAML(typ="safe", pure=True)
    for document in result.stdout.split("\n---\n"):
        problems = document_problems(yaml.compose(document), "manifest", "")
        assert [p for p in problems if "credential" in p.what] == []
    # credentials come from Secrets: mounted as files, or env vars with valueFrom
    pods = [
        doc["spec"]["template"]["spec"]
        for doc in load_all(result.stdout)
        if doc.get("kind") in ("Deployment", "StatefulSet")
    ]
    env = [e for pod in pods for c in pod["containers"] for e in c.get("env", [])]
    assert all("valueFrom" in e for e in env if names_credential(e["name"]))
    secret_volumes = [
        v["secret"]["secretName"] for pod in pods for v in pod.get("volumes", []) if "secret" in v
    ]
    assert secret_volumes == ["vaultmesh-anchor"]
    for block in re.findall(r"```yaml\n(.*?)```", (CHART / "README.md").read_text(), re.S):
        assert document_problems(yaml.compose(block), "README.md", "") == []


def test_a_stateful_service_as_a_multi_replica_deployment_warns_and_fails_under_strict(
    tmp_path, snapshot
):
    values = tmp_path / "drift.yaml"
    values.write_text("services:\n  psi-field:\n    workload: Deployment\n    replicas: 2\n")
    out = tmp_path / "warned"
    warned = run("render", "--values", values, "--out", out)
    assert warned.returncode == 0, warned.stderr
    assert f"{values}:3: services.psi-field.workload: warning: psi-field keeps state" in (
        warned.stderr
    )
    assert out.is_dir()
    stderr = refused_leaving_chart_untouched(tmp_path, "--strict", "--values", values)
    assert stderr.replace(str(tmp_path), "<tmp>") == snapshot
    # one replica, or a StatefulSet, is fine
    for fix in (
        "    workload: StatefulSet\n    replicas: 2\n",
        "    workload: Deployment\n    replicas: 1\n",
    ):
        values.write_text("services:\n  psi-field:\n" + fix)
        assert run("render", "--strict", "--check", "--values", values, cwd=ROOT).returncode == 0


@pytest.mark.parametrize(
    ("text", "fix"),
    [
        ("alerts:\n  TreatyRttHigh:\n    severity: page\n", "use one of: info, warning, critical"),
        ("services:\n  treaty:\n    workload: Job\n", "use one of: Deployment, StatefulSet"),
        ("podSecurityContext:\n  runAsNonRoot: false\n", "write true: the only value allowed here"),
        ("services:\n  treaty:\n    replicas: -1\n", "use a number of at least 0"),
        (
            "services:\n  treaty:\n    image: v1.0.3\n",
            "write a mapping of its fields: registry, repository, tag, digest, pullPolicy",
        ),
    ],
)
def test_a_value_the_values_model_refuses_gets_a_fix_not_the_fields_description(
    tmp_path, text, fix
):
    values = tmp_path / "env.yaml"
    values.write_text(text)
    stderr = refused_leaving_chart_untouched(tmp_path, "--values", values)
    line = text.count("\n")
    assert stderr.startswith(f"{values}:{line}: ")
    assert stderr.endswith(f"\n  fix: {fix}\n1 error; nothing written\n")

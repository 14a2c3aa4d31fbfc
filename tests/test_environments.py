"""Environment values files: checked by chartgen with where/what/fix, and by helm's schema."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from chartgen.environments import check_values_text, helm_merge
from chartgen.hygiene import document_problems, names_credential

from .conftest import ROOT, VALUES_FILES
from .specdata import load_all
from .test_cli import refused_leaving_chart_untouched, run

BAD_VALUES = sorted((Path(__file__).parent / "bad_values").glob("*.yaml"))
CHART = ROOT / "charts" / "vaultmesh"


def test_the_environment_files_pass_the_check():
    args = [arg for path in VALUES_FILES for arg in ("--values", path)]
    result = run("render", "--check", *args, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "charts/vaultmesh is up to date (26 files)\n"


@pytest.mark.parametrize("bad_values", BAD_VALUES, ids=[p.stem for p in BAD_VALUES])
def test_a_bad_values_file_is_refused_with_a_clear_message_and_the_chart_untouched(
    bad_values, tmp_path, snapshot
):
    stderr = refused_leaving_chart_untouched(tmp_path, "--values", bad_values)
    assert f"{bad_values}:" in stderr
    assert "fix:" in stderr
    assert stderr.replace(str(bad_values.parent), "bad_values") == snapshot


@pytest.mark.parametrize(
    "name", ["bad-label-key", "bad-label-value", "bad-duration", "unknown-field", "quoted-number"]
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
        "services:\n  treaty:\n    podLabels: {app.kubernetes.io/part-of: vaultmesh}\n"
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
    # env vars named like credentials read Secrets, never literal values
    env = [
        entry
        for doc in load_all(result.stdout)
        if doc.get("kind") in ("Deployment", "StatefulSet")
        for container in doc["spec"]["template"]["spec"]["containers"]
        for entry in container.get("env", [])
    ]
    secret_backed = [e for e in env if names_credential(e["name"])]
    assert secret_backed, "the VaultMesh spec reads at least one credential from a Secret"
    assert all("valueFrom" in e and "value" not in e for e in secret_backed)
    for block in re.findall(r"```yaml\n(.*?)```", (CHART / "README.md").read_text(), re.S):
        assert document_problems(yaml.compose(block), "README.md", "") == []

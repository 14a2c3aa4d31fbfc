"""An outside opinion: checkov's Kubernetes policies over helm template, per environment."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .checkov_waivers import WAIVERS
from .conftest import find_tool
from .podspecs import ENVIRONMENT_IDS, ENVIRONMENTS
from .specdata import load_all


def scan(checkov: str, manifests: Path) -> dict[str, Any]:
    """checkov over one manifest file, offline; its JSON report."""
    offline = ["--framework", "kubernetes", "--skip-download", "--output", "json"]
    result = subprocess.run(
        [checkov, *offline, "--file", str(manifests)],
        capture_output=True,
        text=True,
    )
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    assert report["check_type"] == "kubernetes"
    return report


@pytest.fixture(scope="module")
def checkov() -> str:
    return find_tool("checkov")


@pytest.fixture(scope="module")
def manifests(helm, default_chart, tmp_path_factory):
    """helm template of the default chart with these arguments, written to a file."""

    def write(name: str, *args: Any, namespace: str = "vaultmesh") -> tuple[Path, int]:
        result = helm("template", "vaultmesh", default_chart, "--namespace", namespace, *args)
        assert result.returncode == 0, result.stderr
        path = tmp_path_factory.mktemp("checkov") / f"{name}.yaml"
        path.write_text(result.stdout)
        return path, len(load_all(result.stdout))

    return write


@pytest.mark.parametrize(("name", "args", "namespace"), ENVIRONMENTS, ids=ENVIRONMENT_IDS)
def test_checkov_finds_nothing_beyond_the_documented_waivers(
    checkov, manifests, name, args, namespace
):
    path, objects = manifests(name, *args, namespace=namespace)
    report = scan(checkov, path)
    summary = report["summary"]
    assert summary["parsing_errors"] == 0
    # every object, plus the Pod checkov expands from each of the six pod templates
    assert summary["resource_count"] == objects + 6
    assert summary["passed"] > 0
    unwaived = sorted(
        f"{c['check_id']} {c['check_name']}: {c['resource']}"
        for c in report["results"]["failed_checks"]
        if c["check_id"] not in WAIVERS
    )
    assert unwaived == []


def test_checkov_does_flag_a_chart_that_breaks_its_policies(checkov, manifests):
    path, _ = manifests("no-probes", "--set", "services.treaty.probes.liveness.enabled=false")
    failed = {
        (c["check_id"], c["resource"]) for c in scan(checkov, path)["results"]["failed_checks"]
    }
    assert ("CKV_K8S_8", "Deployment.vaultmesh.vaultmesh-treaty") in failed


def test_every_waiver_says_why():
    assert set(WAIVERS) == {"CKV_K8S_43", "CKV_K8S_15"}
    assert all(len(reason.split()) >= 20 for reason in WAIVERS.values())

"""The chart's promtool rule test, run with the README's command on the rules helm renders."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chartgen.write import write_chart

from .conftest import ROOT, VALUES_FILES, find_tool
from .rulefiles import rule_files
from .specdata import dump_yaml, load_all

#: The values file the README's command shows; each environment's, or none, takes its place.
SHOWN = "--values values/staging.yaml"
RULE_FILES = ["scheduler.rules.yaml", "psi-field.rules.yaml", "treaty.rules.yaml"]
TEST_FILES = ["alerts.test.yaml", "slos.test.yaml"]


def readme_commands(readme: str) -> list[str]:
    """The console lines of the README's section on testing the alerts."""
    found = re.search(r"^## Testing the alerts\n(.*?)(?=^## |\Z)", readme, re.M | re.S)
    assert found, "the README has no section 'Testing the alerts'"
    [block] = re.findall(r"```console\n(.*?)```", found.group(1), re.S)
    return block.splitlines()


def with_values(commands: list[str], values: str | None) -> str:
    """The README's commands with another values file given, or with none."""
    assert sum(line.count(f" {SHOWN}") for line in commands) == 1, commands
    given = f" --values {values}" if values else ""
    return "\n".join(line.replace(f" {SHOWN}", given) for line in commands)


@pytest.fixture
def workspace(default_render, tmp_path) -> Path:
    """A directory holding charts/vaultmesh and values/, where the README's commands run."""
    write_chart(default_render.files, tmp_path / "charts" / "vaultmesh")
    shutil.copytree(ROOT / "values", tmp_path / "values")
    return tmp_path


@pytest.fixture
def run_readme(default_render, helm, workspace):
    """Run the README's commands in the workspace with bash, with a values file or none."""
    commands = readme_commands(default_render.files["README.md"])
    tools = [
        Path(sys.executable).parent,
        *(Path(find_tool(t)).parent for t in ("helm", "promtool")),
    ]
    env = {**os.environ, "PATH": os.pathsep.join([*map(str, tools), os.environ["PATH"]])}

    def run(values: str | None) -> subprocess.CompletedProcess[str]:
        script = with_values(commands, values)
        return subprocess.run(
            ["bash", "-euc", script], capture_output=True, text=True, cwd=workspace, env=env
        )

    return run


def test_the_readme_runs_chartgen_then_promtool(default_render):
    commands = readme_commands(default_render.files["README.md"])
    assert [line.split()[:2] for line in commands] == [
        ["chartgen", "rule-tests"],
        ["promtool", "test"],
    ]


@pytest.mark.parametrize(
    "values",
    [None, *(f"values/{p.name}" for p in VALUES_FILES)],
    ids=["default", *(p.stem for p in VALUES_FILES)],
)
def test_the_readme_command_passes_on_the_rules_as_helm_renders_them(
    run_readme, helm, workspace, values
):
    result = run_readme(values)
    assert result.returncode == 0, result.stdout + result.stderr
    for test in TEST_FILES:
        assert f"Unit Testing:  build/rule-tests/{test}\n  SUCCESS\n" in result.stdout
    written = workspace / "build" / "rule-tests"
    assert sorted(p.name for p in written.iterdir()) == sorted([*RULE_FILES, *TEST_FILES])
    chart = workspace / "charts" / "vaultmesh"
    assert (written / "alerts.test.yaml").read_text() == (
        chart / "rule-tests" / "alerts.test.yaml"
    ).read_text()
    # staging switches off the scheduler's SLO: its simulated days are left out
    slo_tests = [t["name"] for t in load_all((written / "slos.test.yaml").read_text())[0]["tests"]]
    slos = {name.split()[1] for name in slo_tests}
    off = {"scheduler-anchor-success"} if values == "values/staging.yaml" else set()
    assert (
        slos
        == {"scheduler-anchor-success", "psi-field-availability", "treaty-routing-success"} - off
    )
    manifests = helm(
        "template", "vaultmesh", chart, *(["-f", workspace / values] if values else [])
    )
    assert manifests.returncode == 0, manifests.stderr
    shipped = rule_files(manifests.stdout)
    assert {name: (written / name).read_text() for name in RULE_FILES} == shipped
    # VaultMesh's 12 alerts and each shipped SLO's two
    assert sum(text.count("description: ") for text in shipped.values()) == 12 + 2 * len(slos)


def test_a_wrong_expectation_fails_the_readme_command(run_readme, workspace):
    test_file = workspace / "charts" / "vaultmesh" / "rule-tests" / "alerts.test.yaml"
    test = load_all(test_file.read_text())[0]
    [check] = next(
        t["promql_expr_test"]
        for t in test["tests"]
        if t["name"].startswith("TreatyRttHigh: ") and t["promql_expr_test"][0]["exp_samples"]
    )
    [sample] = check["exp_samples"]
    sample["labels"] = sample["labels"].replace('severity="warning"', 'severity="critical"')
    test_file.write_text(dump_yaml(test))
    result = run_readme(None)
    assert result.returncode == 1
    assert "Unit Testing:  build/rule-tests/alerts.test.yaml\n  SUCCESS" not in result.stdout
    assert result.stderr.count("FAILED") == 1
    quoted = check["expr"].replace('"', '\\"')
    assert f'expr: "{quoted}", time: {check["eval_time"]},\n' in result.stderr
    [(expected, got)] = re.findall(r"\n +exp: (.*)\n +got: (.*)\n", result.stderr)
    assert got.startswith('{__name__="ALERTS", alertname="TreatyRttHigh", alertstate="firing", ')
    assert expected == got.replace('severity="warning"', 'severity="critical"') != got


def test_values_that_stop_an_example_firing_fail_the_readme_command(run_readme, workspace):
    (workspace / "values" / "loose.yaml").write_text(
        "alerts:\n  TreatyRttHigh: {threshold: 1000000}\n"
    )
    result = run_readme("values/loose.yaml")
    assert result.returncode == 1
    assert result.stderr.count("FAILED") == 1
    assert (
        'expr: "ALERTS{alertname=\\"TreatyRttHigh\\", alertstate=\\"firing\\"} # ' in result.stderr
    )
    assert "got: nil" in result.stderr


def test_rule_tests_refuses_values_that_render_no_rule_configmaps(run_readme, workspace):
    (workspace / "values" / "operator.yaml").write_text("rules:\n  configMap: {enabled: false}\n")
    result = run_readme("values/operator.yaml")
    assert result.returncode == 1
    assert "helm template renders no ConfigMap holding " + ", ".join(RULE_FILES) in result.stderr
    assert not (workspace / "build").exists()

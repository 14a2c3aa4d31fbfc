"""chart-testing's `ct lint`, step by step with its default configs, on the rendered chart.

`ct lint` runs, per chart: the version-increment check, yamale with chart_schema.yaml on
Chart.yaml, yamllint with lintconf.yaml on Chart.yaml, values.yaml and ci/*-values.yaml, the
maintainer check, and `helm lint` (test_helm runs the stricter `helm lint --strict`). The
configs are ct's own defaults, copied verbatim into tests/reference/chart-testing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chartgen.errors import ChartgenError
from chartgen.load import load_texts
from chartgen.pipeline import generate
from chartgen.spec import ChartSpec
from chartgen.write import write_chart

from .conftest import ROOT
from .specdata import dump_yaml, load_all, minimal_spec

CT_CONFIGS = Path(__file__).parent / "reference" / "chart-testing"
#: A name the git host can serve as https://<host>/<name>: a GitHub, GitLab or Bitbucket account.
ACCOUNT = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)


def ct_config(name: str) -> Path:
    """One of ct's default config files; a missing one fails the test."""
    path = CT_CONFIGS / name
    if not path.is_file():
        pytest.fail(f"ct's default {name} is not at {path}")
    return path


def python_tool(name: str) -> str:
    """A command of the test extras, beside this Python or on PATH; a missing one fails."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return found


def yamale(chart_yaml: Path) -> subprocess.CompletedProcess[str]:
    """What ct runs to validate Chart.yaml: yamale --schema chart_schema.yaml (strict)."""
    schema = ct_config("chart_schema.yaml")
    command = [python_tool("yamale"), "--schema", str(schema), str(chart_yaml)]
    return subprocess.run(command, capture_output=True, text=True, cwd=chart_yaml.parent)


def yamllint(path: Path) -> subprocess.CompletedProcess[str]:
    """What ct runs on each YAML file: yamllint --config-file lintconf.yaml."""
    command = [python_tool("yamllint"), "--config-file", str(ct_config("lintconf.yaml")), str(path)]
    return subprocess.run(command, capture_output=True, text=True)


def maintainer_problems(chart_yaml: dict[str, Any]) -> list[str]:
    """What ct's maintainer check refuses, short of looking each name up on the git host.

    ct (--validate-maintainers, on by default) then sends a HEAD request to
    https://<host of the git remote>/<name> for each maintainer and wants a 200. No git host
    is reachable from the tests, so that request is not made: a name that cannot be an
    account there (spaces, say) is refused here instead.
    """
    maintainers = chart_yaml.get("maintainers") or []
    if chart_yaml.get("deprecated"):
        return ["Deprecated chart must not have maintainers"] if maintainers else []
    if not maintainers:
        return ["Chart doesn't have maintainers"]
    return [
        f"maintainer {m['name']!r} cannot be an account at https://<git host>/<name>"
        for m in maintainers
        if not ACCOUNT.match(m["name"])
    ]


def precedence(version: str) -> tuple[Any, ...]:
    """A chart version's SemVer 2 precedence, as ct compares versions (build metadata ignored)."""
    match = SEMVER.match(version)
    assert match is not None, f"ct cannot compare {version!r}: not a semantic version"
    major, minor, patch, pre = match.groups()
    identifiers = tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part) for part in (pre or "").split(".")
    )
    return (int(major), int(minor), int(patch), pre is None, identifiers if pre else ())


def ct_accepts_bump(old: str, new: str) -> bool:
    """ct's --check-version-increment: a changed chart needs a strictly higher version."""
    return precedence(new) > precedence(old)


def chart_yaml_of(files: dict[str, str]) -> dict[str, Any]:
    """Chart.yaml as data, from rendered files."""
    [document] = load_all(files["Chart.yaml"])
    return document


def read_chart_yaml(chart: Path) -> dict[str, Any]:
    """A chart directory's Chart.yaml as data."""
    return chart_yaml_of({"Chart.yaml": (chart / "Chart.yaml").read_text(encoding="utf-8")})


def written(spec: dict[str, Any], out: Path) -> Path:
    """A spec given as data, rendered and written as a chart directory."""
    write_chart(generate(ChartSpec.model_validate(spec)).files, out)
    return out


def spec_text(chart_lines: str) -> str:
    """A minimal spec file whose chart section starts with the given lines, from line 2."""
    head, rest = dump_yaml(minimal_spec()).split("\n", 1)
    assert head == "chart:"
    return f"{head}\n{chart_lines}{rest}"


def test_chart_yaml_passes_cts_chart_schema(default_chart):
    result = yamale(default_chart / "Chart.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation success!" in result.stdout


def test_cts_chart_schema_refuses_a_maintainer_without_a_name(default_chart, tmp_path):
    text = (default_chart / "Chart.yaml").read_text(encoding="utf-8")
    assert "  - name: vaultmesh-platform\n    email:" in text
    broken = tmp_path / "Chart.yaml"
    broken.write_text(text.replace("  - name: vaultmesh-platform\n    email:", "  - email:"))
    result = yamale(broken)
    assert result.returncode != 0
    assert "maintainers.0.name: Required field missing" in result.stdout


@pytest.mark.parametrize(
    "name", ["Chart.yaml", "values.yaml", "values/staging.yaml", "values/production.yaml"]
)
def test_cts_yamllint_finds_nothing_in_the_chart_and_values_files(default_chart, name):
    # ct lints Chart.yaml, values.yaml and the chart's ci/*-values.yaml. chartgen keeps the
    # environment values files outside the chart, in values/; they are what a ci/ holds.
    path = ROOT / name if name.startswith("values/") else default_chart / name
    result = yamllint(path)
    assert result.returncode == 0, result.stdout
    assert result.stdout == "", "ct lets warnings pass; chartgen writes none"


def test_cts_yamllint_catches_what_it_is_configured_to(tmp_path):
    path = tmp_path / "values.yaml"
    path.write_text("enabled: yes \nkey: 1\nkey: 2\n")
    result = yamllint(path)
    assert result.returncode != 0
    assert "(trailing-spaces)" in result.stdout
    assert "(key-duplicates)" in result.stdout
    assert "(truthy)" in result.stdout


def test_the_chart_names_maintainers_ct_can_look_up(default_chart):
    chart_yaml = read_chart_yaml(default_chart)
    assert maintainer_problems(chart_yaml) == []
    assert chart_yaml["maintainers"] == [
        {
            "name": "vaultmesh-platform",
            "email": "platform@vaultmesh.internal",
            "url": "https://git.vaultmesh.internal/vaultmesh-platform",
        }
    ]


def test_a_chart_without_maintainers_passes_cts_schema_but_not_its_maintainer_check(tmp_path):
    chart = written(minimal_spec(), tmp_path / "demo")
    assert "maintainers" not in read_chart_yaml(chart)
    assert yamale(chart / "Chart.yaml").returncode == 0
    assert maintainer_problems(read_chart_yaml(chart)) == ["Chart doesn't have maintainers"]


def test_a_maintainer_named_as_prose_is_not_one_ct_can_look_up(tmp_path):
    spec = minimal_spec(maintainers=[{"name": "VaultMesh Platform Team"}])
    chart = written(spec, tmp_path / "demo")
    assert yamale(chart / "Chart.yaml").returncode == 0
    [problem] = maintainer_problems(read_chart_yaml(chart))
    assert "'VaultMesh Platform Team' cannot be an account" in problem


def test_chart_yaml_lists_the_metadata_in_one_order_and_only_what_the_spec_sets(tmp_path):
    maintainers = [
        {"url": "https://example.com/~ana", "name": "ana"},
        {"email": "ops@example.com", "name": "ops-team"},
    ]
    spec = minimal_spec(
        icon="https://example.com/icon.svg",
        maintainers=maintainers,
        sources=["https://git.example.com/demo", "https://git.example.com/chartgen"],
        home="https://example.com",
        keywords=["demo"],
    )
    chart = written(spec, tmp_path / "demo")
    assert yamale(chart / "Chart.yaml").returncode == 0
    assert yamllint(chart / "Chart.yaml").stdout == ""
    chart_yaml = read_chart_yaml(chart)
    assert list(chart_yaml) == [
        "apiVersion",
        "name",
        "description",
        "type",
        "version",
        "appVersion",
        "keywords",
        "home",
        "sources",
        "maintainers",
        "icon",
    ]
    assert chart_yaml["sources"] == [
        "https://git.example.com/demo",
        "https://git.example.com/chartgen",
    ]
    assert [list(m.items()) for m in chart_yaml["maintainers"]] == [
        [("name", "ana"), ("url", "https://example.com/~ana")],
        [("name", "ops-team"), ("email", "ops@example.com")],
    ]
    bare = read_chart_yaml(written(minimal_spec(), tmp_path / "bare"))
    assert list(bare) == ["apiVersion", "name", "description", "type", "version", "appVersion"]


@pytest.mark.parametrize(
    ("chart_lines", "line", "path", "fix"),
    [
        ("  home: vaultmesh.internal\n", 2, "chart.home", "write an http:// or https:// URL"),
        ("  icon: https://x/a b.svg\n", 2, "chart.icon", "without spaces"),
        (
            "  home: https://ana@git.example.com\n",
            2,
            "chart.home",
            "without spaces or user:password@",
        ),
        ("  sources:\n  - ftp://git.example.com/demo\n", 3, "chart.sources[0]", "https://"),
        ("  maintainers:\n  - email: ops@example.com\n", 3, "chart.maintainers[0].name", "add"),
        ("  maintainers:\n  - name: ''\n", 3, "chart.maintainers[0].name", "on one line"),
        ("  maintainers:\n  - name: ' ops '\n", 3, "chart.maintainers[0].name", "spaces around"),
        (
            "  maintainers:\n  - name: ops\n    email: ops at example.com\n",
            4,
            "chart.maintainers[0].email",
            "platform@vaultmesh.internal",
        ),
        (
            "  maintainers:\n  - name: ops\n    email: ops@example..com\n",
            4,
            "chart.maintainers[0].email",
            "write one address",
        ),
        (
            "  maintainers:\n  - name: ops\n    url: example.com/ops\n",
            4,
            "chart.maintainers[0].url",
            "http:// or https://",
        ),
    ],
)
def test_chart_metadata_is_refused_where_it_is_written_with_a_fix(chart_lines, line, path, fix):
    with pytest.raises(ChartgenError) as caught:
        load_texts([("spec.yaml", spec_text(chart_lines))])
    [diagnostic] = caught.value.diagnostics
    assert diagnostic.format().startswith(f"spec.yaml:{line}: {path}: error: ")
    assert fix in diagnostic.fix


def test_the_embedded_chart_version_is_the_specs_and_one_ct_can_compare(
    default_chart, default_render
):
    version = read_chart_yaml(default_chart)["version"]
    assert version == default_render.chart.version
    assert SEMVER.match(version), f"ct cannot compare {version!r} for a bump"


@pytest.mark.parametrize(
    ("old", "new", "accepted"),
    [
        ("1.2.3", "1.2.4", True),
        ("1.2.3", "1.3.0-rc.1", True),
        ("1.3.0-rc.1", "1.3.0-rc.2", True),
        ("1.3.0-rc.2", "1.3.0-rc.10", True),
        ("1.3.0-rc.1", "1.3.0", True),
        ("1.2.3", "1.2.3", False),
        ("1.2.3", "1.2.3+build.7", False),
        ("1.3.0", "1.3.0-rc.1", False),
        ("1.2.3", "1.2.2", False),
    ],
)
def test_ct_takes_the_spec_version_bump_as_written(old, new, accepted):
    # ct compares with Chart.yaml on the target branch, read through git from the remote;
    # here the old and the new chart are two renders of a spec.
    versions = [
        chart_yaml_of(generate(ChartSpec.model_validate(minimal_spec(version=v))).files)["version"]
        for v in (old, new)
    ]
    assert versions == [old, new]
    assert ct_accepts_bump(*versions) is accepted

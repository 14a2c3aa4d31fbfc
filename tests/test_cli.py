"""The command line: render, --check, schema, spec, and clean errors for bad specs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from chartgen.cli import main
from chartgen.load.sources import embedded_spec_text

from .conftest import ROOT
from .specdata import read_tree

BAD_SPECS = sorted((Path(__file__).parent / "bad_specs").glob("*.yaml"))


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m chartgen`` as a user runs it, in its own process."""
    return subprocess.run(
        [sys.executable, "-m", "chartgen", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1"},
    )


def test_render_with_no_arguments_writes_charts_vaultmesh(tmp_path, default_render):
    result = run("render", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"wrote charts/vaultmesh ({len(default_render.files)} files)\n"
    assert read_tree(tmp_path / "charts" / "vaultmesh") == read_tree(ROOT / "charts" / "vaultmesh")


def test_check_passes_on_the_committed_chart(default_render):
    result = run("render", "--check", cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    count = len(default_render.files)
    assert result.stdout == f"charts/vaultmesh is up to date ({count} files)\n"


def test_check_fails_and_names_the_files_after_a_spec_change(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(embedded_spec_text())
    out = tmp_path / "chart"
    assert run("render", "--spec", spec, "--out", out).returncode == 0
    spec.write_text(embedded_spec_text().replace("replicas: 2", "replicas: 3"))
    before = read_tree(out)
    result = run("render", "--spec", spec, "--out", out, "--check", "--diff")
    assert result.returncode == 1
    assert result.stdout.startswith(f"changed: {out}/README.md\n")
    assert f"changed: {out}/values.yaml\n" in result.stdout
    assert "-    replicas: 2\n+    replicas: 3\n" in result.stdout
    assert "is stale: 2 file(s) differ" in result.stderr
    assert read_tree(out) == before  # --check writes nothing


@pytest.mark.parametrize("bad_spec", BAD_SPECS, ids=[p.stem for p in BAD_SPECS])
def test_a_bad_spec_is_refused_with_a_clear_message_and_the_chart_untouched(
    bad_spec, tmp_path, snapshot
):
    stderr = refused_leaving_chart_untouched(tmp_path, "--spec", bad_spec)
    assert stderr.replace(str(bad_spec.parent), "bad_specs") == snapshot


def refused_leaving_chart_untouched(tmp_path: Path, *args: str | Path) -> str:
    """Render a copy of the committed chart with args; assert exit 1, no traceback, no change."""
    out = tmp_path / "chart"
    shutil.copytree(ROOT / "charts" / "vaultmesh", out)
    before = read_tree(out)
    result = run("render", *args, "--out", out)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert read_tree(out) == before
    return result.stderr


def test_every_bad_spec_message_says_where_what_and_how_to_fix():
    for bad_spec in BAD_SPECS:
        stderr = run("render", "--spec", bad_spec, "--check").stderr
        assert f"{bad_spec}:" in stderr, bad_spec.name
        assert "error:" in stderr and "fix:" in stderr, bad_spec.name


def test_a_missing_spec_path_is_named_with_a_fix():
    result = run("render", "--spec", "no/such/spec.yaml")
    assert result.returncode == 1
    assert result.stderr.startswith(
        "no/such/spec.yaml: error: cannot read spec file: No such file or directory\n"
        "  fix: check the path\n"
    )


def test_a_symlink_loop_named_on_the_command_line_is_named_as_a_loop(tmp_path):
    (tmp_path / "a.yaml").symlink_to(tmp_path / "b.yaml")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "a.yaml")
    for option in ("--spec", "--values"):
        result = run("render", option, tmp_path / "a.yaml", "--out", tmp_path / "out")
        assert result.returncode == 1, option
        assert "a.yaml: error: cannot read " in result.stderr
        assert ": a symlink loop\n  fix: point the link at a file" in result.stderr
        assert not (tmp_path / "out").exists()


def test_render_refuses_to_overwrite_a_foreign_directory(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    result = run("render", "--out", tmp_path)
    assert result.returncode == 1
    assert "refusing to overwrite a directory chartgen did not write" in result.stderr
    assert read_tree(tmp_path) == {"keep.txt": b"mine"}


def test_spec_prints_the_embedded_spec_which_renders_the_same_chart(tmp_path):
    result = CliRunner().invoke(main, ["spec"])
    assert result.exit_code == 0
    spec = tmp_path / "platform.yaml"
    spec.write_text(result.output)
    assert run("render", "--spec", spec, "--out", tmp_path / "out").returncode == 0
    assert read_tree(tmp_path / "out") == read_tree(ROOT / "charts" / "vaultmesh")


def test_schema_prints_the_json_schema_of_spec_files():
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["properties"]) == {"chart", "services", "dashboards"}
    service = schema["$defs"]["Service"]
    assert service["additionalProperties"] is False
    assert {"name", "image", "stateful", "replicas", "ports", "probes", "metrics"} <= set(
        service["properties"]
    )


def test_version_and_help_work_without_a_spec():
    assert CliRunner().invoke(main, ["--version"]).output.startswith("chartgen, version 0.1.0")
    assert "render" in CliRunner().invoke(main, ["--help"]).output


def test_render_leaves_an_up_to_date_chart_untouched(tmp_path, default_render):
    assert run("render", cwd=tmp_path).returncode == 0
    chart = tmp_path / "charts" / "vaultmesh" / "Chart.yaml"
    written = chart.stat().st_mtime_ns
    result = run("render", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    count = len(default_render.files)
    assert result.stdout == f"charts/vaultmesh is up to date ({count} files); nothing written\n"
    assert chart.stat().st_mtime_ns == written


IMPORTS_PROBE = """
import sys
from chartgen.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(" ".join(sorted(sys.modules)))
"""
#: What the render path never needs: the live-checking, preview and HTTP stacks.
NOT_FOR_RENDER = {
    "chartgen.live.verify",
    "chartgen.live.promapi",
    "chartgen.preview",
    "chartgen.live.release",
    "kubernetes_validate",
    "urllib.request",
    "http.client",
}


def imported_by(*args: str, cwd: Path) -> set[str]:
    """The modules a chartgen command has imported by the time it finishes."""
    command = [sys.executable, "-c", IMPORTS_PROBE, *args]
    env = {**os.environ, "CHARTGEN_CACHE_DIR": ""}  # a whole render, not one from the cache
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env, check=True)
    return set(result.stdout.split())


def test_a_command_imports_only_what_it_needs(tmp_path):
    rendered = imported_by("render", "--out", str(tmp_path / "chart"), cwd=tmp_path)
    assert "chartgen.render" in rendered  # the probe ran a render
    assert rendered & NOT_FOR_RENDER == set()
    # a spec this small is read through the node tree: the direct reader waits for large ones
    assert rendered & {"chartgen.unambiguous", "yaml_rs"} == set()
    helped = imported_by("--help", cwd=tmp_path)
    assert helped & {"pydantic.main", "jinja2", "ruamel.yaml", "chartgen.pipeline"} == set()

"""The command line: render, --check, schema, spec, and clean errors for bad specs."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from chartgen.cli import main
from chartgen.load.sources import embedded_spec_text

from .conftest import ROOT
from .specdata import load_all, read_tree

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


def test_diff_without_check_is_a_usage_error_and_writes_nothing(tmp_path):
    out = tmp_path / "chart"
    result = run("render", "--diff", "--out", out)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "--diff: error: --diff prints what --check finds, writing nothing; without --check, "
        "render writes the chart\n  fix: add --check, or drop --diff\n"
    )
    assert not out.exists()
    assert run("render", "--out", out).returncode == 0
    assert run("render", "--check", "--diff", "--out", out).returncode == 0


USAGE_ERRORS = [
    (
        ["render", "--spex", "x"],
        "chartgen render: error: no such option '--spex'",
        "did you mean '--spec'? run 'chartgen render --help' for its options",
    ),
    (
        ["spec", "--pretty"],
        "chartgen spec: error: no such option '--pretty'",
        "run 'chartgen spec --help' for its options",
    ),
    (
        ["--zzz", "render"],
        "chartgen: error: no such option '--zzz'",
        "run 'chartgen --help' for its commands",
    ),
    (
        ["render", "--out", "a-file"],
        "--out: error: Directory 'a-file' is a file.",
        "name a directory (created if missing)",
    ),
    (
        ["render", "--out"],
        "--out: error: Option '--out' requires an argument.",
        "give --out a value; run 'chartgen render --help' for its options",
    ),
    (
        ["render", "--check=yes"],
        "--check: error: Option '--check' does not take a value.",
        "write --check alone; run 'chartgen render --help' for its options",
    ),
    (
        ["verify", "--prometheus-url", "http://127.0.0.1:9", "--output", "xml"],
        "--output: error: 'xml' is not one of 'table', 'json'.",
        "use one of: table, json",
    ),
    (
        ["verify", "--prometheus-url", "http://127.0.0.1:9", "--retries", "11"],
        "--retries: error: 11 is not in the range 0<=x<=10.",
        "give a number from 0 to 10",
    ),
    (
        ["verify"],
        "--prometheus-url: error: Missing option '--prometheus-url'.",
        "give --prometheus-url URL; run 'chartgen verify --help' for its options",
    ),
    (
        ["rule-tests", "--out", "x"],
        "CHART: error: Missing argument 'CHART'.",
        "give CHART; run 'chartgen rule-tests --help' for its options",
    ),
    (
        ["rule-tests", "no-such-chart", "--out", "x"],
        "CHART: error: Directory 'no-such-chart' does not exist.",
        "name an existing directory",
    ),
    (
        ["render", "extra"],
        "chartgen render: error: Got unexpected extra argument (extra)",
        "run 'chartgen render --help' for its options",
    ),
    (
        ["rendr"],
        "chartgen: error: no such command 'rendr'",
        "did you mean 'render'? run 'chartgen --help' for its commands",
    ),
    (
        ["frobnicate"],
        "chartgen: error: no such command 'frobnicate'",
        "run 'chartgen --help' for its commands",
    ),
]


@pytest.mark.parametrize(
    ("args", "where_what", "fix"), USAGE_ERRORS, ids=[" ".join(e[0]) for e in USAGE_ERRORS]
)
def test_a_usage_error_says_where_what_and_how_to_fix_it_and_exits_2(
    args, where_what, fix, tmp_path
):
    (tmp_path / "a-file").write_text("")
    result = run(*args, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    # run() starts `python -m chartgen`, which is the name click gives the command then
    stderr = result.stderr.replace("python -m chartgen", "chartgen")
    assert stderr == f"{where_what}\n  fix: {fix}\n"
    assert list(tmp_path.iterdir()) == [tmp_path / "a-file"]


README = (ROOT / "README.md").read_text()


def readme_section(title: str) -> str:
    """The text of one '## ' section of the top-level README."""
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def harbinger_spec(directory: Path) -> Path:
    """The README's Harbinger service, in a spec file of its own (no chart section)."""
    [block] = [b for b in re.findall(r"```yaml\n(.*?)```", README, re.S) if "name: harbinger" in b]
    path = directory / "harbinger.yaml"
    path.write_text(block)
    return path


def test_a_file_of_services_alone_says_how_to_add_them_to_the_embedded_platform(tmp_path):
    harbinger_spec(tmp_path)
    result = run("render", "--spec", "harbinger.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(
        "harbinger.yaml: error: no 'chart' section in any spec file\n"
        "  fix: to add services to the embedded VaultMesh platform, write its spec to a file "
        "and pass it first: chartgen spec > platform.yaml; "
        "chartgen render --spec platform.yaml --spec harbinger.yaml. "
        "For a chart of your own, add 'chart:' with name, version, appVersion, description and "
        "imageRegistry\n"
    )
    assert not (tmp_path / "charts").exists()


def test_adding_a_service_as_the_readme_says_renders_it_beside_the_vaultmesh_services(
    tmp_path, helm
):
    harbinger_spec(tmp_path)
    [commands] = re.findall(r"```console\n(.*?)```", readme_section("Adding a service"), re.S)
    for line in commands.splitlines():
        command, _, redirect = line.partition(" > ")
        program, *args = shlex.split(command)
        assert program == "chartgen", line
        result = run(*args, cwd=tmp_path)
        assert result.returncode == 0, f"{line}\n{result.stderr}"
        if redirect:
            (tmp_path / redirect).write_text(result.stdout)
    chart = tmp_path / "charts" / "vaultmesh"
    assert (chart / "templates" / "harbinger" / "workload.yaml").is_file()
    rendered = helm("template", "vaultmesh", chart)
    assert rendered.returncode == 0, rendered.stderr
    workloads = {
        d["metadata"]["name"]
        for d in load_all(rendered.stdout)
        if d["kind"] in ("Deployment", "StatefulSet")
    }
    assert workloads == {
        f"vaultmesh-{s}" for s in ("scheduler", "psi-field", "treaty", "harbinger")
    }
    assert "harbinger:signals:rate5m" in rendered.stdout


#: Three mistakes of three kinds: an unknown field in one service (the models refuse it), a
#: read of an undeclared series in another service's alert (the PromQL check) and a dashboard
#: threshold naming a parameter the alert does not have (the dashboard check).
THREE_MISTAKES = """\
chart: {name: demo, version: 1.2.3, appVersion: v1, description: Demo, imageRegistry: r.example}
services:
  - name: api
    image: {repository: team/api, tag: v1}
    ports: [{name: http, port: 8080}]
    resources: {requests: {cpu: 10m, memory: 32Mi}, limits: {memory: 64Mi}}
    replcas: 2
  - name: worker
    image: {repository: team/worker, tag: v1}
    ports: [{name: http, port: 8080}]
    resources: {requests: {cpu: 10m, memory: 32Mi}, limits: {memory: 64Mi}}
    metrics:
      port: http
      families: [{name: worker_jobs_total, type: counter, help: Jobs done.}]
    alerts:
      - alert: WorkerStalled
        expr: sum(rate(worker_jobz_total[5m])) < $threshold
        params: {threshold: 0.1}
        severity: warning
        summary: The workers do no jobs
        description: No job finished in 5 minutes.
        runbook: https://runbooks.example/WorkerStalled
        examples:
          - name: no jobs fire
            series: [{series: 'worker_jobs_total{job="worker"}', values: '0x20'}]
            fires: [{}]
          - name: jobs stay quiet
            series: [{series: 'worker_jobs_total{job="worker"}', values: '0+60x20'}]
dashboards:
  - name: work
    title: Work
    rows:
      - title: Jobs
        panels:
          - title: Job rate
            targets: [{metric: worker_jobs_total}]
            thresholds: [{alert: WorkerStalled, param: limit}]
"""


def test_an_unknown_field_hides_neither_a_bad_metric_reference_nor_a_bad_threshold(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(THREE_MISTAKES)
    stderr = refused_leaving_chart_untouched(tmp_path, "--spec", spec)
    assert stderr == (
        f"{spec}:7: services[0].replcas: error: unknown field\n"
        "  fix: did you mean 'replicas'? allowed fields here: name, description, image, "
        "stateful, replicas, ports, resources, env, secretMounts, writablePaths, egress, "
        "automountServiceAccountToken, probes, metrics, recordingRules, alerts, slos\n"
        f"{spec}:17: services[1].alerts[0].expr: error: reads 'worker_jobz_total', which no "
        "service declares and no recording rule produces\n"
        "  fix: declare it under the exposing service's metrics.families, or fix the name\n"
        f"{spec}:37: dashboards[0].rows[0].panels[0].thresholds[0].param: error: alert "
        "'WorkerStalled' has no parameter 'limit'\n"
        "  fix: its parameters are: threshold\n"
        "3 errors; nothing written\n"
    )
    # each one is all that is left once the others are fixed: none is a consequence of another
    fixed = {
        "replcas": THREE_MISTAKES.replace("replcas:", "replicas:"),
        "jobz": THREE_MISTAKES.replace("worker_jobz_total", "worker_jobs_total"),
        "limit": THREE_MISTAKES.replace("param: limit", "param: threshold"),
    }
    for name, text in fixed.items():
        spec.write_text(text)
        result = run("render", "--spec", spec, "--out", tmp_path / name)
        assert result.stderr.endswith("\n2 errors; nothing written\n"), name
        assert not (tmp_path / name).exists()


def test_a_values_file_that_cannot_be_read_is_reported_with_the_spec_errors(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(THREE_MISTAKES)
    stderr = refused_leaving_chart_untouched(
        tmp_path, "--spec", spec, "--values", tmp_path / "missing.yaml"
    )
    assert f"{tmp_path}/missing.yaml: error: cannot read values file: No such file" in stderr
    assert stderr.endswith("4 errors; nothing written\n")

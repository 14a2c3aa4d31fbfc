"""Hostile inputs: each is refused where it is written, with a fix, at once and without a
traceback; the nearest inputs chartgen accepts pass helm, promtool and Kubernetes' rules."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from pydantic import TypeAdapter, ValidationError
from ruamel.yaml.constructor import DuplicateKeyError

from chartgen.checks.values import check_values_text
from chartgen.errors import ChartgenError, Location
from chartgen.load import load_texts
from chartgen.load.sources import read_text
from chartgen.load.yaml import parse_yaml
from chartgen.spec import ExampleSeries
from chartgen.spec.types import EnvName, PortName, SecretKey
from chartgen.values.types import LabelValue, QualifiedName

from .conftest import find_tool
from .rulefiles import rule_files, write_rule_files
from .specdata import dump_yaml, load_all

#: A small valid spec; each case changes one thing in it.
BASE = """\
chart:
  name: demo
  version: 1.0.0
  appVersion: v1
  description: Demo
  imageRegistry: registry.example.com
services:
  - name: api
    image: {repository: team/api, tag: v1}
    replicas: 2
    resources:
      requests: {cpu: 100m, memory: 64Mi}
      limits: {memory: 128Mi}
    ports:
      - name: http
        port: 8080
    env:
      - name: LOG_LEVEL
        value: info
    secretMounts:
      - {secretName: db, path: /var/run/secrets/db, keys: [password]}
    probes:
      liveness: {http: {path: /health, port: http}}
      readiness: {http: {path: /ready, port: http}}
    metrics:
      port: http
      families:
        - {name: api_requests_total, type: counter, help: Requests served.}
        - {name: api_queue_depth, type: gauge, help: Requests waiting., labels: [queue]}
    recordingRules:
      - record: api:requests:rate5m
        expr: sum by (job, namespace) (rate(api_requests_total{job="api"}[5m]))
    alerts:
      - alert: QueueDeep
        expr: api_queue_depth{job="api"} > $threshold
        params: {threshold: 10}
        for: 5m
        severity: warning
        summary: Queue is deep on {{ $labels.pod }}
        description: The queue holds {{ $value }} requests.
        runbook: https://runbooks.example.com/QueueDeep
        examples:
          - name: deep queue fires
            series: [{series: 'api_queue_depth{job="api", pod="a"}', values: 50x20}]
            fires: [{job: api, pod: a}]
          - name: short queue is quiet
            series: [{series: 'api_queue_depth{job="api", pod="a"}', values: 1x20}]
"""
ALERT_PATH = "services[0].alerts[0]"
SHA = "sha256:" + "a" * 64


def spec_with(*changes: tuple[str, str]) -> str:
    """BASE with each (old, new) replaced once; each old must be there."""
    text = BASE
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def line(text: str, needle: str) -> int:
    """The 1-based line of the first occurrence of needle."""
    return text[: text.index(needle)].count("\n") + 1


def chartgen(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m chartgen`` in its own process; a hang fails the test after a minute."""
    return subprocess.run(
        [sys.executable, "-m", "chartgen", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=60,
    )


def render(
    tmp_path: Path, spec: str, values: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Render s.yaml (and v.yaml) into tmp_path/out."""
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "s.yaml").write_text(spec)
    args = ["--spec", "s.yaml"]
    if values is not None:
        (tmp_path / "v.yaml").write_text(values)
        args += ["--values", "v.yaml"]
    return chartgen(tmp_path, "render", *args, "--out", "out")


def refused(result: subprocess.CompletedProcess[str], tmp_path: Path) -> str:
    """Assert a clean refusal: exit 1, no traceback, a fix line, nothing written; the stderr."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "\n  fix: " in result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "out").exists()
    return result.stderr


def accepted(result: subprocess.CompletedProcess[str]) -> None:
    """Assert the render succeeded."""
    assert result.returncode == 0, result.stderr


def promtool(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real promtool, run in cwd."""
    return subprocess.run(
        [find_tool("promtool"), *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def helm_rule_files(
    helm: Callable[..., subprocess.CompletedProcess[str]], chart: Path, *args: str | Path
) -> dict[str, str]:
    """The rule files helm renders from the chart, by name."""
    result = helm("template", "demo", chart, *args)
    assert result.returncode == 0, result.stderr
    return rule_files(result.stdout)


def pass_rule_tests(
    helm: Callable[..., subprocess.CompletedProcess[str]],
    chart: Path,
    directory: Path,
    *args: str | Path,
) -> None:
    """The chart's rules (as helm renders them) pass promtool's lint and the generated tests."""
    files = helm_rule_files(helm, chart, *args)
    paths = write_rule_files(files, directory)
    check = promtool(directory, "check", "rules", *map(str, paths))
    assert check.returncode == 0, check.stdout + check.stderr
    (directory / "alerts.test.yaml").write_text(
        (chart / "rule-tests" / "alerts.test.yaml").read_text()
    )
    result = promtool(directory, "test", "rules", "alerts.test.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def promtool_series_test(directory: Path, values: str, interval: str = "1m", at: str = "5m") -> str:
    """promtool's unit test of an alert on x expected to fire; its output, '' if it passed."""
    rules = {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "x >= 0"}]}]}
    (directory / "rules.yaml").write_text(dump_yaml(rules))
    test = {
        "interval": interval,
        "input_series": [{"series": 'x{pod="a"}', "values": values}],
        "alert_rule_test": [
            {"eval_time": at, "alertname": "A", "exp_alerts": [{"exp_labels": {"pod": "a"}}]}
        ],
    }
    (directory / "test.yaml").write_text(dump_yaml({"rule_files": ["rules.yaml"], "tests": [test]}))
    result = promtool(directory, "test", "rules", "test.yaml")
    return "" if result.returncode == 0 else result.stdout + result.stderr


# 1. Files that are not regular files


def test_a_fifo_as_spec_or_values_file_is_refused_by_name_without_waiting(tmp_path):
    (tmp_path / "s.yaml").write_text(BASE)
    os.mkfifo(tmp_path / "fifo.yaml")
    (tmp_path / "link.yaml").symlink_to("fifo.yaml")
    cases = [
        (["--spec", "fifo.yaml"], "fifo.yaml: error: the spec file is not a regular file (a FIFO)"),
        (["--spec", "link.yaml"], "link.yaml: error: the spec file is not a regular file (a FIFO)"),
        (
            ["--spec", "s.yaml", "--values", "fifo.yaml"],
            "fifo.yaml: error: the values file is not a regular file (a FIFO)",
        ),
    ]
    for args, message in cases:
        stderr = refused(chartgen(tmp_path, "render", *args, "--out", "out"), tmp_path)
        assert stderr.startswith(message + "\n  fix: save the YAML to a regular file"), args


def test_a_fifo_inside_a_spec_directory_is_refused_by_name(tmp_path):
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "a.yaml").write_text(BASE)
    os.mkfifo(specs / "b.yaml")
    stderr = refused(chartgen(tmp_path, "render", "--spec", "specs", "--out", "out"), tmp_path)
    assert stderr.startswith("specs/b.yaml: error: the spec file is not a regular file (a FIFO)\n")


def test_a_device_is_refused_as_not_a_regular_file(tmp_path):
    stderr = refused(chartgen(tmp_path, "render", "--spec", "/dev/zero", "--out", "out"), tmp_path)
    assert stderr.startswith(
        "/dev/zero: error: the spec file is not a regular file (a character device)\n"
    )
    with pytest.raises(ChartgenError) as caught:
        read_text(Path("/dev/null"), "values file")
    [problem] = caught.value.diagnostics
    assert (problem.where, problem.what) == (
        Location("/dev/null"),
        "the values file is not a regular file (a character device)",
    )


# 2. Numbers YAML cannot construct


def test_an_integer_of_thousands_of_digits_is_refused_at_its_line(tmp_path):
    huge = "9" * 5000
    spec = spec_with(("replicas: 2", f"replicas: {huge}"))
    stderr = refused(render(tmp_path, spec), tmp_path)
    assert stderr.startswith(
        f"s.yaml:{line(spec, 'replicas')}: services[0].replicas: error: a number of 5,000 digits"
    )
    assert "fix: write a number Kubernetes can hold" in stderr
    values = f"services:\n  api:\n    replicas: {huge}\n"
    stderr = refused(render(tmp_path, BASE, values), tmp_path)
    assert stderr.startswith("v.yaml:3: services.api.replicas: error: a number of 5,000 digits")


@pytest.mark.parametrize(
    "value",
    [
        "!!int abc",
        "!!float abc",
        "!!bool maybe",
        "!!int 0x",
        f"!!int '{'1' * 5000}'",
        "-0x" + "f" * 200,
    ],
)
def test_a_scalar_that_cannot_be_constructed_is_a_located_error(value):
    with pytest.raises(ChartgenError) as caught:
        parse_yaml("t.yaml", f"chart:\n  name: demo\n  x: {value}\n")
    [problem] = caught.value.diagnostics
    assert problem.where == Location("t.yaml", 3, "chart.x")
    assert problem.fix


# 3. Numbers helm or Prometheus cannot hold


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", "1.0e+400", "-1e999"])
def test_a_non_finite_threshold_in_the_spec_is_refused_at_its_line(value, tmp_path):
    spec = spec_with(("params: {threshold: 10}", f"params: {{threshold: {value}}}"))
    stderr = refused(render(tmp_path, spec), tmp_path)
    where = f"s.yaml:{line(spec, 'params')}: {ALERT_PATH}.params.threshold: error: "
    assert stderr.startswith(where)
    assert "is not a finite number: helm refuses Inf and NaN" in stderr
    assert "fix: write a finite number between -1.8e+308 and 1.8e+308" in stderr


@pytest.mark.parametrize(
    ("value", "what"),
    [
        (".inf", "inf is not a finite number"),
        (".nan", "nan is not a finite number"),
        ("'" + "9" * 400 + "'", "a number of 400 digits is beyond a float64's range"),
        ("'-" + "9" * 309 + ".5'", "a number of 310 digits is beyond a float64's range"),
    ],
)
def test_a_non_finite_threshold_in_a_values_file_is_refused_at_its_line(value, what, tmp_path):
    values = f"alerts:\n  QueueDeep: {{threshold: {value}}}\n"
    stderr = refused(render(tmp_path, BASE, values), tmp_path)
    assert stderr.startswith(f"v.yaml:2: alerts.QueueDeep.threshold: error: {what}")


def test_the_largest_thresholds_accepted_pass_helm_and_promtool(helm, tmp_path):
    spec = spec_with(
        ("> $threshold", "> $threshold < $ceiling"),
        ("params: {threshold: 10}", "params: {threshold: 10, ceiling: 1.0e+300}"),
    )
    values = "alerts:\n  QueueDeep: {ceiling: '1" + "0" * 300 + "'}\n"
    accepted(render(tmp_path, spec, values))
    chart = tmp_path / "out"
    lint = helm("lint", "--strict", chart, "-f", tmp_path / "v.yaml")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    pass_rule_tests(helm, chart, tmp_path / "defaults")
    pass_rule_tests(helm, chart, tmp_path / "values", "-f", tmp_path / "v.yaml")


# 4. Example series promtool cannot read, or would take forever to


@pytest.mark.parametrize(
    ("values", "what"),
    [
        ("1e400x20", "1e400 is beyond a float64's range"),
        ("1 2 -1e309", "-1e309 is beyond a float64's range"),
        ("0+1e400x3", "+1e400 is beyond a float64's range"),
        ("Inf-1e999x3", "-1e999 is beyond a float64's range"),
    ],
)
def test_an_example_number_beyond_a_float64_is_refused(values, what):
    with pytest.raises(ValidationError) as caught:
        ExampleSeries.model_validate({"series": 'x{pod="a"}', "values": values})
    [error] = caught.value.errors()
    assert error["msg"] == f"promtool cannot read the values {values!r}: {what}"


def test_promtool_refuses_an_example_number_beyond_a_float64_and_reads_a_tiny_one(tmp_path):
    assert "value out of range" in promtool_series_test(tmp_path, "1e400x20")
    ExampleSeries.model_validate({"series": 'x{pod="a"}', "values": "1e-400x20"})
    assert promtool_series_test(tmp_path, "1e-400x20") == ""


def test_an_example_series_expanding_past_100000_samples_is_refused_at_once(tmp_path):
    spec = spec_with(("values: 50x20", "values: '1x999999999999'"))
    stderr = refused(render(tmp_path, spec), tmp_path)
    assert stderr.startswith(
        f"s.yaml:{line(spec, '1x999')}: {ALERT_PATH}.examples[0].series[0].values: error: "
        "the values '1x999999999999' expand to over 100,000 samples\n"
        "  fix: write at most 100,000 samples per series"
    )


@pytest.mark.parametrize(
    ("values", "ok"),
    [
        ("1x99999", True),  # axn is n+1 samples
        ("1x100000", False),
        ("_x100000", True),  # _xn is n
        ("_x100001", False),
        ("1x50000 1+1x49998", True),
        ("1x50000 1+1x49999", False),
        ("1x50000 1+1x49998 stale", False),
        ("Inf+1x99999", True),
        ("Inf+1x100000", False),
        ("1x" + "9" * 5000, False),
    ],
)
def test_the_expansion_of_one_series_is_bounded_at_100000_samples(values, ok):
    try:
        ExampleSeries.model_validate({"series": 'x{pod="a"}', "values": values})
        refused_here = False
    except ValidationError as err:
        refused_here = True
        assert err.errors()[0]["msg"].endswith("expand to over 100,000 samples")
    assert refused_here is not ok


def test_an_example_interval_of_0s_is_refused_at_its_line(tmp_path):
    assert promtool_series_test(tmp_path, "1x20", at="15m") == ""
    assert "got:[]" in promtool_series_test(tmp_path, "1x20", interval="0s", at="15m")
    spec = spec_with(
        ("fires: [{job: api, pod: a}]", "fires: [{job: api, pod: a}]\n            interval: 0s")
    )
    stderr = refused(render(tmp_path, spec), tmp_path)
    assert stderr.startswith(
        f"s.yaml:{line(spec, 'interval')}: {ALERT_PATH}.examples[0].interval: error: "
        "the interval must be positive"
    )


# 5. Empty label values, which Prometheus drops


def test_an_empty_alert_label_value_is_refused_at_its_line(tmp_path):
    spec = spec_with(("severity: warning", "severity: warning\n        labels: {team: ''}"))
    stderr = refused(render(tmp_path, spec), tmp_path)
    assert stderr.startswith(
        f"s.yaml:{line(spec, 'labels: {team')}: {ALERT_PATH}.labels.team: error: "
        "an empty label value: Prometheus drops the label"
    )
    assert "fix: give the label a value, or remove it" in stderr


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        (
            "[5m]))\n",
            "[5m]))\n        labels: {team: ''}\n",
            "services[0].recordingRules[0].labels.team",
        ),
        (
            "fires: [{job: api, pod: a}]",
            "fires: [{job: api, pod: ''}]",
            f"{ALERT_PATH}.examples[0].fires[0].pod",
        ),
    ],
)
def test_an_empty_label_value_of_a_recording_rule_or_an_expected_alert_is_refused(old, new, path):
    with pytest.raises(ChartgenError) as caught:
        load_texts([("s.yaml", spec_with((old, new)))])
    [problem] = caught.value.diagnostics
    assert (problem.where.path, problem.what.split(":")[0]) == (path, "an empty label value")


def test_promtool_drops_an_empty_alert_label(tmp_path):
    rules = {
        "groups": [
            {"name": "g", "rules": [{"alert": "A", "expr": "vector(1)", "labels": {"team": ""}}]}
        ]
    }
    (tmp_path / "rules.yaml").write_text(dump_yaml(rules))
    expected = [{"exp_labels": {"team": ""}}]
    test = {
        "interval": "1m",
        "input_series": [],
        "alert_rule_test": [{"eval_time": "1m", "alertname": "A", "exp_alerts": expected}],
    }
    (tmp_path / "test.yaml").write_text(dump_yaml({"rule_files": ["rules.yaml"], "tests": [test]}))
    result = promtool(tmp_path, "test", "rules", "test.yaml")
    assert result.returncode == 1
    out = result.stdout + result.stderr
    assert 'Labels:{alertname="A", team=""}\n' in out  # expected
    assert 'Labels:{alertname="A"}\n' in out  # got


# 6. Kubernetes' own rules for names and probes


def is_port_name(name: str) -> bool:
    """Kubernetes' IsValidPortName (IANA_SVC_NAME)."""
    return (
        len(name) <= 15
        and re.fullmatch("[-a-z0-9]+", name) is not None
        and re.search("[a-z]", name) is not None
        and "--" not in name
        and not name.startswith("-")
        and not name.endswith("-")
    )


def has_chdir_prefix(name: str) -> bool:
    """Kubernetes' hasChDirPrefix: '.', '..' or a name starting with '..'."""
    return name in (".", "..") or name.startswith("..")


def is_env_var_name(name: str) -> bool:
    """Kubernetes' IsEnvVarName."""
    return re.fullmatch("[-._a-zA-Z][-._a-zA-Z0-9]*", name) is not None and not has_chdir_prefix(
        name
    )


def is_config_map_key(name: str) -> bool:
    """Kubernetes' IsConfigMapKey (Secret keys too)."""
    return (
        len(name) <= 253
        and re.fullmatch("[-._a-zA-Z0-9]+", name) is not None
        and not has_chdir_prefix(name)
    )


def is_dns1123_subdomain(name: str) -> bool:
    """Kubernetes' IsDNS1123Subdomain."""
    label = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
    return len(name) <= 253 and re.fullmatch(rf"{label}(\.{label})*", name) is not None


def is_qualified_name(name: str) -> bool:
    """Kubernetes' IsQualifiedName: label and annotation keys, topology keys."""
    parts = name.split("/")
    if len(parts) > 2 or (len(parts) == 2 and not is_dns1123_subdomain(parts[0])):
        return False
    return len(parts[-1]) <= 63 and re.fullmatch(QUALIFIED, parts[-1]) is not None


def is_label_value(name: str) -> bool:
    """Kubernetes' IsValidLabelValue."""
    return len(name) <= 63 and re.fullmatch(f"({QUALIFIED})?", name) is not None


QUALIFIED = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"


@pytest.mark.parametrize(
    ("kind", "rule", "alphabet", "longest"),
    [
        (PortName, is_port_name, "a1-", 7),
        (EnvName, is_env_var_name, "a1._-Z", 5),
        (SecretKey, is_config_map_key, "a1._-Z", 5),
        (QualifiedName, is_qualified_name, "a1._-Z/", 5),
        (LabelValue, is_label_value, "a1._-Z ", 5),
    ],
    ids=["port name", "env var name", "secret key", "label key", "label value"],
)
def test_names_are_accepted_exactly_when_kubernetes_accepts_them(kind, rule, alphabet, longest):
    adapter = TypeAdapter(kind)
    names = ["a" * 15, "a" * 16, "a-" * 7 + "a", "a" * 253, "a" * 254]
    names += ["a" * 63, "a" * 64, "a" * 253 + "/a", "a" * 254 + "/a", "a/" + "a" * 64, "/a"]
    names += [
        "".join(p) for n in range(1, longest + 1) for p in itertools.product(alphabet, repeat=n)
    ]
    for name in names:
        try:
            adapter.validate_python(name)
            ours = True
        except ValidationError:
            ours = False
        assert ours == rule(name), name


@pytest.mark.parametrize(
    ("old", "new", "path", "fix"),
    [
        ("- name: http", "- name: a--b", "services[0].ports[0].name", "never two '-' in a row"),
        ("- name: LOG_LEVEL", "- name: '..'", "services[0].env[0].name", "not '.'"),
        ("- name: LOG_LEVEL", "- name: '.'", "services[0].env[0].name", "not '.'"),
        ("keys: [password]", "keys: ['..']", "services[0].secretMounts[0].keys[0]", "not '.'"),
    ],
)
def test_a_name_kubernetes_refuses_is_refused_at_its_line(old, new, path, fix, tmp_path):
    spec = spec_with((old, new))
    stderr = refused(render(tmp_path, spec), tmp_path)
    assert stderr.startswith(f"s.yaml:{line(spec, new)}: {path}: error: ")
    assert fix in stderr.split("\n")[1]


@pytest.mark.parametrize(
    ("kind", "old"),
    [("liveness", "liveness: {http: {path: /health, port: http}}"), ("startup", "readiness:")],
)
def test_a_liveness_or_startup_probe_counts_one_success(kind, old):
    probe = f"{kind}: {{tcp: {{port: http}}, successThreshold: 2}}"
    new = probe if kind == "liveness" else f"{probe}\n      readiness:"
    spec = spec_with((old, new))
    with pytest.raises(ChartgenError) as caught:
        load_texts([("s.yaml", spec)])
    [problem] = caught.value.diagnostics
    assert problem.where == Location("s.yaml", line(spec, probe), f"services[0].probes.{kind}")
    assert problem.what.startswith(f"a {kind} probe's successThreshold must be 1, not 2")
    readiness = "readiness: {http: {path: /ready, port: http}, successThreshold: 2}"
    load_texts(
        [("s.yaml", spec_with(("readiness: {http: {path: /ready, port: http}}", readiness)))]
    )


def test_a_values_liveness_probe_counts_one_success(tmp_path):
    values = "services:\n  api:\n    probes: {liveness: {successThreshold: 2}}\n"
    stderr = refused(render(tmp_path, BASE, values), tmp_path)
    assert stderr.startswith(
        "v.yaml:3: services.api.probes.liveness: error: "
        "a liveness probe's successThreshold must be 1, not 2"
    )
    accepted(
        render(
            tmp_path, BASE, "services:\n  api:\n    probes: {readiness: {successThreshold: 2}}\n"
        )
    )


def liveness(helm, chart: Path, values: Path) -> dict:
    """The liveness probe helm renders for api with a values file."""
    result = helm("template", "demo", chart, "-f", values)
    assert result.returncode == 0, result.stderr
    [deployment] = [d for d in load_all(result.stdout) if d["kind"] == "Deployment"]
    return deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]


def test_a_values_probe_keeps_exactly_one_handler(helm, tmp_path):
    accepted(render(tmp_path / "chart", BASE))
    chart = tmp_path / "chart" / "out"
    both = "services:\n  api:\n    probes: {liveness: {tcpSocket: {port: http}}}\n"
    stderr = refused(render(tmp_path, BASE, both), tmp_path)
    # helm merges the values file into the spec's probe: both handlers, which Kubernetes refuses
    assert stderr.startswith(
        "v.yaml:3: services.api.probes.liveness: error: a probe needs exactly one of "
        "httpGet, tcpSocket or exec (found: httpGet, tcpSocket)\n"
        "  fix: a values file merges into the spec's probe: set the handler it replaces to null"
    )
    assert {"httpGet", "tcpSocket"} <= liveness(helm, chart, tmp_path / "v.yaml").keys()
    one = "services:\n  api:\n    probes: {liveness: {httpGet: null, tcpSocket: {port: http}}}\n"
    accepted(render(tmp_path, BASE, one))
    probe = liveness(helm, chart, tmp_path / "v.yaml")
    assert probe["tcpSocket"] == {"port": "http"} and "httpGet" not in probe
    none = "services:\n  api:\n    probes: {liveness: {httpGet: null}}\n"
    assert "(found: none)" in refused(render(tmp_path / "none", BASE, none), tmp_path / "none")


def test_a_values_image_needs_a_tag_or_a_digest_as_the_chart_does(helm, tmp_path):
    accepted(render(tmp_path / "chart", BASE))
    chart = tmp_path / "chart" / "out"
    untagged = "services:\n  api:\n    image: {tag: ''}\n"
    stderr = refused(render(tmp_path, BASE, untagged), tmp_path)
    assert stderr.startswith(
        "v.yaml:3: services.api.image: error: an image needs a tag or a digest\n"
        "  fix: add tag: v1.2.3 (or a digest)"
    )
    result = helm("template", "demo", chart, "-f", tmp_path / "v.yaml")
    assert result.returncode != 0 and "image team/api needs a tag or a digest" in result.stderr
    pinned = f"services:\n  api:\n    image: {{tag: '', digest: '{SHA}'}}\n"
    accepted(render(tmp_path, BASE, pinned))
    result = helm("template", "demo", chart, "-f", tmp_path / "v.yaml")
    assert result.returncode == 0, result.stderr
    assert f'image: "registry.example.com/team/api@{SHA}"' in result.stdout


# Values Kubernetes (or helm) refuses: each bad file in bad_values/ (its located message and
# fix are in test_environments' snapshots), and the nearest values everything accepts.
BAD_VALUES = Path(__file__).parent / "bad_values"
NEAREST_VALID = {
    "bad-annotation-key": (
        "services:\n  treaty:\n    podAnnotations:\n      example.com/owned-by: a b\n"
    ),
    "bad-node-selector": "services:\n  treaty:\n    nodeSelector:\n      disk_type: ssd\n",
    "bad-selector-key": (
        "networkPolicy:\n  prometheus:\n    namespaceSelector:\n      matchExpressions:\n"
        "        - {key: example.com/team, operator: In, values: [obs, '']}\n"
    ),
    "selector-in-without-values": (
        "networkPolicy:\n  prometheus:\n    namespaceSelector:\n      matchExpressions:\n"
        "        - {key: example.com/team, operator: Exists}\n"
    ),
    "bad-service-account-name": "services:\n  treaty:\n    serviceAccount:\n      name: a.treaty\n",
    "bad-fullname-override": "fullnameOverride: x-y\n",
    "bad-name-override": "nameOverride: vault-mesh\n",
    "long-fullname-override": f"fullnameOverride: {'a' * 41}\n",
    "bad-topology-key": "topologySpread:\n  topologyKey: topology.kubernetes.io/zone\n",
    "localhost-seccomp-without-profile": (
        "podSecurityContext:\n  seccompProfile:\n    type: Localhost\n"
        "    localhostProfile: profiles/audit.json\n"
    ),
    "seccomp-profile-without-localhost": (
        "podSecurityContext:\n  seccompProfile:\n    type: RuntimeDefault\n"
    ),
    "common-label-overrides-chart": "commonLabels:\n  example.com/part-of: aurora\n",
    "pod-label-repeats-common-label": (
        "commonLabels:\n  team: payments\n"
        "services:\n  treaty:\n    podLabels:\n      squad: billing\n"
    ),
    "registry-with-scheme": (
        "services:\n  treaty:\n    image:\n      registry: registry.example.com:5000/mirror\n"
    ),
    "probe-port-undeclared": (
        "services:\n  treaty:\n    probes:\n      readiness:\n"
        "        httpGet:\n          port: 8080\n"
    ),
}
#: Rules across two keys that JSON Schema cannot say: helm renders them, Kubernetes refuses.
CHARTGEN_ONLY = {"pod-label-repeats-common-label"}


@pytest.mark.parametrize("name", sorted(NEAREST_VALID.keys() - CHARTGEN_ONLY))
def test_helm_refuses_through_the_schema_what_kubernetes_would_refuse(helm, default_chart, name):
    bad = BAD_VALUES / f"{name}.yaml"
    for command in (("template", "vm", default_chart), ("lint", "--strict", default_chart)):
        result = helm(*command, "-f", bad)
        assert result.returncode != 0, (command, result.stdout)
        assert "values don't meet the specifications of the schema" in result.stdout + (
            result.stderr
        )


def test_a_pod_label_repeating_a_common_label_renders_a_key_twice(helm, default_chart):
    result = helm(
        "template", "vm", default_chart, "-f", BAD_VALUES / "pod-label-repeats-common-label.yaml"
    )
    assert result.returncode == 0, result.stderr
    # kustomize and Flux's helm-controller refuse it (helm and kubectl keep the last value)
    with pytest.raises(DuplicateKeyError, match='found duplicate key "team"'):
        load_all(result.stdout)


def test_a_common_label_the_chart_sets_breaks_the_workloads_selector(helm, default_chart, tmp_path):
    values = tmp_path / "v.yaml"
    values.write_text("commonLabels:\n  app.kubernetes.io/name: other\n")
    result = helm("template", "vm", default_chart, "--skip-schema-validation", "-f", values)
    assert result.returncode == 0, result.stderr
    with pytest.raises(
        DuplicateKeyError, match=re.escape('duplicate key "app.kubernetes.io/name"')
    ):
        load_all(result.stdout)
    # helm and kubectl keep the last value: the pods leave their own workload's selector,
    # which Kubernetes refuses (a Deployment's selector must match its template's labels)
    workloads = [
        d
        for d in yaml.safe_load_all(result.stdout)
        if d and d["kind"] in ("Deployment", "StatefulSet")
    ]
    assert len(workloads) == 3
    for workload in workloads:
        selector = workload["spec"]["selector"]["matchLabels"]
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert selector["app.kubernetes.io/name"] != labels["app.kubernetes.io/name"] == "other"


def test_a_fullname_override_past_the_room_gives_services_one_name(helm, default_chart):
    result = helm(
        "template",
        "vm",
        default_chart,
        "--skip-schema-validation",
        "-f",
        BAD_VALUES / "long-fullname-override.yaml",
    )
    assert result.returncode == 0, result.stderr
    workloads = [d for d in load_all(result.stdout) if d["kind"] in ("Deployment", "StatefulSet")]
    names = {d["metadata"]["name"] for d in workloads}
    assert len(workloads) == 3 and len(names) == 1  # the chart cut all three to 63 characters


@pytest.mark.parametrize("name", sorted(NEAREST_VALID))
def test_the_nearest_valid_values_pass_chartgen_helm_and_kubernetes(
    helm, default_chart, default_render, name, tmp_path
):
    text = NEAREST_VALID[name]
    assert check_values_text(default_render.chart, "v.yaml", text) == []
    values = tmp_path / "v.yaml"
    values.write_text(text)
    assert helm("lint", "--strict", default_chart, "-f", values).returncode == 0
    result = helm("template", "vm", default_chart, "-f", values)
    assert result.returncode == 0, result.stderr
    for doc in load_all(result.stdout):  # no key twice, and Kubernetes' schema holds
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


@pytest.mark.parametrize("key", ["fullnameOverride", "nameOverride"])
def test_a_name_override_may_be_as_long_as_every_object_name_allows(
    helm, default_chart, default_render, key, tmp_path
):
    room = default_render.chart.values.name_room()
    assert default_render.chart.values.schema["properties"][key]["maxLength"] == room
    values = tmp_path / "v.yaml"
    for length, ok in ((room, True), (room + 1, False)):
        text = f"{key}: {'a' * length}\n"
        values.write_text(text)
        problems = check_values_text(default_render.chart, "v.yaml", text)
        assert (problems == []) == ok, problems
        assert (helm("template", "vm", default_chart, "-f", values).returncode == 0) == ok
    [problem] = problems
    assert problem.fix == f"shorten {key} to at most {room} characters"

"""Rules from the spec: validated at load, serialized as data, proven by promtool."""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from chartgen.checks.values import check_values_text
from chartgen.errors import ChartgenError
from chartgen.load import load_spec, load_texts
from chartgen.monitoring import promql
from chartgen.pipeline import generate, generate_from_files
from chartgen.spec import ExampleSeries
from chartgen.write import write_chart

from .conftest import ROOT, VALUES_FILES, find_tool
from .rulefiles import rule_files, write_rule_files
from .specdata import dump_yaml, load_all, minimal_service, minimal_spec

ALERT = {
    "alert": "ApiErrorsHigh",
    "expr": "api:errors:rate5m > $threshold",
    "params": {"threshold": 0.5},
    "for": "5m",
    "severity": "warning",
    "summary": "Errors high on {{ $labels.pod }}",
    "description": 'Pod {{ $labels.pod }} has {{ $value | humanize }} errors/s; "quoted"',
    "runbook": "https://runbooks.example.com/ApiErrorsHigh",
    "examples": [
        {
            "name": "fires at 1 error/s",
            "series": [{"series": 'api_errors_total{job="api", pod="a"}', "values": "0+60x30"}],
            "fires": [{"pod": "a"}],
        },
        {
            "name": "quiet at 1 error/min",
            "series": [{"series": 'api_errors_total{job="api", pod="a"}', "values": "0+1x30"}],
        },
    ],
}
SERVICE = minimal_service(
    metrics={
        "port": "http",
        "families": [
            {"name": "api_errors_total", "type": "counter", "help": "Errors."},
            {"name": "api_latency_seconds", "type": "histogram", "help": "Latency."},
        ],
    },
    recordingRules=[
        {
            "record": "api:errors:rate5m",
            "expr": 'sum by (pod) (rate(api_errors_total{job="api"}[5m]))',
        },
        {
            "record": "api:latency:p95",
            "expr": "histogram_quantile(0.95, sum by (le) (rate(api_latency_seconds_bucket[5m])))",
        },
    ],
    alerts=[ALERT],
)


def messages(service: dict) -> list[str]:
    with pytest.raises(ChartgenError) as caught:
        loaded = load_texts([("spec.yaml", dump_yaml(minimal_spec(service)))])
        generate(loaded.spec, loaded.sources.locate)
    return [f"{d.where.path}: {d.what}" for d in caught.value.diagnostics]


def with_alert(**changes) -> dict:
    service = copy.deepcopy(SERVICE)
    service["alerts"][0].update(changes)
    return service


@pytest.fixture(scope="module")
def chart(tmp_path_factory) -> Path:
    spec = tmp_path_factory.mktemp("spec") / "spec.yaml"
    spec.write_text(dump_yaml(minimal_spec(SERVICE)))
    out = tmp_path_factory.mktemp("chart") / "demo"
    write_chart(generate_from_files([spec]).files, out)
    return out


def promtool(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [find_tool("promtool"), *map(str, args)], capture_output=True, text=True, cwd=cwd
    )


def rendered_rules(helm, chart: Path, *args: str | Path) -> dict[str, str]:
    result = helm("template", "demo", chart, *args)
    assert result.returncode == 0, result.stderr
    return rule_files(result.stdout)


def test_rendered_rules_pass_promtool_lint(helm, chart, tmp_path):
    [path] = write_rule_files(rendered_rules(helm, chart), tmp_path)
    result = promtool("check", "rules", "--lint-fatal", path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 3 rules found" in result.stdout


def shipped_rule_test(helm, chart: Path, directory: Path, *args: str | Path) -> str:
    """Run the chart's rule test as shipped on its rules as rendered; promtool's output if it
    failed, empty if it passed."""
    write_rule_files(rendered_rules(helm, chart, *args), directory)
    (directory / "alerts.test.yaml").write_text(
        (chart / "rule-tests" / "alerts.test.yaml").read_text()
    )
    result = promtool("test", "rules", "alerts.test.yaml", cwd=directory)
    assert (result.returncode == 0) == ("SUCCESS" in result.stdout), result.stdout
    return "" if result.returncode == 0 else result.stdout + result.stderr


def test_the_alert_examples_pass_as_promtool_unit_tests(helm, chart, tmp_path):
    [text] = rendered_rules(helm, chart).values()
    assert "{{ $value | humanize }}" in text  # the rules keep their annotations
    assert shipped_rule_test(helm, chart, tmp_path) == ""


def test_the_examples_check_the_alerts_series_labels_not_annotations(chart):
    test = load_all((chart / "rule-tests" / "alerts.test.yaml").read_text())[0]
    fires, quiet = (group["promql_expr_test"] for group in test["tests"])
    selector = 'ALERTS{alertname="ApiErrorsHigh", alertstate="firing"}'
    assert fires == [
        {
            "expr": f"{selector} # fires at 1 error/s",
            "eval_time": "15m",
            "exp_samples": [
                {
                    "labels": 'ALERTS{alertname="ApiErrorsHigh", pod="a", severity="warning", '
                    'alertstate="firing"}',
                    "value": 1,
                }
            ],
        }
    ]
    assert quiet == [
        {"expr": f"{selector} # quiet at 1 error/min", "eval_time": "15m", "exp_samples": []}
    ]
    assert all("alert_rule_test" not in group for group in test["tests"])


FIRING = '{__name__="ALERTS", alertname="ApiErrorsHigh", alertstate="firing", pod="a", %s} 1E+00'
FIRES, QUIET = "fires at 1 error/s", "quiet at 1 error/min"


@pytest.mark.parametrize(
    ("setting", "mismatch"),
    [
        ("alerts.ApiErrorsHigh.threshold=5", (FIRES, FIRING % 'severity="warning"', "nil")),
        ("alerts.ApiErrorsHigh.for=20m", (FIRES, FIRING % 'severity="warning"', "nil")),
        ("alerts.ApiErrorsHigh.threshold=0", (QUIET, "nil", FIRING % 'severity="warning"')),
        (
            "alerts.ApiErrorsHigh.severity=critical",
            (FIRES, *(FIRING % f'severity="{s}"' for s in ("warning", "critical"))),
        ),
    ],
)
def test_rules_that_break_an_example_fail_the_shipped_test(
    helm, chart, tmp_path, setting, mismatch
):
    example, expected, got = mismatch
    failed = shipped_rule_test(helm, chart, tmp_path, "--set", setting)
    assert failed.count("FAILED") == 1
    assert (
        f'expr: "ALERTS{{alertname=\\"ApiErrorsHigh\\", alertstate=\\"firing\\"}} # {example}", '
        "time: 15m,\n"
        f"        exp: {expected}\n"
        f"        got: {got}\n"
    ) in failed


def test_an_alert_label_value_of_any_characters_is_expected_verbatim(helm, tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(dump_yaml(minimal_spec(with_alert(labels={"team": 'api "core" \\ ü, {x}'}))))
    out = tmp_path / "demo"
    write_chart(generate_from_files([spec]).files, out)
    assert shipped_rule_test(helm, out, tmp_path / "run") == ""
    test_file = out / "rule-tests" / "alerts.test.yaml"
    test = load_all(test_file.read_text())[0]
    [sample] = test["tests"][0]["promql_expr_test"][0]["exp_samples"]
    assert 'team="api \\"core\\" \\\\ ü, {x}"' in sample["labels"]
    sample["labels"] = sample["labels"].replace("api", "apI")
    test_file.write_text(dump_yaml(test))
    failed = shipped_rule_test(helm, out, tmp_path / "wrong")
    assert (
        'exp: {__name__="ALERTS", alertname="ApiErrorsHigh", alertstate="firing", pod="a", '
        'severity="warning", team="apI \\"core\\" \\\\ ü, {x}"} 1E+00'
    ) in failed


def test_prometheus_templates_reach_the_rule_file_verbatim(helm, chart):
    [text] = rendered_rules(helm, chart).values()
    [group] = [g for g in load_all(text)[0]["groups"] if g["name"] == "api.alerts"]
    annotations = group["rules"][0]["annotations"]
    assert annotations["summary"] == ALERT["summary"]
    assert annotations["description"] == ALERT["description"]


def test_values_override_threshold_for_and_severity(helm, chart, tmp_path):
    values = tmp_path / "env.yaml"
    values.write_text(
        dump_yaml(
            {"alerts": {"ApiErrorsHigh": {"threshold": 2.5, "for": "1m", "severity": "critical"}}}
        )
    )
    [text] = rendered_rules(helm, chart, "-f", values).values()
    [rule] = next(g for g in load_all(text)[0]["groups"] if g["name"] == "api.alerts")["rules"]
    assert (rule["expr"], rule["for"], rule["labels"]["severity"]) == (
        "api:errors:rate5m > 2.5",
        "1m",
        "critical",
    )


def test_a_decimal_threshold_given_with_set_reaches_the_rule(helm, chart):
    # helm --set passes decimals as strings; the schema takes them as numbers
    [text] = rendered_rules(helm, chart, "--set", "alerts.ApiErrorsHigh.threshold=0.25").values()
    [rule] = next(g for g in load_all(text)[0]["groups"] if g["name"] == "api.alerts")["rules"]
    assert rule["expr"] == "api:errors:rate5m > 0.25"


def test_a_disabled_alert_is_left_out_and_the_file_stays_valid(helm, chart, tmp_path):
    [path] = write_rule_files(
        rendered_rules(helm, chart, "--set", "alerts.ApiErrorsHigh.enabled=false"), tmp_path
    )
    groups = load_all(path.read_text())[0]["groups"]
    assert [g["name"] for g in groups] == ["api.recording"]
    assert promtool("check", "rules", "--lint-fatal", path).returncode == 0


def test_values_schema_refuses_a_bad_threshold_or_duration(helm, chart):
    for setting in (
        "alerts.ApiErrorsHigh.for=5min",
        "alerts.ApiErrorsHigh.for=",
        "alerts.ApiErrorsHigh.severity=page",
        "alerts.ApiErrorsHigh.threshold=high",
        "alerts.ApiErrorsHigh.threshold=0.5.1",
    ):
        result = helm("template", "demo", chart, "--set", setting)
        assert result.returncode != 0, setting
        assert "alerts/ApiErrorsHigh" in result.stderr


def test_prometheus_operator_objects_are_behind_toggles(helm, chart):
    default = helm("template", "demo", chart)
    assert "kind: PrometheusRule" not in default.stdout
    assert "kind: ServiceMonitor" not in default.stdout
    result = helm(
        "template",
        "demo",
        chart,
        "--set",
        "rules.prometheusRule.enabled=true",
        "--set",
        "serviceMonitor.enabled=true",
    )
    kinds = {d["kind"]: d for d in load_all(result.stdout)}
    assert [g["name"] for g in kinds["PrometheusRule"]["spec"]["groups"]] == [
        "api.recording",
        "api.alerts",
    ]
    assert kinds["ServiceMonitor"]["spec"]["endpoints"] == [
        {"port": "http", "path": "/metrics", "interval": "30s"}
    ]
    assert kinds["ServiceMonitor"]["spec"]["jobLabel"] == "app.kubernetes.io/component"


@pytest.mark.parametrize(
    "expr",
    [
        'api_errors_total{job="$threshold"} > $threshold',
        "label_replace(api_errors_total, 'x', '$threshold', 'job', '.*') > $threshold",
        'api_errors_total{job="a\\"$threshold"} > $threshold',
    ],
)
def test_a_parameter_inside_quotes_is_refused(expr):
    assert messages(with_alert(expr=expr)) == [
        "services[0].alerts[0].expr: $threshold inside quotes: a parameter is a number, which a "
        "string or label value cannot hold"
    ]


def test_a_quoted_dollar_that_is_no_parameter_and_a_parameter_after_quotes_pass():
    loaded = load_texts(
        [
            (
                "spec.yaml",
                dump_yaml(
                    minimal_spec(with_alert(expr='api_errors_total{job=~"a$"} > $threshold'))
                ),
            )
        ]
    )
    assert generate(loaded.spec, loaded.sources.locate).files
    assert promql.params_in_strings('x{a="\\\\"} > $p') == []


def test_invalid_promql_is_refused_with_its_spec_path():
    assert messages(with_alert(expr="rate(api_errors_total[5m] > $threshold")) == [
        "services[0].alerts[0].expr: invalid PromQL: unclosed left parenthesis"
    ]


def test_an_undeclared_metric_is_refused_with_its_spec_path():
    assert messages(with_alert(expr="api_errorz_total > $threshold")) == [
        "services[0].alerts[0].expr: reads 'api_errorz_total', which no service declares "
        "and no recording rule produces"
    ]


def test_a_duplicate_alert_is_refused():
    service = copy.deepcopy(SERVICE)
    service["alerts"].append(copy.deepcopy(ALERT))
    assert messages(service) == [
        "services[0].alerts[1]: duplicate alert 'ApiErrorsHigh' (also services[0].alerts[0])"
    ]


@pytest.mark.parametrize("duration", ["1.5h", "5min", "5"])
def test_a_bad_duration_is_refused(duration):
    found = messages(with_alert(**{"for": duration}))
    assert len(found) == 1 and found[0].startswith("services[0].alerts[0].for: ")
    assert "is not a Prometheus duration" in found[0]


def test_parameters_must_be_declared_and_used():
    assert messages(with_alert(expr="api:errors:rate5m > $limit")) == [
        "services[0].alerts[0].expr: unknown parameter(s) $limit"
    ]
    assert messages(with_alert(params={"threshold": 0.5, "spare": 1})) == [
        "services[0].alerts[0].params.spare: parameter 'spare' is not used in expr"
    ]


def test_a_recording_rule_with_for_is_refused():
    service = copy.deepcopy(SERVICE)
    service["recordingRules"][0]["for"] = "5m"
    [message] = messages(service)
    assert message.startswith("services[0].recordingRules[0]: a recording rule has no 'for'")


@pytest.mark.parametrize(
    "record", ["errors_rate", "api:", "api::rate", "api:errors:rate:5m:x", ":errors:rate"]
)
def test_record_names_follow_level_metric_operations(record):
    service = copy.deepcopy(SERVICE)
    service["recordingRules"][1]["record"] = record
    found = messages(service)
    assert found and found[0].startswith("services[0].recordingRules[1].record: ")


def test_a_label_with_value_templates_is_refused():
    assert messages(with_alert(labels={"team": "{{ $value }}"})) == [
        "services[0].alerts[0].labels.team: an alert label holds a template ($value or {{ }})"
    ]


VAULTMESH_SEVERITIES = {
    "PsiFieldPredictionErrorHigh": "warning",
    "PsiFieldPodDrift": "warning",
    "PsiFieldDown": "critical",
    "PsiFieldDensityAnomaly": "warning",
    "PsiFieldTemporalEntropyHigh": "warning",
    "TreatyFillRateLow": "warning",
    "TreatyFillRateCritical": "critical",
    "TreatyRttHigh": "warning",
    "TreatyRttCritical": "critical",
    "TreatyDropRateHigh": "critical",
    "TreatyProvenanceLow": "warning",
    "TreatyNoRequests": "warning",
}
VAULTMESH_RECORDS = {
    *(f"psi:{m}" for m in ("density:avg", "density:min", "density:max", "prediction_error:avg")),
    *(f"psi:{m}" for m in ("prediction_error:max", "pod_drift:abs", "coherence:avg")),
    *(f"psi:{m}" for m in ("continuity:avg", "entropy:avg", "futurity:avg")),
    *(f"treaty:{m}" for m in ("fill_rate:avg", "fill_rate:min", "rtt:avg", "rtt:p95", "rtt:p99")),
    *(f"treaty:{m}" for m in ("drop_rate:5m", "drop_rate:1h", "requests:rate_5m")),
    *(f"treaty:{m}" for m in ("requests:rate_1h", "provenance:avg", "routed:rate_5m")),
    "vaultmesh:l3_availability",
}


def test_the_vaultmesh_spec_holds_exactly_the_inventory(default_render):
    spec = load_spec().spec
    families = [f for s in spec.services if s.metrics for f in s.metrics.families]
    assert len(families) == 19
    assert {s.name: len(s.metrics.families) for s in spec.services if s.metrics} == {
        "scheduler": 6,
        "psi-field": 7,
        "treaty": 6,
    }
    assert {r.record for s in spec.services for r in s.recordingRules} == VAULTMESH_RECORDS
    assert sum(len(s.recordingRules) for s in spec.services) == 22
    assert {a.alert: a.severity for s in spec.services for a in s.alerts} == VAULTMESH_SEVERITIES


@pytest.mark.parametrize("values", VALUES_FILES, ids=[p.stem for p in VALUES_FILES])
def test_each_environment_ships_rules_that_pass_promtool(helm, default_chart, values, tmp_path):
    files = rendered_rules(helm, default_chart, "-f", values)
    assert sorted(files) == ["psi-field.rules.yaml", "scheduler.rules.yaml", "treaty.rules.yaml"]
    paths = write_rule_files(files, tmp_path / "rules")
    result = promtool("check", "rules", "--lint-fatal", *paths)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == 3
    groups = [g for text in files.values() for g in load_all(text)[0]["groups"]]
    rules = [r for g in groups if not g["name"].startswith("sloth-slo-") for r in g["rules"]]
    assert sum("record" in r for r in rules) == 22
    assert sum("alert" in r for r in rules) == 12
    # and each SLO the environment keeps: SLI, meta and alert groups
    slo_groups = [g["name"] for g in groups if g["name"].startswith("sloth-slo-")]
    assert len(slo_groups) == 3 * (2 if values.stem == "staging" else 3)
    assert sum("annotations" in r for r in rules) == 12
    assert shipped_rule_test(helm, default_chart, tmp_path / "unit", "-f", values) == ""


def test_staging_tunes_pod_drift_and_keeps_every_alert(helm, default_chart):
    files = rendered_rules(helm, default_chart, "-f", ROOT / "values" / "staging.yaml")
    rules = {
        r["alert"]: r
        for text in files.values()
        for g in load_all(text)[0]["groups"]
        for r in g["rules"]
        if "alert" in r and not g["name"].startswith("sloth-slo-")
    }
    assert set(rules) == set(VAULTMESH_SEVERITIES)
    assert rules["PsiFieldPodDrift"]["expr"] == "psi:pod_drift:abs > 0.6"


def test_a_parameter_may_not_shadow_an_alert_setting():
    found = messages(with_alert(expr="api:errors:rate5m > $severity", params={"severity": 1}))
    assert found == [
        "services[0].alerts[0]: parameter name(s) severity clash with the alert's own values"
    ]


def test_names_pydantic_keeps_for_itself_are_ordinary_names(helm, tmp_path):
    """Services, alerts and parameters are keys of the values model's mappings, not fields."""
    alert = with_alert(alert="Config", expr="api:errors:rate5m > $json", params={"json": 0.5})
    spec = tmp_path / "spec.yaml"
    spec.write_text(dump_yaml(minimal_spec(alert, minimal_service("schema"))))
    generated = generate_from_files([spec])
    out = tmp_path / "demo"
    write_chart(generated.files, out)
    values = tmp_path / "env.yaml"
    values.write_text("services:\n  schema: {replicas: 3}\nalerts:\n  Config: {json: 0.9}\n")
    assert check_values_text(generated.chart, "env.yaml", values.read_text()) == []
    result = helm("template", "demo", out, "-f", values)
    assert result.returncode == 0, result.stderr
    assert "api:errors:rate5m > 0.9" in result.stdout
    assert "replicas: 3" in result.stdout
    values.write_text("services:\n  schemas: {replicas: 3}\n")
    [problem] = check_values_text(generated.chart, "env.yaml", values.read_text())
    assert (problem.where.line, problem.where.path, problem.what) == (
        2,
        "services.schemas",
        "unknown field",
    )
    assert problem.fix == "did you mean 'schema'? allowed fields here: api, schema"
    assert helm("template", "demo", out, "-f", values).returncode != 0


def promtool_unit_test(directory: Path, expr: str, series: str, values: str) -> str:
    """Run promtool's unit test of one alert on one series; its output, empty if it passed."""
    rule = {"alert": "A", "expr": expr}
    (directory / "rules.yaml").write_text(dump_yaml({"groups": [{"name": "g", "rules": [rule]}]}))
    test = {
        "interval": "1m",
        "input_series": [{"series": series, "values": values}],
        "alert_rule_test": [{"eval_time": "5m", "alertname": "A"}],
    }
    (directory / "test.yaml").write_text(dump_yaml({"rule_files": ["rules.yaml"], "tests": [test]}))
    result = promtool("test", "rules", "test.yaml", cwd=directory)
    return "" if result.returncode == 0 else result.stdout + result.stderr


@pytest.mark.parametrize(
    ("expr", "kind"),
    [
        ("api_errors_total[5m]", "a range vector"),
        ("(rate(api_errors_total[1m])[5m:1m])", "a range vector"),
        ('"errors"', "a string"),
    ],
)
def test_a_rule_whose_result_is_no_vector_or_scalar_is_refused_as_promtool_does(
    expr, kind, tmp_path
):
    what = f"the expression gives {kind}; a rule's result must be a vector or scalar"
    assert messages(with_alert(expr=expr, params={})) == [f"services[0].alerts[0].expr: {what}"]
    service = copy.deepcopy(SERVICE)
    service["recordingRules"][0]["expr"] = expr
    assert messages(service) == [f"services[0].recordingRules[0].expr: {what}"]
    series = ('api_errors_total{pod="a"}', "0+1x10")
    out = promtool_unit_test(tmp_path, expr, *series)
    assert "rule result is not a vector or scalar" in out
    # the same series through an instant vector: promtool runs it
    assert promtool_unit_test(tmp_path, "rate(api_errors_total[5m]) > 1", *series) == ""


NOTATIONS = [
    *("1", "1 2 3", "0+10x30", "10-1x5", "5x20", "_", "_x3", "stale", "1 _ stale 2", "  1\t2 "),
    *("1e3 -1 +1 .5 5.", "Inf -Inf nan", "Inf+1x3", "1.5+0.5x10", "-1+1e3x3", "1x5 2x5", ""),
    *("1 then 0", "stalex3", "Stale", "1+1", "1x", "x5", "0+-1x3", "1x-5", "1x3.5", "1x1e3"),
    *("1,2", "Infx3", "nanx3", "_+1x3", "1+ 1x3", "1_000", "1ms", "{{schema:1}}"),
]
SERIES = [
    *('x{a="1"}', "x", '{__name__="x"}', "x{}", 'x{a="1",}', 'x:y{a="1", b="2"}', '{a="1"}'),
    *('x{a="1"', 'x{a=~"1"}', 'x{a!="1"}', 'x{a="1"}[5m]', "sum(x)", "x + y", "1"),
]


@pytest.mark.parametrize(
    ("series", "values"),
    [('x{a="1"}', v) for v in NOTATIONS] + [(s, "1x5") for s in SERIES],
)
def test_example_series_are_refused_exactly_when_promtool_cannot_load_them(
    series, values, tmp_path
):
    try:
        ExampleSeries.model_validate({"series": series, "values": values})
        refused = False
    except ValidationError as err:
        refused = True
        assert err.errors()[0]["msg"].startswith("promtool cannot ")
    out = promtool_unit_test(tmp_path, "vector(0) > 1", series, values)
    assert refused == ("parse error" in out), out
    assert refused or out == ""


def test_an_alert_label_the_alert_sets_itself_is_refused():
    assert messages(with_alert(labels={"team": "api", "severity": "page"})) == [
        "services[0].alerts[0].labels.severity: the alert sets 'severity' itself; "
        "a label of that name would be dropped"
    ]
    [message] = messages(with_alert(labels={"alertname": "Other"}))
    assert message.startswith("services[0].alerts[0].labels.alertname: the alert sets 'alertname'")

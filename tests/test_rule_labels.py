"""Labels in rule and alert expressions: each one named must be on the series it reads."""

from __future__ import annotations

import copy

import promql_parser
import pytest

from chartgen.checks.spec import check_spec
from chartgen.errors import Diagnostic, Location
from chartgen.load import load_spec, load_texts
from chartgen.monitoring import promql, series
from chartgen.monitoring.series import catalog
from chartgen.spec import ChartSpec

from .specdata import dump_yaml, minimal_service, minimal_spec

SIGNALS = ["instance", "job", "kind", "namespace", "pod"]
FAMILIES = [
    {"name": "harbinger_signals_total", "type": "counter", "help": "Signals.", "labels": ["kind"]},
    {"name": "harbinger_build_info", "type": "gauge", "help": "Build.", "labels": ["version"]},
    {"name": "harbinger_latency_seconds", "type": "histogram", "help": "Latency."},
    {"name": "harbinger_rpc_seconds", "type": "summary", "help": "RPC time."},
]
RULES = [
    {
        "record": "harbinger:signals:rate5m",
        "expr": "sum by (job) (rate(harbinger_signals_total[5m]))",
    },
]


def alert(expr: str, **params: float) -> dict:
    """An alert on the expression, with examples enough to be valid."""
    series_text = 'harbinger_signals_total{job="harbinger", pod="a"}'
    return {
        "alert": "HarbingerSignalsHigh",
        "expr": expr,
        "params": params,
        "severity": "warning",
        "summary": "Signals high",
        "description": "Signals high",
        "runbook": "https://runbooks.example.com/HarbingerSignalsHigh",
        "examples": [
            {
                "name": "fires",
                "series": [{"series": series_text, "values": "0+60x30"}],
                "fires": [{}],
            },
            {"name": "quiet", "series": [{"series": series_text, "values": "0x30"}]},
        ],
    }


def harbinger(rules: list[dict] | None = None, alerts: list[dict] | None = None) -> dict:
    """A spec of one service exposing the harbinger families, with these rules and alerts."""
    service = minimal_service(
        "harbinger",
        metrics={"port": "http", "families": copy.deepcopy(FAMILIES)},
        recordingRules=copy.deepcopy(RULES if rules is None else rules),
        alerts=alerts or [],
    )
    return minimal_spec(service)


def diagnostics(spec_data: dict) -> list[Diagnostic]:
    """The spec checks' findings for the spec, written to spec.yaml, located in that file."""
    loaded = load_texts([("spec.yaml", dump_yaml(spec_data))])
    return check_spec(loaded.spec, catalog(loaded.spec), loaded.sources.locate)


def problems(spec_data: dict) -> list[tuple[str, str, str]]:
    """(spec path, what, fix) of each finding."""
    return [(d.where.path, d.what, d.fix) for d in diagnostics(spec_data)]


def alert_problems(expr: str) -> list[tuple[str, str]]:
    """(what, fix) of each finding on an alert with this expression, all at its expr."""
    found = problems(harbinger(alerts=[alert(expr)]))
    assert {path for path, _, _ in found} <= {"services[0].alerts[0].expr"}
    return [(what, fix) for _, what, fix in found]


def readable() -> dict[str, series.Series]:
    return dict(series.read_labels(ChartSpec.model_validate(harbinger())))


def test_a_typo_in_an_alert_matcher_is_an_error_at_the_exprs_line_listing_the_labels():
    expr = 'harbinger_signals_total{job="harbinger", knd="a"} > $threshold'
    spec = harbinger(alerts=[alert(expr, threshold=1)])
    [found] = diagnostics(spec)
    text = dump_yaml(spec).splitlines()
    assert found.where == Location("spec.yaml", found.where.line, "services[0].alerts[0].expr")
    assert text[found.where.line - 1].strip() == f"expr: {expr}"
    assert found.what == "'harbinger_signals_total' has no label 'knd' (named in a matcher)"
    assert found.fix == f"did you mean 'kind'? its labels are: {', '.join(SIGNALS)}"
    assert not found.warning


def test_a_typo_in_a_recording_rules_by_is_an_error_at_its_expr():
    rule = {
        "record": "harbinger:signals:rate5m",
        "expr": "sum by (job, namespace, knd) (rate(harbinger_signals_total[5m]))",
    }
    assert problems(harbinger(rules=[rule])) == [
        (
            "services[0].recordingRules[0].expr",
            "'harbinger_signals_total' has no label 'knd' (named in by (job, namespace, knd))",
            f"did you mean 'kind'? its labels are: {', '.join(SIGNALS)}",
        )
    ]


def test_an_alert_on_a_recording_rule_may_use_only_the_labels_the_rule_keeps():
    assert alert_problems('harbinger:signals:rate5m{pod="a"} > 1') == [
        (
            "'harbinger:signals:rate5m' has no label 'pod' (named in a matcher)",
            "its labels are: job",
        )
    ]
    assert alert_problems('harbinger:signals:rate5m{job="harbinger"} > 1') == []


def test_a_rule_reading_another_rule_is_checked_against_the_labels_that_rule_keeps():
    rules = [
        *RULES,
        {"record": "harbinger:signals:by_kind", "expr": "sum by (kind) (harbinger:signals:rate5m)"},
    ]
    assert problems(harbinger(rules=rules)) == [
        (
            "services[0].recordingRules[1].expr",
            "'harbinger:signals:rate5m' has no label 'kind' (named in by (kind))",
            "its labels are: job",
        )
    ]


def test_a_rule_keeps_its_own_labels_besides_those_of_its_expression():
    rules = [{**RULES[0], "labels": {"tier": "edge"}}]
    spec = harbinger(rules=rules, alerts=[alert('harbinger:signals:rate5m{tier="edge"} > 1')])
    assert problems(spec) == []
    known = series.read_labels(ChartSpec.model_validate(spec))
    assert known["harbinger:signals:rate5m"].labels == {"job", "tier"}


@pytest.mark.parametrize(
    ("expr", "what", "fix"),
    [
        (
            "sum without (knd) (harbinger_signals_total)",
            "'harbinger_signals_total' has no label 'knd' (named in without (knd))",
            f"did you mean 'kind'? its labels are: {', '.join(SIGNALS)}",
        ),
        (
            "sum by (pod) (sum by (job) (harbinger_signals_total))",
            "'sum by (job) (harbinger_signals_total)' has no label 'pod' (named in by (pod))",
            "its labels are: job",
        ),
        (
            "rate(harbinger_signals_total[5m]) / on (kind) harbinger_build_info",
            "'harbinger_build_info' has no label 'kind' (named in on (kind))",
            "its labels are: instance, job, namespace, pod, version",
        ),
        (
            "rate(harbinger_signals_total[5m]) / ignoring (knd) harbinger_build_info",
            "neither 'harbinger_signals_total' nor 'harbinger_build_info' has a label 'knd' "
            "(named in ignoring (knd))",
            "did you mean 'kind'? its labels are: instance, job, kind, namespace, pod, version",
        ),
        (
            "rate(harbinger_signals_total[5m]) * on (pod) group_left (versoin) "
            "harbinger_build_info",
            "'harbinger_build_info' has no label 'versoin' (named in group_left (versoin))",
            "did you mean 'version'? its labels are: instance, job, namespace, pod, version",
        ),
        (
            "harbinger_build_info * on (pod) group_right (kind) rate(harbinger_signals_total[5m])",
            "'harbinger_build_info' has no label 'kind' (named in group_right (kind))",
            "its labels are: instance, job, namespace, pod, version",
        ),
        (
            'label_replace(harbinger_signals_total, "type", "$1", "knd", "(.*)")',
            "'harbinger_signals_total' has no label 'knd' (named in label_replace)",
            f"did you mean 'kind'? its labels are: {', '.join(SIGNALS)}",
        ),
        (
            'label_join(harbinger_signals_total, "where", "/", "namespace", "pdo")',
            "'harbinger_signals_total' has no label 'pdo' (named in label_join)",
            f"did you mean 'pod'? its labels are: {', '.join(SIGNALS)}",
        ),
        (
            "histogram_quantile(0.9, sum by (job) (rate(harbinger_latency_seconds_bucket[5m])))",
            "'sum by (job) (rate(harbinger_latency_seconds_bucket[5m]))' has no label 'le' "
            "(named in histogram_quantile, which reads le)",
            "its labels are: job",
        ),
        (
            "sum(harbinger_signals_total) > on (job) count by (job) (up)",
            "'sum(harbinger_signals_total)' has no label 'job' (named in on (job))",
            "its labels are: none",
        ),
    ],
)
def test_each_clause_names_labels_of_the_series_it_reads(expr, what, fix):
    assert alert_problems(expr) == [(what, fix)]


@pytest.mark.parametrize(
    "expr",
    [
        'rate(harbinger_signals_total{kind="a", instance=~".+"}[5m]) > 1',
        "sum by (job, namespace, kind) (rate(harbinger_signals_total[5m])) > 1",
        'sum by (type) (label_replace(harbinger_signals_total, "type", "$1", "kind", "(.*)"))',
        'label_replace(harbinger_signals_total, "tier", "edge", "", "") > 1',
        'sum by (where) (label_join(harbinger_signals_total, "where", "/", "namespace", "pod"))',
        "harbinger_signals_total * on (pod) group_left (version) harbinger_build_info > 1",
        "sum by (version) (harbinger_signals_total * on (pod) group_left (version) "
        "harbinger_build_info)",
        "histogram_quantile(0.9, sum by (le, job) (rate(harbinger_latency_seconds_bucket[5m])))",
        'harbinger_rpc_seconds{quantile="0.99"} > 1',
        "sum by (job) (rate(harbinger_latency_seconds_sum[5m])) > 1",
        '{__name__="harbinger_signals_total", kind="a"} > 1',
        "sum by (__name__) (harbinger_signals_total) > 1",
        'up{job="harbinger", instance="10.0.0.1:8080"} == 0',
        "sum by (kind) (topk(3, harbinger_signals_total)) > 1",
        'sum by (job) (absent(harbinger_signals_total{job="harbinger"}))',
        'count_values by (job) ("build", harbinger_build_info) > 1',
        "harbinger_signals_total unless on (pod) harbinger_build_info",
        "time() - harbinger_signals_total{pod!=''} > 1",
        'max_over_time(harbinger_signals_total{kind="a"}[10m:1m]) > 1',
        'sum by (alertname) (ALERTS{alertstate="firing"}) > 1',
    ],
)
def test_labels_the_series_carry_pass(expr):
    assert alert_problems(expr) == []


def test_an_undeclared_series_is_reported_once_not_again_for_its_labels():
    assert alert_problems('harbinger_signalz_total{knd="a"} > 1') == [
        (
            "reads 'harbinger_signalz_total', which no service declares and no recording rule "
            "produces",
            "declare it under the exposing service's metrics.families, or fix the name",
        )
    ]


KEPT = {
    "rate(harbinger_signals_total[5m])": set(SIGNALS),
    "sum by (job) (harbinger_signals_total)": {"job"},
    "sum(harbinger_signals_total)": set(),
    "sum without (pod, instance) (harbinger_signals_total)": set(SIGNALS) - {"pod", "instance"},
    "sum without (pod) (ALERTS)": None,
    "topk by (job) (3, harbinger_signals_total)": set(SIGNALS),
    'count_values by (job) ("build", harbinger_build_info)': {"job", "build"},
    "1 - harbinger_signals_total": set(SIGNALS),
    "time() - harbinger_signals_total": set(SIGNALS),
    "harbinger_signals_total / on (job, pod) harbinger_build_info": {"job", "pod"},
    "harbinger_signals_total / ignoring (kind) harbinger_build_info": set(SIGNALS) - {"kind"},
    "harbinger_signals_total * on (pod) group_left (version) harbinger_build_info": {
        *SIGNALS,
        "version",
    },
    "harbinger_build_info * on (pod) group_right (version) harbinger_signals_total": {
        *SIGNALS,
        "version",
    },
    "harbinger_signals_total and harbinger_build_info": set(SIGNALS),
    "harbinger_signals_total or harbinger_build_info": {*SIGNALS, "version"},
    "harbinger_signals_total > harbinger_build_info": set(SIGNALS),
    'label_replace(harbinger_signals_total, "type", "$1", "kind", "(.*)")': {*SIGNALS, "type"},
    'label_join(harbinger_signals_total, "where", "/", "namespace", "pod")': {*SIGNALS, "where"},
    "histogram_quantile(0.9, rate(harbinger_latency_seconds_bucket[5m]))": set(SIGNALS) - {"kind"},
    'absent(harbinger_signals_total{job="harbinger", kind=~"a|b"})': {"job"},
    "vector(1)": set(),
    "sum by (job) (ALERTS)": {"job"},
    "ALERTS": None,
}


@pytest.mark.parametrize(("expr", "labels"), KEPT.items())
def test_an_expression_keeps_the_labels_prometheus_keeps(expr, labels):
    assert series.output_labels(expr, readable()) == labels


def test_scraped_series_carry_job_namespace_pod_and_instance_and_their_own():
    known = readable()
    base = {"instance", "job", "namespace", "pod"}
    assert known["up"].labels == base
    assert known["harbinger_latency_seconds_bucket"].labels == base | {"le"}
    assert known["harbinger_latency_seconds_count"].labels == base
    assert known["harbinger_rpc_seconds"].labels == base | {"quantile"}
    assert known["harbinger_rpc_seconds_sum"].labels == base
    assert "harbinger_latency_seconds" not in known  # a histogram is read through its series
    assert known["ALERTS"].labels is None  # each alert's own labels


def test_the_missing_labels_of_a_parsed_expression_name_the_clause():
    tree = promql_parser.parse('harbinger_signals_total{knd="a"} or on (knd) up')
    found = series.missing_labels(tree, readable())
    assert [(m.label, m.named_in, m.reads) for m in found] == [
        ("knd", "a matcher", ("'harbinger_signals_total'",)),
        ("knd", "on (knd)", ("'harbinger_signals_total'",)),
        ("knd", "on (knd)", ("'up'",)),
    ]


def test_a_dashboard_by_suggests_the_closest_label_like_rules_do():
    spec = harbinger()
    target = {"metric": "harbinger_signals_total", "by": ["knd"]}
    spec["dashboards"] = [
        {
            "name": "h",
            "title": "H",
            "rows": [{"title": "R", "panels": [{"title": "P", "targets": [target]}]}],
        }
    ]
    assert problems(spec) == [
        (
            "dashboards[0].rows[0].panels[0].targets[0].by",
            "'harbinger_signals_total' has no label 'knd'",
            f"did you mean 'kind'? its labels are: {', '.join(SIGNALS)}",
        )
    ]


def test_the_embedded_spec_names_only_labels_its_series_carry():
    spec = load_spec().spec
    known = series.read_labels(spec)
    exprs = [r.expr for s in spec.services for r in s.recordingRules]
    exprs += [promql.substitute(a.expr, a.params) for s in spec.services for a in s.alerts]
    for expr in exprs:
        assert series.missing_labels(promql_parser.parse(expr), known) == [], expr
    assert known["psi:pod_drift:abs"].labels == {"job", "namespace"}
    assert known["vaultmesh:l3_availability"].labels == {"namespace"}
    assert known["treaty:drop_rate:5m"].labels == {"job", "namespace"}

"""chartgen's PromQL is Prometheus 2.42's: each expression of the table is refused by chartgen
exactly when the real promtool 2.42 refuses it, or an evaluation of it fails."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

from chartgen.checks.spec import check_spec
from chartgen.errors import Location, format_loc
from chartgen.monitoring import dialect
from chartgen.monitoring.series import catalog
from chartgen.spec import ChartSpec, ExampleSeries

from .conftest import find_tool
from .specdata import minimal_service, minimal_spec
from .test_hostile_input import ALERT_PATH, line, refused, render, spec_with

#: One argument list per 2.42 function, as an alert or a dashboard would call it.
CALLS = {
    "absent": "(x)",
    "clamp": "(x, 0, 1)",
    "clamp_max": "(x, 1)",
    "clamp_min": "(x, 0)",
    "histogram_fraction": "(0, 1, x)",
    "histogram_quantile": "(0.9, x)",
    "holt_winters": "(x[5m], 0.5, 0.5)",
    "label_join": '(x, "c", "-", "a", "b")',
    "label_replace": '(x, "c", "$1", "a", "(.*)")',
    "pi": "()",
    "predict_linear": "(x[5m], 60)",
    "quantile_over_time": "(0.5, x[5m])",
    "round": "(x, 0.1)",
    "scalar": "(x)",
    "time": "()",
    "vector": "(1)",
}
RANGE_FUNCTIONS = {"changes", "delta", "deriv", "idelta", "increase", "irate", "rate", "resets"}
AGGREGATION_CALLS = {
    "bottomk": "bottomk(1, x)",
    "count_values": 'count_values("v", x)',
    "quantile": "quantile(0.5, x)",
    "topk": "topk(1, x)",
}


def call(function: str) -> str:
    """A well-typed call of a 2.42 function."""
    if function in CALLS:
        return function + CALLS[function]
    ranged = function.endswith("_over_time") or function in RANGE_FUNCTIONS
    return f"{function}(x[5m])" if ranged else f"{function}(x)"


VALID = [
    *(call(function) for function in sorted(dialect.FUNCTIONS)),
    *(AGGREGATION_CALLS.get(op, f"{op} by (a) (x)") for op in sorted(dialect.AGGREGATIONS)),
    "rate(x[5m])",
    "x offset 5m",
    "x offset -1h30m",
    "max_over_time(x[1h:1m])",
    "max_over_time(x[1h:])",
    "rate(x[1d1h] @ 100)",
    "x @ end()",
    "x > 300",
    "x > 0x1F",
    "x > 1e3",
    'x{a=~"(?P<n>x)"}',
    'x{a=~"\\\\d+\\\\.\\\\w"}',
    'x{a=~"\\\\pL|\\\\p{Greek}"}',
    'x{a=~"[(?<]"}',
    "x{a=~`\\d+\\.\\w|\\pL`}",
    'x{a=~`"\\(?<n>`, b=`\n`}',
    "label_replace(x, `c`, `$1`, `a`, `\\w(?P<n>.*)`)",
    'x{a=~"\\\\(?<n>"}',
    'x{a=~"\\\\\\\\C"}',
    'x{a=~"(?i)X|(?U)a+"}',
    'x{a=~"[[:alpha:]]{2,1000}"}',
    'x{a=~"' + "(" * 150 + "a" + ")" * 150 + '"}',
    'label_replace(x, "c", "$1", "a", "' + "(" * 500 + "a" + ")" * 500 + '")',
    'x{a="b", b!~"c"} # a comment with "{\\"q.z\\"}" and [300]',
    'x{a="{\\"x.y\\"}"}',
    'x{a="offset 300"}',
    'label_replace(x, "c", "$1", "a", "a)|(b")',
    'label_replace(x, "__name__", "$1", "a", "(?P<n>.*)")',
    'label_join(x, "c", "-", "a")',
    'count_values("le", x)',
    "sum by (a) (x) * on (a) group_left (b) y",
]
REFUSED = [
    # 1. functions and aggregations newer than 2.42
    'sort_by_label(x, "a")',
    'sort_by_label_desc(x, "a")',
    "limitk(2, x)",
    "limit_ratio(0.5, x)",
    "info(x)",
    "mad_over_time(x[5m])",
    "double_exponential_smoothing(x[5m], 0.5, 0.5)",
    "ts_of_max_over_time(x[5m])",
    "ts_of_min_over_time(x[5m])",
    "ts_of_last_over_time(x[5m])",
    "ts_of_first_over_time(x[5m])",
    "first_over_time(x[5m])",
    "histogram_avg(x)",
    "histogram_stddev(x)",
    "histogram_stdvar(x)",
    'histogram_quantiles(x, "q", 0.5)',
    "integral(x[5m])",
    "x > step()",
    "x > range()",
    # 2. a range, offset or step without a unit, and a duration where a number stands
    "rate(x[300])",
    "rate(x[0x10])",
    "rate(x[1e2])",
    "x offset 300",
    "x offset -300",
    "x offset 0",
    "max_over_time(x[1h:60])",
    "x > 5m",
    "x @ 5m",
    # 3. regexes Go's RE2 refuses
    'x{a=~"(?<n>x)"}',
    "x{a=~`(?<n>x)`}",
    "label_replace(x, `c`, `$1`, `a`, `\\w(?<n>.*)`)",
    'x{a=~"a(?=b)"}',
    'x{a!~"(?<!a)b"}',
    'x{a=~"(a)\\\\1"}',
    'x{a=~"a++"}',
    'x{a=~"(?>a)"}',
    'x{a=~"\\\\C"}',
    'x{a=~"\\\\p{Vithkuqi}"}',
    'x{a=~"\\\\p{Kawi}"}',
    'x{a=~"(?:a{100}){100}"}',
    'x{a=~"a)|(b"}',
    'x{a=~"' + "(" * 1000 + "a" + ")" * 1000 + '"}',
    # 4. quoted names
    '{"foo.bar"}',
    '{"a.b"="x"}',
    'x{"a.b"="x"}',
    '{"x"}',
    'x{"a"="1"}',
    'sum by ("a") (x)',
    'x * on ("a") group_left ("b") y',
    'x{a="1" or b="2"}',
    # 5. what loads but fails every evaluation
    'label_replace(x, "c", "$1", "a", "(?<n>.*)")',
    'label_replace(x, "c", "$1", "a", "(")',
    'label_replace(x, "c", "$1", "a", "a++")',
    'label_replace(x, "c", "$1", "a", "' + "(" * 1000 + "a" + ")" * 1000 + '")',
    'label_replace(x, "c.d", "$1", "a", "(.*)")',
    'label_replace(x, "", "$1", "a", "(.*)")',
    'label_join(x, "c-d", "-", "a")',
    'label_join(x, "c", "-", "a.b")',
    'count_values("a b", x)',
    'count_values("1v", x)',
]
#: Input series for the evaluation promtool runs of each expression it loads.
SERIES = [
    {"series": 'x{a="1", b="2"}', "values": "1+1x10"},
    {"series": 'y{a="1", b="3"}', "values": "2+1x10"},
]


def chartgen_problems(expr: str) -> list[str]:
    """What chartgen reports on a spec whose recording rule and dashboard query are expr."""
    families = [
        {"name": "x", "type": "gauge", "help": "X.", "labels": ["a", "b", "le"]},
        {"name": "y", "type": "gauge", "help": "Y.", "labels": ["a", "b"]},
    ]
    service = minimal_service(
        metrics={"port": "http", "families": families},
        recordingRules=[{"record": "demo:x:check", "expr": expr}],
    )
    panel = {"title": "Check", "targets": [{"expr": expr}]}
    dashboard = {"name": "check", "title": "Check", "rows": [{"title": "R", "panels": [panel]}]}
    spec = ChartSpec.model_validate(minimal_spec(service) | {"dashboards": [dashboard]})
    found = check_spec(spec, catalog(spec), lambda loc: Location(path=format_loc(loc)))
    return [f"{d.where.path}: {d.what} (fix: {d.fix})" for d in found]


def promtool_refuses(expr: str, directory: Path) -> str:
    """promtool 2.42's complaint: loading a rule of expr, or evaluating expr on two series."""
    promtool = find_tool("promtool")
    rules = {"groups": [{"name": "g", "rules": [{"record": "demo:x:check", "expr": expr}]}]}
    (directory / "rules.yaml").write_text(json.dumps(rules))
    check = subprocess.run(
        [promtool, "check", "rules", "rules.yaml"], capture_output=True, text=True, cwd=directory
    )
    if check.returncode != 0:
        return check.stdout + check.stderr
    test = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": SERIES,
                "promql_expr_test": [{"expr": expr, "eval_time": "5m", "exp_samples": []}],
            }
        ],
    }
    (directory / "test.yaml").write_text(json.dumps(test))
    result = subprocess.run(
        [promtool, "test", "rules", "test.yaml"], capture_output=True, text=True, cwd=directory
    )
    # A result other than the empty one expected is fine; an error of the evaluation is not.
    output = result.stdout + result.stderr
    return output if ", err: " in output or "could not" in output else ""


@pytest.mark.parametrize("expr", VALID)
def test_what_prometheus_2_42_runs_is_accepted(expr, tmp_path):
    assert promtool_refuses(expr, tmp_path) == ""
    assert chartgen_problems(expr) == []


@pytest.mark.parametrize("expr", REFUSED)
def test_what_prometheus_2_42_refuses_or_cannot_evaluate_is_refused_in_rules_and_dashboards(
    expr, tmp_path
):
    assert promtool_refuses(expr, tmp_path) != ""
    found = chartgen_problems(expr)
    rule = [p for p in found if p.startswith("services[0].recordingRules[0].expr: ")]
    query = [p for p in found if p.startswith("dashboards[0].rows[0].panels[0].targets[0].expr: ")]
    # The same dialect problems in both places; a rule also has its labels checked.
    assert query, found
    assert {p.split(": ", 1)[1] for p in query} <= {p.split(": ", 1)[1] for p in rule}


@pytest.mark.parametrize(
    ("expr", "what", "fix"),
    [
        (
            'sort_by_label(x, "a")',
            "sort_by_label() is not in Prometheus 2.42",
            "use sort_desc(...) or sort(...), which order by value",
        ),
        (
            "rate(x[300])",
            "[300]: 300 has no unit, and Prometheus 2.42 reads only a duration there",
            "write 300s",
        ),
        (
            'x{a=~"(?<n>x)"}',
            "the regex '(?<n>x)' uses (?<name>...), which Go's regexp lacks",
            "name a group (?P<name>...), the form Go reads",
        ),
        (
            '{"a.b"="x"}',
            'the quoted name "a.b": Prometheus 2.42 reads names only unquoted',
            "Prometheus 2.42 names hold letters, digits and '_'; read the series by such a name",
        ),
        (
            'count_values("a b", x)',
            "count_values: 'a b' is not a label name; every evaluation fails",
            "write letters, digits and '_', not starting with a digit",
        ),
    ],
)
def test_each_refusal_says_what_2_42_lacks_and_how_to_write_it(expr, what, fix):
    assert f"services[0].recordingRules[0].expr: {what} (fix: {fix})" in chartgen_problems(expr)


@pytest.mark.parametrize(
    ("query", "refused"),
    [
        ("sum(rate(x[$__rate_interval]))", False),
        ("sum(increase(x[$__range])) / $__range_s", False),
        ("x * $__interval_ms > ${__range_ms}", False),
        ("x offset $__range_s", True),
    ],
)
def test_grafana_macros_stand_for_durations_or_numbers_as_named(query, refused):
    found = [p for p in chartgen_problems(query) if p.startswith("dashboards[0]")]
    assert bool(found) == refused, found


@pytest.mark.parametrize(
    ("series", "refused"), [('x{"a.b"="1"}', True), ('{"x.y"}', True), ('x{a="1"}', False)]
)
def test_an_example_series_is_refused_exactly_when_promtool_cannot_load_it(
    series, refused, tmp_path
):
    (tmp_path / "rules.yaml").write_text("groups: []\n")
    loads = {"expr": "vector(1)", "eval_time": "1m", "exp_samples": [{"value": 1}]}
    test = {
        "rule_files": ["rules.yaml"],
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": series, "values": "1x5"}],
                "promql_expr_test": [loads],
            }
        ],
    }
    (tmp_path / "test.yaml").write_text(json.dumps(test))
    result = subprocess.run(
        [find_tool("promtool"), "test", "rules", "test.yaml"], capture_output=True, cwd=tmp_path
    )
    assert (result.returncode != 0) == refused
    try:
        TypeAdapter(ExampleSeries).validate_python({"series": series, "values": "1x5"})
    except ValidationError as err:
        assert refused, err
        assert "promtool cannot load the series" in str(err)
    else:
        assert not refused


@pytest.mark.parametrize(
    "expr",
    [
        'max_over_time(api_queue_depth{job="api"}[$threshold]) > 1',
        'max_over_time(api_queue_depth{job="api"}[1h:$threshold]) > 1',
        'api_queue_depth{job="api"} offset -$threshold > 1',
    ],
)
def test_a_parameter_as_a_duration_is_refused_as_promtool_refuses_the_number_it_becomes(
    expr, tmp_path
):
    number = expr.replace("$threshold", "10")
    assert promtool_refuses(number.replace("api_queue_depth", "x"), tmp_path) != ""
    old = 'expr: api_queue_depth{job="api"} > $threshold'
    text = spec_with((old, f"expr: '{expr}'"))
    stderr = refused(render(tmp_path, text), tmp_path)
    assert stderr.startswith(
        f"s.yaml:{line(text, expr)}: {ALERT_PATH}.expr: error: $threshold as a range or offset: "
        "a parameter is a number, and Prometheus 2.42 reads only a duration there\n"
        "  fix: write the duration in expr (rate(x[5m])); parameters are thresholds\n"
    ), stderr

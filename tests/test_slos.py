"""Service-level objectives: Sloth's rules from the spec, per environment, proven over days."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from chartgen.load import load_texts
from chartgen.load.sources import read_spec_texts
from chartgen.monitoring import slos
from chartgen.monitoring.rules import SLO_EVALUATION_INTERVAL
from chartgen.pipeline import generate
from chartgen.spec import ChartSpec
from chartgen.write import write_chart

from .conftest import ROOT
from .rulefiles import write_rule_files
from .specdata import dump_yaml, load_all
from .test_rules import promtool, rendered_rules

SLI_WINDOWS = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]
META_RECORDS = [
    "slo:objective:ratio",
    "slo:error_budget:ratio",
    "slo:time_period:days",
    "slo:current_burn_rate:ratio",
    "slo:period_burn_rate:ratio",
    "slo:period_error_budget_remaining:ratio",
    "sloth_slo_info",
]
#: The SLOs VaultMesh ships: (service, slo, objective, period, alerts).
VAULTMESH_SLOS = [
    (
        "scheduler",
        "anchor-success",
        99,
        "30d",
        ["SchedulerAnchorSuccessBudgetBurnPage", "SchedulerAnchorSuccessBudgetBurnTicket"],
    ),
    (
        "psi-field",
        "availability",
        99.5,
        "28d",
        ["PsiFieldAvailabilityBudgetBurnPage", "PsiFieldAvailabilityBudgetBurnTicket"],
    ),
    (
        "treaty",
        "routing-success",
        99.9,
        "30d",
        ["TreatyRoutingSuccessBudgetBurnPage", "TreatyRoutingSuccessBudgetBurnTicket"],
    ),
]


def slo_groups(files: dict[str, str]) -> dict[str, list[dict]]:
    """The SLO rule groups of rule files, by name."""
    return {
        group["name"]: group["rules"]
        for text in files.values()
        for group in load_all(text)[0]["groups"] or []
        if group["name"].startswith("sloth-slo-")
    }


def run_tests(directory: Path, files: dict[str, str], document: dict) -> str:
    """Run a promtool test document on rule files; promtool's output if it failed, else ''."""
    write_rule_files(files, directory)
    (directory / "t.test.yaml").write_text(dump_yaml(document))
    result = promtool("test", "rules", "t.test.yaml", cwd=directory)
    assert (result.returncode == 0) == ("SUCCESS" in result.stdout), result.stdout
    return "" if result.returncode == 0 else result.stdout + result.stderr


def vaultmesh_spec(**changes: object) -> ChartSpec:
    """The embedded spec, with the treaty SLO changed."""
    spec = load_texts(read_spec_texts([])).spec
    treaty = next(s for s in spec.services if s.name == "treaty")
    slo = treaty.slos[0].model_copy(update=changes)
    services = [s.model_copy(update={"slos": [slo]}) if s is treaty else s for s in spec.services]
    return spec.model_copy(update={"services": services})


def slo_test_document(spec: ChartSpec, service: str, kinds: tuple[str, ...]) -> dict:
    """The chart's SLO test document holding only one service's cases whose names say ``kinds``."""
    document = generate(spec).files[f"rule-tests/{'slos.test.yaml'}"]
    loaded = load_all(document)[0]
    loaded["tests"] = [
        t
        for t in loaded["tests"]
        if f"slo {service}-" in t["name"] and any(k in t["name"] for k in kinds)
    ]
    return loaded


def test_vaultmesh_ships_three_slos_with_their_alerts(default_render):
    assert [
        (v.service, v.name, v.objective, v.period, list(v.alerts))
        for v in default_render.chart.slos
    ] == [tuple(slo) for slo in VAULTMESH_SLOS]


def test_each_slo_ships_sloths_groups_records_and_labels(helm, default_chart):
    groups = slo_groups(rendered_rules(helm, default_chart))
    for service, name, objective, period, alerts in VAULTMESH_SLOS:
        ids = {"sloth_id": f"{service}-{name}", "sloth_service": service, "sloth_slo": name}
        sli = groups[f"sloth-slo-sli-recordings-{service}-{name}"]
        windows = [*SLI_WINDOWS, period]
        assert [r["record"] for r in sli] == [f"slo:sli_error:ratio_rate{w}" for w in windows]
        # Each window's rule carries the ids and its window; the period's, Sloth's average of
        # the 5m ratios, takes the ids from the 5m rule it reads.
        assert [r["labels"] for r in sli[:-1]] == [{**ids, "sloth_window": w} for w in SLI_WINDOWS]
        assert sli[-1]["labels"] == {"sloth_window": period}
        assert "sum_over_time(slo:sli_error:ratio_rate5m{" in sli[-1]["expr"]
        meta = groups[f"sloth-slo-meta-recordings-{service}-{name}"]
        assert [r["record"] for r in meta] == META_RECORDS
        assert all(r["labels"].items() >= ids.items() for r in meta)
        assert meta[-1]["labels"]["sloth_objective"] == str(objective)
        assert meta[0]["expr"] == f"vector({objective} / 100)"
        rules = groups[f"sloth-slo-alerts-{service}-{name}"]
        assert [(r["alert"], r["labels"]) for r in rules] == [
            (alerts[0], {"severity": "critical", "sloth_severity": "page"}),
            (alerts[1], {"severity": "warning", "sloth_severity": "ticket"}),
        ]
        assert all(r["annotations"]["runbook_url"].startswith("https://") for r in rules)


@pytest.mark.parametrize(
    ("period", "factors"),
    [
        ("30d", ["14.4", "6", "3", "1"]),
        ("28d", ["13.44", "5.6", "2.8", "0.9333333333333333"]),
        ("7d", ["13.44", "3.5", "1.4", "0.98"]),
    ],
)
def test_burn_rate_factors_are_the_workbooks_shares_over_the_period(period, factors):
    windows = slos.WINDOWS[period]
    got = [str(float(w.factor(period))) for w in (*windows.page, *windows.ticket)]
    assert [f.removesuffix(".0") for f in got] == factors
    # The page's short and long windows, as the workbook and Sloth write them.
    assert [(w.short, w.long) for w in (*windows.page, *windows.ticket)] == [
        ("5m", "1h"),
        ("30m", "6h"),
        ("2h", "1d"),
        ("6h", "3d"),
    ]


def test_the_alert_thresholds_are_the_factors_times_the_budget(helm, default_chart):
    groups = slo_groups(rendered_rules(helm, default_chart))
    page, ticket = groups["sloth-slo-alerts-psi-field-availability"]
    assert page["expr"].count("> (13.44 * (1 - 99.5 / 100))") == 2
    assert page["expr"].count("> (5.6 * (1 - 99.5 / 100))") == 2
    assert ticket["expr"].count("> (2.8 * (1 - 99.5 / 100))") == 2
    assert ticket["expr"].count("> (0.9333333333333333 * (1 - 99.5 / 100))") == 2


def test_the_ticket_burn_lies_between_the_ticket_and_page_rates(default_render):
    for period, windows in slos.WINDOWS.items():
        burn = slos.ticket_burn(period)
        assert max(w.factor(period) for w in windows.ticket) < burn
        assert burn < min(w.factor(period) for w in windows.page)
        assert slos.PAGE_BURN > max(w.factor(period) for w in windows.page)
        assert slos.QUIET_BURN < min(w.factor(period) for w in windows.ticket)
    assert slos.ticket_burn("30d") == Fraction(4)


def test_the_slo_tests_feed_three_days_of_minutes_and_look_at_every_evaluation(default_chart):
    document = load_all((default_chart / "rule-tests" / "slos.test.yaml").read_text())[0]
    assert document["evaluation_interval"] == SLO_EVALUATION_INTERVAL
    names = [t["name"] for t in document["tests"]]
    assert names[:4] == [
        "slo scheduler-anchor-success (99%): 20 budgets (20% errors) page within the hour",
        "slo scheduler-anchor-success (99%): 4 budgets (4% errors) ticket and never page",
        "slo scheduler-anchor-success (99%): half a budget (0.5% errors) never alerts",
        "slo scheduler-anchor-success (99%): no events never alert, every SLO rule defined",
    ]
    assert len(names) == 12
    treaty = [t for t in document["tests"] if "treaty" in t["name"]]
    assert [t["name"].split(": ")[1] for t in treaty][:3] == [
        "20 budgets (2% errors) page within the hour",
        "4 budgets (0.4% errors) ticket and never page",
        "half a budget (0.05% errors) never alerts",
    ]
    for test in document["tests"]:
        assert test["interval"] == "1m"
        for series in test["input_series"]:
            assert series["values"].endswith("x4320")  # 3 days of 1-minute samples


def test_sloths_nan_on_a_quiet_service_fails_the_no_events_case(helm, default_chart, tmp_path):
    """The quiet-service departure is tested: Sloth's plain ratio leaves NaN and fails."""
    files = rendered_rules(helm, default_chart)
    text = files["treaty.rules.yaml"]
    document = load_all(text)[0]
    for group in document["groups"]:
        for rule in group["rules"]:
            if rule.get("record", "").startswith("slo:sli_error") and "or" in rule["expr"]:
                window = rule["labels"]["sloth_window"]
                total = f'sum(rate(treaty_requests_total{{job="treaty"}}[{window}]))'
                routed = f'sum(rate(treaty_requests_routed{{job="treaty"}}[{window}]))'
                rule["expr"] = f"({total} - {routed}) / ({total})"
    files["treaty.rules.yaml"] = dump_yaml(document)
    tests = load_all((default_chart / "rule-tests" / "slos.test.yaml").read_text())[0]
    quiet = [t for t in tests["tests"] if "treaty" in t["name"] and "no events" in t["name"]]
    output = run_tests(tmp_path, files, {**tests, "tests": quiet})
    assert 'got: {__name__="slo:sli_error:ratio_rate5m"' in output
    assert "NaN" in output


def test_an_objective_set_per_environment_reaches_the_rules_and_their_tests(helm, tmp_path):
    """Values set 99.5 on a chart whose spec says 99.9: the rules use 99.5, which the cases
    generated for 99.5 pass and the chart's cases for 99.9 fail (0.4% errors, under 1 budget
    of 99.5, open no ticket)."""
    chart = tmp_path / "chart"
    write_chart(generate(vaultmesh_spec()).files, chart)
    values = tmp_path / "v.yaml"
    values.write_text("slos:\n  treaty:\n    routing-success:\n      objective: 99.5\n")
    files = rendered_rules(helm, chart, "-f", values)
    [info] = [
        r
        for r in slo_groups(files)["sloth-slo-meta-recordings-treaty-routing-success"]
        if r["record"] == "sloth_slo_info"
    ]
    assert info["labels"]["sloth_objective"] == "99.5"
    for_99_5 = slo_test_document(vaultmesh_spec(objective=99.5), "treaty", ("ticket",))
    assert run_tests(tmp_path / "a", files, for_99_5) == ""
    for_99_9 = slo_test_document(vaultmesh_spec(), "treaty", ("ticket",))
    failed = run_tests(tmp_path / "b", files, for_99_9)
    assert 'alertname="TreatyRoutingSuccessBudgetBurnTicket"' in failed
    assert "got: nil" in failed


def chartgen_cli(cwd: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chartgen", *map(str, args)], capture_output=True, text=True, cwd=cwd
    )


def test_rule_tests_leave_out_the_slos_an_environment_switches_off(helm, default_chart, tmp_path):
    result = chartgen_cli(
        tmp_path,
        "rule-tests",
        default_chart,
        "--values",
        ROOT / "values" / "staging.yaml",
        "--out",
        "out",
    )
    assert result.returncode == 0, result.stderr
    names = [
        t["name"] for t in load_all((tmp_path / "out" / "slos.test.yaml").read_text())[0]["tests"]
    ]
    assert len(names) == 8
    assert not any("scheduler" in name for name in names)
    groups = slo_groups({p.name: p.read_text() for p in (tmp_path / "out").glob("*.rules.yaml")})
    assert not any("scheduler" in name for name in groups)


def test_rule_tests_generate_the_slo_tests_again_for_an_objective_the_values_change(
    helm, default_chart, tmp_path
):
    values = tmp_path / "v.yaml"
    values.write_text("slos:\n  treaty:\n    routing-success:\n      objective: 99.5\n")
    result = chartgen_cli(tmp_path, "rule-tests", default_chart, "--values", values, "--out", "out")
    assert result.returncode == 0, result.stderr
    tests = load_all((tmp_path / "out" / "slos.test.yaml").read_text())[0]["tests"]
    treaty = [t["name"] for t in tests if "treaty" in t["name"]]
    assert treaty[:2] == [
        "slo treaty-routing-success (99.5%): 20 budgets (10% errors) page within the hour",
        "slo treaty-routing-success (99.5%): 4 budgets (2% errors) ticket and never page",
    ]
    assert len(tests) == 12  # the other SLOs' tests as the chart ships them
    run = promtool("test", "rules", "slos.test.yaml", cwd=tmp_path / "out")
    assert run.returncode == 0, run.stdout + run.stderr


def test_rule_tests_need_the_spec_that_holds_an_slo_whose_objective_changes(
    default_chart, tmp_path
):
    values = tmp_path / "v.yaml"
    values.write_text("slos:\n  treaty:\n    routing-success:\n      objective: 99.5\n")
    (tmp_path / "other.yaml").write_text(BASE)
    result = chartgen_cli(
        tmp_path,
        "rule-tests",
        default_chart,
        "--values",
        values,
        "--spec",
        "other.yaml",
        "--out",
        "out",
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "SLO treaty-routing-success's objective to 99.5%" in result.stderr
    assert "fix: give the spec the chart was rendered from with --spec" in result.stderr


@pytest.mark.parametrize(
    ("values", "what"),
    [
        ("objective: 100", "100 is not a percentage between 0 and 100"),
        ("objective: 0", "0 is not a percentage between 0 and 100"),
        ("objective: '99.9'", "number"),
        ("enabled: 'no'", "boolean"),
    ],
)
def test_helm_refuses_an_objective_the_schema_refuses(helm, default_chart, tmp_path, values, what):
    path = tmp_path / "v.yaml"
    path.write_text(f"slos:\n  treaty:\n    routing-success:\n      {values}\n")
    result = helm("template", "vaultmesh", default_chart, "-f", path)
    assert result.returncode != 0
    assert "routing-success" in result.stderr
    refused = chartgen_cli(tmp_path, "render", "--values", path, "--check", "--out", default_chart)
    assert refused.returncode == 1, refused.stderr
    assert f"{path}:4: slos.treaty.routing-success." in refused.stderr
    assert what in refused.stderr.lower()


BASE = """\
chart: {name: demo, version: 1.0.0, appVersion: v1, description: Demo, imageRegistry: r.example.com}
services:
  - name: api
    image: {repository: team/api, tag: v1}
    resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {memory: 128Mi}}
    ports: [{name: http, port: 8080}]
    metrics:
      port: http
      families:
        - {name: api_requests_total, type: counter, help: Requests., labels: [code]}
        - {name: api_errors_total, type: counter, help: Errors.}
        - {name: api_queue_depth, type: gauge, help: Queue.}
        - {name: api_duration_seconds, type: histogram, help: Latency.}
    slos:
      - name: availability
        description: Requests served.
        objective: 99.9
        sli:
          events:
            errors: {metric: api_errors_total}
            total: {metric: api_requests_total}
        runbook: https://runbooks.example.com/api
"""


def render_spec(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "s.yaml").write_text(text)
    return chartgen_cli(tmp_path, "render", "--spec", "s.yaml", "--out", "out")


@pytest.mark.parametrize(
    ("old", "new", "where", "what"),
    [
        ("objective: 99.9", "objective: 100", "services[0].slos[0].objective", "between 0 and 100"),
        (
            "objective: 99.9",
            "objective: 99.9\n        period: 14d",
            "services[0].slos[0].period",
            "'30d'",
        ),
        (
            "errors: {metric: api_errors_total}",
            "errors: {metric: api_errors_totl}",
            "services[0].slos[0].sli.events.errors.metric",
            "did you mean 'api_errors_total'",
        ),
        (
            "errors: {metric: api_errors_total}",
            "errors: {metric: api_queue_depth}",
            "services[0].slos[0].sli.events.errors.metric",
            "is a gauge",
        ),
        (
            "errors: {metric: api_errors_total}",
            "errors: {metric: api_errors_total, matchers: {cod: '5xx'}}",
            "services[0].slos[0].sli.events.errors.matchers.cod",
            "has no label 'cod'",
        ),
        (
            "errors: {metric: api_errors_total}",
            "errors: {metric: api_errors_total}\n            good: {metric: api_requests_total}",
            "services[0].slos[0].sli.events",
            "errors",
        ),
        (
            "          events:",
            "          availability: {}\n          events:",
            "services[0].slos[0].sli",
            "exactly one of events, latency or availability",
        ),
        (
            "        runbook: https://runbooks.example.com/api",
            "        runbook: https://runbooks.example.com/api\n"
            "        alerting: {page: {name: ApiAvailabilityBudgetBurnTicket}}",
            "services[0].slos[0].alerting.ticket.name",
            "duplicate alert 'ApiAvailabilityBudgetBurnTicket'",
        ),
    ],
)
def test_a_bad_slo_is_refused_where_it_is_written(tmp_path, old, new, where, what):
    assert old in BASE
    result = render_spec(tmp_path, BASE.replace(old, new, 1))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "s.yaml:" in result.stderr and where in result.stderr, result.stderr
    assert what in result.stderr, result.stderr
    assert "\n  fix: " in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_latency_slo_matches_its_bound_as_go_and_python_clients_write_it(helm, tmp_path):
    text = BASE.replace(
        """          events:
            errors: {metric: api_errors_total}
            total: {metric: api_requests_total}""",
        """          latency: {histogram: api_duration_seconds, le: 1}""",
    )
    assert render_spec(tmp_path, text).returncode == 0
    files = rendered_rules(helm, tmp_path / "out")
    [sli] = [
        r
        for r in slo_groups(files)["sloth-slo-sli-recordings-api-availability"]
        if r["record"] == "slo:sli_error:ratio_rate5m"
    ]
    assert 'api_duration_seconds_bucket{job="api", le=~"1|1\\\\.0"}' in sli["expr"]
    # Both spellings of the bucket select it: a Python client's 1.0 and a Go client's 1.
    for le in ("1", "1.0"):
        document = {
            "rule_files": list(files),
            "evaluation_interval": "1m",
            "tests": [
                {
                    "interval": "1m",
                    "input_series": [
                        {"series": 'api_duration_seconds_count{job="api"}', "values": "0+100x60"},
                        {
                            "series": f'api_duration_seconds_bucket{{job="api", le="{le}"}}',
                            "values": "0+90x60",
                        },
                    ],
                    "promql_expr_test": [
                        {
                            # 10% of requests slower than 1s, in per mille
                            "expr": "round(1000 * slo:sli_error:ratio_rate5m"
                            '{sloth_id="api-availability"})',
                            "eval_time": "30m",
                            "exp_samples": [
                                {
                                    "labels": '{sloth_id="api-availability", sloth_service="api", '
                                    'sloth_slo="availability", sloth_window="5m"}',
                                    "value": 100,
                                }
                            ],
                        }
                    ],
                }
            ],
        }
        assert run_tests(tmp_path / le, files, document) == ""


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        (
            "description: Requests served.",
            "description: Requests served {{ .",
            "services[0].slos[0].description",
        ),
        (
            "        runbook: https://runbooks.example.com/api",
            "        runbook: https://runbooks.example.com/api\n"
            "        alerting: {ticket: {summary: 'Budget {{ humanise $value }}'}}",
            "services[0].slos[0].alerting.ticket.summary",
        ),
        (
            "        runbook: https://runbooks.example.com/api",
            "        runbook: https://runbooks.example.com/api\n"
            "        alerting: {page: {labels: {team: '{{ $labels.job }}'}}}",
            "services[0].slos[0].alerting.page.labels.team",
        ),
    ],
)
def test_an_slo_text_prometheus_cannot_parse_as_a_template_is_refused(tmp_path, old, new, where):
    result = render_spec(tmp_path, BASE.replace(old, new, 1))
    assert result.returncode == 1, result.stderr
    assert f"{where}: error: " in result.stderr
    assert "template" in result.stderr
    assert "\n  fix: " in result.stderr


def test_an_slo_text_with_a_template_reaches_prometheus_as_written(helm, tmp_path):
    text = BASE.replace(
        "description: Requests served.",
        "description: Requests served by {{ $labels.sloth_service }}.",
    )
    assert render_spec(tmp_path, text).returncode == 0, text
    files = rendered_rules(helm, tmp_path / "out")
    paths = write_rule_files(files, tmp_path / "rules")
    check = promtool("check", "rules", "--lint-fatal", *paths)
    assert check.returncode == 0, check.stdout + check.stderr
    page, _ = slo_groups(files)["sloth-slo-alerts-api-availability"]
    assert page["annotations"]["description"].startswith(
        "Requests served by {{ $labels.sloth_service }}."
    )

"""Dashboards from the spec: queries from declared series, layout, checks, and the sidecar."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import time
from collections.abc import Iterator
from itertools import combinations
from pathlib import Path

import kubernetes_validate
import pytest
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.dashboard import Dashboard

from chartgen.checks.spec import check_spec
from chartgen.errors import ChartgenError, Location, format_loc
from chartgen.load import load_spec
from chartgen.monitoring import dashboards, promql, series
from chartgen.monitoring.series import catalog
from chartgen.pipeline import generate
from chartgen.spec import ChartSpec, Threshold
from chartgen.write import write_chart

from .conftest import ROOT, VALUES_FILES, find_tool
from .promharness import Prometheus, exporters, scrape_targets
from .rulefiles import rule_files, write_rule_files
from .specdata import dump_yaml, load_all, minimal_service, minimal_spec
from .staging_state import NAMESPACE, healthy_staging
from .test_cli import run

NAMES = ["psi-field", "aurora-kpis", "scheduler", "slos"]
VALUES_IDS = [p.stem for p in VALUES_FILES]
SERVICE = minimal_service(
    metrics={
        "port": "http",
        "families": [
            {
                "name": "api_requests_total",
                "type": "counter",
                "help": "Requests.",
                "unit": "requests",
            },
            {
                "name": "api_latency_seconds",
                "type": "histogram",
                "help": "Latency.",
                "unit": "seconds",
            },
            {"name": "api_queue_depth", "type": "gauge", "help": "Queue.", "labels": ["queue"]},
        ],
    },
    recordingRules=[
        {"record": "api:queue:max", "expr": "max by (job, namespace) (api_queue_depth)"},
    ],
    alerts=[
        {
            "alert": "ApiQueueDeep",
            "expr": "api_queue_depth > $threshold",
            "params": {"threshold": 100},
            "severity": "critical",
            "summary": "Queue deep",
            "description": "Queue deep",
            "runbook": "https://runbooks.example.com/ApiQueueDeep",
            "examples": [
                {
                    "name": "fires",
                    "series": [{"series": "api_queue_depth", "values": "200x20"}],
                    "fires": [{}],
                },
                {"name": "quiet", "series": [{"series": "api_queue_depth", "values": "1x20"}]},
            ],
        }
    ],
)


def demo_spec(*panels: dict, variables: list[str] | None = None) -> dict:
    """A one-service spec with a dashboard of the given panels in one row."""
    spec = minimal_spec(copy.deepcopy(SERVICE))
    spec["dashboards"] = [
        {
            "name": "api",
            "title": "API",
            "variables": variables or [],
            "rows": [{"title": "Main", "panels": list(panels)}],
        }
    ]
    return spec


def panel(*targets: dict, **fields) -> dict:
    return {"title": "P", "targets": list(targets), **fields}


def problems(spec_data: dict) -> list[str]:
    spec = ChartSpec.model_validate(spec_data)
    return [f"{d.where.path}: {d.what}" for d in check_spec(spec, catalog(spec), _where)]


def _where(loc):
    return Location(path=format_loc(loc))


def built(spec_data: dict) -> dict:
    [view] = generate(ChartSpec.model_validate(spec_data)).chart.dashboards
    return json.loads(view.with_values())


def exprs(dashboard: dict) -> list[str]:
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


def declared_series(spec: ChartSpec) -> set[str]:
    names = set(promql.BUILTIN_SERIES)
    for service in spec.services:
        for family in service.metrics.families if service.metrics else []:
            names.update(family.series_names())
        names.update(rule.record for rule in service.recordingRules)
    return names | set(series.slo_records(spec))


def overlap(a: dict, b: dict) -> bool:
    return (
        a["x"] < b["x"] + b["w"]
        and b["x"] < a["x"] + a["w"]
        and a["y"] < b["y"] + b["h"]
        and b["y"] < a["y"] + a["h"]
    )


@pytest.fixture(scope="module")
def shipped(default_render) -> dict[str, dict]:
    """The VaultMesh dashboards with their default thresholds, by name."""
    return {v.name: json.loads(v.with_values()) for v in default_render.chart.dashboards}


# --- the VaultMesh dashboards ---------------------------------------------------------------


def test_the_chart_ships_the_three_vaultmesh_dashboards_and_the_slo_one(default_render, shipped):
    assert list(shipped) == NAMES
    titles = ["ψ-Field Metrics", "Aurora KPIs", "Scheduler", "SLOs"]
    assert [d["title"] for d in shipped.values()] == titles
    for name in NAMES:
        assert f"dashboards/{name}.json" in default_render.files
        assert f"templates/dashboards/{name}.yaml" in default_render.files


def test_uids_are_stable_unique_and_fit_grafana(shipped):
    uids = [d["uid"] for d in shipped.values()]
    assert uids == [
        "vaultmesh-psi-field",
        "vaultmesh-aurora-kpis",
        "vaultmesh-scheduler",
        "vaultmesh-slos",
    ]
    long = dashboards.uid("c" * 50, "platform-overview")
    assert len(long) == 40 and long == dashboards.uid("c" * 50, "platform-overview")
    assert long != dashboards.uid("c" * 50, "platform-overview-2")


@pytest.mark.parametrize("name", NAMES)
def test_panel_ids_are_unique_and_the_grid_has_no_overlap(shipped, name):
    panels = shipped[name]["panels"]
    ids = [p["id"] for p in panels]
    assert ids == list(range(1, len(ids) + 1))
    for p in panels:
        grid = p["gridPos"]
        assert grid["x"] >= 0 and grid["w"] >= 1 and grid["x"] + grid["w"] <= 24
    for a, b in combinations(panels, 2):
        assert not overlap(a["gridPos"], b["gridPos"]), (a["title"], b["title"])


@pytest.mark.parametrize("name", NAMES)
def test_every_query_parses_and_reads_only_declared_series(default_render, shipped, name):
    spec = load_spec().spec
    declared = declared_series(spec)
    queries = exprs(shipped[name]) + [
        v["definition"] for v in shipped[name]["templating"]["list"] if v["type"] == "query"
    ]
    assert queries
    variables = {v["name"] for v in shipped[name]["templating"]["list"]}
    for query in queries:
        selector = re.fullmatch(r"label_values\((.*), \w+\)", query)
        names = promql.metric_names(series.parsable(selector[1] if selector else query))
        assert names and names <= declared, query
        used = {m for m in re.findall(r"\$\{?(\w+)", query) if not m.startswith("__")}
        assert used <= variables, query


@pytest.mark.parametrize("name", NAMES)
def test_every_panel_uses_the_datasource_variable(shipped, name):
    templating = shipped[name]["templating"]["list"]
    assert templating[0] == {**templating[0], "name": "datasource", "type": "datasource"}
    for p in shipped[name]["panels"]:
        if p["type"] != "row":
            assert p["datasource"]["uid"] == "${datasource}"
            assert all(t["datasource"]["uid"] == "${datasource}" for t in p["targets"])


def lost(written, read_back, path: str = "") -> set[str]:
    """Paths (list indexes as []) of what a round trip dropped or changed."""
    if isinstance(written, dict) and isinstance(read_back, dict):
        return {
            found
            for key, value in written.items()
            for found in (
                {f"{path}.{key}"}
                if key not in read_back
                else lost(value, read_back[key], f"{path}.{key}")
            )
        }
    if isinstance(written, list) and isinstance(read_back, list) and len(written) == len(read_back):
        return {f for a, b in zip(written, read_back, strict=True) for f in lost(a, b, f"{path}[]")}
    return set() if written == read_back else {path}


def test_every_field_written_is_known_to_grafanas_dashboard_schema(shipped):
    # grafana-foundation-sdk: Grafana's own typed models of dashboards and each panel type
    register_default_plugins()
    types = {p["type"] for d in shipped.values() for p in d["panels"]}
    assert types == {"row", "timeseries", "stat", "gauge", "heatmap", "table"}
    for dashboard in shipped.values():
        read_back = json.loads(json.dumps(Dashboard.from_json(dashboard), cls=JSONEncoder))
        # the file marker, and the query text Grafana shows beside a variable (if it has one)
        queried = any(v["type"] == "query" for v in dashboard["templating"]["list"])
        definition = {".templating.list[].definition"} if queried else set()
        assert lost(dashboard, read_back) == {".$comment", *definition}


def test_counters_show_as_rates_histograms_as_quantiles_or_heatmaps_gauges_as_they_are(shipped):
    spec = load_spec().spec
    families = {f.name: f.type for s in spec.services for f in s.metrics.families}
    for dashboard in shipped.values():
        for p in dashboard["panels"]:
            for target in p.get("targets", []):
                expr = target["expr"]
                for name in promql.metric_names(series.parsable(expr)):
                    kind = families.get(name.removesuffix("_bucket"))
                    if kind == "counter":
                        assert "rate(" in expr, expr
                    elif kind == "histogram" and p["type"] == "heatmap":
                        assert (
                            expr.startswith("sum by (le) (rate(") and target["format"] == "heatmap"
                        )
                    elif kind == "histogram":
                        assert expr.startswith("histogram_quantile("), expr
    psi = [
        t["expr"]
        for p in shipped["psi-field"]["panels"]
        if p["title"] == "Density"
        for t in p["targets"]
    ]
    assert psi == ['psi_field_density{job="psi-field", namespace=~"$namespace", pod=~"$pod"}']


def panels_by_title(dashboard: dict) -> dict[str, dict]:
    return {p["title"]: p for p in dashboard["panels"] if p["type"] != "row"}


def test_the_scheduler_dashboard_has_its_panels(shipped):
    panels = panels_by_title(shipped["scheduler"])
    [rates] = [p for p in panels.values() if "per cadence" in p["title"]]
    assert [t["expr"].split("(rate(")[1].split("{")[0] for t in rates["targets"]] == [
        "vmsh_anchors_attempted_total",
        "vmsh_anchors_succeeded_total",
        "vmsh_anchors_failed_total",
    ]
    assert all(t["expr"].startswith("sum by (cadence) (rate(") for t in rates["targets"])
    backoff = panels["Backoff state"]
    assert backoff["type"] == "stat"
    assert backoff["targets"][0]["expr"].startswith("vmsh_backoff_state{")
    assert backoff["fieldConfig"]["defaults"]["thresholds"]["steps"][-1] == {
        "color": "red",
        "value": 7,
    }
    quantiles = panels["Anchor duration p50 / p95 / p99"]["targets"]
    assert [t["expr"][:26] for t in quantiles] == [
        "histogram_quantile(0.5, su",
        "histogram_quantile(0.95, s",
        "histogram_quantile(0.99, s",
    ]
    assert panels["Anchor duration distribution"]["type"] == "heatmap"
    since = panels["Time since last successful anchor"]
    assert since["targets"][0]["expr"].startswith(
        "time() - (vmsh_anchor_last_success_timestamp_seconds"
    )
    assert since["fieldConfig"]["defaults"]["unit"] == "s"
    variables = [v["name"] for v in shipped["scheduler"]["templating"]["list"]]
    assert variables == ["datasource", "namespace", "cadence"]


def test_the_psi_field_dashboard_shows_the_seven_gauges_per_pod_and_the_drift(shipped):
    spec = load_spec().spec
    [psi] = [s for s in spec.services if s.name == "psi-field"]
    gauges = {f.name for f in psi.metrics.families}
    assert len(gauges) == 7
    read = set()
    for p in shipped["psi-field"]["panels"]:
        for t in p.get("targets", []):
            read |= promql.metric_names(t["expr"])
            if p["type"] == "timeseries" and "pod=~" in t["expr"]:
                assert t["legendFormat"] == "{{pod}}"
    assert gauges | {"psi:pod_drift:abs"} <= read
    assert [v["name"] for v in shipped["psi-field"]["templating"]["list"]] == [
        "datasource",
        "namespace",
        "pod",
    ]


def test_the_aurora_dashboard_shows_fill_rate_rtt_drops_requests_and_provenance(shipped):
    read = {
        n for e in exprs(shipped["aurora-kpis"]) for n in promql.metric_names(series.parsable(e))
    }
    assert {
        "treaty:fill_rate:min",
        "treaty:rtt:avg",
        "treaty:rtt:p95",
        "treaty:rtt:p99",
        "treaty:drop_rate:5m",
        "treaty:requests:rate_5m",
        "treaty:routed:rate_5m",
        "treaty:provenance:avg",
        "treaty_fill_rate",
        "treaty_provenance_coverage",
    } <= read


def test_threshold_lines_follow_the_alerts_with_the_bad_side_colored(shipped):
    panels = panels_by_title(shipped["aurora-kpis"])
    fill = panels["Fill rate"]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    # TreatyFillRateCritical < 0.5 (critical), TreatyFillRateLow < 0.8 (warning)
    assert fill == [
        {"color": "red", "value": None},
        {"color": "orange", "value": 0.5},
        {"color": "green", "value": 0.8},
    ]
    rtt = panels["Round-trip time avg / p95 / p99"]["fieldConfig"]["defaults"]
    assert rtt["thresholds"]["steps"] == [
        {"color": "green", "value": None},
        {"color": "orange", "value": 500},
        {"color": "red", "value": 2000},
    ]
    assert rtt["custom"]["thresholdsStyle"] == {"mode": "dashed"}
    density = panels_by_title(shipped["psi-field"])["Density"]["fieldConfig"]["defaults"]
    assert density["thresholds"]["steps"] == [
        {"color": "orange", "value": None},
        {"color": "green", "value": 0.2},
        {"color": "orange", "value": 0.8},
    ]


def test_the_dashboard_file_holds_slots_where_alert_values_go(default_render):
    [aurora] = [v for v in default_render.chart.dashboards if v.name == "aurora-kpis"]
    assert '"value": "@chartgen:alerts.TreatyFillRateLow.threshold"' in aurora.text
    assert {(s.alert, s.param, s.default) for s in aurora.slots} >= {
        ("TreatyFillRateLow", "threshold", 0.8),
        ("TreatyRttHigh", "threshold", 500),
    }
    filled = json.loads(aurora.with_values({("TreatyFillRateLow", "threshold"): 0.7}))
    assert "@chartgen" not in json.dumps(filled)
    steps = panels_by_title(filled)["Fill rate"]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps[-1] == {"color": "green", "value": 0.7}


# --- generation rules on small specs ---------------------------------------------------------


def test_queries_and_units_follow_the_metric_type():
    dashboard = built(
        demo_spec(
            panel({"metric": "api_requests_total", "by": ["pod"]}),
            panel({"metric": "api_latency_seconds", "quantiles": [0.9]}),
            panel({"metric": "api_queue_depth", "by": ["queue"], "aggregate": "max"}),
            panel({"metric": "api:queue:max"}),
            panel({"metric": "api_latency_seconds"}, type="heatmap"),
            variables=["namespace", "queue"],
        )
    )
    panels = dashboard["panels"][1:]
    assert [(t["expr"], t["legendFormat"]) for p in panels for t in p["targets"]] == [
        (
            'sum by (pod) (rate(api_requests_total{job="api", namespace=~"$namespace"}'
            "[$__rate_interval]))",
            "{{pod}}",
        ),
        (
            "histogram_quantile(0.9, sum by (le) (rate(api_latency_seconds_bucket"
            '{job="api", namespace=~"$namespace"}[$__rate_interval])))',
            "p90",
        ),
        (
            'max by (queue) (api_queue_depth{job="api", namespace=~"$namespace", queue=~"$queue"})',
            "{{queue}}",
        ),
        ('api:queue:max{namespace=~"$namespace"}', "api:queue:max"),
        (
            'sum by (le) (rate(api_latency_seconds_bucket{job="api", namespace=~"$namespace"}'
            "[$__rate_interval]))",
            "{{le}}",
        ),
    ]
    assert [p["fieldConfig"]["defaults"]["unit"] for p in panels] == [
        "reqps",
        "s",
        "short",
        "short",
        "s",
    ]
    variables = dashboard["templating"]["list"]
    assert [v.get("definition") for v in variables] == [
        None,
        'label_values(api_requests_total{job="api"}, namespace)',
        'label_values(api_queue_depth{job="api", namespace=~"$namespace"}, queue)',
    ]


def test_a_histogram_legend_names_each_quantile_with_q():
    target = {"metric": "api_latency_seconds", "by": ["pod"], "legend": "$q {{pod}}"}
    [_, quantiles] = built(demo_spec(panel(target)))["panels"]
    assert [t["legendFormat"] for t in quantiles["targets"]] == [
        "p50 {{pod}}",
        "p95 {{pod}}",
        "p99 {{pod}}",
    ]


def test_a_table_merges_instant_queries_into_one_column_each():
    table = panel(
        {"metric": "api_queue_depth"}, {"metric": "api:queue:max", "legend": "max"}, type="table"
    )
    [_, built_table] = built(demo_spec(table))["panels"]
    assert [(t["instant"], t["format"]) for t in built_table["targets"]] == [(True, "table")] * 2
    assert built_table["transformations"][1]["options"]["renameByName"] == {
        "Value #A": "api_queue_depth",
        "Value #B": "max",
    }


def test_panels_wrap_at_24_columns_and_rows_stack():
    spec = demo_spec(
        panel({"metric": "api_queue_depth"}, width=16, height=4),
        panel({"metric": "api_queue_depth"}, width=16, height=6),
        panel({"metric": "api_queue_depth"}, width=8, height=3),
    )
    spec["dashboards"][0]["rows"].append(
        {"title": "Two", "panels": [panel({"metric": "api_queue_depth"})]}
    )
    grids = [p["gridPos"] for p in built(spec)["panels"]]
    assert grids == [
        {"h": 1, "w": 24, "x": 0, "y": 0},
        {"h": 4, "w": 16, "x": 0, "y": 1},
        {"h": 6, "w": 16, "x": 0, "y": 5},
        {"h": 3, "w": 8, "x": 16, "y": 5},
        {"h": 1, "w": 24, "x": 0, "y": 11},
        {"h": 8, "w": 12, "x": 0, "y": 12},
    ]


def test_recording_rule_labels_are_read_from_their_expression():
    known = series.catalog(ChartSpec.model_validate(demo_spec(panel({"metric": "api:queue:max"}))))
    assert known["api:queue:max"].labels == {"job", "namespace"}
    assert series.output_labels("sum without (pod) (api_queue_depth)", known) == {
        "job",
        "namespace",
        "instance",
        "queue",
    }
    assert series.output_labels("api_queue_depth > 3", known) == {
        "job",
        "namespace",
        "pod",
        "instance",
        "queue",
    }
    assert series.output_labels("time() - max by (job) (api_queue_depth)", known) == {"job"}


def test_grafana_legends_reach_the_json_verbatim():
    dashboard = built(
        demo_spec(panel({"metric": "api_queue_depth", "legend": "{{pod}} / {{queue}}"}))
    )
    assert dashboard["panels"][1]["targets"][0]["legendFormat"] == "{{pod}} / {{queue}}"


# --- checks ----------------------------------------------------------------------------------


def test_a_dashboard_reading_an_undeclared_metric_is_refused_with_its_spec_path():
    assert problems(demo_spec(panel({"metric": "api_requestz_total"}))) == [
        "dashboards[0].rows[0].panels[0].targets[0].metric: reads 'api_requestz_total', which no "
        "service declares and no recording rule produces"
    ]
    assert problems(demo_spec(panel({"expr": "sum(rate(api_errors_total[5m]))"}))) == [
        "dashboards[0].rows[0].panels[0].targets[0].expr: reads 'api_errors_total', which no "
        "service declares and no recording rule produces"
    ]


def test_the_spec_path_points_at_file_and_line_across_spec_files(tmp_path):
    spec = demo_spec(panel({"metric": "api_queue_depth"}), panel({"metric": "nope_total"}))
    (tmp_path / "a-platform.yaml").write_text(dump_yaml({**spec, "dashboards": []}))
    boards = tmp_path / "b-dashboards.yaml"
    boards.write_text(dump_yaml({"dashboards": spec["dashboards"]}))
    loaded = load_spec([tmp_path])
    [diagnostic] = check_spec(loaded.spec, catalog(loaded.spec), loaded.sources.locate)
    assert diagnostic.where == Location(
        str(boards), 13, "dashboards[0].rows[0].panels[1].targets[0].metric"
    )
    assert boards.read_text().splitlines()[12].strip() == "- metric: nope_total"


@pytest.mark.parametrize(
    ("bad_panel", "expected"),
    [
        (
            panel({"expr": "sum(rate(api_requests_total[5m]"}),
            "dashboards[0].rows[0].panels[0].targets[0].expr: invalid PromQL",
        ),
        (
            panel({"metric": "api_queue_depth", "quantiles": [0.5]}),
            "dashboards[0].rows[0].panels[0].targets[0].quantiles: 'api_queue_depth' is a gauge",
        ),
        (
            panel({"metric": "api_queue_depth"}, type="heatmap"),
            "dashboards[0].rows[0].panels[0].targets[0].metric: a heatmap shows histogram buckets",
        ),
        (
            panel({"metric": "api_queue_depth", "by": ["shard"]}),
            "dashboards[0].rows[0].panels[0].targets[0].by: 'api_queue_depth' has no label 'shard'",
        ),
        (
            panel({"expr": 'sum by (shard) (api_queue_depth{queue="a"})'}),
            "dashboards[0].rows[0].panels[0].targets[0].expr: 'api_queue_depth' has no label "
            "'shard' (named in by (shard))",
        ),
        (
            panel({"expr": 'api:queue:max{queue="a"}'}),
            "dashboards[0].rows[0].panels[0].targets[0].expr: 'api:queue:max' has no label "
            "'queue' (named in a matcher)",
        ),
        (
            panel({"expr": 'api_queue_depth{pod=~"$pod"}'}),
            "dashboards[0].rows[0].panels[0].targets[0].expr: uses $pod, which is not a variable",
        ),
        (
            panel({"metric": "api_queue_depth"}, thresholds=[{"alert": "ApiQueueDeeper"}]),
            "dashboards[0].rows[0].panels[0].thresholds[0].alert: no alert named 'ApiQueueDeeper'",
        ),
        (
            panel(
                {"metric": "api_queue_depth"},
                thresholds=[{"alert": "ApiQueueDeep", "param": "limit"}],
            ),
            "dashboards[0].rows[0].panels[0].thresholds[0].param: alert 'ApiQueueDeep' has no "
            "parameter 'limit'",
        ),
    ],
)
def test_bad_panels_are_refused_with_their_spec_path(bad_panel, expected):
    [found] = problems(demo_spec(bad_panel))
    assert found.startswith(expected)


def test_variables_need_a_series_that_carries_them_and_names_are_unique():
    spec = demo_spec(panel({"metric": "api_requests_total"}), variables=["queue"])
    spec["dashboards"].append(copy.deepcopy(spec["dashboards"][0]))
    assert problems(spec) == [
        "dashboards[0].variables[0]: no series this dashboard reads carries the label 'queue'",
        "dashboards[1].name: duplicate dashboard name 'api' (also dashboards[0])",
        "dashboards[1].variables[0]: no series this dashboard reads carries the label 'queue'",
    ]
    twice = demo_spec(panel({"metric": "api_requests_total"}), variables=["pod", "pod"])
    assert problems(twice) == ["dashboards[0].variables[1]: variable 'pod' is listed twice"]


def test_a_threshold_needs_a_side_when_the_alert_compares_otherwise():
    spec = demo_spec(panel({"metric": "api_queue_depth"}, thresholds=[{"alert": "ApiQueueDeep"}]))
    spec["services"][0]["alerts"][0]["expr"] = "api_queue_depth == $threshold"
    assert problems(spec) == [
        "dashboards[0].rows[0].panels[0].thresholds[0].when: cannot tell from ApiQueueDeep's "
        "expr which side of $threshold is bad"
    ]
    spec["dashboards"][0]["rows"][0]["panels"][0]["thresholds"][0]["when"] = "below"
    assert problems(spec) == []


def test_a_threshold_from_an_alert_takes_its_side_from_the_comparison():
    alert = (
        ChartSpec.model_validate(demo_spec(panel({"metric": "api_queue_depth"})))
        .services[0]
        .alerts[0]
    )
    spec_threshold = Threshold(alert="ApiQueueDeep")
    assert dashboards.threshold_side(spec_threshold, alert) == "above"
    below = alert.model_copy(update={"expr": "$threshold > api_queue_depth"})
    assert dashboards.threshold_side(spec_threshold, below) == "below"
    unknown = alert.model_copy(update={"expr": "api_queue_depth == $threshold"})
    assert dashboards.threshold_side(spec_threshold, unknown) is None


def refused(spec_data: dict) -> list[str]:
    with pytest.raises(ChartgenError) as err:
        generate(ChartSpec.model_validate(spec_data))
    return [f"{d.where.path}: {d.what}" for d in err.value.diagnostics]


def panels_describing(characters: int, text: str = "x") -> list[dict]:
    """Panels whose descriptions add up to ``characters``, each within the 10,000 allowed."""
    sizes = [10_000] * (characters // 10_000) + [characters % 10_000] * bool(characters % 10_000)
    return [panel({"metric": "api_queue_depth"}, description=text * size) for size in sizes]


def test_a_dashboard_over_the_kubectl_annotation_limit_is_refused_by_name():
    [found] = refused(demo_spec(*panels_describing(270_000)))
    assert found.startswith("dashboards[0]: dashboard 'api' needs a ConfigMap of about 323,")
    assert found.endswith(
        "over the 262,144 bytes kubectl apply can keep in its last-applied annotation"
    )
    [found] = refused(demo_spec(*panels_describing(1_100_000)))
    assert found.endswith("over Kubernetes' limit of 1,048,576 bytes (1 MiB)")
    fits = panels_describing(200_000)
    assert generate(ChartSpec.model_validate(demo_spec(*fits))).chart.dashboards


def test_the_size_counts_bytes_and_the_error_points_at_the_dashboard_in_its_file(tmp_path):
    # 140,000 characters, 280,000 bytes of UTF-8
    spec = demo_spec(*panels_describing(140_000, "\u00e9"))
    path = tmp_path / "spec.yaml"
    path.write_text(dump_yaml(spec))
    line = path.read_text().splitlines().index("dashboards:") + 2  # its "- name: api"
    result = run("render", "--spec", path, "--out", tmp_path / "chart")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"{path}:{line}: dashboards[0]: error: dashboard 'api' needs")
    assert not (tmp_path / "chart").exists()


def test_a_spec_without_dashboards_has_no_grafana_values(tmp_path):
    chart = generate(ChartSpec.model_validate(minimal_spec(copy.deepcopy(SERVICE))))
    assert chart.chart.dashboards == ()
    assert "grafana:" not in chart.files["values.yaml"]
    assert not any(
        path.startswith(("dashboards/", "templates/dashboards/")) for path in chart.files
    )


# --- the chart, through real helm ------------------------------------------------------------


def dashboard_configmaps(helm, chart: Path, *args: str | Path) -> dict[str, dict]:
    result = helm("template", "vaultmesh", chart, "--namespace", "aurora-staging", *args)
    assert result.returncode == 0, result.stderr
    return {
        d["metadata"]["name"]: d
        for d in load_all(result.stdout)
        if d["kind"] == "ConfigMap" and "dashboard" in d["metadata"]["name"]
    }


@pytest.mark.parametrize("values", VALUES_FILES, ids=VALUES_IDS)
def test_helm_template_yields_a_sidecar_configmap_per_dashboard_of_valid_resolving_json(
    helm, default_chart, default_render, values
):
    maps = dashboard_configmaps(helm, default_chart, "-f", values)
    assert sorted(maps) == sorted(f"vaultmesh-dashboard-{n}" for n in NAMES)
    declared = declared_series(load_spec().spec)
    for name in NAMES:
        configmap = maps[f"vaultmesh-dashboard-{name}"]
        kubernetes_validate.validate(configmap, kubernetes_validate.latest_version(), strict=True)
        assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert configmap["metadata"]["annotations"] == {"grafana_folder": "vaultmesh"}
        assert list(configmap["data"]) == [f"{name}.json"]
        dashboard = json.loads(configmap["data"][f"{name}.json"])
        assert "@chartgen" not in configmap["data"][f"{name}.json"]
        for expr in exprs(dashboard):
            assert promql.metric_names(series.parsable(expr)) <= declared


def test_grafana_legend_templates_survive_helm(helm, default_chart, default_render):
    maps = dashboard_configmaps(helm, default_chart)
    for view in default_render.chart.dashboards:
        shipped = maps[f"vaultmesh-dashboard-{view.name}"]["data"][f"{view.name}.json"]
        # Helm passes the file through: byte for byte what chartgen wrote, slots filled
        assert shipped + "\n" == view.with_values()
    psi = maps["vaultmesh-dashboard-psi-field"]["data"]["psi-field.json"]
    assert '"legendFormat": "{{pod}}"' in psi


def thresholds(configmap: dict, title: str) -> list:
    [data] = configmap["data"].values()
    panel_ = panels_by_title(json.loads(data))[title]
    return panel_["fieldConfig"]["defaults"]["thresholds"]["steps"]


def test_a_panel_threshold_follows_its_alert_value_set_on_the_command_line(helm, default_chart):
    args = [
        "-f",
        ROOT / "values" / "staging.yaml",
        "--set",
        "alerts.TreatyFillRateLow.threshold=0.7",
    ]
    maps = dashboard_configmaps(helm, default_chart, *args)
    aurora = maps["vaultmesh-dashboard-aurora-kpis"]
    assert thresholds(aurora, "Fill rate")[-1] == {"color": "green", "value": 0.7}
    assert thresholds(aurora, "Fill rate per pod")[-1] == {"color": "green", "value": 0.7}
    rules = helm(
        "template",
        "vaultmesh",
        default_chart,
        *args,
        "-s",
        "templates/treaty/prometheus-rules.yaml",
    )
    assert 'expr: treaty_fill_rate{job="treaty"} < 0.7' in rules.stdout


def test_each_environment_draws_its_own_alert_thresholds(helm, default_chart):
    staging = dashboard_configmaps(helm, default_chart, "-f", ROOT / "values" / "staging.yaml")
    production = dashboard_configmaps(
        helm, default_chart, "-f", ROOT / "values" / "production.yaml"
    )
    drift = "Pod drift over time"
    assert thresholds(staging["vaultmesh-dashboard-psi-field"], drift)[-1]["value"] == 0.6
    assert thresholds(production["vaultmesh-dashboard-psi-field"], drift)[-1]["value"] == 0.5


def test_dashboards_switch_off_one_by_one_or_all_at_once(helm, default_chart):
    one_off = dashboard_configmaps(
        helm, default_chart, "--set", "dashboards.scheduler.enabled=false"
    )
    assert sorted(one_off) == [
        "vaultmesh-dashboard-aurora-kpis",
        "vaultmesh-dashboard-psi-field",
        "vaultmesh-dashboard-slos",
    ]
    slos_off = dashboard_configmaps(helm, default_chart, "--set", "dashboards.slos.enabled=false")
    assert sorted(slos_off) == sorted(f"vaultmesh-dashboard-{n}" for n in NAMES[:3])
    assert (
        dashboard_configmaps(helm, default_chart, "--set", "grafana.dashboards.enabled=false") == {}
    )


def test_the_sidecar_label_and_folder_annotation_are_configurable(helm, default_chart):
    maps = dashboard_configmaps(
        helm,
        default_chart,
        "--set",
        "grafana.dashboards.label=team_dashboard",
        "--set",
        "grafana.dashboards.labelValue=aurora",
        "--set",
        "grafana.dashboards.folderAnnotation=k8s-sidecar-target-directory",
        "--set",
        "grafana.dashboards.folder=/tmp/dashboards/VaultMesh",
    )
    for configmap in maps.values():
        assert configmap["metadata"]["labels"]["team_dashboard"] == "aurora"
        assert "grafana_dashboard" not in configmap["metadata"]["labels"]
        assert configmap["metadata"]["annotations"] == {
            "k8s-sidecar-target-directory": "/tmp/dashboards/VaultMesh"
        }
    no_folder = dashboard_configmaps(
        helm, default_chart, "--set", "grafana.dashboards.folderAnnotation="
    )
    assert all("annotations" not in c["metadata"] for c in no_folder.values())


def test_a_chart_with_dashboards_of_a_small_spec_templates_cleanly(helm, tmp_path):
    spec = demo_spec(
        panel({"metric": "api_queue_depth"}, thresholds=[{"alert": "ApiQueueDeep"}]),
        variables=["pod"],
    )
    chart = tmp_path / "demo"
    write_chart(generate(ChartSpec.model_validate(spec)).files, chart)
    assert helm("lint", "--strict", chart).returncode == 0
    maps = dashboard_configmaps(helm, chart, "--set", "alerts.ApiQueueDeep.threshold=250")
    [configmap] = maps.values()
    assert thresholds(configmap, "P")[-1] == {"color": "red", "value": 250}


# --- the queries against a real Prometheus ---------------------------------------------------


def as_prometheus_query(query: str) -> str:
    """A Grafana query as Prometheus runs it with every variable at All."""
    selector = re.fullmatch(r"label_values\((.*), \w+\)", query)
    query = selector[1] if selector else query
    query = re.sub(r"\$(__rate_interval|\{__rate_interval\})", "1m", query)
    return re.sub(r"\$\{?\w+\}?", ".*", query)


def in_rows(board: dict) -> Iterator[tuple[str, dict]]:
    """Each panel of a dashboard with the title of its row."""
    row = ""
    for p in board["panels"]:
        if p["type"] == "row":
            row = p["title"]
        else:
            yield row, p


def test_every_dashboard_query_finds_data_in_the_observed_staging_state(
    helm, default_chart, tmp_path
):
    manifests = helm("template", "vaultmesh", default_chart, "-f", ROOT / "values/staging.yaml")
    assert manifests.returncode == 0, manifests.stderr
    rules = write_rule_files(rule_files(manifests.stdout), tmp_path / "rules")
    boards = [
        json.loads(text)
        for doc in load_all(manifests.stdout)
        if doc["kind"] == "ConfigMap" and "-dashboard-" in doc["metadata"]["name"]
        for text in doc["data"].values()
    ]
    queries = [
        (f"{board['title']}: ${v['name']}", v["definition"])
        for board in boards
        for v in board["templating"]["list"]
        if v["type"] == "query"
    ] + [
        (f"{board['title']}: {row} / {p['title']}", t["expr"])
        for board in boards
        for row, p in in_rows(board)
        for t in p.get("targets", [])
    ]
    assert len(queries) > 50
    with exporters(healthy_staging()) as running:
        targets = scrape_targets(running, NAMESPACE)
        with Prometheus(find_tool("prometheus"), targets, rules) as prom:
            prom.wait_settled()
            # staging switches the scheduler's SLO off (slos.scheduler.anchor-success); its
            # alerts panel reads 0, not firing
            off = "SLOs: scheduler / anchor-success (30d)"
            expected = {
                "Scheduler: State / Time since last successful anchor",
                f"{off} / SLI: share of good events",
                f"{off} / Burn rate",
                f"{off} / Error budget remaining",
            }
            # rates need two scrapes, and recording rules over them one evaluation more: poll
            # until the data is there (bounded); a query Prometheus refuses raises at once
            deadline = time.monotonic() + 30
            while True:
                empty = {w for w, q in queries if not prom.query(as_prometheus_query(q))}
                if empty == expected or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
    # the one panel left empty needs a successful anchor, which staging has never had
    assert empty == expected


def test_the_install_notes_list_the_dashboards_that_ship(helm, default_chart):
    result = helm(
        "install",
        "vaultmesh",
        default_chart,
        "--dry-run=client",
        "--set",
        "dashboards.aurora-kpis.enabled=false",
    )
    assert result.returncode == 0, result.stderr
    notes = result.stdout.split("NOTES:\n", 1)[1]
    assert notes.endswith(
        'Grafana dashboards, in ConfigMaps labelled grafana_dashboard="1" for the sidecar:\n'
        "  - ψ-Field Metrics (uid vaultmesh-psi-field)\n"
        "  - Scheduler (uid vaultmesh-scheduler)\n"
        "  - SLOs (uid vaultmesh-slos)\n"
    )
    off = helm(
        "install",
        "vaultmesh",
        default_chart,
        "--dry-run=client",
        "--set",
        "grafana.dashboards.enabled=false",
    )
    assert "Grafana dashboards" not in off.stdout


# --- the SLO dashboard ------------------------------------------------------------------------


def slo_spec(*, dashboards: bool = False, **alerting: dict) -> dict:
    """The demo service with one latency SLO; the demo dashboard too when ``dashboards``."""
    spec = (
        demo_spec(panel({"metric": "api_queue_depth"}))
        if dashboards
        else minimal_spec(copy.deepcopy(SERVICE))
    )
    spec["services"][0]["slos"] = [
        {
            "name": "fast",
            "description": "Requests answered within half a second.",
            "objective": 99,
            "period": "7d",
            "sli": {"latency": {"histogram": "api_latency_seconds", "le": 0.5}},
            "runbook": "https://runbooks.example.com/slos/api-fast",
            "alerting": alerting,
        }
    ]
    return spec


def test_the_slo_dashboard_has_a_row_per_slo_reading_its_sloth_series(shipped):
    board = shipped["slos"]
    rows = [p["title"] for p in board["panels"] if p["type"] == "row"]
    assert rows == [
        "scheduler / anchor-success (30d)",
        "psi-field / availability (28d)",
        "treaty / routing-success (30d)",
    ]
    assert "slo:objective:ratio" in board["description"]
    panels = [(row, p) for row, p in in_rows(board) if row == rows[1]]
    assert [(p["title"], p["type"]) for _, p in panels] == [
        ("SLI: share of good events", "timeseries"),
        ("Burn rate", "timeseries"),
        ("Error budget remaining", "stat"),
        ("Alerts", "stat"),
    ]
    own = '{sloth_id="psi-field-availability"}'
    assert [[t["expr"] for t in p["targets"]] for _, p in panels] == [
        [
            f"1 - slo:sli_error:ratio_rate5m{own}",
            f"1 - slo:sli_error:ratio_rate28d{own}",
            f"slo:objective:ratio{own}",
        ],
        [f"slo:current_burn_rate:ratio{own}", f"slo:period_burn_rate:ratio{own}"],
        [f"slo:period_error_budget_remaining:ratio{own}"],
        [
            'max(ALERTS{alertname="PsiFieldAvailabilityBudgetBurnPage", alertstate="firing"}) '
            "or vector(0)",
            'max(ALERTS{alertname="PsiFieldAvailabilityBudgetBurnTicket", alertstate="firing"}) '
            "or vector(0)",
        ],
    ]
    # the objective is a series, not a number written into the dashboard
    assert "99.5" not in json.dumps(board)
    burn = panels[1][1]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert burn == [
        {"color": "green", "value": None},
        {"color": "orange", "value": 1},
        {"color": "red", "value": 13.44},  # 28d: 2% of the budget within 1h
    ]
    budget = panels[2][1]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert budget == [
        {"color": "red", "value": None},
        {"color": "orange", "value": 0},
        {"color": "green", "value": 0.25},
    ]


def test_the_slo_series_are_in_the_catalog_with_the_labels_their_rules_keep():
    spec = load_spec().spec
    readable = series.read_labels(spec)
    ids = {"sloth_id", "sloth_service", "sloth_slo"}
    for name in ["slo:sli_error:ratio_rate5m", "slo:sli_error:ratio_rate28d"]:
        assert readable[name].labels == ids | {"sloth_window"}
    assert readable["slo:objective:ratio"].labels == ids
    # a burn rate divides the 5m SLI by the budget with group_left: it keeps sloth_window
    assert readable["slo:current_burn_rate:ratio"].labels == ids | {"sloth_window"}
    assert readable["sloth_slo_info"].labels == ids | {"sloth_objective"}
    assert set(series.slo_records(spec)) <= set(catalog(spec))


def test_the_slo_dashboards_objective_line_follows_the_environments_objective(
    helm, default_chart, tmp_path
):
    args = ["-f", ROOT / "values" / "production.yaml"]
    args += ["--set-json", "slos.treaty.routing-success.objective=98.5"]
    manifests = helm("template", "vaultmesh", default_chart, *args)
    assert manifests.returncode == 0, manifests.stderr
    rules = write_rule_files(rule_files(manifests.stdout), tmp_path / "rules")
    [board] = [
        json.loads(doc["data"]["slos.json"])
        for doc in load_all(manifests.stdout)
        if doc["kind"] == "ConfigMap" and doc["metadata"]["name"].endswith("-dashboard-slos")
    ]
    [objective] = [
        t["expr"]
        for row, p in in_rows(board)
        if row.startswith("treaty /")
        for t in p["targets"]
        if t["legendFormat"] == "objective"
    ]
    ids = {"sloth_id": "treaty-routing-success", "sloth_service": "treaty"}
    ids["sloth_slo"] = "routing-success"
    test = {
        "rule_files": [str(path) for path in rules],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [],
                "promql_expr_test": [
                    {
                        "expr": objective,
                        "eval_time": "1m",
                        "exp_samples": [
                            {
                                "labels": promql.series_text("slo:objective:ratio", ids),
                                "value": 0.985,
                            }
                        ],
                    }
                ],
            }
        ],
    }
    path = tmp_path / "objective.test.yaml"
    path.write_text(dump_yaml(test))
    result = subprocess.run(
        [find_tool("promtool"), "test", "rules", path], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_spec_with_slos_and_no_dashboards_ships_the_slo_dashboard_alone():
    chart = generate(ChartSpec.model_validate(slo_spec()))
    [view] = chart.chart.dashboards
    assert (view.name, view.title, view.uid) == ("slos", "SLOs", "demo-slos")
    assert "dashboards/slos.json" in chart.files
    assert "templates/dashboards/slos.yaml" in chart.files
    assert (
        "  slos:\n    # -- Ship this dashboard.\n    enabled: true\n" in chart.files["values.yaml"]
    )
    board = json.loads(view.with_values())
    assert [p["title"] for p in board["panels"] if p["type"] == "row"] == ["api / fast (7d)"]
    burn = panels_by_title(board)["Burn rate"]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert burn[-1] == {"color": "red", "value": 13.44}  # 7d: 8% of the budget within 1h


def test_an_slo_without_alerts_has_no_alerts_panel_and_one_alert_shows_alone():
    quiet = slo_spec(page={"enabled": False}, ticket={"enabled": False})
    [view] = generate(ChartSpec.model_validate(quiet)).chart.dashboards
    assert "Alerts" not in panels_by_title(json.loads(view.with_values()))
    paged = slo_spec(ticket={"enabled": False}, page={"name": "ApiSlow"})
    [view] = generate(ChartSpec.model_validate(paged)).chart.dashboards
    alerts = panels_by_title(json.loads(view.with_values()))["Alerts"]
    assert [(t["legendFormat"], t["expr"]) for t in alerts["targets"]] == [
        ("page", 'max(ALERTS{alertname="ApiSlow", alertstate="firing"}) or vector(0)')
    ]


def test_a_dashboard_named_slos_is_refused_where_the_spec_has_slos():
    spec = slo_spec(dashboards=True)
    spec["dashboards"][0]["name"] = "slos"
    assert problems(spec) == [
        "dashboards[0].name: dashboard name 'slos' is the SLO dashboard's, which the chart "
        "generates for the spec's SLOs"
    ]
    assert problems(demo_spec(panel({"metric": "api_queue_depth"}))) == []
    without_slos = demo_spec(panel({"metric": "api_queue_depth"}))
    without_slos["dashboards"][0]["name"] = "slos"
    assert problems(without_slos) == []


def test_a_clashing_dashboard_name_points_at_its_file_and_line(tmp_path):
    spec = slo_spec(dashboards=True)
    spec["dashboards"][0]["name"] = "slos"
    path = tmp_path / "spec.yaml"
    path.write_text(dump_yaml(spec))
    line = path.read_text().splitlines().index("dashboards:") + 2
    result = run("render", "--spec", path, "--out", tmp_path / "chart")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(
        f"{path}:{line}: dashboards[0].name: error: dashboard name 'slos' is the SLO dashboard's"
    )
    assert "slos-overview" in result.stderr

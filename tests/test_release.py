"""A release's values and what it ships: computed in Python, held to what helm renders."""

from __future__ import annotations

import pytest

from chartgen.errors import ChartgenError
from chartgen.live.release import release, release_values
from chartgen.monitoring.promql import duration_seconds
from chartgen.pipeline import prepare

from .conftest import ROOT
from .specdata import dump_yaml, load_all

STAGING = ROOT / "values" / "staging.yaml"
PRODUCTION = ROOT / "values" / "production.yaml"


@pytest.fixture(scope="module")
def built():
    return prepare()


def shipped_by_helm(helm, chart, values_files) -> set[tuple]:
    """(group, type, name, severity, for seconds) of every rule in the rendered chart."""
    args = [a for path in values_files for a in ("-f", path)]
    result = helm("template", "vaultmesh", chart, *args)
    assert result.returncode == 0, result.stderr
    groups = []
    for doc in load_all(result.stdout):
        if doc["kind"] == "ConfigMap" and doc["metadata"]["name"].endswith("-rules"):
            groups += [g for text in doc["data"].values() for g in load_all(text)[0]["groups"]]
        elif doc["kind"] == "PrometheusRule":
            groups += doc["spec"]["groups"]
    return {
        (
            group["name"],
            "alerting" if "alert" in rule else "recording",
            rule.get("alert") or rule["record"],
            rule.get("labels", {}).get("severity", "") if "alert" in rule else "",
            # An SLO's burn-rate alerts have no for: they fire at their first evaluation.
            duration_seconds(rule.get("for", "0s")) if "alert" in rule else 0.0,
        )
        for group in groups
        for rule in group["rules"]
    }


def expected_by_release(built, values_files) -> set[tuple]:
    shipped = release(built.spec, release_values(prepare(values_paths=values_files)))
    return {(r.group, r.type, r.name, r.severity, r.for_seconds) for r in shipped.rules}


OVERRIDES = {
    "alert-off-severity-and-for": {
        "alerts": {
            "TreatyNoRequests": {"enabled": False},
            "PsiFieldDown": {"severity": "warning", "for": "1h30m"},
        }
    },
    "service-off": {"services": {"treaty": {"enabled": False}}},
    "all-psi-field-alerts-off": {
        "alerts": {
            name: {"enabled": False}
            for name in (
                "PsiFieldPredictionErrorHigh",
                "PsiFieldPodDrift",
                "PsiFieldDown",
                "PsiFieldDensityAnomaly",
                "PsiFieldTemporalEntropyHigh",
            )
        }
    },
    "prometheus-rule-only": {
        "rules": {"configMap": {"enabled": False}, "prometheusRule": {"enabled": True}}
    },
    "no-rules": {"rules": {"configMap": {"enabled": False}}},
    "slos-on-and-off": {
        "slos": {
            "scheduler": {"anchor-success": {"enabled": True}},
            "treaty": {"routing-success": {"enabled": False}},
        }
    },
}


@pytest.mark.parametrize("name", ["defaults", "staging", "production", *OVERRIDES])
def test_the_expected_rules_are_the_rules_helm_renders(helm, default_chart, built, tmp_path, name):
    files = {"staging": [STAGING], "production": [PRODUCTION]}.get(name, [])
    if name in OVERRIDES:
        override = tmp_path / "override.yaml"
        override.write_text(dump_yaml(OVERRIDES[name]))
        files = [STAGING, override]
    expected = expected_by_release(built, files)
    assert expected == shipped_by_helm(helm, default_chart, files)
    if name == "no-rules":
        assert expected == set()
    if name == "defaults":
        # 34 of the services' own, and 17 of each of the three SLOs: 8 SLI windows, 7 meta
        # records, a page and a ticket.
        assert len(expected) == 34 + 3 * 17


def test_the_default_release_scrapes_the_three_services_with_19_families(built):
    shipped = release(built.spec, release_values(built))
    assert [(s.name, s.replicas, len(s.families)) for s in shipped.services] == [
        ("scheduler", 1, 6),
        ("psi-field", 2, 7),
        ("treaty", 1, 6),
    ]
    families = dict(shipped.services[0].families)
    assert families["vmsh_anchor_duration_seconds"] == (
        "vmsh_anchor_duration_seconds_bucket",
        "vmsh_anchor_duration_seconds_sum",
        "vmsh_anchor_duration_seconds_count",
    )
    slo_ids = ("scheduler-anchor-success", "psi-field-availability", "treaty-routing-success")
    assert set(shipped.groups) == {
        f"{s}.{kind}"
        for s in ("scheduler", "psi-field", "treaty")
        for kind in ("recording", "alerts")
    } | {
        f"sloth-slo-{kind}-{i}"
        for i in slo_ids
        for kind in ("sli-recordings", "meta-recordings", "alerts")
    }
    assert [(s.id, s.objective, s.period) for s in shipped.slos] == [
        ("scheduler-anchor-success", 99, "30d"),
        ("psi-field-availability", 99.5, "28d"),
        ("treaty-routing-success", 99.9, "30d"),
    ]


def test_a_disabled_slo_is_not_expected_but_its_groups_stay_the_charts(built, tmp_path):
    override = tmp_path / "objective.yaml"
    override.write_text(dump_yaml({"slos": {"treaty": {"routing-success": {"objective": 99.5}}}}))
    shipped = release(built.spec, release_values(prepare(values_paths=[STAGING, override])))
    # Staging switches the scheduler's SLO off; the later file sets the treaty's objective.
    assert [(s.id, s.objective) for s in shipped.slos] == [
        ("psi-field-availability", 99.5),
        ("treaty-routing-success", 99.5),
    ]
    assert not [r for r in shipped.rules if "scheduler-anchor-success" in r.group]
    owner = shipped.groups["sloth-slo-alerts-scheduler-anchor-success"]
    assert (owner.service, owner.slo, owner.type) == ("scheduler", "anchor-success", "alerting")
    alerts = [(r.name, r.severity, r.for_seconds) for r in shipped.rules if r.type == "alerting"]
    assert alerts[-2:] == [
        ("TreatyRoutingSuccessBudgetBurnPage", "critical", 0.0),
        ("TreatyRoutingSuccessBudgetBurnTicket", "warning", 0.0),
    ]


def test_a_disabled_service_is_not_expected_to_be_scraped(built, tmp_path):
    override = tmp_path / "off.yaml"
    override.write_text(dump_yaml({"services": {"psi-field": {"enabled": False}}}))
    shipped = release(built.spec, release_values(prepare(values_paths=[override])))
    assert [s.name for s in shipped.services] == ["scheduler", "treaty"]


def test_later_values_files_win(built, tmp_path):
    first, second = tmp_path / "first.yaml", tmp_path / "second.yaml"
    first.write_text(dump_yaml({"alerts": {"TreatyRttHigh": {"severity": "critical"}}}))
    second.write_text(dump_yaml({"alerts": {"TreatyRttHigh": {"severity": "info"}}}))
    values = release_values(prepare(values_paths=[first, second]))
    assert values["alerts"]["TreatyRttHigh"]["severity"] == "info"
    assert values["alerts"]["TreatyRttHigh"]["for"] == "10m"


def test_a_bad_value_is_reported_at_its_file_and_line(built, tmp_path):
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text("services:\n  scheduler:\n    replicas: 2\n")
    bad.write_text("services:\n  treaty:\n    replicas: two\n    replcas: 1\n")
    with pytest.raises(ChartgenError) as caught:
        release_values(prepare(values_paths=[bad, good]))
    found = [(str(d.where), d.what) for d in caught.value.diagnostics]
    assert found == [
        (
            f"{bad}:3: services.treaty.replicas",
            "Input should be a valid integer, got str 'two'",
        ),
        (f"{bad}:4: services.treaty.replcas", "unknown field"),
    ]


def test_a_values_file_that_is_not_a_mapping_is_refused(built, tmp_path):
    bad = tmp_path / "list.yaml"
    bad.write_text("- a\n- b\n")
    with pytest.raises(ChartgenError) as caught:
        release_values(prepare(values_paths=[bad]))
    [diagnostic] = caught.value.diagnostics
    assert diagnostic.what == "a values file must be a mapping, found list"


def test_a_service_prometheus_does_not_scrape_is_not_expected_to_have_targets(built, tmp_path):
    unscraped = {"services": {"treaty": {"metrics": {"scrape": False}}}}
    override = tmp_path / "unscraped.yaml"
    override.write_text(dump_yaml(unscraped))
    shipped = release(built.spec, release_values(prepare(values_paths=[override])))
    assert [s.name for s in shipped.services] == ["scheduler", "psi-field"]
    override.write_text(dump_yaml({**unscraped, "serviceMonitor": {"enabled": True}}))
    shipped = release(built.spec, release_values(prepare(values_paths=[override])))
    assert [s.name for s in shipped.services] == ["scheduler", "psi-field", "treaty"]

"""The staging chart's rules in a real Prometheus scraping the observed staging state.

The rule files are those `helm template charts/vaultmesh -f values/staging.yaml` ships, with
one more values file that sets `for: 0s` on every alert so conditions fire at the next
evaluation instead of after minutes. Each scenario starts its own exporters and Prometheus.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from .conftest import ROOT, find_tool
from .promharness import Prometheus, exporters, scrape_targets
from .rulefiles import rule_files, write_rule_files
from .specdata import dump_yaml
from .staging_state import (
    NAMESPACE,
    PSI_FIELD_0,
    PSI_FIELD_1,
    TREATY,
    broken_treaty,
    healthy_staging,
    treaty_text,
)

CHART = ROOT / "charts" / "vaultmesh"
STAGING = ROOT / "values" / "staging.yaml"
SETTLE_TIMEOUT = 30.0

# (alertname, pod) of each alert expected to fire; pod is None for aggregated alerts.
SEED_ALERTS = {
    ("PsiFieldPodDrift", None),
    ("PsiFieldPredictionErrorHigh", PSI_FIELD_1[1]),
    ("TreatyNoRequests", None),
}
# Treaty at fill 0.3, rtt 9 s and dropping half its traffic; psi-field-0 down.
BROKEN_ALERTS = {
    # Half of the treaty's requests dropped burns 500 budgets of 0.1%; psi-field-0 down for a
    # share s of the SLI windows is s / 2 errors, past the page's 13.44 budgets of 0.5% once
    # s passes 13.4%. Both SLOs page and ticket (staging switches the scheduler's SLO off).
    ("TreatyRoutingSuccessBudgetBurnPage", None),
    ("TreatyRoutingSuccessBudgetBurnTicket", None),
    ("PsiFieldAvailabilityBudgetBurnPage", None),
    ("PsiFieldAvailabilityBudgetBurnTicket", None),
    ("TreatyFillRateLow", TREATY[1]),
    ("TreatyFillRateCritical", TREATY[1]),
    ("TreatyRttHigh", TREATY[1]),
    ("TreatyRttCritical", TREATY[1]),
    ("TreatyDropRateHigh", None),
    ("PsiFieldDown", PSI_FIELD_0[1]),
    # psi-field-1 keeps its 0.863 prediction error; with one pod left there is no drift.
    ("PsiFieldPredictionErrorHigh", PSI_FIELD_1[1]),
}


@pytest.fixture(scope="module")
def staging_rules(helm, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Rule files of the committed chart with staging values and every `for` set to 0s."""
    defaults: dict[str, Any] = YAML(typ="safe").load((CHART / "values.yaml").read_text())
    directory = tmp_path_factory.mktemp("staging-rules")
    immediate = directory / "immediate.yaml"
    immediate.write_text(
        dump_yaml({"alerts": {name: {"for": "0s"} for name in defaults["alerts"]}})
    )
    result = helm("template", "vaultmesh", CHART, "-n", NAMESPACE, "-f", STAGING, "-f", immediate)
    assert result.returncode == 0, result.stderr
    return write_rule_files(rule_files(result.stdout), directory / "rules")


def firing(prometheus: Prometheus) -> set[tuple[str, str | None]]:
    """(alertname, pod) of every alert in any state; pending ones are marked as such."""
    return {
        (
            a["labels"]["alertname"] + ("" if a["state"] == "firing" else f" ({a['state']})"),
            a["labels"].get("pod"),
        )
        for a in prometheus.alerts()
    }


def settle_on(prometheus: Prometheus, expected: set[tuple[str, str | None]]) -> None:
    """Wait until exactly the expected alerts fire, then check they still do one cycle later."""
    prometheus.wait_until(
        lambda: firing(prometheus) == expected,
        SETTLE_TIMEOUT,
        message=f"firing alerts {sorted(expected, key=str)}; last seen {firing(prometheus)}",
    )
    prometheus.wait_evaluated()
    assert firing(prometheus) == expected


def rules_by_type(prometheus: Prometheus) -> dict[str, list[dict[str, Any]]]:
    """Loaded rules, grouped by type (alerting, recording)."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for group in prometheus.rules():
        for rule in group["rules"]:
            grouped.setdefault(rule["type"], []).append(rule)
    return grouped


def slo_values(prometheus: Prometheus, record: str) -> dict[str, float]:
    """The SLOs' values of one of Sloth's meta records, by sloth_id, once each SLO has one."""
    samples = prometheus.wait_until(
        lambda: (found := prometheus.query(record)) and len(found) == 2 and found,
        SETTLE_TIMEOUT,
        message=f"{record} of both SLOs",
    )
    return {s["metric"]["sloth_id"]: float(s["value"][1]) for s in samples}


def alert(prometheus: Prometheus, name: str) -> dict[str, Any]:
    """The one active alert of that name."""
    [found] = [a for a in prometheus.alerts() if a["labels"]["alertname"] == name]
    return found


def test_the_observed_staging_state_fires_exactly_the_three_seed_alerts(staging_rules):
    with exporters(healthy_staging()) as running:
        targets = scrape_targets(running, NAMESPACE)
        with Prometheus(find_tool("prometheus"), targets, staging_rules) as prom:
            prom.wait_settled()
            rules = rules_by_type(prom)
            # The services' own 12 alerting and 22 recording rules, and the rules of the two
            # SLOs staging ships: 8 SLI windows, 7 meta records, a page and a ticket each.
            assert {kind: len(found) for kind, found in rules.items()} == {
                "alerting": 12 + 2 * 2,
                "recording": 22 + 2 * 15,
            }
            assert sorted(g["name"] for g in prom.rules() if g["name"].startswith("sloth-")) == [
                f"sloth-slo-{kind}-{slo}"
                for kind in ("alerts", "meta-recordings", "sli-recordings")
                for slo in ("psi-field-availability", "treaty-routing-success")
            ]
            # The idle treaty's request rate needs two scrapes in its window before it is 0.
            prom.wait_until(
                lambda: prom.query("treaty:requests:rate_5m"),
                SETTLE_TIMEOUT,
                message="treaty:requests:rate_5m",
            )
            settle_on(prom, SEED_ALERTS)

            unhealthy = [
                (r["name"], r["health"], r.get("lastError"))
                for found in rules_by_type(prom).values()
                for r in found
                if r["health"] != "ok"
            ]
            assert unhealthy == []

            # Every target up and the idle treaty's requests unchanged: no errors, so both SLOs
            # keep their whole budget, burn nothing, and record staging's objectives.
            assert slo_values(prom, "slo:period_error_budget_remaining:ratio") == {
                "psi-field-availability": 1.0,
                "treaty-routing-success": 1.0,
            }
            assert slo_values(prom, "slo:current_burn_rate:ratio") == {
                "psi-field-availability": 0.0,
                "treaty-routing-success": 0.0,
            }
            assert slo_values(prom, "slo:objective:ratio") == {
                "psi-field-availability": pytest.approx(0.995),
                "treaty-routing-success": pytest.approx(0.999),
            }

            # Staging's tuned threshold, not the default 0.5, is what Prometheus evaluates.
            [drift_rule] = [r for r in rules["alerting"] if r["name"] == "PsiFieldPodDrift"]
            assert drift_rule["query"] == "psi:pod_drift:abs > 0.6"
            assert drift_rule["duration"] == 0

            # Prometheus expanded the spec's templates: they reached it verbatim through Helm.
            error = alert(prom, "PsiFieldPredictionErrorHigh")
            assert error["labels"]["severity"] == "warning"
            assert error["annotations"]["summary"] == (
                "psi-field prediction error is high on psi-field-1"
            )
            assert "has a prediction error of 0.863;" in error["annotations"]["description"]
            assert error["annotations"]["runbook_url"].endswith("/PsiFieldPredictionErrorHigh")
            drift = alert(prom, "PsiFieldPodDrift")
            assert drift["labels"]["namespace"] == NAMESPACE
            assert float(drift["value"]) == pytest.approx(0.8)


def test_a_plainly_broken_state_fires_the_matching_alerts(staging_rules):
    with exporters(healthy_staging()) as running:
        targets = scrape_targets(running, NAMESPACE)
        with Prometheus(find_tool("prometheus"), targets, staging_rules) as prom:
            prom.wait_settled()
            prom.wait_until(lambda: prom.query("treaty:requests:rate_5m"), SETTLE_TIMEOUT)
            settle_on(prom, SEED_ALERTS)

            start = time.monotonic()
            broken: Callable[[], str] = lambda: treaty_text(broken_treaty(time.monotonic() - start))  # noqa: E731
            running[TREATY].text = broken
            running[PSI_FIELD_0].stop()
            settle_on(prom, BROKEN_ALERTS)

            dropped = alert(prom, "TreatyDropRateHigh")
            assert dropped["labels"]["severity"] == "critical"
            page = alert(prom, "TreatyRoutingSuccessBudgetBurnPage")
            assert (page["labels"]["severity"], page["labels"]["sloth_id"]) == (
                "critical",
                "treaty-routing-success",
            )
            # The burn of half the requests dropped: 0.5 / 0.001.
            burn = slo_values(prom, "slo:current_burn_rate:ratio")["treaty-routing-success"]
            assert burn == pytest.approx(500, rel=0.01)
            assert float(dropped["value"]) == pytest.approx(0.5, abs=0.05)
            assert alert(prom, "PsiFieldDown")["annotations"]["summary"] == (
                "psi-field target psi-field-0 is down"
            )

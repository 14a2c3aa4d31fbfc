"""The loopback harness against a real Prometheus, fed the observed staging state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import find_tool
from .promharness import Exporter, Prometheus, TargetKey, exporters, scrape_targets
from .staging_state import (
    FAMILIES,
    NAMESPACE,
    PSI_FIELD_0,
    PSI_FIELD_1,
    SCHEDULER,
    SCHEDULER_NAMESPACE,
    healthy_staging,
)

RULES = """\
groups:
  - name: harness
    rules:
      - record: test:psi_density:max
        expr: max(psi_field_density)
      - alert: HighError
        expr: psi_field_prediction_error > 0.5
        for: 0s
"""


@pytest.fixture
def running() -> Iterator[dict[TargetKey, Exporter]]:
    """Exporters serving the healthy staging state."""
    with exporters(healthy_staging()) as started:
        yield started


@pytest.fixture
def prometheus(running: dict[TargetKey, Exporter], tmp_path: Path) -> Iterator[Prometheus]:
    """A real Prometheus scraping the staging exporters, settled: targets up, rules evaluated."""
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES)
    targets = scrape_targets(running, NAMESPACE)
    with Prometheus(find_tool("prometheus"), targets, [rules]) as prom:
        prom.wait_settled()
        yield prom


def test_staging_state_is_scraped_and_rules_evaluate(prometheus: Prometheus) -> None:
    up = {
        (s["metric"]["job"], s["metric"]["pod"]): (s["metric"]["namespace"], s["value"][1])
        for s in prometheus.query("up")
    }
    assert up == {key: (NAMESPACE, "1") for key in healthy_staging()}

    names = {
        s["metric"]["__name__"] for s in prometheus.query('{__name__=~"psi_.*|treaty_.*|vmsh_.*"}')
    }
    histogram = "vmsh_anchor_duration_seconds"
    expected = set(FAMILIES) - {histogram} | {
        f"{histogram}_{s}" for s in ("bucket", "sum", "count")
    }
    assert names == expected

    # honor_labels: the scheduler's own namespace label wins and is not renamed.
    backoff = prometheus.query("vmsh_backoff_state")
    assert [s["metric"] for s in backoff] == [
        {
            "__name__": "vmsh_backoff_state",
            "instance": backoff[0]["metric"]["instance"],
            "job": SCHEDULER[0],
            "pod": SCHEDULER[1],
            "namespace": SCHEDULER_NAMESPACE,
        }
    ]

    assert [s["value"][1] for s in prometheus.query("test:psi_density:max")] == ["0.526"]
    groups = prometheus.rules()
    assert [r["health"] for g in groups for r in g["rules"]] == ["ok", "ok"]

    firing = [a for a in prometheus.alerts() if a["state"] == "firing"]
    assert [(a["labels"]["alertname"], a["labels"]["pod"]) for a in firing] == [
        ("HighError", PSI_FIELD_1[1])
    ]


def test_stopped_exporter_is_down(
    prometheus: Prometheus, running: dict[TargetKey, Exporter]
) -> None:
    running[PSI_FIELD_1].stop()

    def down() -> list[str]:
        return [s["metric"]["pod"] for s in prometheus.query("up == 0")]

    assert prometheus.wait_until(down, 5, message="psi-field-1 down") == [PSI_FIELD_1[1]]
    up_pods = {s["metric"]["pod"] for s in prometheus.query('up{job="psi-field"} == 1')}
    assert up_pods == {PSI_FIELD_0[1]}

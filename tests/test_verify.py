"""chartgen verify against a real Prometheus on loopback, scraping the observed staging state."""

from __future__ import annotations

import json
import math
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from chartgen.cli import main
from chartgen.live.release import release, release_values
from chartgen.live.verify import slo_statuses
from chartgen.load import load_spec
from chartgen.monitoring.rules import all_alerts
from chartgen.pipeline import generate_from_files, prepare
from chartgen.write import write_chart

from .conftest import ROOT, find_tool
from .promharness import (
    LOOPBACK,
    Exporter,
    Prometheus,
    PrometheusError,
    exporters,
    free_port,
    scrape_targets,
)
from .rulefiles import rule_files, write_rule_files
from .specdata import dump_yaml, minimal_service, minimal_spec
from .staging_state import (
    NAMESPACE,
    PSI_FIELD_1,
    TREATY,
    TREATY_VALUES,
    dropping_treaty,
    healthy_staging,
    treaty_text,
)
from .test_cli import run

STAGING = ROOT / "values" / "staging.yaml"
FIRING = {"PsiFieldPodDrift", "PsiFieldPredictionErrorHigh", "TreatyNoRequests"}
HEALTHY_SUMMARY = (
    "checked 4 targets, 19 metric families, 68 rules (52 recording, 16 alerting), 2 SLOs: "
    "all present and healthy; 3 alerts firing (3 warning), 0 pending\n"
)
#: The records verify reads each SLO's budget and burn rate from.
BUDGET, BURN = "slo:period_error_budget_remaining:ratio", "slo:current_burn_rate:ratio"


@pytest.fixture(scope="module")
def fire_now(tmp_path_factory) -> Path:
    """Values that set `for: 0s` on every alert, so alerts fire on their first evaluation."""
    path = tmp_path_factory.mktemp("values") / "fire-now.yaml"
    alerts = all_alerts(load_spec().spec)
    path.write_text(dump_yaml({"alerts": {a.alert: {"for": "0s"} for a in alerts}}))
    return path


@pytest.fixture(scope="module")
def shipped_rules(helm, default_chart, fire_now, tmp_path_factory) -> dict[str, Path]:
    """The rule files helm renders for staging with every alert firing at once, by file name."""
    result = helm("template", "vaultmesh", default_chart, "-f", STAGING, "-f", fire_now)
    assert result.returncode == 0, result.stderr
    directory = tmp_path_factory.mktemp("rules")
    files = rule_files(result.stdout)
    return dict(zip(files, write_rule_files(files, directory), strict=True))


@contextmanager
def prometheus_on(
    texts: dict, rule_paths: list[Path], firing: set[str] = FIRING, budgets: int = 2
) -> Iterator[tuple[Prometheus, dict[tuple[str, str], Exporter]]]:
    """Exporters serving texts and a Prometheus scraping them, settled, with `firing` firing.

    It also waits until `budgets` SLOs have both their budget left and burn rate recorded: a
    rate needs two scrapes, and the meta records follow the SLI records.
    """
    with exporters(texts) as running:
        targets = scrape_targets(running, NAMESPACE)
        with Prometheus(find_tool("prometheus"), targets, rule_paths) as prom:
            prom.wait_settled()
            prom.wait_until(
                lambda: (
                    firing
                    <= {a["labels"]["alertname"] for a in prom.alerts() if a["state"] == "firing"}
                ),
                15,
                message=f"{sorted(firing)} firing",
            )
            prom.wait_until(
                lambda: all(len(prom.query(record)) == budgets for record in (BUDGET, BURN)),
                15,
                message=f"the budgets and burn rates of {budgets} SLOs",
            )
            yield prom, running


@pytest.fixture(scope="module")
def live(shipped_rules) -> Iterator[tuple[Prometheus, dict[tuple[str, str], Exporter]]]:
    """The observed staging state, scraped and evaluated with the staging rules."""
    with prometheus_on(healthy_staging(), list(shipped_rules.values())) as started:
        yield started


@pytest.fixture(scope="module")
def healthy(live) -> Prometheus:
    """The Prometheus of the observed staging state."""
    return live[0]


@dataclass(frozen=True)
class Outcome:
    returncode: int
    stdout: str
    stderr: str


def verify(prom_url: str, *args: str | Path) -> Outcome:
    """chartgen verify in this process (fast); one test runs it as its own process too."""
    result = CliRunner().invoke(main, ["verify", "--prometheus-url", prom_url, *map(str, args)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Outcome(result.exit_code, result.stdout, result.stderr)


COLUMNS = ("CHECK", "SERVICE", "STATUS", "RESULT", "DETAIL")


def rows(stdout: str) -> list[tuple[str, ...]]:
    """The table's rows as (check, service, status, result, detail), cut at the header's columns."""
    header, *lines = stdout.split("\n\n", maxsplit=1)[0].splitlines()
    starts = [header.index(name) for name in COLUMNS]
    bounds = list(zip(starts, [*starts[1:], None], strict=True))
    return [tuple(line[a:b].strip() for a, b in bounds) for line in lines]


def row(stdout: str, check: str, service: str) -> tuple[str, ...]:
    """The one row of a check and service; its further details are its continuation rows."""
    [found] = [r for r in rows(stdout) if r[:2] == (check, service)]
    return found


def failing(stdout: str, check: str, service: str, result: str) -> str:
    """The detail of a row that failed with that result, e.g. ``0/11 ok``."""
    status, found, detail = row(stdout, check, service)[2:]
    assert (status, found) == ("FAIL", result)
    return detail


def summary(stdout: str) -> str:
    return stdout.splitlines()[-1]


def test_the_observed_staging_state_verifies_with_the_three_firing_alerts(healthy, fire_now):
    result = run(
        "verify", "--prometheus-url", healthy.url, "--values", STAGING, "--values", fire_now
    )
    assert result.returncode == 0, result.stdout + result.stderr
    checks = [r[:4] for r in rows(result.stdout) if r[0] != "alert"]
    assert checks == [
        ("prometheus", "-", "ok", "reload ok"),
        ("targets", "scheduler", "ok", "1/1 up"),
        ("targets", "psi-field", "ok", "2/2 up"),
        ("targets", "treaty", "ok", "1/1 up"),
        ("metric families", "scheduler", "ok", "6/6 present"),
        ("metric families", "psi-field", "ok", "7/7 present"),
        ("metric families", "treaty", "ok", "6/6 present"),
        ("recording rules", "scheduler", "ok", "1/1 ok"),
        ("recording rules", "psi-field", "ok", "10/10 ok"),
        ("alerting rules", "psi-field", "ok", "5/5 ok"),
        ("recording rules", "psi-field/availability", "ok", "15/15 ok"),
        ("alerting rules", "psi-field/availability", "ok", "2/2 ok"),
        ("recording rules", "treaty", "ok", "11/11 ok"),
        ("alerting rules", "treaty", "ok", "7/7 ok"),
        ("recording rules", "treaty/routing-success", "ok", "15/15 ok"),
        ("alerting rules", "treaty/routing-success", "ok", "2/2 ok"),
        # Staging switches the scheduler's SLO off; every target up and the idle treaty's
        # requests unchanged leave the others their whole budget.
        ("slo", "psi-field/availability", "ok", "100% left"),
        ("slo", "treaty/routing-success", "ok", "100% left"),
    ]
    assert row(result.stdout, "slo", "treaty/routing-success")[4] == (
        "objective 99.9% over 30d, burn rate 0"
    )
    alerts = [r for r in rows(result.stdout) if r[0] == "alert"]
    assert [(*r[:4], r[4].split()[0]) for r in alerts] == [
        ("alert", "psi-field", "firing", "warning", "PsiFieldPodDrift"),
        ("alert", "psi-field", "firing", "warning", "PsiFieldPredictionErrorHigh"),
        ("alert", "treaty", "firing", "warning", "TreatyNoRequests"),
    ]
    assert alerts[0][4] == "PsiFieldPodDrift namespace=aurora-staging"
    assert alerts[1][4].endswith(" namespace=aurora-staging pod=psi-field-1")
    assert result.stdout.endswith(f"\n\n{HEALTHY_SUMMARY}")
    assert "Traceback" not in result.stderr


def test_progress_goes_to_stderr_and_says_what_is_checked(healthy, fire_now):
    result = verify(healthy.url, "--values", STAGING, "--values", fire_now)
    assert result.stderr.splitlines() == [
        f"verify: chart vaultmesh with values {STAGING}, {fire_now}: 3 scraped services, "
        "19 metric families, 68 rules, 2 SLOs",
        f"verify: reading {healthy.url}",
        "verify: checking the scrape targets of 3 services",
        "verify: checking 19 metric families",
        "verify: checking 68 rules",
        "verify: reading the error budgets of 2 SLOs",
        "verify: listing pending and firing alerts",
    ]


def test_json_output_carries_the_totals_checks_and_alerts(healthy, fire_now):
    result = verify(healthy.url, "--values", STAGING, "--values", fire_now, "--output", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["ran"], report["ok"]) == (True, True)
    assert report["totals"] == {
        "targets": {"checked": 4, "failed": 0},
        "metric_families": {"checked": 19, "failed": 0},
        "recording_rules": {"checked": 52, "failed": 0},
        "alerting_rules": {"checked": 16, "failed": 0},
        "slos": {"checked": 2, "failed": 0, "no_data": 0},
    }
    assert all(c["ok"] and c["problems"] == [] for c in report["checks"])
    slo_checks = [(c["kind"], c["service"], c["slo"]) for c in report["checks"] if c["slo"]]
    assert slo_checks == [
        ("recording rules", "psi-field", "availability"),
        ("alerting rules", "psi-field", "availability"),
        ("recording rules", "treaty", "routing-success"),
        ("alerting rules", "treaty", "routing-success"),
    ]
    whole = {"state": "ok", "ok": True, "budgetRemaining": 1.0, "burnRate": 0.0, "note": None}
    assert report["slos"] == [
        {
            "service": service,
            "slo": slo,
            "id": f"{service}-{slo}",
            "objective": objective,
            "period": period,
            **whole,
            "problems": [],
        }
        for service, slo, objective, period in (
            ("psi-field", "availability", 99.5, "28d"),
            ("treaty", "routing-success", 99.9, "30d"),
        )
    ]
    assert {(a["alert"], a["severity"], a["state"], a["fails"]) for a in report["alerts"]} == {
        (name, "warning", "firing", False) for name in FIRING
    }
    assert report["summary"] + "\n" == HEALTHY_SUMMARY


def test_the_output_is_the_same_on_every_run(healthy, fire_now):
    args = ("--values", STAGING, "--values", fire_now)
    assert verify(healthy.url, *args).stdout == verify(healthy.url, *args).stdout


def test_fail_on_firing_fails_at_that_severity_or_worse_only(healthy, fire_now):
    args = ("--values", STAGING, "--values", fire_now, "--fail-on-firing")
    warning = verify(healthy.url, *args, "warning")
    assert warning.returncode == 1
    assert [r[2] for r in rows(warning.stdout) if r[0] == "alert"] == ["FAIL"] * 3
    assert warning.stdout.endswith(
        "; 3 firing at warning or worse fail the run (--fail-on-firing)\n"
    )
    assert verify(healthy.url, *args, "critical").returncode == 0
    assert verify(healthy.url, *args, "info").returncode == 1


def test_a_namespace_selects_its_targets_and_alerts(healthy, fire_now):
    args = ("--values", STAGING, "--values", fire_now, "--namespace")
    assert verify(healthy.url, *args, NAMESPACE).returncode == 0
    other = verify(healthy.url, *args, "vaultmesh")
    assert other.returncode == 1
    assert row(other.stdout, "targets", "psi-field")[2:] == (
        "FAIL",
        "0/2 up",
        "missing 2 of 2 targets: Prometheus has 0 target(s) with job=psi-field, "
        "namespace=vaultmesh; check the pods and their prometheus.io/* annotations",
    )
    assert row(other.stdout, "metric families", "treaty")[2:4] == ("FAIL", "0/6 present")
    assert not [r for r in rows(other.stdout) if r[0] == "alert"]


def test_rules_deployed_with_other_values_differ_and_are_named(healthy, fire_now, tmp_path):
    # The live rules fire at once (for: 0s); the defaults ship them with their own for.
    result = verify(healthy.url)
    assert result.returncode == 1
    assert "differs TreatyNoRequests: for 0s, the chart ships 900s" in result.stdout
    assert result.stdout.count("differs ") == 12
    # An alert switched off in the values, but still loaded, is extra.
    off = tmp_path / "off.yaml"
    off.write_text(dump_yaml({"alerts": {"TreatyNoRequests": {"enabled": False, "for": "0s"}}}))
    result = verify(healthy.url, "--values", STAGING, "--values", off)
    assert "extra TreatyNoRequests: loaded from " in result.stdout
    assert "treaty.rules.yaml, not shipped with these values" in result.stdout
    # An alert whose severity the values changed, but not the loaded rules.
    severity = tmp_path / "severity.yaml"
    severity.write_text(dump_yaml({"alerts": {"TreatyRttHigh": {"severity": "critical"}}}))
    result = verify(healthy.url, "--values", STAGING, "--values", fire_now, "--values", severity)
    assert result.returncode == 1
    assert row(result.stdout, "alerting rules", "treaty")[2:] == (
        "FAIL",
        "6/7 ok",
        "differs TreatyRttHigh: severity warning, the chart ships critical",
    )


def test_another_spec_is_verified_against_what_it_declares(healthy, tmp_path):
    families = [
        {"name": "treaty_fill_rate", "type": "gauge", "help": "Fill rate."},
        {"name": "treaty_queue_depth", "type": "gauge", "help": "Queued requests."},
    ]
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        dump_yaml(
            minimal_spec(minimal_service("treaty", metrics={"port": "http", "families": families}))
        )
    )
    result = verify(healthy.url, "--spec", spec)
    assert result.returncode == 1
    assert row(result.stdout, "targets", "treaty")[2:4] == ("ok", "1/1 up")
    assert row(result.stdout, "metric families", "treaty")[2:] == (
        "FAIL",
        "1/2 present",
        "missing treaty_queue_depth",
    )
    # This spec ships no treaty rules: the ones loaded in its groups are extra.
    detail = failing(result.stdout, "recording rules", "treaty", "0/0 ok +11 extra")
    assert detail.startswith("extra treaty:fill_rate:avg: loaded from ")
    assert not [r for r in rows(result.stdout) if r[1] in ("psi-field", "scheduler")]


def test_a_disabled_slo_is_extra_a_missing_one_has_no_value_and_the_objective_is_compared(
    healthy, fire_now, tmp_path
):
    other = tmp_path / "slos.yaml"
    other.write_text(
        dump_yaml(
            {
                "slos": {
                    "scheduler": {"anchor-success": {"enabled": True}},
                    "psi-field": {"availability": {"enabled": False}},
                    "treaty": {"routing-success": {"objective": 99.5}},
                }
            }
        )
    )
    result = verify(healthy.url, "--values", STAGING, "--values", fire_now, "--values", other)
    assert result.returncode == 1
    out = result.stdout
    # Loaded, but switched off by these values: extra, like a disabled alert, and not read.
    detail = failing(out, "recording rules", "psi-field/availability", "0/0 ok +15 extra")
    assert detail.startswith("extra slo:sli_error:ratio_rate5m: loaded from ")
    assert detail.endswith("psi-field.rules.yaml, not shipped with these values")
    assert row(out, "alerting rules", "psi-field/availability")[2:4] == ("FAIL", "0/0 ok +2 extra")
    assert [r[1] for r in rows(out) if r[0] == "slo"] == [
        "scheduler/anchor-success",
        "treaty/routing-success",
    ]
    # Switched on, but not loaded: its rules are missing, so its budget has no value.
    detail = failing(out, "recording rules", "scheduler/anchor-success", "0/15 ok")
    assert detail.startswith(
        "missing group sloth-slo-sli-recordings-scheduler-anchor-success: not loaded; "
        "the chart ships it in scheduler.rules.yaml (8 rules: "
    )
    assert row(out, "alerting rules", "scheduler/anchor-success")[2:4] == ("FAIL", "0/2 ok")
    status, count, detail = row(out, "slo", "scheduler/anchor-success")[2:]
    assert (status, count) == ("no data", "no value")
    assert detail.startswith("no value: its rules are not loaded (no group sloth-slo-sli-")
    # The loaded rules record staging's 99.9%, not the 99.5% of these values.
    assert row(out, "slo", "treaty/routing-success")[2:] == (
        "FAIL",
        "100% left",
        "differs objective: 99.9% loaded, the chart ships 99.5%",
    )
    assert summary(out).startswith(
        "checked 4 targets, 19 metric families, 68 rules (52 recording, 16 alerting), 2 SLOs: "
        "34 rules, 1 SLO failed; 1 SLO without a value yet; 3 alerts firing"
    )


def dropping_staging_texts(share: float, routed: float | None = None) -> dict:
    """Staging with treaty traffic from now on, a share of it dropped; routed fixes that counter."""
    start = time.monotonic()

    def treaty() -> str:
        values = dropping_treaty(time.monotonic() - start, share)
        return treaty_text(
            values if routed is None else {**values, "treaty_requests_routed": routed}
        )

    return {**healthy_staging(), TREATY: treaty}


#: With traffic, TreatyNoRequests no longer fires.
BUSY_FIRING = FIRING - {"TreatyNoRequests"}


def test_each_slo_reports_the_budget_left_and_the_burn_rate_its_rules_record(
    shipped_rules, fire_now
):
    # 0.05% of the requests dropped from the first scrape on: the error ratio is half the
    # 0.1% budget in every window, so half the budget is left and it burns at 0.5.
    texts = dropping_staging_texts(0.0005)
    with prometheus_on(texts, list(shipped_rules.values()), BUSY_FIRING) as (prom, _):
        result = verify(prom.url, "--values", STAGING, "--values", fire_now)
        as_json = verify(prom.url, "--values", STAGING, "--values", fire_now, "--output", "json")
    assert result.returncode == 0, result.stdout
    assert row(result.stdout, "slo", "treaty/routing-success")[2:] == (
        "ok",
        "50% left",
        "objective 99.9% over 30d, burn rate 0.5",
    )
    assert row(result.stdout, "slo", "psi-field/availability")[2:] == (
        "ok",
        "100% left",
        "objective 99.5% over 28d, burn rate 0",
    )
    assert as_json.returncode == 0
    [psi_field, treaty] = json.loads(as_json.stdout)["slos"]
    assert (treaty["id"], treaty["state"]) == ("treaty-routing-success", "ok")
    assert treaty["budgetRemaining"] == pytest.approx(0.5)
    assert treaty["burnRate"] == pytest.approx(0.5)
    assert (psi_field["budgetRemaining"], psi_field["burnRate"]) == (1.0, 0.0)


def refuse(constant: str) -> None:
    """json.loads' parse_constant: NaN and Infinity are not JSON."""
    raise ValueError(f"{constant} is not JSON")


def slo_report(stdout: str, sloth_id: str) -> tuple[bool, dict, dict]:
    """From strict JSON: whether the report is ok, its SLO totals, and the one SLO's entry."""
    report = json.loads(stdout, parse_constant=refuse)
    [slo] = [s for s in report["slos"] if s["id"] == sloth_id]
    return report["ok"], report["totals"]["slos"], slo


def test_a_nan_budget_fails_and_says_where_it_comes_from(shipped_rules, fire_now):
    # Requests arrive, and the router's exporter writes NaN for the routed ones.
    texts = dropping_staging_texts(0.0005, routed=math.nan)
    with prometheus_on(texts, list(shipped_rules.values()), BUSY_FIRING) as (prom, _):
        result = verify(prom.url, "--values", STAGING, "--values", fire_now)
        as_json = verify(prom.url, "--values", STAGING, "--values", fire_now, "--output", "json")
    assert result.returncode == 1
    sli = "the SLI (1 - treaty_requests_routed / treaty_requests_total) read NaN samples"
    assert row(result.stdout, "slo", "treaty/routing-success")[2:] == (
        "FAIL",
        "NaN",
        f"NaN slo:period_error_budget_remaining:ratio: {sli}: check what exports its series; "
        "the budget stays NaN while they are in its 30d period",
    )
    at = rows(result.stdout).index(row(result.stdout, "slo", "treaty/routing-success"))
    assert rows(result.stdout)[at + 1] == (
        "",
        "",
        "",
        "",
        f"NaN slo:current_burn_rate:ratio: {sli}: check what exports its series",
    )
    # A NaN is no rule error: the SLO's rules are loaded and healthy.
    assert row(result.stdout, "recording rules", "treaty/routing-success")[2:4] == (
        "ok",
        "15/15 ok",
    )
    assert ": 1 SLO failed; " in summary(result.stdout)
    assert as_json.returncode == 1
    ok, totals, treaty = slo_report(as_json.stdout, "treaty-routing-success")
    assert (ok, totals) == (False, {"checked": 2, "failed": 1, "no_data": 0})
    values = (treaty["state"], treaty["ok"], treaty["budgetRemaining"], treaty["burnRate"])
    assert values == ("failed", False, "NaN", "NaN")
    assert [p["what"] for p in treaty["problems"]] == ["NaN", "NaN"]


def test_an_slo_recorded_twice_or_infinite_fails_and_the_note_of_no_value_stays_out():
    staging = release(load_spec().spec, release_values(prepare(values_paths=[STAGING])))

    def sample(name: str, sloth_id: str, value: str, **labels: str) -> dict:
        return {"metric": {"__name__": name, "sloth_id": sloth_id, **labels}, "value": [0, value]}

    loaded = {g for slo in staging.slos for g in slo.groups}
    psi_field, treaty = slo_statuses(
        staging,
        [
            sample(BUDGET, "psi-field-availability", "0.9", cluster="a"),
            sample(BUDGET, "psi-field-availability", "0.8", cluster="b"),
            sample(BUDGET, "treaty-routing-success", "0.9"),
            sample(BURN, "treaty-routing-success", "+Inf"),
        ],
        loaded,
    )
    assert (psi_field.state, psi_field.budget_remaining, psi_field.note) == ("failed", None, "")
    assert [str(p) for p in psi_field.problems] == [
        "duplicate slo:period_error_budget_remaining:ratio: 2 series with "
        "sloth_id=psi-field-availability: other rules record it too"
    ]
    assert (treaty.state, treaty.budget_remaining, treaty.burn_rate) == ("failed", 0.9, math.inf)
    assert [str(p) for p in treaty.problems] == [
        "infinite slo:current_burn_rate:ratio: the SLI (1 - treaty_requests_routed / "
        "treaty_requests_total) read infinite samples: check what exports its series"
    ]


def test_an_slo_whose_series_are_not_scraped_yet_has_no_value_and_does_not_fail(helm, tmp_path):
    families = [
        {"name": "treaty_requests_total", "type": "counter", "help": "Requests received."},
        {"name": "treaty_requests_routed", "type": "counter", "help": "Requests routed."},
    ]

    def slo(name: str, **matchers: str) -> dict:
        def counter(metric: str) -> dict:
            return {"metric": metric, "matchers": matchers}

        events = {
            "good": counter("treaty_requests_routed"),
            "total": counter("treaty_requests_total"),
        }
        return {
            "name": name,
            "description": "Requests routed, of all received.",
            "objective": 99.9,
            "sli": {"events": events},
            "runbook": "https://runbooks.example.com/routing",
        }

    # The second SLO reads a pod that is not running yet.
    service = minimal_service(
        "treaty",
        metrics={"port": "http", "families": families},
        slos=[slo("routing-success"), slo("eu-routing-success", pod="treaty-eu-0")],
    )
    spec = tmp_path / "spec.yaml"
    spec.write_text(dump_yaml(minimal_spec(service)))
    chart = tmp_path / "chart" / "demo"
    write_chart(generate_from_files([spec]).files, chart)
    rendered = helm("template", "demo", chart)
    assert rendered.returncode == 0, rendered.stderr
    rules = write_rule_files(rule_files(rendered.stdout), tmp_path / "rules")
    with prometheus_on({TREATY: treaty_text()}, rules, set(), budgets=1) as (prom, _):
        result = verify(prom.url, "--spec", spec)
        as_json = verify(prom.url, "--spec", spec, "--output", "json")
    assert result.returncode == 0, result.stdout
    assert row(result.stdout, "slo", "treaty/routing-success")[2:4] == ("ok", "100% left")
    assert row(result.stdout, "slo", "treaty/eu-routing-success")[2:] == (
        "no data",
        "no value",
        "no value yet: Prometheus has no "
        'slo:period_error_budget_remaining:ratio{sloth_id="treaty-eu-routing-success"}; it has '
        "one once the SLI's series (1 - treaty_requests_routed / treaty_requests_total) are "
        "scraped and its rules evaluated (just installed?)",
    )
    assert row(result.stdout, "recording rules", "treaty/eu-routing-success")[2:4] == (
        "ok",
        "15/15 ok",
    )
    assert summary(result.stdout) == (
        "checked 1 target, 2 metric families, 34 rules (30 recording, 4 alerting), 2 SLOs: "
        "all present and healthy; 1 SLO without a value yet; 0 alerts firing, 0 pending"
    )
    assert as_json.returncode == 0
    ok, totals, eu = slo_report(as_json.stdout, "treaty-eu-routing-success")
    assert (ok, totals) == (True, {"checked": 2, "failed": 0, "no_data": 1})
    assert (eu["state"], eu["ok"], eu["budgetRemaining"], eu["burnRate"]) == (
        "no data",
        True,
        None,
        None,
    )
    assert eu["note"].startswith("no value yet: Prometheus has no ")


def test_a_target_down_fails_and_names_the_pod(shipped_rules, fire_now):
    with prometheus_on(healthy_staging(), list(shipped_rules.values()), set()) as (prom, running):
        running[PSI_FIELD_1].stop()
        # The first failed scrape may end in EOF or a reset; from then on it is refused.
        prom.wait_until(
            lambda: any("connection refused" in t["lastError"] for t in prom.targets()),
            10,
            message="psi-field-1 refusing scrapes",
        )
        result = verify(prom.url, "--values", STAGING, "--values", fire_now)
        as_json = verify(prom.url, "--values", STAGING, "--values", fire_now, "--output", "json")
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert report["ok"] is False
    assert report["totals"]["targets"] == {"checked": 4, "failed": 1}
    [failed] = [c for c in report["checks"] if not c["ok"]]
    assert (failed["kind"], failed["service"], failed["checked"], failed["failed"]) == (
        "targets",
        "psi-field",
        2,
        1,
    )
    [problem] = failed["problems"]
    assert (problem["what"], problem["item"].split()[0]) == ("down", PSI_FIELD_1[1])
    assert "connection refused" in problem["detail"]
    assert result.returncode == 1
    detail = failing(result.stdout, "targets", "psi-field", "1/2 up")
    assert detail.startswith(f"down {PSI_FIELD_1[1]} (127.0.0.1:")
    assert "connection refused" in detail
    assert row(result.stdout, "targets", "treaty")[2] == "ok"
    assert summary(result.stdout).startswith(
        "checked 4 targets, 19 metric families, 68 rules (52 recording, 16 alerting), 2 SLOs: "
        "1 target failed;"
    )


def test_a_missing_metric_family_fails_and_is_named_per_service(live, fire_now):
    prom, running = live
    family = "treaty_provenance_coverage"
    values = {k: v for k, v in TREATY_VALUES.items() if k != family}
    running[TREATY].text = treaty_text(values)
    try:
        prom.wait_until(lambda: not prom.query(family), 10, message=f"{family} gone")
        result = verify(prom.url, "--values", STAGING, "--values", fire_now)
    finally:
        running[TREATY].text = treaty_text()
        prom.wait_until(lambda: prom.query(family), 10, message=f"{family} back")
    assert result.returncode == 1
    assert row(result.stdout, "metric families", "treaty")[2:] == (
        "FAIL",
        "5/6 present",
        f"missing {family}",
    )
    assert row(result.stdout, "metric families", "psi-field")[2:4] == ("ok", "7/7 present")
    assert ": 1 metric family failed;" in summary(result.stdout)


def test_a_rule_file_that_fails_to_load_a_failing_rule_and_a_duplicate_are_named(
    shipped_rules, fire_now, tmp_path
):
    # psi:density:avg now fails on every evaluation: the two pods match many-to-many.
    psi_field = tmp_path / "psi-field.rules.yaml"
    psi_field.write_text(
        shipped_rules["psi-field.rules.yaml"]
        .read_text()
        .replace(
            'avg by (job, namespace) (psi_field_density{job="psi-field"})',
            'psi_field_density{job="psi-field"} + on () psi_field_density{job="psi-field"}',
        )
    )
    # The scheduler's file is mounted twice: its rule is loaded twice.
    scheduler = shipped_rules["scheduler.rules.yaml"]
    (tmp_path / "again").mkdir()
    again = tmp_path / "again" / scheduler.name
    again.write_text(scheduler.read_text())
    loaded = [scheduler, again, psi_field]
    with prometheus_on(healthy_staging(), loaded, set(), budgets=1) as (prom, _):
        # The treaty file arrives with a duplicate key: the reload fails, the others stay.
        treaty = shipped_rules["treaty.rules.yaml"]
        broken = tmp_path / "broken" / treaty.name
        broken.parent.mkdir()
        text = treaty.read_text()
        broken.write_text(text.replace("    rules:\n", "    rules:\n    rules:\n", 1))
        config = json.loads(prom.config_file.read_text())
        config["rule_files"].append(str(broken))
        prom.config_file.write_text(json.dumps(config))
        with pytest.raises(PrometheusError, match="reload failed"):
            prom.reload()
        result = verify(prom.url, "--values", STAGING, "--values", fire_now)
    assert result.returncode == 1
    out = result.stdout
    status, _, detail = row(out, "prometheus", "-")[2:]
    assert (status, detail.split(":")[0]) == ("FAIL", "reload failed configuration")
    detail = failing(out, "recording rules", "treaty", "0/11 ok")
    assert detail.startswith(
        "missing group treaty.recording: not loaded; the chart ships it in treaty.rules.yaml "
        "(11 rules: treaty:fill_rate:avg, treaty:fill_rate:min, "
    )
    assert row(out, "alerting rules", "treaty")[2:4] == ("FAIL", "0/7 ok")
    detail = failing(out, "recording rules", "psi-field", "9/10 ok")
    assert detail.startswith("unhealthy psi:density:avg: found duplicate series for the match")
    assert row(out, "alerting rules", "psi-field")[2:4] == ("ok", "5/5 ok")
    assert row(out, "recording rules", "scheduler")[2:] == (
        "FAIL",
        "0/1 ok",
        "duplicate vaultmesh:l3_availability: loaded 2 times",
    )
    # The treaty's SLO rules are in the file that did not load: they fail, and its budget
    # has no value, which the rules' failure already counts.
    detail = failing(out, "recording rules", "treaty/routing-success", "0/15 ok")
    assert detail.startswith(
        "missing group sloth-slo-sli-recordings-treaty-routing-success: not loaded; the chart "
        "ships it in treaty.rules.yaml (8 rules: slo:sli_error:ratio_rate5m, "
    )
    assert row(out, "slo", "treaty/routing-success")[2:] == (
        "no data",
        "no value",
        "no value: its rules are not loaded (no group "
        "sloth-slo-sli-recordings-treaty-routing-success, "
        "sloth-slo-meta-recordings-treaty-routing-success, "
        "sloth-slo-alerts-treaty-routing-success)",
    )
    assert row(out, "slo", "psi-field/availability")[2:4] == ("ok", "100% left")
    assert ": 37 rules, 1 config reload failed;" in summary(out)


def test_an_unreachable_url_is_a_connection_error_with_exit_2():
    url = f"http://{LOOPBACK}:{free_port()}"
    started = time.monotonic()
    result = verify(url, "--retries", "1")
    assert time.monotonic() - started < 20
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert f"{url}: error: cannot reach Prometheus at {url} (2 attempts): " in result.stderr
    assert "Connection refused" in result.stderr
    assert "fix: check --prometheus-url" in result.stderr


def test_a_server_that_does_not_answer_times_out_within_the_bound():
    with socket.socket() as listener:
        listener.bind((LOOPBACK, 0))
        listener.listen(4)
        url = f"http://{LOOPBACK}:{listener.getsockname()[1]}"
        started = time.monotonic()
        result = verify(url, "--timeout", "0.5", "--retries", "1")
        elapsed = time.monotonic() - started
    assert result.returncode == 2
    assert "(2 attempts): no answer within 0.5s" in result.stderr
    assert elapsed < 10


class Unavailable(BaseHTTPRequestHandler):
    """Answers every request with 503, as a Prometheus that is still starting."""

    requests = 0

    def do_GET(self) -> None:
        type(self).requests += 1
        self.send_error(503)

    def log_message(self, format, *args) -> None:
        """Keep the test output clean."""


class EmptyAnswers(BaseHTTPRequestHandler):
    """Answers every request with a successful API envelope around no data."""

    def do_GET(self) -> None:
        body = json.dumps({"status": "success", "data": {}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args) -> None:
        """Keep the test output clean."""


def verify_against(handler: type[BaseHTTPRequestHandler], *args: str) -> Outcome:
    """chartgen verify against a loopback server answering with `handler`."""
    server = ThreadingHTTPServer((LOOPBACK, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        return verify(f"http://{LOOPBACK}:{server.server_address[1]}", *args)
    finally:
        server.shutdown()
        server.server_close()


def test_an_answer_in_another_shape_is_a_clear_error_not_a_traceback():
    result = verify_against(EmptyAnswers, "--retries", "0")
    assert result.returncode == 2
    assert "answered in a shape the Prometheus API does not have (KeyError: " in result.stderr
    assert "activeTargets" in result.stderr


def test_503_is_retried_a_bounded_number_of_times():
    result = verify_against(Unavailable, "--retries", "2")
    assert result.returncode == 2
    assert Unavailable.requests == 3
    assert "/api/v1/status/runtimeinfo answered HTTP 503 Service Unavailable (3 attempts)" in (
        result.stderr
    )


def test_a_url_that_is_not_prometheus_is_a_clear_error():
    with Exporter("") as exporter:
        result = verify(f"http://{exporter.address}", "--retries", "0")
    assert result.returncode == 2
    assert "/api/v1/targets?state=active answered HTTP 404 Not Found: not the Prometheus API" in (
        result.stderr
    )
    assert verify("ftp://example.com", "--retries", "0").stderr.startswith(
        "--prometheus-url: error: 'ftp://example.com' is not an http(s) URL"
    )


@pytest.mark.parametrize(
    "url", ["http://exa mple.com:9090", "http://example.com:99999", "http://:9090", "http://x:0"]
)
def test_a_url_without_a_host_or_a_real_port_is_refused_before_any_request(url):
    result = verify(url, "--retries", "0")
    assert result.returncode == 2
    assert result.stderr.startswith(
        f"--prometheus-url: error: {url!r} is not an http(s) URL with a host and a port from 1 "
        "to 65535\n"
    )


def test_a_timeout_of_nan_is_a_usage_error():
    result = verify(f"http://{LOOPBACK}:9", "--timeout", "nan")
    assert result.returncode == 2
    assert result.stderr == (
        "--timeout: error: nan is not a number of seconds\n  fix: give one from 0.1 to 300\n"
    )


def test_bad_values_a_bad_spec_or_no_url_are_usage_errors_with_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("alerts:\n  TreatyRttHigh:\n    severity: page\n")
    result = verify(f"http://{LOOPBACK}:9", "--values", bad)
    assert result.returncode == 2
    assert f"{bad}:3: alerts.TreatyRttHigh.severity: error: " in result.stderr
    assert "Traceback" not in result.stderr
    missing = verify(f"http://{LOOPBACK}:9", "--values", tmp_path / "nope.yaml")
    assert missing.returncode == 2
    assert "nope.yaml: error: cannot read values file: No such file" in missing.stderr
    bad_spec = verify(
        f"http://{LOOPBACK}:9", "--spec", ROOT / "tests" / "bad_specs" / "bad-name.yaml"
    )
    assert bad_spec.returncode == 2
    assert "bad-name.yaml:" in bad_spec.stderr and "fix:" in bad_spec.stderr
    no_url = CliRunner().invoke(main, ["verify"])
    assert no_url.exit_code == 2
    assert "Missing option '--prometheus-url'" in no_url.stderr


def test_json_output_says_when_and_why_verify_could_not_run(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("alerts:\n  TreatyRttHigh:\n    severity: page\n")
    url = f"http://{LOOPBACK}:9"
    result = verify(url, "--values", bad, "--namespace", "aurora-staging", "--output", "json")
    assert result.returncode == 2
    assert f"{bad}:3: alerts.TreatyRttHigh.severity: error: " in result.stderr
    assert json.loads(result.stdout) == {
        "prometheus": url,
        "namespace": "aurora-staging",
        "ran": False,
        "ok": False,
        "diagnostics": [
            {
                "where": {"file": str(bad), "line": 3, "path": "alerts.TreatyRttHigh.severity"},
                "what": "Input should be 'info', 'warning' or 'critical'",
                "fix": "use one of: info, warning, critical",
                "warning": False,
            }
        ],
        "summary": "verify could not run: 1 error",
    }
    unreachable = verify(f"http://{LOOPBACK}:{free_port()}", "--retries", "0", "--output=json")
    assert unreachable.returncode == 2
    [why] = json.loads(unreachable.stdout)["diagnostics"]
    assert why["what"].startswith("cannot reach Prometheus at ")
    assert why["fix"].startswith("check --prometheus-url")


def test_json_output_says_why_when_the_arguments_are_wrong():
    missing = verify_args("verify", "--output", "json")
    assert missing.returncode == 2
    assert "Missing option '--prometheus-url'" in missing.stderr
    report = json.loads(missing.stdout)
    assert (report["ran"], report["ok"]) == (False, False)
    assert report["diagnostics"][0]["where"]["file"] == "--prometheus-url"
    assert report["diagnostics"][0]["what"] == "Missing option '--prometheus-url'."
    table = verify_args("verify", "--timeout", "0", "--prometheus-url", f"http://{LOOPBACK}:9")
    assert (table.returncode, table.stdout) == (2, "")


def verify_args(*args: str) -> Outcome:
    """chartgen with these arguments, exactly (verify() adds --prometheus-url)."""
    result = CliRunner().invoke(main, list(args))
    return Outcome(result.exit_code, result.stdout, result.stderr)

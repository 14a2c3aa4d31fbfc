"""Prometheus rules as data: rule groups per service, serialized, with Helm slots for values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chartgen.monitoring import params, promql, slos
from chartgen.render import ALERT_TESTS, SLO_TESTS
from chartgen.render.serialize import helm_escape, to_yaml
from chartgen.spec import SLO, Alert, ChartSpec, Service


@dataclass(frozen=True)
class AlertRuleView:
    """One alerting rule as YAML text whose threshold, for and severity come from values."""

    name: str
    text: str


@dataclass(frozen=True)
class SLORulesView:
    """The rule groups of one SLO, switched on and given its objective by the values."""

    name: str
    text: str


@dataclass(frozen=True)
class RulesView:
    """The rule file of one service: recording rules as fixed text, alerts and SLOs switchable."""

    service: str
    file_name: str
    recording_text: str
    alerts: tuple[AlertRuleView, ...]
    slos: tuple[SLORulesView, ...]

    @property
    def group_names(self) -> tuple[str, str]:
        """Names of the recording and the alerting group."""
        return f"{self.service}.recording", f"{self.service}.alerts"


def has_rules(service: Service) -> bool:
    """Whether a service ships a rule file."""
    return bool(service.recordingRules or service.alerts or service.slos)


def rules_file_name(service: Service) -> str:
    """The name of a service's rule file, inside its ConfigMap and in promtool tests."""
    return f"{service.name}.rules.yaml"


def rules_view(service: Service) -> RulesView | None:
    """The rule file of a service, or None if it has no rules."""
    if not has_rules(service):
        return None
    recording = [
        {"record": r.record, "expr": r.expr, **({"labels": dict(r.labels)} if r.labels else {})}
        for r in service.recordingRules
    ]
    recording_text = helm_escape(to_yaml(recording)) if recording else ""
    alerts = tuple(AlertRuleView(a.alert, alert_text(a)) for a in service.alerts)
    slo_views = tuple(SLORulesView(slo.name, slo_text(service, slo)) for slo in service.slos)
    return RulesView(service.name, rules_file_name(service), recording_text, alerts, slo_views)


def slo_text(service: Service, slo: SLO) -> str:
    """YAML of an SLO's rule groups (list items) whose objective comes from the values."""
    text = helm_escape(to_yaml(slos.rule_groups(service, slo)))
    return text.replace(slos.OBJECTIVE_SLOT, slos.OBJECTIVE_ACTION)


def alert_text(alert: Alert) -> str:
    """YAML of one alerting rule (a list item) whose parameters, for and severity are slots."""
    name = alert.alert
    rule = {
        "alert": name,
        "expr": promql.PARAM.sub(lambda m: params.slot(name, m.group(1)), alert.expr),
        "for": params.slot(name, "for"),
        "labels": {**alert.labels, "severity": params.slot(name, "severity")},
        "annotations": {
            "summary": alert.summary,
            "description": alert.description,
            "runbook_url": alert.runbook,
        },
    }
    # The template sets $alert to the alert's values.
    return params.fill(helm_escape(to_yaml([rule])), lambda _, key: "{{ $alert." + key + " }}")


def all_alerts(spec: ChartSpec) -> list[Alert]:
    """Every alert of the spec, in spec order."""
    return [alert for service in spec.services for alert in service.alerts]


#: How often the SLO tests evaluate the rules: the rules' values at an evaluation do not depend
#: on it, and days of 1-minute samples stay affordable (the 5m default costs 3.5 times more).
SLO_EVALUATION_INTERVAL = "15m"


def promtool_tests(spec: ChartSpec) -> dict[str, dict[str, Any]]:
    """The chart's `promtool test rules` documents by file name, each against all rule files.

    alerts.test.yaml holds every alert example of the spec; slos.test.yaml the simulated days
    of each SLO (chartgen.monitoring.slos.simulation_tests).

    Each example checks the ALERTS series of its alert at its time: promtool compares only
    the labels of a series, where an alert_rule_test would compare the annotations too, and
    those hold Prometheus templates that only an evaluation of the rule can fill in. promtool
    reports a failed expression without the test's name: a PromQL comment names the example.
    """
    files = [rules_file_name(s) for s in spec.services if has_rules(s)]
    tests = [
        {
            "name": f"{alert.alert}: {example.name}",
            "interval": example.interval,
            "input_series": [{"series": s.series, "values": s.values} for s in example.series],
            "promql_expr_test": [
                {
                    "expr": f"{firing_selector(alert.alert)} # {' '.join(example.name.split())}",
                    "eval_time": example.at,
                    "exp_samples": [
                        {"labels": firing_series(alert, labels), "value": 1}
                        for labels in example.fires
                    ],
                }
            ],
        }
        for alert in all_alerts(spec)
        for example in alert.examples
    ]
    slo_tests = [
        test
        for service, slo in slos.all_slos(spec.services)
        for test in slos.simulation_tests(service, slo)
    ]
    documents = {
        ALERT_TESTS: {"rule_files": files, "evaluation_interval": "1m", "tests": tests},
        SLO_TESTS: {
            "rule_files": files,
            "evaluation_interval": SLO_EVALUATION_INTERVAL,
            # Each SLO's alerts read its meta rules, which read its SLI rules: evaluated in that
            # order, each reads the others' values of the same evaluation, which Prometheus'
            # 5m lookback would miss between evaluations 15m apart.
            "group_eval_order": [
                name
                for service, slo in slos.all_slos(spec.services)
                for name in slos.group_names(service, slo)
            ],
            "tests": slo_tests,
        },
    }
    return {name: document for name, document in documents.items() if document["tests"]}


def firing_selector(name: str) -> str:
    """PromQL selecting the ALERTS series of an alert's firing instances."""
    return promql.series_text("ALERTS", {"alertname": name, "alertstate": "firing"})


def firing_series(alert: Alert, labels: dict[str, str]) -> str:
    """The ALERTS series Prometheus writes while the alert fires with these example labels."""
    own = {"alertname": alert.alert, "alertstate": "firing"}
    # Prometheus sets alertname and alertstate on ALERTS over any label of those names.
    full = {"alertname": alert.alert, **labels, **alert.labels, "severity": alert.severity} | own
    return promql.series_text("ALERTS", full)

"""What verify found: checks, problems, SLO budgets and active alerts, as a table or as JSON."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

from chartgen.errors import Diagnostic

SEVERITIES = ("info", "warning", "critical")

#: The kinds of check, as the table's CHECK column names them.
TARGETS = "targets"
FAMILIES = "metric families"
RECORDING = "recording rules"
ALERTING = "alerting rules"
PROMETHEUS = "prometheus"
SLO = "slo"
#: The kinds the summary and the JSON totals count.
_COUNTED = (TARGETS, FAMILIES, RECORDING, ALERTING)

#: Labels an alert row leaves out: the row already shows them (an SLO alert's name says its SLO).
_SHOWN_LABELS = frozenset(
    {"alertname", "severity", "job", "sloth_id", "sloth_service", "sloth_slo", "sloth_severity"}
)


@dataclass(frozen=True)
class Problem:
    """One thing that is wrong: what (down, missing, ...), about which item, and why."""

    what: str
    item: str
    detail: str = ""

    def __str__(self) -> str:
        """E.g. ``down psi-field-1 (10.0.0.7:8000): connection refused``."""
        return f"{self.what} {self.item}" + (f": {self.detail}" if self.detail else "")


@dataclass(frozen=True)
class Check:
    """One kind of check for one service: how many items were checked and what failed."""

    kind: str
    service: str
    checked: int
    failed: int
    problems: tuple[Problem, ...] = ()
    #: Items found that nobody declared (rules of the chart's groups these values do not ship).
    extra: int = 0
    #: The SLO whose rules these are; empty for the service's own.
    slo: str = ""

    @property
    def ok(self) -> bool:
        """Nothing failed."""
        return not self.problems

    @property
    def subject(self) -> str:
        """The SERVICE column: the service, or service/slo for an SLO's rules."""
        return f"{self.service}/{self.slo}" if self.slo else self.service

    @property
    def result(self) -> str:
        """The count column of the table, e.g. ``2/2 up``."""
        if self.kind == PROMETHEUS:
            return "reload ok" if self.ok else "reload failed"
        word = {TARGETS: "up", FAMILIES: "present"}.get(self.kind, "ok")
        extra = f" +{self.extra} extra" if self.extra else ""
        return f"{self.checked - self.failed}/{self.checked} {word}{extra}"


@dataclass(frozen=True)
class SLOStatus:
    """An SLO's error budget as Prometheus records it: None where it has no value yet."""

    service: str
    slo: str
    id: str
    #: What the release ships: percent, and the rolling period.
    objective: float | int
    period: str
    #: slo:period_error_budget_remaining:ratio and slo:current_burn_rate:ratio; NaN stays NaN.
    budget_remaining: float | None
    burn_rate: float | None
    problems: tuple[Problem, ...] = ()
    #: Why there is no value, when there is none and that is no failure of its own.
    note: str = ""

    @property
    def state(self) -> Literal["ok", "failed", "no data"]:
        """Failed with a problem; no data while the budget has no value yet (not a failure)."""
        if self.problems:
            return "failed"
        return "no data" if self.budget_remaining is None else "ok"

    @property
    def result(self) -> str:
        """The count column of the table, e.g. ``87.5% left``."""
        if self.budget_remaining is None:
            return "no value"
        if not math.isfinite(self.budget_remaining):
            return percent(self.budget_remaining)
        return f"{percent(self.budget_remaining)} left"

    def describe(self) -> str:
        """The objective, the burn rate and whether the budget is gone; or why there is no value."""
        if self.budget_remaining is None and self.note:
            return self.note
        text = f"objective {percent(self.objective / 100)} over {self.period}"
        if self.burn_rate is not None:
            text += f", burn rate {number(self.burn_rate)}"
        if self.budget_remaining is not None and self.budget_remaining <= 0:
            text += ", budget exhausted"
        return text


@dataclass(frozen=True)
class ActiveAlert:
    """A pending or firing alert of the chart."""

    alert: str
    service: str
    severity: str
    state: str
    labels: tuple[tuple[str, str], ...]
    active_at: str
    value: str

    def describe(self) -> str:
        """Name and distinguishing labels, e.g. ``PsiFieldPodDrift namespace=aurora-staging``."""
        shown = " ".join(f"{k}={v}" for k, v in self.labels if k not in _SHOWN_LABELS)
        return f"{self.alert} {shown}".strip()


@dataclass(frozen=True)
class Report:
    """The outcome of a verification."""

    prometheus: str
    namespace: str | None
    checks: tuple[Check, ...]
    alerts: tuple[ActiveAlert, ...]
    fail_on_firing: str | None = None
    slos: tuple[SLOStatus, ...] = ()

    @property
    def failing_alerts(self) -> tuple[ActiveAlert, ...]:
        """Firing alerts at --fail-on-firing's severity or worse."""
        if self.fail_on_firing is None:
            return ()
        floor = SEVERITIES.index(self.fail_on_firing)
        return tuple(
            a for a in self.alerts if a.state == "firing" and _severity_rank(a.severity) >= floor
        )

    @property
    def ok(self) -> bool:
        """Everything declared is present and healthy, and no alert fails the run."""
        healthy = all(c.ok for c in self.checks) and all(s.state != "failed" for s in self.slos)
        return healthy and not self.failing_alerts

    def slo_totals(self) -> dict[str, int]:
        """How many SLOs were read, failed, and have no value yet."""
        states = Counter(s.state for s in self.slos)
        return {"checked": len(self.slos), "failed": states["failed"], "no_data": states["no data"]}

    def totals(self, kind: str) -> tuple[int, int]:
        """(checked, failed) over every service for one kind of check; extras count as failed."""
        checks = [c for c in self.checks if c.kind == kind]
        return sum(c.checked for c in checks), sum(c.failed + c.extra for c in checks)

    def summary(self) -> str:
        """One line: how much was checked, how much failed, and the alerts."""
        targets, families, recording, alerting = map(self.totals, _COUNTED)
        rules = recording[0] + alerting[0]
        checked = (
            f"checked {plural(targets[0], 'target')}, {plural(families[0], 'metric family')}, "
            f"{plural(rules, 'rule')} ({recording[0]} recording, {alerting[0]} alerting)"
        )
        slos = self.slo_totals()
        if slos["checked"]:
            checked += f", {plural(slos['checked'], 'SLO')}"
        failures = {
            "target": targets[1],
            "metric family": families[1],
            "rule": recording[1] + alerting[1],
            "SLO": slos["failed"],
            "config reload": self.totals(PROMETHEUS)[1],
        }
        failed = [plural(count, noun) for noun, count in failures.items() if count]
        outcome = f"{', '.join(failed)} failed" if failed else "all present and healthy"
        if slos["no_data"]:
            outcome += f"; {plural(slos['no_data'], 'SLO')} without a value yet"
        firing = [a for a in self.alerts if a.state == "firing"]
        by_severity = Counter(a.severity for a in firing)
        worst_first = sorted(by_severity, key=_severity_rank, reverse=True)
        severities = ", ".join(f"{by_severity[s]} {s}" for s in worst_first)
        alerts = f"{plural(len(firing), 'alert')} firing"
        alerts += f" ({severities})" if severities else ""
        alerts += f", {len(self.alerts) - len(firing)} pending"
        line = f"{checked}: {outcome}; {alerts}"
        if self.failing_alerts:
            line += (
                f"; {len(self.failing_alerts)} firing at {self.fail_on_firing} or worse fail "
                "the run (--fail-on-firing)"
            )
        return line

    def table(self) -> str:
        """The readable report: one table of checks, problems and alerts, then the summary.

        An alert's status is its state, or FAIL when --fail-on-firing makes it fail the run.
        """
        rows: list[tuple[str, ...]] = [("CHECK", "SERVICE", "STATUS", "RESULT", "DETAIL")]
        for check in self.checks:
            details = [str(p) for p in check.problems] or [""]
            status = "ok" if check.ok else "FAIL"
            rows.append((check.kind, check.subject, status, check.result, details[0]))
            rows.extend(("", "", "", "", detail) for detail in details[1:])
        for slo in self.slos:
            details = [str(p) for p in slo.problems] or [slo.describe()]
            status = {"ok": "ok", "failed": "FAIL", "no data": "no data"}[slo.state]
            rows.append((SLO, f"{slo.service}/{slo.slo}", status, slo.result, details[0]))
            rows.extend(("", "", "", "", detail) for detail in details[1:])
        failing = set(self.failing_alerts)
        for alert in self.alerts:
            state = "FAIL" if alert in failing else alert.state
            rows.append(("alert", alert.service, state, alert.severity, alert.describe()))
        # The last column, the detail, is not padded.
        widths = [max(len(row[i]) for row in rows) for i in range(4)] + [0]
        lines = ("  ".join(map(str.ljust, row, widths)).rstrip() for row in rows)
        return "\n".join(lines) + f"\n\n{self.summary()}\n"

    def as_json(self) -> str:
        """The report for machines: every check with its problems, the alerts, the totals."""
        document = {
            "prometheus": self.prometheus,
            "namespace": self.namespace,
            "ran": True,
            "ok": self.ok,
            "totals": {
                kind.replace(" ", "_"): dict(
                    zip(("checked", "failed"), self.totals(kind), strict=True)
                )
                for kind in _COUNTED
            }
            | {"slos": self.slo_totals()},
            "checks": [
                {
                    "kind": c.kind,
                    "service": c.service,
                    "slo": c.slo or None,
                    "ok": c.ok,
                    "checked": c.checked,
                    "failed": c.failed,
                    "extra": c.extra,
                    "problems": [vars(p) for p in c.problems],
                }
                for c in self.checks
            ],
            "slos": [
                {
                    "service": s.service,
                    "slo": s.slo,
                    "id": s.id,
                    "objective": s.objective,
                    "period": s.period,
                    "state": s.state,
                    "ok": s.state != "failed",
                    "budgetRemaining": json_number(s.budget_remaining),
                    "burnRate": json_number(s.burn_rate),
                    "note": s.note or None,
                    "problems": [vars(p) for p in s.problems],
                }
                for s in self.slos
            ],
            "alerts": [
                {
                    "alert": a.alert,
                    "service": a.service,
                    "severity": a.severity,
                    "state": a.state,
                    "fails": a in self.failing_alerts,
                    "labels": dict(a.labels),
                    "activeAt": a.active_at,
                    "value": a.value,
                }
                for a in self.alerts
            ],
            "summary": self.summary(),
        }
        return json.dumps(document, indent=2, allow_nan=False) + "\n"


def not_run_json(
    prometheus: str | None, namespace: str | None, diagnostics: Sequence[Diagnostic]
) -> str:
    """For machines, when verify could not run: why, as the diagnostics stderr shows."""
    errors = sum(not d.warning for d in diagnostics)
    document = {
        "prometheus": prometheus,
        "namespace": namespace,
        "ran": False,
        "ok": False,
        "diagnostics": [asdict(d) for d in diagnostics],
        "summary": f"verify could not run: {plural(errors, 'error')}",
    }
    return json.dumps(document, indent=2) + "\n"


def _severity_rank(severity: str) -> int:
    """Rank of a severity; an unknown one counts as the worst, so it is never missed."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def json_number(value: float | None) -> float | str | None:
    """A number for JSON: null when missing; "NaN", "+Inf" or "-Inf" as Prometheus writes them."""
    if value is None or math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else f"{value:+}".replace("inf", "Inf")


def percent(ratio: float) -> str:
    """A ratio in percent, to two decimals without trailing zeros, e.g. 87.5%; NaN stays NaN."""
    if not math.isfinite(ratio):
        return str(json_number(ratio))
    # + 0.0: a ratio just below 0 shows as 0%, not -0%.
    return f"{round(ratio * 100, 2) + 0.0:.2f}".rstrip("0").rstrip(".") + "%"


def number(value: float) -> str:
    """A measured value, to three significant digits, e.g. 0.5, 14.4, 1.23e+03; NaN stays NaN."""
    if not math.isfinite(value):
        return str(json_number(value))
    return f"{value:.3g}"


def plural(count: int, noun: str) -> str:
    """A count and its noun, plural unless one."""
    if count == 1:
        return f"1 {noun}"
    return f"{count} {noun[:-1]}ies" if noun.endswith("y") else f"{count} {noun}s"

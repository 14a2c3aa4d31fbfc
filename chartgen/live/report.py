"""What verify found: checks, problems and active alerts, as a table or as JSON."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from chartgen.errors import Diagnostic

SEVERITIES = ("info", "warning", "critical")

#: The kinds of check, as the table's CHECK column names them.
TARGETS = "targets"
FAMILIES = "metric families"
RECORDING = "recording rules"
ALERTING = "alerting rules"
PROMETHEUS = "prometheus"
#: The kinds the summary and the JSON totals count.
_COUNTED = (TARGETS, FAMILIES, RECORDING, ALERTING)

#: Labels an alert row leaves out: the row already shows them.
_SHOWN_LABELS = frozenset({"alertname", "severity", "job"})


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

    @property
    def ok(self) -> bool:
        """Nothing failed."""
        return not self.problems

    @property
    def result(self) -> str:
        """The count column of the table, e.g. ``2/2 up``."""
        if self.kind == PROMETHEUS:
            return "reload ok" if self.ok else "reload failed"
        word = {TARGETS: "up", FAMILIES: "present"}.get(self.kind, "ok")
        extra = f" +{self.extra} extra" if self.extra else ""
        return f"{self.checked - self.failed}/{self.checked} {word}{extra}"


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
        return all(c.ok for c in self.checks) and not self.failing_alerts

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
        failures = {
            "target": targets[1],
            "metric family": families[1],
            "rule": recording[1] + alerting[1],
            "config reload": self.totals(PROMETHEUS)[1],
        }
        failed = [plural(count, noun) for noun, count in failures.items() if count]
        outcome = f"{', '.join(failed)} failed" if failed else "all present and healthy"
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
            rows.append((check.kind, check.service, status, check.result, details[0]))
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
            },
            "checks": [
                {
                    "kind": c.kind,
                    "service": c.service,
                    "ok": c.ok,
                    "checked": c.checked,
                    "failed": c.failed,
                    "extra": c.extra,
                    "problems": [vars(p) for p in c.problems],
                }
                for c in self.checks
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
        return json.dumps(document, indent=2) + "\n"


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


def plural(count: int, noun: str) -> str:
    """A count and its noun, plural unless one."""
    if count == 1:
        return f"1 {noun}"
    return f"{count} {noun[:-1]}ies" if noun.endswith("y") else f"{count} {noun}s"

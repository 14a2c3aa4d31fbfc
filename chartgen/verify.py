"""Verify a live release against the spec: targets, metric families, rules and alerts.

Reads the Prometheus HTTP API and compares it with what the chart ships for the release's
values (chartgen.release). The result is a Report: one check per service and kind, each with
its problems, and the chart's alerts that are pending or firing.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from chartgen.errors import ChartgenError, Location
from chartgen.promapi import PrometheusAPI
from chartgen.release import ExpectedRule, Release

SEVERITIES = ("info", "warning", "critical")
TARGETS = "targets"
FAMILIES = "metric families"
RECORDING = "recording rules"
ALERTING = "alerting rules"
PROMETHEUS = "prometheus"
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
        good = self.checked - self.failed
        if self.kind == TARGETS:
            return f"{good}/{self.checked} up"
        if self.kind == PROMETHEUS:
            return "reload ok" if self.ok else "reload failed"
        if self.kind == FAMILIES:
            return f"{good}/{self.checked} present"
        return f"{good}/{self.checked} ok" + (f" +{self.extra} extra" if self.extra else "")


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
        targets, families, recording, alerting = (
            self.totals(kind) for kind in (TARGETS, FAMILIES, RECORDING, ALERTING)
        )
        checked = (
            f"checked {_plural(targets[0], 'target')}, {_plural(families[0], 'metric family')}, "
            f"{_plural(recording[0] + alerting[0], 'rule')} "
            f"({recording[0]} recording, {alerting[0]} alerting)"
        )
        failed = [
            _plural(count, noun)
            for count, noun in (
                (targets[1], "target"),
                (families[1], "metric family"),
                (recording[1] + alerting[1], "rule"),
                (self.totals(PROMETHEUS)[1], "config reload"),
            )
            if count
        ]
        outcome = f"{', '.join(failed)} failed" if failed else "all present and healthy"
        firing = [a for a in self.alerts if a.state == "firing"]
        by_severity = Counter(a.severity for a in firing)
        severities = ", ".join(f"{n} {s}" for s, n in sorted(by_severity.items(), key=_by_rank))
        alerts = f"{len(firing)} alert{'s' * (len(firing) != 1)} firing"
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
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines = [
            "  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True))
            + "  "
            + row[4]
            for row in rows
        ]
        return "\n".join(line.rstrip() for line in lines) + f"\n\n{self.summary()}\n"

    def as_json(self) -> str:
        """The report for machines: every check with its problems, the alerts, the totals."""
        document = {
            "prometheus": self.prometheus,
            "namespace": self.namespace,
            "ok": self.ok,
            "totals": {
                kind.replace(" ", "_"): dict(
                    zip(("checked", "failed"), self.totals(kind), strict=True)
                )
                for kind in (TARGETS, FAMILIES, RECORDING, ALERTING)
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


def verify_release(
    api: PrometheusAPI,
    release: Release,
    *,
    namespace: str | None = None,
    fail_on_firing: str | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> Report:
    """Check the live Prometheus against what the release ships."""
    try:
        return _verify(api, release, namespace, fail_on_firing, progress)
    except (KeyError, TypeError, AttributeError) as err:
        raise ChartgenError.single(
            f"{api.url} answered in a shape the Prometheus API does not have "
            f"({type(err).__name__}: {err})",
            fix="point --prometheus-url at a Prometheus server",
            where=Location(api.url),
        ) from None


def _verify(
    api: PrometheusAPI,
    release: Release,
    namespace: str | None,
    fail_on_firing: str | None,
    progress: Callable[[str], None],
) -> Report:
    progress(f"reading {api.url}")
    checks = list(reload_checks(api.get("status/runtimeinfo", missing_ok=True)))
    progress(f"checking the scrape targets of {_plural(len(release.services), 'service')}")
    active = api.get("targets", state="active")["activeTargets"]
    checks += target_checks(release, active, namespace)
    families = sum(len(s.families) for s in release.services)
    if families:
        progress(f"checking {_plural(families, 'metric family')}")
        checks += family_checks(release, api.query(families_query(release, namespace)))
    progress(f"checking {_plural(len(release.rules), 'rule')}")
    groups = api.get("rules")["groups"]
    checks += rule_checks(release, groups)
    progress("listing pending and firing alerts")
    alerts = active_alerts(release, groups, namespace)
    return Report(api.url, namespace, tuple(checks), alerts, fail_on_firing)


def reload_checks(runtime: dict[str, Any] | None) -> list[Check]:
    """Whether Prometheus' last reload of its configuration and rule files succeeded."""
    if runtime is None or "reloadConfigSuccess" not in runtime:
        return []  # a Prometheus-compatible server without runtime info
    if runtime["reloadConfigSuccess"]:
        return [Check(PROMETHEUS, "-", 1, 0)]
    problem = Problem(
        "reload failed",
        "configuration",
        "the last reload of the configuration or rule files failed and the previous ones "
        "stay in effect; a rule file does not load: see the Prometheus log",
    )
    return [Check(PROMETHEUS, "-", 1, 1, (problem,))]


def target_checks(
    release: Release, active: Sequence[dict[str, Any]], namespace: str | None
) -> list[Check]:
    """Each scraped service has at least its replicas as targets, and all are up."""
    checks = []
    for service in release.services:
        found = sorted(
            (t for t in active if _target_in(t, service.name, namespace)),
            key=lambda t: (t["labels"].get("pod", ""), t["labels"].get("instance", "")),
        )
        problems = [
            Problem(
                "down" if target["health"] == "down" else "not scraped yet",
                _target_name(target),
                target.get("lastError", ""),
            )
            for target in found
            if target["health"] != "up"
        ]
        down = len(problems)
        absent = max(service.replicas - len(found), 0)
        if absent:
            where = f"job={service.name}" + (f", namespace={namespace}" if namespace else "")
            problems.append(
                Problem(
                    "missing",
                    f"{absent} of {service.replicas} targets",
                    f"Prometheus has {len(found)} target(s) with {where}; check the pods "
                    "and their prometheus.io/* annotations",
                )
            )
        checked = max(len(found), service.replicas)
        checks.append(Check(TARGETS, service.name, checked, down + absent, tuple(problems)))
    return checks


def families_query(release: Release, namespace: str | None) -> str:
    """One instant query for the names of every declared series present, by job."""
    names = sorted({n for s in release.services for _, series in s.families for n in series})
    jobs = sorted(s.name for s in release.services)
    selector = f'{{__name__=~"{"|".join(names)}", job=~"{"|".join(jobs)}"}}'
    if namespace is not None:
        # The target's namespace: up carries it even where a series has its own namespace label.
        selector = f"{selector} and on (job, instance) up{{namespace={json.dumps(namespace)}}}"
    return f"group by (job, __name__) ({selector})"


def family_checks(release: Release, samples: Sequence[dict[str, Any]]) -> list[Check]:
    """Each scraped service exposes every series of every declared metric family."""
    present = {(s["metric"].get("job"), s["metric"].get("__name__")) for s in samples}
    checks = []
    for service in release.services:
        problems = []
        for family, series in service.families:
            absent = [n for n in series if (service.name, n) not in present]
            if absent:
                detail = "" if absent == [family] else f"no {', '.join(absent)}"
                problems.append(Problem("missing", family, detail))
        checks.append(
            Check(FAMILIES, service.name, len(service.families), len(problems), tuple(problems))
        )
    return checks


def rule_checks(release: Release, groups: Sequence[dict[str, Any]]) -> list[Check]:
    """Each shipped rule is loaded once and healthy, with its severity and for; none extra."""
    checks = []
    for group_name, service in release.groups.items():
        expected = [r for r in release.rules if r.group == group_name]
        loaded = [(g, r) for g in groups if g["name"] == group_name for r in g["rules"]]
        if not expected and not loaded:
            continue
        kind = RECORDING if group_name.endswith(".recording") else ALERTING
        problems, failed, extra = _group_problems(group_name, expected, loaded)
        checks.append(Check(kind, service, len(expected), len(failed), tuple(problems), len(extra)))
    return checks


def _group_problems(
    group: str,
    expected: Sequence[ExpectedRule],
    loaded: Sequence[tuple[dict[str, Any], dict[str, Any]]],
) -> tuple[list[Problem], set[str], set[str]]:
    """The problems of one rule group, the shipped rules that failed, and the extra rules."""
    if expected and not loaded:
        missing = Problem(
            "missing",
            f"group {group}",
            f"not loaded; the chart ships it in {expected[0].file} "
            f"({_plural(len(expected), 'rule')}: {', '.join(r.name for r in expected)})",
        )
        return [missing], {r.name for r in expected}, set()
    problems: list[Problem] = []
    failed: set[str] = set()
    extra: set[str] = set()
    counts = Counter(rule["name"] for _, rule in loaded)
    wanted = {r.name: r for r in expected}
    for shipped in expected:
        if shipped.name not in counts:
            problems.append(Problem("missing", shipped.name))
            failed.add(shipped.name)
        elif counts[shipped.name] > 1:
            problems.append(
                Problem("duplicate", shipped.name, f"loaded {counts[shipped.name]} times")
            )
            failed.add(shipped.name)
    for source, rule in loaded:
        name = rule["name"]
        want = wanted.get(name)
        if want is None:
            file = source.get("file", "?")
            problems.append(
                Problem("extra", name, f"loaded from {file}, not shipped with these values")
            )
            extra.add(name)
            continue
        found = _rule_problems(rule, want)
        problems += found
        failed |= {name} if found else set()
    return list(dict.fromkeys(problems)), failed, extra


def _rule_problems(rule: dict[str, Any], want: ExpectedRule) -> list[Problem]:
    """A loaded rule that the chart ships: healthy, and an alert's severity and for as shipped."""
    name = rule["name"]
    problems = []
    if rule.get("health") != "ok":
        problems.append(Problem("unhealthy", name, rule.get("lastError") or "not evaluated yet"))
    if want.type == "alerting":
        severity = rule.get("labels", {}).get("severity", "")
        if severity != want.severity:
            detail = f"severity {severity or 'none'}, the chart ships {want.severity}"
            problems.append(Problem("differs", name, detail))
        duration = float(rule.get("duration", 0))
        if duration != want.for_seconds:
            detail = f"for {duration:g}s, the chart ships {want.for_seconds:g}s"
            problems.append(Problem("differs", name, detail))
    return problems


def active_alerts(
    release: Release, groups: Sequence[dict[str, Any]], namespace: str | None
) -> tuple[ActiveAlert, ...]:
    """The chart's pending and firing alerts, in spec order then by name and labels."""
    order = {group: index for index, group in enumerate(release.groups)}
    found = []
    for group in groups:
        service = release.groups.get(group["name"])
        if service is None:
            continue
        for rule in group["rules"]:
            for alert in rule.get("alerts", []):
                labels = alert["labels"]
                if namespace is not None and labels.get("namespace", namespace) != namespace:
                    continue
                found.append(
                    (
                        order[group["name"]],
                        ActiveAlert(
                            alert=labels.get("alertname", rule["name"]),
                            service=service,
                            severity=labels.get("severity", ""),
                            state=alert["state"],
                            labels=tuple(sorted(labels.items())),
                            active_at=alert.get("activeAt", ""),
                            value=alert.get("value", ""),
                        ),
                    )
                )
    found.sort(key=lambda item: (item[0], item[1].alert, item[1].labels))
    return tuple(alert for _, alert in found)


def _target_in(target: dict[str, Any], job: str, namespace: str | None) -> bool:
    labels = target.get("labels", {})
    return bool(labels.get("job") == job and namespace in (None, labels.get("namespace")))


def _target_name(target: dict[str, Any]) -> str:
    labels = target.get("labels", {})
    instance = labels.get("instance", target.get("scrapeUrl", "?"))
    return f"{labels['pod']} ({instance})" if "pod" in labels else instance


def _severity_rank(severity: str) -> int:
    """Rank of a severity; an unknown one counts as the worst, so it is never missed."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def _by_rank(item: tuple[str, int]) -> int:
    return -_severity_rank(item[0])


def _plural(count: int, noun: str) -> str:
    if count == 1:
        return f"1 {noun}"
    return f"{count} {noun[:-1]}ies" if noun.endswith("y") else f"{count} {noun}s"

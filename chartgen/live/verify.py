"""Verify a live release against the spec: targets, metric families, rules, SLOs and alerts.

Reads the Prometheus HTTP API and compares it with what the chart ships for the release's
values (chartgen.live.release). The result is a Report: one check per service (or SLO) and kind,
each with its problems, each SLO's error budget as its rules record it, and the chart's alerts
that are pending or firing.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from chartgen.errors import ChartgenError, Location
from chartgen.live.promapi import PrometheusAPI
from chartgen.live.release import ExpectedRule, ExpectedSLO, GroupOwner, Release
from chartgen.live.report import (
    ALERTING,
    FAMILIES,
    PROMETHEUS,
    RECORDING,
    TARGETS,
    ActiveAlert,
    Check,
    Problem,
    Report,
    SLOStatus,
    percent,
    plural,
)
from chartgen.monitoring import promql

#: The meta records verify reads for each SLO, by sloth_id.
BUDGET_REMAINING = "slo:period_error_budget_remaining:ratio"
BURN_RATE = "slo:current_burn_rate:ratio"
OBJECTIVE = "slo:objective:ratio"


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
        progress(f"reading {api.url}")
        checks = reload_checks(api.get("status/runtimeinfo", missing_ok=True))
        progress(f"checking the scrape targets of {plural(len(release.services), 'service')}")
        active = api.get("targets", state="active")["activeTargets"]
        checks += target_checks(release, active, namespace)
        families = sum(len(s.families) for s in release.services)
        if families:
            progress(f"checking {plural(families, 'metric family')}")
            checks += family_checks(release, api.query(families_query(release, namespace)))
        progress(f"checking {plural(len(release.rules), 'rule')}")
        groups = api.get("rules")["groups"]
        checks += rule_checks(release, groups)
        slos: list[SLOStatus] = []
        if release.slos:
            progress(f"reading the error budgets of {plural(len(release.slos), 'SLO')}")
            loaded = {group["name"] for group in groups}
            slos = slo_statuses(release, api.query(slo_query(release)), loaded)
        progress("listing pending and firing alerts")
        alerts = active_alerts(release, groups, namespace)
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as err:
        raise ChartgenError.single(
            f"{api.url} answered in a shape the Prometheus API does not have "
            f"({type(err).__name__}: {err})",
            fix="point --prometheus-url at a Prometheus server",
            where=Location(api.url),
        ) from None
    return Report(api.url, namespace, tuple(checks), alerts, fail_on_firing, tuple(slos))


def reload_checks(runtime: dict[str, Any] | None) -> list[Check]:
    """Whether Prometheus' last reload of its configuration and rule files succeeded."""
    if runtime is None or "reloadConfigSuccess" not in runtime:
        return []  # a Prometheus-compatible server without runtime info
    if runtime["reloadConfigSuccess"]:
        return [Check(PROMETHEUS, "-", 1, 0)]
    detail = (
        "the last reload of the configuration or rule files failed and the previous ones "
        "stay in effect; a rule file does not load: see the Prometheus log"
    )
    return [Check(PROMETHEUS, "-", 1, 1, (Problem("reload failed", "configuration", detail),))]


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
        problems = [_target_problem(target) for target in found if target["health"] != "up"]
        down = len(problems)
        absent = max(service.replicas - len(found), 0)
        if absent:
            where = f"job={service.name}" + (f", namespace={namespace}" if namespace else "")
            detail = (
                f"Prometheus has {len(found)} target(s) with {where}; check the pods "
                "and their prometheus.io/* annotations"
            )
            problems.append(Problem("missing", f"{absent} of {service.replicas} targets", detail))
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
    """Each shipped rule is loaded once and healthy, with its severity and for; none extra.

    One check per owner and type: a service's recording or alerting group, or an SLO's
    recording groups (SLI and meta) or its alerts group.
    """
    owned: dict[GroupOwner, list[str]] = {}
    for name, owner in release.groups.items():
        owned.setdefault(owner, []).append(name)
    checks = []
    for owner, names in owned.items():
        expected = [r for r in release.rules if r.group in names]
        loaded = {n: [(g, r) for g in groups if g["name"] == n for r in g["rules"]] for n in names}
        if expected or any(loaded.values()):
            checks.append(_rules_check(owner, expected, loaded))
    return checks


def _rules_check(
    owner: GroupOwner,
    expected: Sequence[ExpectedRule],
    loaded: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]],
) -> Check:
    """The rules of one owner: its shipped rules that failed, and the extra rules loaded."""
    problems: list[Problem] = []
    failed = 0
    for group, found in loaded.items():
        shipped = [r for r in expected if r.group == group]
        if shipped and not found:
            detail = (
                f"not loaded; the chart ships it in {shipped[0].file} "
                f"({plural(len(shipped), 'rule')}: {', '.join(r.name for r in shipped)})"
            )
            problems.append(Problem("missing", f"group {group}", detail))
            failed += len(shipped)
            continue
        in_group = tuple(dict.fromkeys(_group_problems(shipped, found)))
        # Every problem but an extra rule's is about a shipped rule, by its name.
        failed += len({p.item for p in in_group if p.what != "extra"})
        problems += in_group
    unique = tuple(dict.fromkeys(problems))
    extra = len({p.item for p in unique if p.what == "extra"})
    kind = RECORDING if owner.type == "recording" else ALERTING
    return Check(kind, owner.service, len(expected), failed, unique, extra, owner.slo)


def _group_problems(
    expected: Sequence[ExpectedRule], loaded: Sequence[tuple[dict[str, Any], dict[str, Any]]]
) -> list[Problem]:
    """One loaded rule group: its shipped rules that failed, and the extra rules loaded in it."""
    problems: list[Problem] = []
    counts = Counter(rule["name"] for _, rule in loaded)
    for shipped in expected:
        if shipped.name not in counts:
            problems.append(Problem("missing", shipped.name))
        elif counts[shipped.name] > 1:
            problems.append(
                Problem("duplicate", shipped.name, f"loaded {counts[shipped.name]} times")
            )
    wanted = {r.name: r for r in expected}
    for source, rule in loaded:
        want = wanted.get(rule["name"])
        if want is not None:
            problems += _rule_problems(rule, want)
        else:
            detail = f"loaded from {source.get('file', '?')}, not shipped with these values"
            problems.append(Problem("extra", rule["name"], detail))
    return problems


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


def slo_query(release: Release) -> str:
    """One instant query for the budget left, burn rate and objective of every shipped SLO."""
    names = "|".join((BUDGET_REMAINING, BURN_RATE, OBJECTIVE))
    ids = "|".join(s.id for s in release.slos)
    return f'{{__name__=~"{names}", {promql.label_matcher("sloth_id", ids, "=~")}}}'


def slo_statuses(
    release: Release, samples: Sequence[dict[str, Any]], loaded: set[str]
) -> list[SLOStatus]:
    """Each shipped SLO's budget left and burn rate; NaN, duplicates and another objective fail.

    No value yet is not a failure of its own: an SLI has none until Prometheus has scraped its
    series (twice, for a rate) and evaluated its rules, e.g. just after the release is
    installed; rules that are not loaded already fail their rule check.
    """
    found: dict[tuple[str, str], list[float]] = {}
    for sample in samples:
        key = (sample["metric"].get("sloth_id", ""), sample["metric"].get("__name__", ""))
        found.setdefault(key, []).append(float(sample["value"][1]))
    statuses = []
    for slo in release.slos:
        problems: list[Problem] = []
        values: dict[str, float | None] = {}
        for name in (BUDGET_REMAINING, BURN_RATE, OBJECTIVE):
            series = found.get((slo.id, name), [])
            values[name] = series[0] if len(series) == 1 else None
            if len(series) > 1:
                detail = f"{len(series)} series with sloth_id={slo.id}: other rules record it too"
                problems.append(Problem("duplicate", name, detail))
        for name in (BUDGET_REMAINING, BURN_RATE):
            value = values[name]
            if value is not None and not math.isfinite(value):
                problems.append(_not_finite(slo, name, value))
        live = values[OBJECTIVE]
        if live is not None and not math.isclose(live * 100, slo.objective, rel_tol=1e-9):
            detail = f"{percent(live)} loaded, the chart ships {percent(slo.objective / 100)}"
            problems.append(Problem("differs", "objective", detail))
        status = SLOStatus(
            slo.service,
            slo.name,
            slo.id,
            slo.objective,
            slo.period,
            values[BUDGET_REMAINING],
            values[BURN_RATE],
            tuple(problems),
            "" if (slo.id, BUDGET_REMAINING) in found else _no_value_note(slo, loaded),
        )
        statuses.append(status)
    return statuses


def _no_value_note(slo: ExpectedSLO, loaded: set[str]) -> str:
    """Why an SLO has no budget recorded: its rules are not loaded, or have no input yet."""
    unloaded = [g for g in slo.groups if g not in loaded]
    if unloaded:
        return f"no value: its rules are not loaded (no group {', '.join(unloaded)})"
    selector = promql.series_text(BUDGET_REMAINING, {"sloth_id": slo.id})
    return (
        f"no value yet: Prometheus has no {selector}; it has one once the SLI's series "
        f"({slo.indicator}) are scraped and its rules evaluated (just installed?)"
    )


def _not_finite(slo: ExpectedSLO, name: str, value: float) -> Problem:
    """A budget or burn rate that is NaN or infinite: where it comes from, and how long it stays."""
    what = "NaN" if math.isnan(value) else "infinite"
    detail = f"the SLI ({slo.indicator}) read {what} samples: check what exports its series"
    if name == BUDGET_REMAINING:
        detail += f"; the budget stays {what} while they are in its {slo.period} period"
    return Problem(what, name, detail)


def active_alerts(
    release: Release, groups: Sequence[dict[str, Any]], namespace: str | None
) -> tuple[ActiveAlert, ...]:
    """The chart's pending and firing alerts, in spec order then by name and labels."""
    order = {group: index for index, group in enumerate(release.groups)}
    found = []
    for group in groups:
        owner = release.groups.get(group["name"])
        if owner is None:
            continue
        for rule in group["rules"]:
            for alert in rule.get("alerts", []):
                labels = alert["labels"]
                if namespace is not None and labels.get("namespace", namespace) != namespace:
                    continue
                active = ActiveAlert(
                    alert=labels.get("alertname", rule["name"]),
                    service=owner.service,
                    severity=labels.get("severity", ""),
                    state=alert["state"],
                    labels=tuple(sorted(labels.items())),
                    active_at=alert.get("activeAt", ""),
                    value=alert.get("value", ""),
                )
                found.append((order[group["name"]], active))
    found.sort(key=lambda item: (item[0], item[1].alert, item[1].labels))
    return tuple(alert for _, alert in found)


def _target_in(target: dict[str, Any], job: str, namespace: str | None) -> bool:
    labels = target.get("labels", {})
    return bool(labels.get("job") == job and namespace in (None, labels.get("namespace")))


def _target_problem(target: dict[str, Any]) -> Problem:
    """A target that is not up: its pod and instance, or its instance, and its last error."""
    labels = target.get("labels", {})
    instance = labels.get("instance", target.get("scrapeUrl", "?"))
    name = f"{labels['pod']} ({instance})" if "pod" in labels else instance
    state = "down" if target["health"] == "down" else "not scraped yet"
    return Problem(state, name, target.get("lastError", ""))

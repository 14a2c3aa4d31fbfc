"""SLO rules as data, compatible with Sloth's: SLI ratios per window, meta rules, burn-rate alerts.

The names and labels are Sloth's (``slo:sli_error:ratio_rate5m``, ``sloth_id`` ...), so its
Grafana dashboards read chartgen's rules unchanged. The windows are the SRE workbook's
multiwindow, multi-burn-rate ones, from Sloth's period catalog; a burn-rate factor is the share
of the error budget an alert lets burn in its long window: share x period / long window.

Where chartgen departs from Sloth: an SLI window without events is no error (0), not 0/0
(NaN), so a quiet service keeps its period's budget and burn rates defined and never alerts;
an error (or good) counter with no series counts as zero errors (or zero good events).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from chartgen.monitoring import promql
from chartgen.monitoring.params import format_number
from chartgen.spec import SLO, Counter, Service, SLOAlert

#: Where a rule holds the SLO's objective, in percent: Helm fills it from the values.
OBJECTIVE_SLOT = "@chartgen:slo.objective"
#: The Helm action the slot becomes; the rules template sets $slo to the SLO's values.
OBJECTIVE_ACTION = "{{ $slo.objective }}"
#: The error budget, as a share of events, in PromQL.
BUDGET = f"(1 - {OBJECTIVE_SLOT} / 100)"

ID_LABELS = ("sloth_id", "sloth_service", "sloth_slo")
WINDOW_LABEL = "sloth_window"
SLI_RECORD = "slo:sli_error:ratio_rate{window}"
META_RECORDS = (
    "slo:objective:ratio",
    "slo:error_budget:ratio",
    "slo:time_period:days",
    "slo:current_burn_rate:ratio",
    "slo:period_burn_rate:ratio",
    "slo:period_error_budget_remaining:ratio",
    "sloth_slo_info",
)
#: Alert kinds, their severities, and Sloth's sloth_severity label.
SEVERITIES = {"page": "critical", "ticket": "warning"}


@dataclass(frozen=True)
class BurnWindow:
    """One condition of a multiwindow alert: budget share burnt in the long window."""

    short: str
    long: str
    budget_percent: Fraction

    def factor(self, period: str) -> Fraction:
        """The burn rate of this condition: budget share x period / long window."""
        return self.budget_percent / 100 * int(_seconds(period)) / int(_seconds(self.long))


@dataclass(frozen=True)
class PeriodWindows:
    """The four conditions of a period: page quick and slow, ticket quick and slow."""

    page: tuple[BurnWindow, BurnWindow]
    ticket: tuple[BurnWindow, BurnWindow]


_WORKBOOK = PeriodWindows(
    page=(BurnWindow("5m", "1h", Fraction(2)), BurnWindow("30m", "6h", Fraction(5))),
    ticket=(BurnWindow("2h", "1d", Fraction(10)), BurnWindow("6h", "3d", Fraction(10))),
)
#: Sloth's period catalog: the SRE workbook's windows for 30 and 28 days, its 7-day example.
WINDOWS: dict[str, PeriodWindows] = {
    "30d": _WORKBOOK,
    "28d": _WORKBOOK,
    "7d": PeriodWindows(
        page=(BurnWindow("5m", "1h", Fraction(8)), BurnWindow("30m", "6h", Fraction(25, 2))),
        ticket=(BurnWindow("2h", "1d", Fraction(20)), BurnWindow("6h", "3d", Fraction(42))),
    ),
}


def _seconds(duration: str) -> float:
    return promql.duration_seconds(duration)


def sli_windows(slo: SLO) -> list[str]:
    """The windows of the SLI rules: every alert window, shortest first, then the period."""
    windows = WINDOWS[slo.period]
    used = {w for pair in (*windows.page, *windows.ticket) for w in (pair.short, pair.long)}
    return [*sorted(used, key=_seconds), slo.period]


def slo_id(service: Service, slo: SLO) -> str:
    """Sloth's SLO id: <service>-<slo>."""
    return f"{service.name}-{slo.name}"


def id_labels(service: Service, slo: SLO) -> dict[str, str]:
    """The labels that identify an SLO's series."""
    return dict(zip(ID_LABELS, (slo_id(service, slo), service.name, slo.name), strict=True))


def alert_name(service: Service, slo: SLO, kind: str) -> str:
    """The name of an SLO alert: the spec's, or <Service><Slo>BudgetBurn<Kind>."""
    alert: SLOAlert = getattr(slo.alerting, kind)
    if alert.name:
        return alert.name
    words = re.split(r"[-_]", f"{service.name}-{slo.name}")
    return "".join(w.capitalize() for w in words if w) + f"BudgetBurn{kind.capitalize()}"


def alerts(service: Service, slo: SLO) -> list[tuple[str, SLOAlert]]:
    """The kinds and settings of the SLO's enabled alerts, page first."""
    return [(kind, alert) for kind in SEVERITIES if (alert := getattr(slo.alerting, kind)).enabled]


def selector(metric: str, job: str, matchers: dict[str, str], *extra: str) -> str:
    """A series selector: the metric, the service's job, the SLI's label values, ``extra``."""
    pairs = [promql.label_matcher("job", job), *extra]
    pairs += [promql.label_matcher(k, v) for k, v in matchers.items()]
    return f"{metric}{{{', '.join(pairs)}}}"


def _rate(counter: Counter, job: str, window: str) -> str:
    return f"sum(rate({selector(counter.metric, job, counter.matchers)}[{window}]))"


def le_matcher(bound: float | int) -> str:
    """A matcher of the bucket bound as Go (5) and Python (5.0) clients write it."""
    text = format_number(bound)
    forms = [text] if "." in text or "e" in text else [text, f"{text}.0"]
    return promql.label_matcher("le", "|".join(re.escape(f) for f in forms), "=~")


def sli_error_expr(service: Service, slo: SLO, window: str) -> str:
    """The error ratio of the SLI over one window; no events in it is no error."""
    sli, job = slo.sli, service.name
    if sli.availability is not None:
        up = selector("up", job, sli.availability.matchers)
        return f"1 - avg(avg_over_time({up}[{window}]))"
    if sli.latency is not None:
        latency = sli.latency
        name, matchers = latency.histogram, latency.matchers
        good = f"sum(rate({selector(f'{name}_bucket', job, matchers, le_matcher(latency.le))}"
        good += f"[{window}]))"
        total = f"sum(rate({selector(f'{name}_count', job, matchers)}[{window}]))"
    else:
        assert sli.events is not None
        events = sli.events
        total = _rate(events.total, job, window)
        if events.errors is not None:
            errors = _rate(events.errors, job, window)
            return f"(\n  ({errors})\n  /\n  ({total} > 0)\n)\nor\n({total} * 0)"
        assert events.good is not None
        good = _rate(events.good, job, window)
    # total > 0 leaves out a window without events; "or total * 0" makes it no error.
    return f"(\n  1 - {good}\n  /\n  ({total} > 0)\n)\nor\n({total} * 0)"


def _filter(labels: dict[str, str]) -> str:
    return promql.series_text("", labels)


def group_names(service: Service, slo: SLO) -> list[str]:
    """The names of the SLO's rule groups: SLI and meta recordings, and alerts if it has any."""
    kinds = ["sli-recordings", "meta-recordings"] + (["alerts"] if alerts(service, slo) else [])
    return [f"sloth-slo-{kind}-{slo_id(service, slo)}" for kind in kinds]


def record_names(slo: SLO) -> list[str]:
    """The names the SLO's rules record, in rule order."""
    return [*(SLI_RECORD.format(window=w) for w in sli_windows(slo)), *META_RECORDS]


def rule_groups(service: Service, slo: SLO) -> list[dict[str, Any]]:
    """The SLO's three rule groups, Sloth's: SLI recordings, meta recordings, alerts."""
    ids = id_labels(service, slo)
    own = _filter(ids)
    short = WINDOWS[slo.period].page[0].short
    sli_rules = []
    for window in sli_windows(slo):
        if window == slo.period:
            # Sloth's period rule: the average of the shortest window's ratios over the period.
            fast = SLI_RECORD.format(window=short) + own
            expr = (
                f"sum_over_time({fast}[{window}])\n/ ignoring ({WINDOW_LABEL})\n"
                f"count_over_time({fast}[{window}])"
            )
            labels: dict[str, str] = {WINDOW_LABEL: window}
        else:
            expr = sli_error_expr(service, slo, window)
            labels = {**ids, WINDOW_LABEL: window}
        sli_rules.append(
            {"record": SLI_RECORD.format(window=window), "expr": expr, "labels": labels}
        )
    on = f"/ on({', '.join(ID_LABELS)}) group_left\nslo:error_budget:ratio{own}"
    meta = [
        ("slo:objective:ratio", f"vector({OBJECTIVE_SLOT} / 100)", {}),
        ("slo:error_budget:ratio", f"vector{BUDGET}", {}),
        ("slo:time_period:days", f"vector({format_number(_seconds(slo.period) / 86400)})", {}),
        ("slo:current_burn_rate:ratio", f"{SLI_RECORD.format(window=short)}{own}\n{on}", {}),
        ("slo:period_burn_rate:ratio", f"{SLI_RECORD.format(window=slo.period)}{own}\n{on}", {}),
        ("slo:period_error_budget_remaining:ratio", f"1 - slo:period_burn_rate:ratio{own}", {}),
        ("sloth_slo_info", "vector(1)", {"sloth_objective": OBJECTIVE_SLOT}),
    ]
    meta_rules = [
        {"record": record, "expr": expr, "labels": {**ids, **extra}} for record, expr, extra in meta
    ]
    alert_rules = [alert_rule(service, slo, kind, alert) for kind, alert in alerts(service, slo)]
    rules = [sli_rules, meta_rules, alert_rules]
    # group_names leaves out the alerts group of an SLO without alerts, and zip its rules.
    return [
        {"name": name, "rules": group}
        for name, group in zip(group_names(service, slo), rules, strict=False)
    ]


def records(service: Service, slo: SLO) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(record, expr, labels) of each recording rule of the SLO, at the spec's objective."""
    for group in rule_groups(service, slo):
        for rule in group["rules"]:
            if "record" in rule:
                yield rule["record"], fill_objective(rule["expr"], slo.objective), rule["labels"]


def alert_rule(service: Service, slo: SLO, kind: str, alert: SLOAlert) -> dict[str, Any]:
    """One multiwindow, multi-burn-rate alert: both windows of a condition burn too fast."""
    own = _filter(id_labels(service, slo))
    conditions = []
    for window in getattr(WINDOWS[slo.period], kind):
        factor = format_number(float(window.factor(slo.period)))
        sides = [
            f"max({SLI_RECORD.format(window=w)}{own} > ({factor} * {BUDGET})) "
            f"without ({WINDOW_LABEL})"
            for w in (window.short, window.long)
        ]
        conditions.append("(\n  " + "\n  and\n  ".join(sides) + "\n)")
    what = "fast" if kind == "page" else "steadily"
    summary = alert.summary or (
        f"{service.name} {slo.name}: the error budget of {slo.period} burns {what} ({kind})"
    )
    description = alert.description or (
        f"{slo.description.strip()} At this burn rate the {slo.period} error budget of the "
        f"{OBJECTIVE_SLOT}% objective runs out early."
    )
    return {
        "alert": alert_name(service, slo, kind),
        "expr": "\nor\n".join(conditions),
        "labels": {**alert.labels, "severity": SEVERITIES[kind], "sloth_severity": kind},
        "annotations": {
            "summary": summary,
            "description": description,
            "runbook_url": alert.runbook or slo.runbook,
            "title": f"({kind}) {{{{$labels.sloth_service}}}} {{{{$labels.sloth_slo}}}} SLO "
            "error budget burn rate is too fast.",
        },
    }


def fill_objective(text: str, objective: float | int) -> str:
    """Rule text with the objective slot replaced by the number, as the chart's defaults do."""
    return text.replace(OBJECTIVE_SLOT, format_number(objective))


def all_slos(services: list[Service]) -> Iterator[tuple[Service, SLO]]:
    """Every SLO, with its service, in spec order."""
    for service in services:
        for slo in service.slos:
            yield service, slo


#: Each SLO test feeds this many days of series, a sample a minute.
SIMULATED_DAYS = 3
#: Events a minute in the simulated series (10 a second).
EVENTS_PER_MINUTE = 600
#: Burn rates, in error budgets, that the tests feed: a page, and a rate too slow for a ticket.
PAGE_BURN, QUIET_BURN = Fraction(20), Fraction(1, 2)
#: When the tests look: within the hour, after a day, at the end of the simulated days.
LOOKS = ("1h", "1d", f"{SIMULATED_DAYS}d")


def ticket_burn(period: str) -> Fraction:
    """A burn rate that tickets and does not page: between the two, rounded to one digit."""
    windows = WINDOWS[period]
    low = max(w.factor(period) for w in windows.ticket)
    high = min(w.factor(period) for w in windows.page)
    middle = (float(low) * float(high)) ** 0.5
    return Fraction(round(middle, -int(f"{middle:e}".split("e")[1])))


def _number(value: Fraction | float) -> str:
    return format_number(float(value))


def _objective(objective: float | int) -> Fraction:
    return Fraction(format_number(objective))


def simulated_series(
    service: Service, slo: SLO, burn: Fraction, objective: float | int
) -> list[dict[str, str]]:
    """Promtool input series whose SLI errors burn ``burn`` error budgets (0: no events)."""
    minutes = SIMULATED_DAYS * 24 * 60
    error_share = burn * (1 - _objective(objective) / 100)
    sli, job = slo.sli, service.name
    total = EVENTS_PER_MINUTE if burn else 0

    def counter(metric: str, labels: dict[str, str], per_minute: Fraction | int) -> dict[str, str]:
        series = promql.series_text(metric, {"job": job, **labels})
        return {"series": series, "values": f"0+{_number(per_minute)}x{minutes}"}

    if sli.availability is not None:
        up = promql.series_text("up", {"job": job, **sli.availability.matchers})
        # The mean of up over the service's targets: one of 50 targets down is 0.98.
        return [{"series": up, "values": f"{_number(1 - error_share)}x{minutes}"}]
    if sli.latency is not None:
        name, matchers = sli.latency.histogram, sli.latency.matchers
        le = format_number(sli.latency.le)
        return [
            counter(f"{name}_count", matchers, total),
            counter(f"{name}_bucket", {**matchers, "le": le}, total * (1 - error_share)),
            counter(f"{name}_bucket", {**matchers, "le": "+Inf"}, total),
        ]
    assert sli.events is not None
    events = sli.events
    found = [counter(events.total.metric, events.total.matchers, total)]
    if events.errors is not None:
        found.append(counter(events.errors.metric, events.errors.matchers, total * error_share))
    if events.good is not None:
        good = total * (1 - error_share)
        found.append(counter(events.good.metric, events.good.matchers, good))
    return found


def simulation_tests(service: Service, slo: SLO) -> list[dict[str, Any]]:
    """Promtool tests of the SLO's rules over simulated days, at the spec's objective.

    Burning 20 budgets pages within the hour; a rate between the ticket and page rates tickets
    and never pages; half a budget never alerts; no events never alert, and leave every SLO
    rule defined (no NaN). "Never" is every evaluation of the simulated days.
    """
    ids = id_labels(service, slo)
    objective = slo.objective
    budget = 1 - _objective(objective) / 100
    name = f"slo {ids['sloth_id']} ({format_number(objective)}%)"
    any_alert = promql.series_text("ALERTS", {"sloth_id": ids["sloth_id"]})

    def firing(kind: str) -> dict[str, str]:
        alert: SLOAlert = getattr(slo.alerting, kind)
        return {
            "alertname": alert_name(service, slo, kind),
            "alertstate": "firing",
            **ids,
            **alert.labels,
            "severity": SEVERITIES[kind],
            "sloth_severity": kind,
        }

    def page_selector() -> str:
        return promql.series_text("ALERTS", {"alertname": alert_name(service, slo, "page")})

    def ever(selector: str) -> str:
        # ALERTS holds a sample for each evaluation an alert was pending or firing.
        return f"max_over_time({selector}[{end}])"

    def look(expr: str, at: str, samples: list[dict[str, Any]]) -> dict[str, Any]:
        return {"expr": expr, "eval_time": at, "exp_samples": samples}

    def case(what: str, burn: Fraction, looks: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "name": f"{name}: {what}",
            "interval": "1m",
            "input_series": simulated_series(service, slo, burn, objective),
            "promql_expr_test": looks,
        }

    enabled = {kind for kind, _ in alerts(service, slo)}
    end = LOOKS[-1]
    tests = []
    if "page" in enabled:
        share = _number(PAGE_BURN * budget * 100)
        page = [{"labels": promql.series_text("ALERTS", firing("page")), "value": 1}]
        tests.append(
            case(
                f"{_number(PAGE_BURN)} budgets ({share}% errors) page within the hour",
                PAGE_BURN,
                [look(promql.series_text("ALERTS", firing("page")), "1h", page)],
            )
        )
    ticket = ticket_burn(slo.period)
    ticketed = (
        [{"labels": promql.series_text("ALERTS", firing("ticket")), "value": 1}]
        if "ticket" in enabled
        else []
    )
    tests.append(
        case(
            f"{_number(ticket)} budgets ({_number(ticket * budget * 100)}% errors) ticket and "
            "never page",
            ticket,
            [look(ever(page_selector()), end, [])]
            + [look(any_alert, at, ticketed) for at in LOOKS[1:]],
        )
    )
    quiet = f"half a budget ({_number(QUIET_BURN * budget * 100)}% errors) never alerts"
    tests.append(case(quiet, QUIET_BURN, [look(ever(any_alert), end, [])]))
    silent = [look(ever(any_alert), end, [])]
    silent += [
        look(
            promql.series_text(SLI_RECORD.format(window=w), ids),
            end,
            [
                {
                    "labels": promql.series_text(
                        SLI_RECORD.format(window=w), {**ids, WINDOW_LABEL: w}
                    ),
                    "value": 0,
                }
            ],
        )
        for w in sli_windows(slo)
    ]
    short: dict[str, str] = {WINDOW_LABEL: WINDOWS[slo.period].page[0].short}
    period: dict[str, str] = {WINDOW_LABEL: slo.period}
    # (value, labels beyond the ids): the burn rates keep the window of the SLI they divide.
    values: dict[str, tuple[float, dict[str, str]]] = {
        "slo:objective:ratio": (float(objective) / 100, {}),
        "slo:error_budget:ratio": (1 - float(objective) / 100, {}),
        "slo:time_period:days": (_seconds(slo.period) / 86400, {}),
        "slo:current_burn_rate:ratio": (0, short),
        "slo:period_burn_rate:ratio": (0, period),
        "slo:period_error_budget_remaining:ratio": (1, period),
        "sloth_slo_info": (1, {"sloth_objective": format_number(objective)}),
    }
    silent += [
        look(
            promql.series_text(record, ids),
            end,
            [{"labels": promql.series_text(record, {**ids, **labels}), "value": value}],
        )
        for record, (value, labels) in values.items()
    ]
    what = "no events never alert, every SLO rule defined"
    if slo.sli.kind == "availability":
        what = "every target up never alerts, every SLO rule defined"
    tests.append(case(what, Fraction(0), silent))
    return tests


@dataclass(frozen=True)
class SLOView:
    """One SLO as the README and the SLO dashboard show it."""

    service: str
    name: str
    id: str
    description: str
    objective: float | int
    period: str
    indicator: str
    alerts: tuple[str, ...]


def indicator(service: Service, slo: SLO) -> str:
    """The SLI in words, naming the series it reads."""
    sli = slo.sli
    if sli.availability is not None:
        return f"share of scrapes of {service.name}'s targets that failed (1 - up)"
    if sli.latency is not None:
        return (
            f"share of {sli.latency.histogram} observations above {format_number(sli.latency.le)}"
        )
    assert sli.events is not None
    events = sli.events
    if events.errors is not None:
        return f"{events.errors.metric} / {events.total.metric}"
    assert events.good is not None
    return f"1 - {events.good.metric} / {events.total.metric}"


def slo_views(services: list[Service]) -> tuple[SLOView, ...]:
    """Every SLO of the spec, in spec order."""
    return tuple(
        SLOView(
            service=service.name,
            name=slo.name,
            id=slo_id(service, slo),
            description=slo.description,
            objective=slo.objective,
            period=slo.period,
            indicator=indicator(service, slo),
            alerts=tuple(alert_name(service, slo, kind) for kind, _ in alerts(service, slo)),
        )
        for service, slo in all_slos(services)
    )

"""The SLO dashboard: a spec Dashboard with a row per SLO, reading the SLO rules' records.

It is built as the spec's own dashboards are written, so the same checks, values switch
(``dashboards.slos.enabled``), ConfigMap, preview and tests apply to it.
"""

from __future__ import annotations

from chartgen.monitoring import promql, slos
from chartgen.monitoring.params import format_number
from chartgen.spec import SLO, ChartSpec, Dashboard, Panel, Row, Service, Target, Threshold

#: The generated dashboard's name: its file, ConfigMap, uid and values key.
NAME = "slos"
#: Burn rate 1 spends the error budget exactly over the period.
STEADY_BURN = 1
#: Budget left below which the stat turns orange.
LOW_BUDGET = 0.25


def _selector(record: str, service: Service, slo: SLO) -> str:
    return record + "{" + promql.label_matcher("sloth_id", slos.slo_id(service, slo)) + "}"


def slo_row(service: Service, slo: SLO) -> Row:
    """One SLO: its SLI against the objective, burn rates, budget left, and its alerts."""
    fastest = slos.WINDOWS[slo.period].page[0]
    short = fastest.short
    page_factor = format_number(float(fastest.factor(slo.period)))

    def sli(window: str) -> str:
        return _selector(slos.SLI_RECORD.format(window=window), service, slo)

    panels = [
        Panel(
            title="SLI: share of good events",
            description=(
                f"{slo.description.strip()} Measured as 1 - the error ratio "
                f"({slos.indicator(service, slo)}), over {short} and over the {slo.period} "
                "period. The objective line reads slo:objective:ratio, which the rules take "
                f"from this environment's values (slos.{service.name}.{slo.name}.objective)."
            ),
            targets=[
                Target(expr=f"1 - {sli(short)}", legend=f"SLI {short}"),
                Target(expr=f"1 - {sli(slo.period)}", legend=f"SLI {slo.period}"),
                Target(expr=_selector("slo:objective:ratio", service, slo), legend="objective"),
            ],
            unit="percentunit",
            max=1,
            width=10,
        ),
        Panel(
            title="Burn rate",
            description=(
                f"Error ratio over the error budget: at {STEADY_BURN} the budget lasts exactly "
                f"the {slo.period} period; the page alert's fastest condition is a "
                f"burn rate of {page_factor} over both {short} and {fastest.long}."
            ),
            targets=[
                Target(
                    expr=_selector("slo:current_burn_rate:ratio", service, slo),
                    legend=f"current ({short})",
                ),
                Target(
                    expr=_selector("slo:period_burn_rate:ratio", service, slo),
                    legend=f"period ({slo.period})",
                ),
            ],
            unit="suffix:x",
            min=0,
            thresholds=[
                Threshold(value=STEADY_BURN, color="orange"),
                Threshold(value=float(page_factor), color="red"),
            ],
            width=6,
        ),
        Panel(
            title="Error budget remaining",
            description=f"Share of the {slo.period} error budget left; below 0 it is spent.",
            type="stat",
            targets=[
                Target(
                    expr=_selector("slo:period_error_budget_remaining:ratio", service, slo),
                    legend="remaining",
                )
            ],
            unit="percentunit",
            decimals=1,
            thresholds=[
                Threshold(value=0, when="below", color="red"),
                Threshold(value=LOW_BUDGET, when="below", color="orange"),
            ],
            width=4,
        ),
    ]
    alerts = [(kind, slos.alert_name(service, slo, kind)) for kind, _ in slos.alerts(service, slo)]
    if alerts:
        panels.append(
            Panel(
                title="Alerts",
                description="1: the alert fires, 0: it does not. "
                + " ".join(f"{kind}: {name}." for kind, name in alerts),
                type="stat",
                targets=[
                    Target(expr=f"max({_alerts_selector(name)}) or vector(0)", legend=kind)
                    for kind, name in alerts
                ],
                unit="none",
                decimals=0,
                thresholds=[Threshold(value=1, color="red")],
                width=4,
            )
        )
    return Row(title=f"{service.name} / {slo.name} ({slo.period})", panels=panels)


def _alerts_selector(name: str) -> str:
    return promql.series_text("ALERTS", {"alertname": name, "alertstate": "firing"})


def slo_dashboard(spec: ChartSpec) -> Dashboard | None:
    """The SLO dashboard of a spec with SLOs, None without."""
    rows = [slo_row(service, slo) for service, slo in slos.all_slos(spec.services)]
    if not rows:
        return None
    return Dashboard(
        name=NAME,
        title="SLOs",
        description=(
            "Each service-level objective: its SLI against the objective, burn rates, error "
            "budget left and burn-rate alerts, from the SLO rules' Sloth-compatible records. "
            "The objective is read from slo:objective:ratio, so it follows the objective this "
            "environment's values set (slos.<service>.<slo>.objective); an SLO switched off "
            "there (slos.<service>.<slo>.enabled) shows no data."
        ),
        tags=[spec.chart.name, "slo"],
        refresh="1m",
        time="now-7d",
        rows=rows,
    )

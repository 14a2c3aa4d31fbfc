"""Grafana dashboards: rows of panels, each bound to declared metrics or recording rules."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from chartgen.spec.monitoring import AlertName, LabelName, ParamName
from chartgen.spec.types import DNS1123_LABEL, STRICT_CONFIG, Line, Prose, pattern, spec_error

# A metric family or a recording rule, by name.
SERIES_NAME = pattern(
    r"^[a-zA-Z_:][a-zA-Z0-9_:]*$", "name a metric family or recording rule (e.g. psi:density:avg)"
)
# Grafana's named colors and CSS hex colors.
COLOR = pattern(r"^(#[0-9a-fA-F]{6}|[a-z-]+)$", "name a Grafana color (e.g. red) or write #rrggbb")
# Grafana's relative time, e.g. now-6h.
RELATIVE_TIME = pattern(r"^now(-[0-9]+[smhdwMy])?$", "write now or now-N and a unit (e.g. now-6h)")

DashboardName = Annotated[
    str,
    StringConstraints(pattern=DNS1123_LABEL, max_length=40),
    Field(description="DNS-1123 label; names the JSON file, the ConfigMap and the uid."),
]
SeriesName = Annotated[
    str,
    StringConstraints(pattern=SERIES_NAME),
    Field(description="A declared metric family or recording rule, e.g. psi:pod_drift:abs."),
]


class Threshold(BaseModel):
    """A threshold line: a fixed number, or an alert's parameter so both follow one value."""

    model_config = STRICT_CONFIG

    value: float | int | None = Field(None, description="A fixed threshold.")
    alert: AlertName | None = Field(None, description="Take the value from this alert...")
    param: ParamName = Field("threshold", description="...and this parameter of it.")
    when: Literal["above", "below"] | None = Field(
        None,
        description="Which side is bad; taken from the alert's comparison when it has one.",
    )
    color: Annotated[str, StringConstraints(pattern=COLOR)] | None = Field(
        None, description="Grafana color; default by the alert's severity (red if fixed)."
    )

    @model_validator(mode="after")
    def _one_source(self) -> Threshold:
        if (self.value is None) == (self.alert is None):
            raise spec_error(
                "a threshold needs exactly one of value or alert",
                "set value: 0.8, or alert: AlertName (with param: if not 'threshold')",
            )
        return self


class Target(BaseModel):
    """One query of a panel: a declared series shown by its type, or PromQL as written."""

    model_config = STRICT_CONFIG

    metric: SeriesName | None = Field(
        None,
        description="Counters show as rates, histograms as quantiles (heatmap: buckets), "
        "gauges and recording rules as they are.",
    )
    expr: str | None = Field(
        None, min_length=1, description="PromQL; $__rate_interval and $variables allowed."
    )
    by: list[LabelName] = Field([], description="Aggregate to these labels.")
    aggregate: Literal["sum", "avg", "min", "max"] | None = Field(
        None, description="How to aggregate gauges with 'by' (default avg; counters sum)."
    )
    quantiles: list[Annotated[float, Field(gt=0, lt=1)]] = Field(
        [], description="Histogram quantiles to show; default 0.5, 0.95, 0.99."
    )
    legend: Line | None = Field(
        None,
        description="Grafana legend, e.g. '{{pod}}'; in a histogram target $q stands for the "
        "quantile (p95).",
    )

    @model_validator(mode="after")
    def _one_source(self) -> Target:
        if (self.metric is None) == (self.expr is None):
            raise spec_error(
                "a target needs exactly one of metric or expr",
                "set metric: a declared series, or expr: PromQL",
            )
        if self.expr is not None and (self.by or self.aggregate or self.quantiles):
            raise spec_error(
                "by, aggregate and quantiles apply to metric targets only",
                "write the aggregation into expr, or use metric:",
            )
        return self


class Panel(BaseModel):
    """A panel: what it shows, in which unit, with which thresholds."""

    model_config = STRICT_CONFIG

    title: Line = Field(min_length=1)
    type: Literal["timeseries", "stat", "gauge", "heatmap", "table"] = "timeseries"
    description: Prose = ""
    targets: list[Target] = Field(min_length=1)
    unit: Line | None = Field(
        None, min_length=1, description="Grafana unit id, e.g. s, ms, percentunit, reqps."
    )
    min: float | int | None = None
    max: float | int | None = None
    decimals: int | None = Field(None, ge=0, le=10)
    noValue: Line | None = Field(None, description="Text shown when the query has no data.")
    thresholds: list[Threshold] = []
    width: int = Field(12, ge=1, le=24, description="Grid columns of 24.")
    height: int = Field(8, ge=2, le=40, description="Grid rows (30 px each).")


class Row(BaseModel):
    """A titled row of panels, laid out left to right and wrapped at 24 columns."""

    model_config = STRICT_CONFIG

    title: Line = Field(min_length=1)
    panels: list[Panel] = Field(min_length=1)


class Dashboard(BaseModel):
    """A Grafana dashboard, shipped in the chart for the Grafana sidecar."""

    model_config = STRICT_CONFIG

    name: DashboardName
    title: Line = Field(min_length=1)
    description: Prose = ""
    tags: list[Line] = []
    variables: list[LabelName] = Field(
        [], description="Label variables (e.g. namespace, pod), each filtering every query."
    )
    refresh: str = Field(
        "1m", pattern=pattern(r"^[0-9]+[smhd]$", "write a number and s, m, h or d (e.g. 30s)")
    )
    time: str = Field("now-6h", pattern=RELATIVE_TIME, description="Start of the time range.")
    rows: list[Row] = Field(min_length=1)

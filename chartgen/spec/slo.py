"""Service-level objectives of a service: what is measured, the objective, and its alerts."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from chartgen.spec.monitoring import (
    AlertLabels,
    AlertName,
    LabelName,
    LabelValue,
    MetricName,
    RunbookUrl,
)
from chartgen.spec.types import DNS1123_LABEL, STRICT_CONFIG, Line, Prose, exactly_one, spec_error

#: Periods with alert windows: Sloth's catalog (the SRE workbook's 30 and 28 days, its 7 days).
PERIODS = ("30d", "28d", "7d")

SLOName = Annotated[
    str,
    StringConstraints(pattern=DNS1123_LABEL, max_length=40),
    Field(description="Lowercase name, e.g. routing-success; unique within the service."),
]
Matchers = Annotated[
    dict[LabelName, LabelValue],
    Field(description="Label values the series must have, beyond job (the service's name)."),
]


class Counter(BaseModel):
    """Events counted by a counter family: its name and, optionally, label values to select."""

    model_config = STRICT_CONFIG

    metric: MetricName = Field(description="A counter family the service declares.")
    matchers: Matchers = {}


class EventsSLI(BaseModel):
    """Error ratio from counted events: errors (or good events) out of all events."""

    model_config = STRICT_CONFIG

    errors: Counter | None = Field(None, description="Events that went wrong.")
    good: Counter | None = Field(None, description="Events that went right.")
    total: Counter = Field(description="All events.")

    @model_validator(mode="after")
    def _errors_or_good(self) -> EventsSLI:
        exactly_one(
            self,
            "an events SLI",
            ("errors", "good"),
            "set errors: {metric: ...} (failed events) or good: {metric: ...} (successful ones)",
        )
        return self


def _bound(value: float | int) -> float | int:
    if not math.isfinite(value) or value <= 0:
        raise spec_error(
            f"{value!r} is not a histogram bucket bound", "write the positive 'le' of a bucket"
        )
    return value


class LatencySLI(BaseModel):
    """Error ratio of slow events: observations of a histogram above one of its bucket bounds."""

    model_config = STRICT_CONFIG

    histogram: MetricName = Field(description="A histogram family the service declares.")
    le: Annotated[float | int, AfterValidator(_bound)] = Field(
        description="Bucket bound: observations at or below it are good, e.g. 5 (seconds)."
    )
    matchers: Matchers = {}


class AvailabilitySLI(BaseModel):
    """Error ratio of failed scrapes: the time the service's targets were down (1 - up)."""

    model_config = STRICT_CONFIG

    matchers: Matchers = {}


class SLI(BaseModel):
    """What the objective measures: exactly one kind of indicator."""

    model_config = STRICT_CONFIG

    events: EventsSLI | None = None
    latency: LatencySLI | None = None
    availability: AvailabilitySLI | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> SLI:
        kinds = [k for k in ("events", "latency", "availability") if getattr(self, k) is not None]
        if len(kinds) != 1:
            found = f"sets {' and '.join(kinds)}" if kinds else "sets none"
            raise spec_error(
                f"an SLI is exactly one of events, latency or availability; this one {found}",
                "keep one: events: {errors|good, total}, latency: {histogram, le} or "
                "availability: {}",
            )
        return self

    @property
    def kind(self) -> Literal["events", "latency", "availability"]:
        """Which indicator this is."""
        if self.events is not None:
            return "events"
        return "latency" if self.latency is not None else "availability"


class SLOAlert(BaseModel):
    """One burn-rate alert: on or off, its name, labels and annotations (defaults derived)."""

    model_config = STRICT_CONFIG

    enabled: bool = True
    name: AlertName | None = Field(None, description="Default: <Service><Slo>BurnRate<Kind>.")
    labels: AlertLabels = {}
    summary: Line | None = Field(None, min_length=1, description="Default: derived from the SLO.")
    description: Prose | None = Field(None, min_length=1, description="Default: the SLO's.")
    runbook: RunbookUrl | None = Field(None, description="Default: the SLO's runbook.")


class SLOAlerting(BaseModel):
    """The two alerts of the SRE workbook: page (fast burn) and ticket (slow burn)."""

    model_config = STRICT_CONFIG

    page: SLOAlert = SLOAlert()
    ticket: SLOAlert = SLOAlert()


def _objective(value: float | int) -> float | int:
    if not math.isfinite(value) or not 0 < value < 100:
        raise spec_error(
            f"objective {value!r} is not a percentage between 0 and 100",
            "write the percent of good events, e.g. 99.9",
        )
    return value


#: An objective in percent, strictly between 0 and 100.
Objective = Annotated[
    float | int,
    AfterValidator(_objective),
    WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 100}),
]


class SLO(BaseModel):
    """A service-level objective: an SLI, the share of good events promised over a period."""

    model_config = STRICT_CONFIG

    name: SLOName
    description: Prose = Field(min_length=1)
    objective: Objective = Field(description="Percent of good events promised, e.g. 99.9.")
    period: Literal["30d", "28d", "7d"] = Field("30d", description="The rolling SLO period.")
    sli: SLI
    runbook: RunbookUrl
    alerting: SLOAlerting = SLOAlerting()

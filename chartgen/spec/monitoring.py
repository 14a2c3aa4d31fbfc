"""Monitoring of a service: its metric families, recording rules and alerts, with examples."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal, TypeVar

import promql_parser
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from chartgen.spec.types import STRICT_CONFIG, Line, Prose, pattern, spec_error

METRIC_NAME = pattern(
    r"^[a-zA-Z_][a-zA-Z0-9_]*$",
    "use letters, digits and '_', not starting with a digit (e.g. treaty_requests_total)",
)
LABEL_NAME = r"^[a-zA-Z_][a-zA-Z0-9_]*$"
# level:metric[:operations], as the Prometheus naming best practices write recording rules
RECORD_NAME = pattern(
    r"^[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z_][a-zA-Z0-9_]*(:[a-zA-Z0-9_]+)?$",
    "write level:metric:operations in letters, digits and '_' (e.g. treaty:requests:rate5m)",
)
ALERT_NAME = pattern(r"^[A-Z][A-Za-z0-9]*$", "write UpperCamelCase (e.g. TreatyDropRateHigh)")
PARAM_NAME = pattern(r"^[a-z][a-zA-Z0-9]*$", "write lowerCamelCase (e.g. threshold)")


# Prometheus' own duration syntax (model.ParseDuration): whole numbers, each unit once, in order.
DURATION = re.compile(r"^([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?$")


DURATION_FIX = "use whole units: 30s, 5m, 1h30m, 1d (no decimals, no 'min')"


def prometheus_duration(text: str) -> str:
    """The text, if it is a Prometheus duration; a spec error saying how to write one if not."""
    if text == "0s":
        return text
    try:
        if not text or not DURATION.match(text):
            raise ValueError("units are y, w, d, h, m, s, ms, largest first")
        promql_parser.parse_duration(text)
    except ValueError as err:
        raise spec_error(f"{text!r} is not a Prometheus duration ({err})", DURATION_FIX) from None
    return text


#: A Prometheus duration: checked with a message here, by pattern in JSON Schema (helm's too).
Duration = Annotated[
    str,
    AfterValidator(prometheus_duration),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": pattern(f"^(0|{DURATION.pattern[1:-1]})$", DURATION_FIX),
            "minLength": 1,
        }
    ),
    Field(description="e.g. 30s, 5m, 1h30m."),
]
MetricName = Annotated[
    str,
    StringConstraints(pattern=METRIC_NAME),
    Field(description="Prometheus metric name: letters, digits and '_' (no ':')."),
]


def _label_name(name: str) -> str:
    if not re.match(LABEL_NAME, name) or name.startswith("__"):
        raise spec_error(
            f"{name!r} is not a Prometheus label name",
            "use letters, digits and '_', not starting with a digit or '__' (e.g. team_owner)",
        )
    return name


LabelName = Annotated[str, AfterValidator(_label_name)]


def _label_value(value: str) -> str:
    if not value:
        raise spec_error(
            "an empty label value: Prometheus drops the label, so no alert or series carries it",
            "give the label a value, or remove it",
        )
    return value


#: A label value a rule sets or an example expects: never empty, which Prometheus drops.
LabelValue = Annotated[str, AfterValidator(_label_value)]

#: The largest float64: Prometheus holds no larger number, and YAML reads one beyond as inf.
FLOAT64_MAX = 1.7976931348623157e308
_Number = TypeVar("_Number", float, int, str)


def finite(number: _Number) -> _Number:
    """The number (or decimal text), if helm's JSON and Prometheus' float64 both hold it."""
    try:
        value = float(number)
    except OverflowError:
        value = math.inf
    if math.isfinite(value):
        return number
    if isinstance(number, float):
        what = f"{number!r} is not a finite number: helm refuses Inf and NaN"
        what += f" (YAML reads a number beyond ±{FLOAT64_MAX:.1e} as inf)"
    else:
        text = str(number)
        digits = sum(c.isdigit() for c in text)
        shown = repr(number) if len(text) <= 24 else f"a number of {digits:,} digits"
        what = f"{shown} is beyond a float64's range: Prometheus holds up to ±{FLOAT64_MAX:.1e}"
    raise spec_error(
        what, f"write a finite number between -{FLOAT64_MAX:.1e} and {FLOAT64_MAX:.1e}, e.g. 10"
    )


def alert_label(name: str) -> str:
    """The label name, unless the alert sets a label of that name itself."""
    if name in ("severity", "alertname"):
        what = f"the alert sets {name!r} itself; a label of that name would be dropped"
        raise spec_error(what, f"remove it; the alert's {name.removesuffix('name')}: field sets it")
    return name


RecordName = Annotated[
    str,
    StringConstraints(pattern=RECORD_NAME),
    Field(description="level:metric:operations (or level:metric), e.g. psi:density:avg."),
]
AlertName = Annotated[
    str, StringConstraints(pattern=ALERT_NAME), Field(description="UpperCamelCase alert name.")
]
ParamName = Annotated[
    str, StringConstraints(pattern=PARAM_NAME), Field(description="lowerCamelCase name.")
]


RunbookUrl = Annotated[
    str,
    StringConstraints(
        pattern=pattern(r"^https?://\S+$", "write an http:// or https:// URL without spaces")
    ),
    Field(description="URL of the runbook."),
]
AlertLabels = Annotated[
    dict[Annotated[LabelName, AfterValidator(alert_label)], LabelValue],
    Field(description="Labels of the alert, besides alertname and severity."),
]


class MetricFamily(BaseModel):
    """A metric family the service exposes."""

    model_config = STRICT_CONFIG

    name: MetricName
    type: Literal["counter", "gauge", "histogram", "summary"]
    help: Prose = Field(min_length=1)
    unit: Line = Field("", description="e.g. seconds, milliseconds, ratio (0..1), anchors.")
    labels: list[LabelName] = Field([], description="Labels beyond job, pod and namespace.")

    def series_names(self) -> tuple[str, ...]:
        """The series names this family produces (histograms and summaries have several)."""
        if self.type == "histogram":
            return (f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count")
        if self.type == "summary":
            return (self.name, f"{self.name}_sum", f"{self.name}_count")
        return (self.name,)


class RecordingRule(BaseModel):
    """A recording rule: a named, precomputed expression."""

    model_config = STRICT_CONFIG

    record: RecordName
    expr: str = Field(min_length=1)
    labels: dict[LabelName, LabelValue] = {}

    @model_validator(mode="before")
    @classmethod
    def _no_alert_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in ("for", "annotations", "alert"):
                if key in data:
                    raise spec_error(
                        f"a recording rule has no {key!r}",
                        f"remove {key!r}, or make this an alert under 'alerts:'",
                    )
        return data


#: A metric name as Prometheus 2.42 reads it (recording rules add ':').
_SERIES_NAME = r"^[a-zA-Z_:][a-zA-Z0-9_:]*$"


def _series(text: str) -> str:
    try:
        tree: object = promql_parser.parse(text)
    except ValueError as err:
        tree = err
    if (
        not isinstance(tree, promql_parser.VectorSelector)
        or any(str(m.op) != "MatchOp.Equal" for m in tree.matchers.matchers)
        or not all(re.match(LABEL_NAME, m.name) for m in tree.matchers.matchers)
        or not all(
            re.match(_SERIES_NAME, m.value) for m in tree.matchers.matchers if m.name == "__name__"
        )
        or tree.offset is not None
        or tree.at is not None
    ):
        why = f" ({tree})" if isinstance(tree, ValueError) else ""
        fix = 'write name{label="value", ...}: a metric name and labels, without operators, '
        fix += "ranges, offset or @"
        raise spec_error(f"promtool cannot load the series {text!r}{why}", fix)
    return text


# promtool's expanding notation, space-separated: a, a+bxn, a-bxn, axn, _, _xn and stale.
_NUM = r"(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_SAMPLE = re.compile(
    r"_(x(?P<blanks>\d+))?|stale"
    rf"|[-+]?(?i:inf|nan)((?P<inf_step>[-+]{_NUM})x(?P<inf_times>\d+))?"
    rf"|(?P<start>[-+]?{_NUM})((?P<step>[-+]{_NUM})?x(?P<times>\d+))?"
)


#: The most samples one example series may expand to: promtool holds them all in memory.
MAX_SAMPLES = 100_000


def _samples(text: str) -> str:
    matches = [_SAMPLE.fullmatch(sample) for sample in text.split()]
    if not all(matches):
        fix = "write samples apart by spaces: 1 2 3, 5x10 (5 eleven times), 0+10x30, _ or stale"
        raise spec_error(f"promtool cannot read the values {text!r}", fix)
    numbers = [n for m in matches if m for n in m.group("start", "step", "inf_step") if n]
    for number in numbers:
        if not math.isfinite(float(number)):
            raise spec_error(
                f"promtool cannot read the values {text!r}: {number} is beyond a float64's range",
                f"write numbers between -{FLOAT64_MAX:.1e} and {FLOAT64_MAX:.1e}, or Inf",
            )
    if sum(_expanded(m) for m in matches if m) > MAX_SAMPLES:
        raise spec_error(
            f"the values {text[:80]!r} expand to over {MAX_SAMPLES:,} samples",
            f"write at most {MAX_SAMPLES:,} samples per series (promtool holds them all): "
            "an example needs a few dozen, e.g. 5x20",
        )
    return text


def _expanded(sample: re.Match[str]) -> int:
    """How many samples promtool makes of one (axn and a+bxn give n+1, _xn gives n).

    Past MAX_SAMPLES, MAX_SAMPLES + 1: a count of thousands of digits is never read.
    """
    times = next((t for t in sample.group("times", "inf_times", "blanks") if t), None)
    if times is None:
        return 1
    if len(times) > len(str(MAX_SAMPLES)):
        return MAX_SAMPLES + 1
    return int(times) + (sample.group("blanks") is None)


def _positive(duration: str) -> str:
    if duration == "0s":
        raise spec_error(
            "the interval must be positive: at 0s every sample falls at time 0, nothing can fire",
            "write the time between two samples, e.g. 1m",
        )
    return duration


class ExampleSeries(BaseModel):
    """Input series of a rule example, in promtool's notation."""

    model_config = STRICT_CONFIG

    series: Annotated[str, AfterValidator(_series)] = Field(
        description='e.g. psi_field_density{job="psi-field", pod="p-0"}.'
    )
    values: Annotated[str, AfterValidator(_samples)] = Field(
        description="promtool expanding notation, e.g. '0.5x20' or '0+10x30'."
    )


class AlertExample(BaseModel):
    """A case the alert must get right: these series, at this time, fire or stay quiet."""

    model_config = STRICT_CONFIG

    name: str = Field(min_length=1)
    interval: Annotated[Duration, AfterValidator(_positive)] = "1m"
    series: list[ExampleSeries] = Field(min_length=1)
    at: Duration = Field("15m", description="Evaluation time after the series start.")
    fires: list[dict[LabelName, LabelValue]] = Field(
        [],
        description="Labels of each alert expected to fire (besides alertname and severity); "
        "empty: the alert stays quiet.",
    )


class Alert(BaseModel):
    """An alerting rule whose thresholds are named parameters, overridable per environment."""

    model_config = ConfigDict(**STRICT_CONFIG, populate_by_name=True)

    alert: AlertName
    expr: str = Field(
        min_length=1, description="PromQL; $name refers to a parameter, e.g. '> $threshold'."
    )
    params: dict[ParamName, Annotated[float | int, AfterValidator(finite)]] = Field(
        {}, description="Named thresholds with their defaults."
    )
    for_: Duration = Field("0s", alias="for")
    severity: Literal["info", "warning", "critical"]
    summary: Line = Field(min_length=1)
    description: Prose = Field(min_length=1)
    runbook: RunbookUrl
    labels: AlertLabels = {}
    examples: list[AlertExample] = Field(
        min_length=2, description="At least one example that fires and one that does not."
    )

    @model_validator(mode="after")
    def _params_apart_from_settings(self) -> Alert:
        clashes = sorted(set(self.params) & {"enabled", "severity", "for"})
        if clashes:
            raise spec_error(
                f"parameter name(s) {', '.join(clashes)} clash with the alert's own values",
                "rename the parameter, e.g. 'threshold' or 'limit'",
            )
        return self

    @model_validator(mode="after")
    def _examples_both_ways(self) -> Alert:
        if not any(e.fires for e in self.examples) or all(e.fires for e in self.examples):
            raise spec_error(
                "an alert needs at least one example that fires and one that stays quiet",
                "add an example with 'fires: [...]' and one without",
            )
        return self

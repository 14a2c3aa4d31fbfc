"""Types every values section uses: the base model, labels, alert parameters."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    WithJsonSchema,
)

from chartgen.naming import CHART_LABELS, SELECTOR_LABELS
from chartgen.spec.monitoring import finite
from chartgen.spec.types import DNS1123_SUBDOMAIN, pattern, spec_error

VALUES_CONFIG = ConfigDict(extra="forbid", populate_by_name=True)


SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


# A decimal number as text, as Go's regexp (and so helm's schema check) can read it.
DECIMAL_TEXT = pattern(r"^-?[0-9]+(\.[0-9]+)?$", "write a number, e.g. 0.5")


_DECIMAL_TEXT = re.compile(DECIMAL_TEXT)


def _number(value: object) -> int | float | str:
    """A finite number, or a decimal given as text (`helm --set x=0.7` passes decimals as text).

    Inf and NaN are refused (helm's JSON holds neither), and text beyond a float64's range.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return finite(value)
    if isinstance(value, str) and _DECIMAL_TEXT.match(value):
        return finite(value)
    raise spec_error(f"{value!r} is not a number", "write a number, e.g. 0.5")


#: An alert parameter: a number; decimal text too, as helm --set passes it.
ParamValue = Annotated[
    int | float | str,
    PlainValidator(_number),
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string", "pattern": DECIMAL_TEXT}]}),
]


# Kubernetes label keys and values, as Go's regexp (and so helm's schema check) can read them.
LABEL_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"


LABEL_KEY_PATTERN = pattern(
    rf"^({DNS1123_SUBDOMAIN[1:-1]}/)?{LABEL_NAME}$",
    "write an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_' or '.' "
    "(e.g. team or example.com/team)",
)


LABEL_VALUE_PATTERN = pattern(
    rf"^({LABEL_NAME})?$",
    "use at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
)


_LABEL_KEY = re.compile(LABEL_KEY_PATTERN)


_LABEL_VALUE = re.compile(LABEL_VALUE_PATTERN)


def _label_key(key: str) -> str:
    prefix = key.rpartition("/")[0]
    if not _LABEL_KEY.match(key) or len(prefix) > 253:
        raise spec_error(
            f"{key!r} is not a Kubernetes label or annotation key",
            "write name or prefix/name: the name up to 63 letters, digits, '-', '_' or '.', "
            "starting and ending with a letter or digit; the prefix a DNS name "
            "(e.g. team or example.com/team)",
        )
    return key


def _label_value(value: str) -> str:
    if not _LABEL_VALUE.match(value):
        raise spec_error(
            f"{value!r} is not a Kubernetes label value",
            "use up to 63 letters, digits, '-', '_' or '.', starting and ending with a letter "
            "or digit (or leave it empty)",
        )
    return value


#: A Kubernetes qualified name (label and annotation keys, topology keys): its schema.
QUALIFIED_NAME_SCHEMA = {"pattern": LABEL_KEY_PATTERN, "maxLength": 317}
#: A label or annotation key, or a node label named by a topology key.
QualifiedName = Annotated[
    str, AfterValidator(_label_key), WithJsonSchema({"type": "string", **QUALIFIED_NAME_SCHEMA})
]
LabelValue = Annotated[
    str,
    AfterValidator(_label_value),
    WithJsonSchema({"type": "string", "pattern": LABEL_VALUE_PATTERN}),
]

#: Kubernetes labels: checked here with a message, and by helm through the schema.
Labels = Annotated[
    dict[QualifiedName, LabelValue],
    WithJsonSchema(
        {
            "type": "object",
            "propertyNames": QUALIFIED_NAME_SCHEMA,
            "additionalProperties": {"type": "string", "pattern": LABEL_VALUE_PATTERN},
        }
    ),
]


#: What a label key written twice in one object does.
TWICE = "objects would hold it twice, which kustomize and Flux refuse (helm keeps the last)"


def _not_the_charts(key: str) -> str:
    """Refuse a label the chart sets itself: the object would hold the key twice."""
    if key in CHART_LABELS:
        selects = (
            "; on pods, their workload's selector would no longer match them, which Kubernetes "
            "refuses"
            if key in SELECTOR_LABELS
            else ""
        )
        raise spec_error(
            f"the chart sets the label {key!r} itself: {TWICE}{selects}",
            f"remove it (or use a key of your own, e.g. example.com/{key.rpartition('/')[2]})",
        )
    return key


_EXTRA_KEY_SCHEMA = {**QUALIFIED_NAME_SCHEMA, "not": {"enum": list(CHART_LABELS)}}
#: A label key set beside the chart's own labels: not one of them.
ExtraLabelKey = Annotated[
    str,
    AfterValidator(_label_key),
    AfterValidator(_not_the_charts),
    WithJsonSchema({"type": "string", **_EXTRA_KEY_SCHEMA}),
]
#: Labels added beside the chart's own, which they may not repeat.
ExtraLabels = Annotated[
    dict[ExtraLabelKey, LabelValue],
    WithJsonSchema(
        {
            "type": "object",
            "propertyNames": _EXTRA_KEY_SCHEMA,
            "additionalProperties": {"type": "string", "pattern": LABEL_VALUE_PATTERN},
        }
    ),
]

#: Kubernetes annotations: keys are qualified names, values any text.
Annotations = Annotated[
    dict[QualifiedName, str],
    WithJsonSchema(
        {
            "type": "object",
            "propertyNames": QUALIFIED_NAME_SCHEMA,
            "additionalProperties": {"type": "string"},
        }
    ),
]


class ValuesModel(BaseModel):
    """Base of every values section: unknown keys are typos and are refused."""

    model_config = VALUES_CONFIG


class LocalObjectReference(ValuesModel):
    """A reference to an object in the release's namespace, by name."""

    name: str = Field(min_length=1)

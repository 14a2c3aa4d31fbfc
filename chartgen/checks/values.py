"""Per-environment values files, checked against the chart's values model before helm sees them.

A values file overrides the chart's defaults the way Helm merges it: maps merge key by key,
everything else is replaced, and null removes a key. The merged values must validate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic_core import ErrorDetails
from ruamel.yaml.nodes import Node

from chartgen.build import ChartView
from chartgen.errors import ChartgenError, Diagnostic, Location, format_loc
from chartgen.load.diagnostics import unknown_field_fix, validation_diagnostics
from chartgen.load.sources import read_text
from chartgen.load.yaml import SourceFile, parse_yaml
from chartgen.spec.types import pattern_fix
from chartgen.values.chart import error_details
from chartgen.values.models import Values

#: How to fix a credential written in a values file.
VALUES_SECRET_FIX = (
    "keep credentials in a Secret and reference it from the spec "
    "(env: - name: X, secret: {name: <secret>, key: <key>}); values files are not secret"
)


@dataclass(frozen=True)
class ValuesFile:
    """An environment's values file as read once: its overrides, or why it cannot be read."""

    name: str
    node: Node | None  # the composed document, for line numbers
    overrides: dict[str, Any]
    problems: tuple[Diagnostic, ...] = ()


def read_values_files(paths: Sequence[Path]) -> list[ValuesFile]:
    """Read and parse each values file once; problems are kept with the file, not raised."""
    found = []
    for path in paths:
        try:
            name, text = read_text(path, "values file")
        except ChartgenError as err:
            found.append(ValuesFile(str(path), None, {}, tuple(err.diagnostics)))
            continue
        found.append(values_document(name, text))
    return found


def values_document(name: str, text: str) -> ValuesFile:
    """A values document parsed once; its problems kept with it."""
    try:
        source = parse_yaml(name, text, VALUES_SECRET_FIX, "values file")
    except ChartgenError as err:
        return ValuesFile(name, None, {}, tuple(err.diagnostics))
    return ValuesFile(name, source.node, source.data)


def check_values_text(chart: ChartView, name: str, text: str) -> list[Diagnostic]:
    """Problems of one values document given as text."""
    return check_values_file(chart, values_document(name, text))


def check_values_file(chart: ChartView, document: ValuesFile) -> list[Diagnostic]:
    """Problems of one values file: YAML, clear credentials, and the merged values."""
    if document.problems:
        return list(document.problems)
    merged = helm_merge(chart.values.defaults, document.overrides)
    source = SourceFile(document.name, merged, document.node)
    errors = chart.values.errors(merged)
    errors += _schema_errors(chart, merged, [error["loc"] for error in errors])
    if errors:
        return validation_diagnostics(errors, source, Values)
    return list(_drifting_services(chart, source))


def _schema_errors(chart: ChartView, data: Any, refused: list[Any]) -> list[ErrorDetails]:
    """What the chart's own values.schema.json (helm's check) refuses where the model did not.

    This is how the Kubernetes objects passed through (tolerations, affinity, NetworkPolicy
    rules) are checked: by Kubernetes' definitions in that schema, each failed rule with its
    fix in words (its ``$comment``).
    """
    import jsonschema  # type: ignore[import-untyped]  # noqa: PLC0415 (only with values files)

    found: list[ErrorDetails] = []
    for error in jsonschema.Draft202012Validator(chart.values.schema).iter_errors(data):
        loc = tuple(error.absolute_path)
        if not any(loc[: len(r)] == r[: len(loc)] for r in refused):  # one inside the other
            found.extend(_schema_error(error, loc, chart.values.defaults))
    return found


def _schema_error(error: Any, loc: tuple[Any, ...], defaults: Any) -> Iterator[ErrorDetails]:
    """One schema error as the model's errors read: located, what in words, and its fix."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    rule = schema.get("$comment")
    if error.validator == "additionalProperties":  # one error per unknown key, at the key
        allowed = list(schema.get("properties", {}))
        for key in sorted(set(error.instance) - set(allowed)):
            fix = unknown_field_fix(key, allowed)
            yield error_details(
                "extra_forbidden", (*loc, key), "Extra inputs are not permitted", fix
            )
        return
    message = _MESSAGES.get(str(error.validator))
    msg = message(error) if message else str(error.message)
    if error.validator == "required":
        missing = next(key for key in error.validator_value if key not in error.instance)
        if _holds(defaults, (*loc, missing)):
            rule = "a null removes the key: set a value"
        fix = rule or f"add {missing!r}"
    elif error.validator == "pattern":
        fix = rule or pattern_fix(str(error.validator_value))
    elif error.validator == "maxLength":
        fix = rule or f"shorten it to at most {error.validator_value} characters"
    else:
        fix = rule or "change the value to one the schema admits"
    yield error_details("schema", loc, f"{msg} (values.schema.json, which helm checks)", fix)


def _named(values: list[Any]) -> str:
    """The values of an enum that mean something ("" and null mean "not set")."""
    return ", ".join(str(value) for value in values if value not in ("", None))


#: What failed, in words, for the schema keywords whose own message reads as Python.
_MESSAGES: dict[str, Callable[[Any], str]] = {
    "enum": lambda e: (
        f"{e.instance!r} is not one of {_named(e.validator_value)}"
        if _named(e.validator_value)
        else "must be empty"
    ),
    "const": lambda e: f"{e.instance!r} where {e.validator_value} is needed",
    "minProperties": lambda e: f"sets {', '.join(map(str, e.instance)) or 'nothing'}",
    "maxProperties": lambda e: f"sets {', '.join(map(str, e.instance))}",
}


def _holds(data: Any, loc: tuple[Any, ...]) -> bool:
    """Whether ``data`` has a value at ``loc``."""
    for part in loc:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            return False
    return True


def _drifting_services(chart: ChartView, source: SourceFile) -> Iterator[Diagnostic]:
    """A warning for each stateful service run as a Deployment of several pods."""
    for service in chart.services:
        values = source.data["services"][service.name]
        if service.stateful and values["workload"] == "Deployment" and values["replicas"] > 1:
            loc = ("services", service.name, "workload")
            yield Diagnostic(
                Location(source.name, source.line_of(loc), format_loc(loc)),
                f"{service.name} keeps state in each pod and runs as a Deployment of "
                f"{values['replicas']} pods: the pods drift apart, and a replaced pod loses "
                "its state",
                "use workload: StatefulSet (stable pod identity and storage), or replicas: 1",
                warning=True,
            )


def helm_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's coalescing of a values file over defaults: maps merge, null deletes a key."""
    merged = dict(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = helm_merge(merged[key], value)
        else:
            merged[key] = value
    return merged

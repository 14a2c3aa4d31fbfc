"""Per-environment values files, checked against the chart's values model before helm sees them.

A values file overrides the chart's defaults the way Helm merges it: maps merge key by key,
everything else is replaced, and null removes a key. The merged values must validate.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from chartgen.build import ChartView
from chartgen.errors import ChartgenError, Diagnostic, Location, format_loc
from chartgen.load import SourceFile, parse_yaml, validation_diagnostics
from chartgen.sources import read_text

#: How to fix a credential written in a values file.
VALUES_SECRET_FIX = (
    "keep credentials in a Secret and reference it from the spec "
    "(env: - name: X, secret: {name: <secret>, key: <key>}); values files are not secret"
)


def check_values_files(chart: ChartView, paths: Sequence[Path]) -> list[Diagnostic]:
    """Every problem of each values file, merged over the chart's defaults."""
    found: list[Diagnostic] = []
    for path in paths:
        try:
            name, text = read_text(path, "values file")
        except ChartgenError as err:
            found.extend(err.diagnostics)
            continue
        found.extend(check_values_text(chart, name, text))
    return found


def check_values_text(chart: ChartView, name: str, text: str) -> list[Diagnostic]:
    """Problems of one values document: YAML, clear credentials, and the merged values."""
    try:
        overrides = parse_yaml(name, text, VALUES_SECRET_FIX, what="values file")
    except ChartgenError as err:
        return list(err.diagnostics)
    source = SourceFile(name, text, data=helm_merge(chart.values.defaults, overrides))
    try:
        chart.values.model.model_validate(source.data, strict=True)
    except ValidationError as err:
        return validation_diagnostics(err, source, chart.values.model)
    return list(_drifting_services(chart, source))


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


def raise_for_values_files(chart: ChartView, paths: Sequence[Path]) -> list[Diagnostic]:
    """Stop with every error of the values files; return their warnings."""
    problems = check_values_files(chart, paths)
    if any(not problem.warning for problem in problems):
        raise ChartgenError(problems)
    return problems

"""Load spec files: YAML -> validated spec, with every error pointing at file:line and path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from chartgen.errors import ChartgenError, Diagnostic, Location, format_loc
from chartgen.load.diagnostics import unknown_fields, validation_diagnostics
from chartgen.load.hygiene import Loc
from chartgen.load.sources import read_spec_texts
from chartgen.load.yaml import SourceFile, parse_yaml
from chartgen.spec import ChartSpec, SpecFile


@dataclass
class SpecSources:
    """Where each part of a merged spec came from, to point errors at file:line."""

    files: list[SourceFile] = field(default_factory=list)
    chart_file: int | None = None
    service_origin: list[tuple[int, int]] = field(default_factory=list)
    dashboard_origin: list[tuple[int, int]] = field(default_factory=list)

    def locate(self, loc: Sequence[str | int]) -> Location:
        """Map a path in the merged spec to the file, line and path where it was written."""
        loc = tuple(loc)
        origin: tuple[int, Loc] | None = None
        if loc[:1] == ("chart",) and self.chart_file is not None:
            origin = (self.chart_file, loc)
        elif len(loc) >= 2 and isinstance(loc[1], int):
            origins = {"services": self.service_origin, "dashboards": self.dashboard_origin}
            listed = origins.get(str(loc[0]), [])
            if loc[1] < len(listed):
                file_index, index = listed[loc[1]]
                origin = (file_index, (loc[0], index, *loc[2:]))
        if origin is None:
            return Location(path=format_loc(loc))
        source = self.files[origin[0]]
        return Location(source.name, source.line_of(origin[1]), format_loc(origin[1]))


@dataclass
class LoadedSpec:
    """A validated spec, the map back to its sources, and errors to report with the checks'.

    ``problems`` are the errors of unknown fields: the spec holds their files as validated
    without them.
    """

    spec: ChartSpec
    sources: SpecSources
    problems: tuple[Diagnostic, ...] = ()


def load_spec(paths: Sequence[Path] = ()) -> LoadedSpec:
    """Load, validate and merge spec files; the embedded VaultMesh spec when none are given."""
    return load_texts(read_spec_texts(paths))


def load_texts(texts: Sequence[tuple[str, str]]) -> LoadedSpec:
    """Validate spec documents given as (name, text) and merge them; any error stops."""
    loaded = load_checkable(texts)
    if loaded.problems:
        raise ChartgenError(loaded.problems)
    return loaded


def load_checkable(texts: Sequence[tuple[str, str]]) -> LoadedSpec:
    """Validate and merge spec documents; errors of unknown fields are kept in ``problems``.

    An unknown field means nothing to the models, so a file is validated again without its
    unknown fields: the models' own validators run, and the checks of the spec can report on
    the rest together with these errors. Any other error stops here, with every diagnostic of
    every file: a part that does not validate has no model, and checks without it would take
    each reference to what it declares (metrics, rules, alerts, ports) for a mistake.
    """
    sources = SpecSources()
    diagnostics: list[Diagnostic] = []
    parsed: list[SpecFile] = []
    for name, text in texts:
        try:
            source = parse_yaml(name, text)
        except ChartgenError as err:
            diagnostics.extend(err.diagnostics)
            continue
        sources.files.append(source)
        spec_file, found = _validate(source)
        diagnostics += found
        if spec_file is not None:
            parsed.append(spec_file)
            source.data = None  # valid: the models hold it now; its node tree keeps the lines
    if len(parsed) < len(texts):
        raise ChartgenError(diagnostics)
    try:
        spec = merge(parsed, sources)
    except ChartgenError as err:
        raise ChartgenError([*diagnostics, *err.diagnostics]) from None
    return LoadedSpec(spec, sources, tuple(diagnostics))


def _validate(source: SourceFile) -> tuple[SpecFile | None, list[Diagnostic]]:
    """A spec file's model and its errors; without its unknown fields if they are all of them.

    None when the file has other errors (those of its models' own validators among them).
    """
    try:
        return SpecFile.model_validate(source.data), []
    except ValidationError as err:
        found = validation_diagnostics(err, source, SpecFile)
        unknown = unknown_fields(err, source.data)
    if unknown is None:
        return None, found
    known = _without(source.data, unknown)
    try:
        return SpecFile.model_validate(known), found
    except ValidationError as err:
        return None, found + validation_diagnostics(err, replace(source, data=known), SpecFile)


def _without(data: Any, locs: Sequence[Loc]) -> Any:
    """A copy of ``data`` without the mapping keys at ``locs``; only their paths are copied."""
    for loc in locs:
        data = _drop(data, loc)
    return data


def _drop(node: Any, loc: Loc) -> Any:
    """A copy of ``node`` without the key at ``loc`` (a path to a key of a mapping)."""
    head, *rest = loc
    if not rest:
        return {key: value for key, value in node.items() if key != head}
    if isinstance(node, list) and isinstance(head, int):
        return [
            _drop(item, tuple(rest)) if index == head else item for index, item in enumerate(node)
        ]
    return {**node, head: _drop(node[head], tuple(rest))}


def merge(files: Sequence[SpecFile], sources: SpecSources) -> ChartSpec:
    """Merge spec files: exactly one holds ``chart``; services and dashboards concatenate."""
    chart, services, dashboards = None, [], []
    for file_index, spec_file in enumerate(files):
        if spec_file.chart is not None:
            if chart is not None:
                first = sources.files[sources.chart_file or 0].name
                raise ChartgenError.single(
                    f"a second 'chart' section (the first is in {first})",
                    fix="keep the chart metadata in one spec file",
                    where=Location(sources.files[file_index].name, 1, "chart"),
                )
            chart, sources.chart_file = spec_file.chart, file_index
        services += spec_file.services
        dashboards += spec_file.dashboards
        sources.service_origin += [(file_index, i) for i in range(len(spec_file.services))]
        sources.dashboard_origin += [(file_index, i) for i in range(len(spec_file.dashboards))]
    read = Location(", ".join(source.name for source in sources.files))
    if chart is None:
        raise ChartgenError.single(
            "no 'chart' section in any spec file",
            fix=_no_chart_fix([source.name for source in sources.files]),
            where=read,
        )
    if not services:
        raise ChartgenError.single(
            "the spec declares no services",
            fix="add at least one entry under 'services:'",
            where=read,
        )
    try:
        return ChartSpec.model_validate(
            {"chart": chart, "services": services, "dashboards": dashboards}
        )
    except ValidationError as err:
        raise ChartgenError(
            Diagnostic(sources.locate(e["loc"]), e["msg"], str(e.get("ctx", {}).get("fix", "")))
            for e in err.errors()
        ) from None


def _no_chart_fix(names: Sequence[str]) -> str:
    """How to fix spec files without a chart: add the embedded spec's file, or a chart."""
    specs = " ".join(f"--spec {name}" for name in names)
    return (
        "to add services to the embedded VaultMesh platform, write its spec to a file and "
        f"pass it first: chartgen spec > platform.yaml; chartgen render --spec platform.yaml "
        f"{specs}. For a chart of your own, add 'chart:' with name, version, appVersion, "
        "description and imageRegistry"
    )

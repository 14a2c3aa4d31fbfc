"""Load spec files: YAML -> validated spec, with every error pointing at file:line and path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from chartgen.errors import ChartgenError, Diagnostic, Location, format_loc
from chartgen.load.diagnostics import validation_diagnostics
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
    """A validated spec and the map back to its sources."""

    spec: ChartSpec
    sources: SpecSources


def load_spec(paths: Sequence[Path] = ()) -> LoadedSpec:
    """Load, validate and merge spec files; the embedded VaultMesh spec when none are given."""
    return load_texts(read_spec_texts(paths))


def load_texts(texts: Sequence[tuple[str, str]]) -> LoadedSpec:
    """Validate spec documents given as (name, text) and merge them into one spec."""
    sources = SpecSources()
    diagnostics: list[Diagnostic] = []
    parsed: list[SpecFile] = []
    for name, text in texts:
        try:
            source = parse_yaml(name, text)
            sources.files.append(source)
            parsed.append(SpecFile.model_validate(source.data))
            source.data = None  # valid: the models hold it now; its node tree keeps the lines
        except ChartgenError as err:
            diagnostics.extend(err.diagnostics)
        except ValidationError as err:
            diagnostics.extend(validation_diagnostics(err, source, SpecFile))
    if diagnostics:
        raise ChartgenError(diagnostics)
    return LoadedSpec(merge(parsed, sources), sources)


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
            fix="add 'chart:' with name, version, appVersion, description and imageRegistry",
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

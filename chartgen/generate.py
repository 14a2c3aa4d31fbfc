"""The pipeline in one call: spec -> checks -> build -> render."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from chartgen.build import ChartView, build
from chartgen.checks import Locate, check_dashboard_sizes, check_spec, raise_for_errors
from chartgen.errors import Diagnostic, Location
from chartgen.load import format_loc, load_spec
from chartgen.render import render
from chartgen.spec import ChartSpec


@dataclass(frozen=True)
class Generated:
    """A rendered chart: its files, the model they came from, and any warnings."""

    chart: ChartView
    files: dict[str, str]
    warnings: tuple[Diagnostic, ...]


def generate(spec: ChartSpec, locate: Locate | None = None) -> Generated:
    """Check, build and render a spec; ``locate`` maps spec paths back to files and lines."""
    locate = locate or _spec_path
    diagnostics = check_spec(spec, locate)
    raise_for_errors(diagnostics)
    chart = build(spec)
    raise_for_errors(check_dashboard_sizes(chart.dashboards, locate))
    return Generated(chart, render(chart), tuple(diagnostics))


def _spec_path(loc: Sequence[str | int]) -> Location:
    return Location(path=format_loc(loc))


def generate_from_files(paths: Sequence[Path] = ()) -> Generated:
    """Load spec files (the embedded VaultMesh spec when none) and render the chart."""
    loaded = load_spec(paths)
    return generate(loaded.spec, loaded.sources.locate)

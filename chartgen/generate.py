"""The pipeline in one call: spec -> checks -> build (-> render)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from chartgen.build import ChartView, build
from chartgen.cache import Rendered
from chartgen.checks import (
    Locate,
    check_dashboard_sizes,
    check_file_sizes,
    check_rule_sizes,
    check_spec,
    raise_for_errors,
)
from chartgen.errors import ChartgenError, Diagnostic, Location, format_loc
from chartgen.load import load_spec, load_texts
from chartgen.render import RULE_TESTS_DIR, render
from chartgen.sources import Text
from chartgen.spec import ChartSpec


@dataclass(frozen=True)
class Generated:
    """A rendered chart: its files, the model they came from, and any warnings."""

    chart: ChartView
    files: dict[str, str]
    warnings: tuple[Diagnostic, ...]


@dataclass(frozen=True)
class Built:
    """A checked spec and the chart model built from it, with any warnings."""

    spec: ChartSpec
    chart: ChartView
    warnings: tuple[Diagnostic, ...]


def checked_build(spec: ChartSpec, locate: Locate | None = None) -> Built:
    """Check and build a spec; ``locate`` maps spec paths back to files and lines."""
    locate = locate or _spec_path
    diagnostics = check_spec(spec, locate)
    raise_for_errors(diagnostics)
    chart = build(spec)
    # Sizes are known once the rule files and dashboards are built, each exactly once.
    raise_for_errors(
        check_rule_sizes([s.rules for s in chart.services], locate)
        + check_dashboard_sizes(chart.dashboards, locate)
    )
    return Built(spec, chart, tuple(diagnostics))


def generate(spec: ChartSpec, locate: Locate | None = None) -> Generated:
    """Check, build and render a spec; ``locate`` maps spec paths back to files and lines."""
    built = checked_build(spec, locate)
    return Generated(built.chart, checked_render(built.chart), built.warnings)


def checked_render(chart: ChartView) -> dict[str, str]:
    """Render a built chart; refuse it if helm could not load it."""
    files = render(chart)
    raise_for_errors(check_file_sizes(files, helm_ignored=(RULE_TESTS_DIR,)))
    return files


def _spec_path(loc: Sequence[str | int]) -> Location:
    return Location(path=format_loc(loc))


def generate_from_files(paths: Sequence[Path] = ()) -> Generated:
    """Load spec files (the embedded VaultMesh spec when none) and render the chart."""
    loaded = load_spec(paths)
    return generate(loaded.spec, loaded.sources.locate)


def render_texts(specs: Sequence[Text], values: Sequence[Text] = (), *, strict: bool) -> Rendered:
    """Render spec documents and check environment values documents against the chart.

    Warnings are errors when ``strict``; any error stops the render with all diagnostics.
    """
    loaded = load_texts(specs)
    built = checked_build(loaded.spec, loaded.sources.locate)
    chart, warnings = built.chart, list(built.warnings)
    del loaded, built  # the chart's views hold what is left to do: the spec models can go
    if values:
        from chartgen.environments import check_values_text  # noqa: PLC0415

        for name, text in values:
            warnings += check_values_text(chart, name, text)
    if strict:
        warnings = [replace(w, warning=False) for w in warnings]
    if any(not w.warning for w in warnings):
        raise ChartgenError(warnings)
    return Rendered(chart.name, checked_render(chart), tuple(warnings))


def build_from_files(paths: Sequence[Path] = ()) -> Built:
    """Load spec files (the embedded VaultMesh spec when none) and build the chart model."""
    loaded = load_spec(paths)
    return checked_build(loaded.spec, loaded.sources.locate)

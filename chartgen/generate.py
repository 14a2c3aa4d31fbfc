"""The pipeline in one call: spec -> checks -> build (-> render)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from chartgen.build import ChartView, build
from chartgen.cache import Rendered
from chartgen.checks import (
    Locate,
    check_dashboard_sizes,
    check_file_size,
    check_rule_sizes,
    check_spec,
    raise_for_errors,
)
from chartgen.errors import ChartgenError, Diagnostic, Location, format_loc
from chartgen.load import load_spec, load_texts
from chartgen.render import RULE_TESTS_DIR, render_files
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
    return dict(checked_files(chart))


def checked_files(chart: ChartView) -> Iterator[tuple[str, str]]:
    """Render a built chart a file at a time; once all are out, refuse it if helm could not.

    A consumer keeps what it receives apart (staged, compared) until the iterator is done.
    """
    problems = []
    for path, text in render_files(chart):
        problem = check_file_size(path, text, helm_ignored=(RULE_TESTS_DIR,))
        if problem is not None:
            problems.append(problem)
        yield path, text
    raise_for_errors(problems)


def _spec_path(loc: Sequence[str | int]) -> Location:
    return Location(path=format_loc(loc))


def generate_from_files(paths: Sequence[Path] = ()) -> Generated:
    """Load spec files (the embedded VaultMesh spec when none) and render the chart."""
    loaded = load_spec(paths)
    return generate(loaded.spec, loaded.sources.locate)


@dataclass(frozen=True)
class Rendering:
    """A checked chart whose files are rendered as ``files`` is iterated."""

    chart: str
    files: Iterator[tuple[str, str]]
    warnings: tuple[Diagnostic, ...]


def render_texts(specs: Sequence[Text], values: Sequence[Text] = (), *, strict: bool) -> Rendered:
    """Render spec documents and check environment values documents against the chart.

    Warnings are errors when ``strict``; any error stops the render with all diagnostics.
    """
    rendering = start_render(specs, values, strict=strict)
    return Rendered(rendering.chart, dict(rendering.files), rendering.warnings)


def start_render(specs: Sequence[Text], values: Sequence[Text] = (), *, strict: bool) -> Rendering:
    """Load, check and build the chart, then hand out its files one at a time.

    Every check but the files' sizes is done before the first file; as ``render_texts``.
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
    return Rendering(chart.name, checked_files(chart), tuple(warnings))


def build_from_files(paths: Sequence[Path] = ()) -> Built:
    """Load spec files (the embedded VaultMesh spec when none) and build the chart model."""
    loaded = load_spec(paths)
    return checked_build(loaded.spec, loaded.sources.locate)

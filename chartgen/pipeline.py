"""The one way through: load -> checks -> build -> render, each stage one call.

``prepare`` takes a command's inputs as files (spec files, values files) to a checked,
built chart; ``generate`` takes a spec given as Python objects to its rendered files.
Writing is the caller's: ``chartgen.write`` swaps the files in, or compares them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from chartgen.build import ChartView, build
from chartgen.checks.names import Locate
from chartgen.checks.output import (
    check_dashboard_sizes,
    check_file_size,
    check_rule_sizes,
    raise_for_errors,
)
from chartgen.checks.spec import check_spec
from chartgen.checks.values import ValuesFile, check_values_file, read_values_files
from chartgen.errors import ChartgenError, Diagnostic, Location, format_loc
from chartgen.load import load_checkable
from chartgen.load.sources import read_spec_texts
from chartgen.monitoring.series import catalog
from chartgen.render import RULE_TESTS_DIR, render_files
from chartgen.spec import ChartSpec


@dataclass(frozen=True)
class Built:
    """A checked spec, the chart built from it, the values files checked against it, warnings."""

    spec: ChartSpec
    chart: ChartView
    values: tuple[ValuesFile, ...]
    warnings: tuple[Diagnostic, ...]


@dataclass(frozen=True)
class Generated:
    """A rendered chart: its files, the model they came from, and any warnings."""

    chart: ChartView
    files: dict[str, str]
    warnings: tuple[Diagnostic, ...]


def checked_build(
    spec: ChartSpec, locate: Locate | None = None, problems: Sequence[Diagnostic] = ()
) -> Built:
    """Check and build a spec; ``locate`` maps spec paths back to files and lines.

    ``problems`` (found while loading) are reported with the checks' own, and stop the build.
    """
    locate = locate or _spec_path
    known = catalog(spec)
    diagnostics = [*problems, *check_spec(spec, known, locate)]
    raise_for_errors(diagnostics)
    chart = build(spec, known)
    # Sizes are known once the rule files and dashboards are built, each exactly once.
    raise_for_errors(
        check_rule_sizes([s.rules for s in chart.services], locate)
        + check_dashboard_sizes(chart.dashboards, locate)
    )
    return Built(spec, chart, (), tuple(diagnostics))


def prepare(
    spec_paths: Sequence[Path] = (), values_paths: Sequence[Path] = (), *, strict: bool = False
) -> Built:
    """Load, check and build the spec files (the embedded spec when none); check values files.

    Each file is read and parsed once. Warnings are errors when ``strict``; any error stops
    with every diagnostic (with those of values files that cannot be read or parsed, which
    need no chart).
    """
    values = read_values_files(values_paths)
    try:
        loaded = load_checkable(read_spec_texts(spec_paths))
        built = checked_build(loaded.spec, loaded.sources.locate, loaded.problems)
    except ChartgenError as err:
        unread = [problem for document in values for problem in document.problems]
        raise ChartgenError([*err.diagnostics, *unread]) from None
    warnings = list(built.warnings)
    for document in values:
        warnings += check_values_file(built.chart, document)
    if strict:
        warnings = [replace(w, warning=False) for w in warnings]
    if any(not w.warning for w in warnings):
        raise ChartgenError(warnings)
    return replace(built, values=tuple(values), warnings=tuple(warnings))


def rendered_files(chart: ChartView) -> Iterator[tuple[str, str]]:
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


def generate(spec: ChartSpec, locate: Locate | None = None) -> Generated:
    """Check, build and render a spec; ``locate`` maps spec paths back to files and lines."""
    built = checked_build(spec, locate)
    return Generated(built.chart, dict(rendered_files(built.chart)), built.warnings)


def generate_from_files(paths: Sequence[Path] = ()) -> Generated:
    """Load spec files (the embedded VaultMesh spec when none) and render the chart."""
    built = prepare(paths)
    return Generated(built.chart, dict(rendered_files(built.chart)), built.warnings)


def _spec_path(loc: Sequence[str | int]) -> Location:
    return Location(path=format_loc(loc))

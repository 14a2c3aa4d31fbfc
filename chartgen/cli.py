"""Command line: parse arguments, run the pipeline, print results and errors."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
from collections.abc import Callable, Sequence
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from chartgen.errors import ChartgenError, Diagnostic

F = TypeVar("F", bound=Callable[..., Any])

spec_option = click.option(
    "--spec",
    "specs",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Spec file or directory of spec files; repeatable. Default: the embedded VaultMesh spec.",
)


def reports_errors(command: F) -> F:
    """Print a ChartgenError's diagnostics and exit 1, instead of a traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ChartgenError as err:
            print_diagnostics(err.diagnostics)
            errors = sum(not d.warning for d in err.diagnostics)
            click.secho(f"{errors} error{'s' * (errors != 1)}; nothing written", err=True, fg="red")
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def print_diagnostics(diagnostics: Sequence[Diagnostic]) -> None:
    """One block per diagnostic on stderr."""
    for diagnostic in diagnostics:
        click.echo(diagnostic.format(), err=True)


def run() -> None:
    """The ``chartgen`` command: ``main``, then an exit that does not free every object.

    A process's heap is freed object by object as Python shuts down: a quarter of a second
    after a render of 1000 services. The process is ending, so once its output is flushed
    it exits at once, with the code ``main`` gave.
    """
    try:
        main()
        code: object = 0
    except SystemExit as stop:
        code = stop.code
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="chartgen", prog_name="chartgen")
def main() -> None:
    """chartgen: one typed spec of a platform -> a versioned Helm chart with its monitoring."""


@main.command()
@spec_option
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Chart directory to write. Default: charts/<chart name>.",
)
@click.option(
    "--values",
    "values_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="An environment's values file to check against the chart's values; repeatable.",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the chart on disk differs.")
@click.option("--diff", "show_diff", is_flag=True, help="With --check, print a unified diff.")
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@reports_errors
def render(  # noqa: PLR0917
    specs: tuple[Path, ...],
    out: Path | None,
    values_files: tuple[Path, ...],
    check: bool,
    show_diff: bool,
    strict: bool,
) -> None:
    """Render the chart from the spec and write it (atomically), or check it is up to date."""
    from chartgen.cache import Recording, load_render, render_key  # noqa: PLC0415
    from chartgen.sources import read_spec_texts, read_values_texts  # noqa: PLC0415
    from chartgen.write import compare, write_chart  # noqa: PLC0415

    spec_texts = read_spec_texts(specs)
    values_texts = read_values_texts(values_files)
    key = render_key(spec_texts, values_texts, strict=strict)
    kept = load_render(key)
    if kept is None:
        from chartgen.generate import start_render  # noqa: PLC0415

        # The spec models and the chart's views are a large graph with next to no cycles:
        # the cycle collector's passes over it find almost nothing, yet took a quarter of
        # the time at 1000 services. It waits while they are built, then leaves them out.
        gc.disable()
        try:
            rendering = start_render(spec_texts, values_texts, strict=strict)
        finally:
            gc.freeze()
            gc.enable()
        files = Recording(key, rendering.chart, rendering.files, rendering.warnings)
    else:
        files = Recording(None, kept.chart, kept.files.items(), kept.warnings)
    print_diagnostics(files.warnings)
    out = out or Path("charts") / files.chart
    # Each file is compared or written as it is rendered; the cache keeps a finished render.
    with files:
        if not check:
            wrote = write_chart(files, out)
            files.keep()
            status = f"wrote {out}" if wrote else f"{out} is up to date"
            click.echo(f"{status} ({files.count} files){'' if wrote else '; nothing written'}")
            return
        differences = compare(files, out)
        files.keep()
    for difference in differences:
        click.echo(f"{difference.status}: {out / difference.path}")
        if show_diff:
            click.echo(difference.diff, nl=False)
    if differences:
        click.echo(
            f"{out} is stale: {len(differences)} file(s) differ; run 'chartgen render'", err=True
        )
        sys.exit(1)
    click.echo(f"{out} is up to date ({files.count} files)")


@main.command()
@spec_option
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("preview"),
    show_default=True,
    help="Directory to write the HTML pages to.",
)
@click.option(
    "--values",
    "values_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A values file whose alerts.* parameters set the thresholds (e.g. values/staging.yaml).",
)
@reports_errors
def preview(specs: tuple[Path, ...], out: Path, values_file: Path | None) -> None:
    """Write a static HTML page per dashboard: its layout, panels, queries and thresholds."""
    from chartgen.generate import generate_from_files  # noqa: PLC0415
    from chartgen.load import parse_yaml  # noqa: PLC0415
    from chartgen.preview import alert_overrides, preview_files  # noqa: PLC0415

    generated = generate_from_files(specs)
    print_diagnostics(generated.warnings)
    if not generated.chart.dashboards:
        raise ChartgenError.single(
            "the spec declares no dashboards", fix="add dashboards: to the spec"
        )
    overrides = {}
    if values_file is not None:
        values = parse_yaml(str(values_file), values_file.read_text("utf-8"))
        overrides = alert_overrides(values, str(values_file))
    files = preview_files(generated.chart.dashboards, overrides)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text, "utf-8")
    click.echo(f"wrote {len(files)} pages to {out}: open {out / 'index.html'}")


@main.command()
def schema() -> None:
    """Print the JSON Schema of spec files, for editor completion and validation."""
    from chartgen.spec import SpecFile  # noqa: PLC0415

    document = SpecFile.model_json_schema()
    document = {"$schema": "https://json-schema.org/draft/2020-12/schema", **document}
    click.echo(json.dumps(document, indent=2))


@main.command()
def spec() -> None:
    """Print the embedded VaultMesh spec, to start a spec of your own from it."""
    from chartgen.sources import embedded_spec_text  # noqa: PLC0415

    click.echo(embedded_spec_text(), nl=False)


@main.command()
@spec_option
@click.option(
    "--prometheus-url",
    required=True,
    metavar="URL",
    help="Base URL of the Prometheus server, e.g. http://127.0.0.1:9090.",
)
@click.option(
    "--values",
    "values_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Values file of the release, as given to helm; repeatable, later files win.",
)
@click.option("--namespace", help="Only the targets and alerts of this Kubernetes namespace.")
@click.option(
    "--output",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="A readable table, or JSON for machines.",
)
@click.option(
    "--fail-on-firing",
    type=click.Choice(["info", "warning", "critical"]),
    help="Also fail when an alert of this severity or worse is firing.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1, max=300),
    default=10.0,
    show_default=True,
    help="Seconds to wait for each answer from Prometheus.",
)
@click.option(
    "--retries",
    type=click.IntRange(min=0, max=10),
    default=2,
    show_default=True,
    help="Extra attempts after a connection failure or a 502/503/504.",
)
def verify(
    *,
    specs: tuple[Path, ...],
    prometheus_url: str,
    values_files: tuple[Path, ...],
    namespace: str | None,
    output: str,
    fail_on_firing: str | None,
    timeout: float,
    retries: int,
) -> None:
    """Check a live release against the spec through the Prometheus HTTP API.

    Every service's targets are up, every declared metric family is present, every rule the
    chart ships with these values is loaded and healthy; pending and firing alerts are listed.
    Exit 0 when all is present and healthy, 1 when something is not, 2 when verify cannot run.
    """
    from chartgen.generate import build_from_files  # noqa: PLC0415
    from chartgen.promapi import PrometheusAPI  # noqa: PLC0415
    from chartgen.release import release, release_values  # noqa: PLC0415
    from chartgen.verify import verify_release  # noqa: PLC0415

    def progress(message: str) -> None:
        click.echo(f"verify: {message}", err=True)

    try:
        api = PrometheusAPI(prometheus_url, timeout=timeout, retries=retries)
        built = build_from_files(specs)
        print_diagnostics(built.warnings)
        expected = release(built.spec, release_values(built.chart, values_files))
        families = sum(len(s.families) for s in expected.services)
        values = "values " + ", ".join(map(str, values_files)) if values_files else "default values"
        progress(
            f"chart {expected.chart} with {values}: {len(expected.services)} scraped "
            f"services, {families} metric families, {len(expected.rules)} rules"
        )
        report = verify_release(
            api, expected, namespace=namespace, fail_on_firing=fail_on_firing, progress=progress
        )
    except ChartgenError as err:
        print_diagnostics(err.diagnostics)
        click.secho("verify could not run", err=True, fg="red")
        sys.exit(2)
    click.echo(report.table() if output == "table" else report.as_json(), nl=False)
    sys.exit(0 if report.ok else 1)

"""Command line: parse arguments, run the pipeline, print results and errors."""

from __future__ import annotations

import itertools
import json
import math
import sys
from collections.abc import Iterable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any, NoReturn

import click

from chartgen.errors import ChartgenError, Diagnostic, Location

spec_option = click.option(
    "--spec",
    "specs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Spec file or directory of spec files; repeatable. Default: the embedded VaultMesh spec.",
)
values_option = partial(
    click.option,
    "--values",
    "values_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
)


class UsageFix(click.UsageError):
    """A usage error chartgen finds itself, with the option it concerns and how to fix it."""

    def __init__(self, message: str, fix: str, option: str = "") -> None:
        super().__init__(message, click.get_current_context(silent=True))
        self.fix = fix
        self.option = option


def _finite(seconds: float) -> float:
    """The number, unless NaN (which compares false with every bound, and so passes them)."""
    if math.isnan(seconds):
        raise UsageFix("nan is not a number of seconds", "give one from 0.1 to 300", "--timeout")
    return seconds


def usage_diagnostic(err: click.UsageError) -> Diagnostic:
    """A click usage error as chartgen reports errors: where (the option), what, and a fix."""
    path = err.ctx.command_path if err.ctx else "chartgen"
    commands = err.ctx is None or isinstance(err.ctx.command, click.Group)
    help_fix = f"run '{path} --help' for its {'commands' if commands else 'options'}"
    if isinstance(err, UsageFix):
        return Diagnostic(Location(err.option or path), err.message, err.fix)
    if isinstance(err, click.NoSuchOption | click.NoSuchCommand):
        name = err.option_name if isinstance(err, click.NoSuchOption) else err.command_name
        kind = "option" if isinstance(err, click.NoSuchOption) else "command"
        close = " or ".join(map(repr, err.possibilities or []))
        fix = f"did you mean {close}? {help_fix}" if close else help_fix
        return Diagnostic(Location(path), f"no such {kind} {name!r}", fix)
    if isinstance(err, click.BadOptionUsage):
        params = err.ctx.command.params if err.ctx else []
        flag = any(err.option_name in p.opts and getattr(p, "is_flag", False) for p in params)
        how = f"write {err.option_name} alone" if flag else f"give {err.option_name} a value"
        return Diagnostic(Location(err.option_name), err.message, f"{how}; {help_fix}")
    param = err.param if isinstance(err, click.BadParameter) else None
    if param is None:
        return Diagnostic(Location(path), err.message, help_fix)
    name = param.opts[0] if isinstance(param, click.Option) else param.human_readable_name
    if isinstance(err, click.MissingParameter):
        give = f"{name} {param.metavar}" if param.metavar else name
        return Diagnostic(Location(name), err.format_message(), f"give {give}; {help_fix}")
    return Diagnostic(Location(name), err.message, _parameter_fix(param.type, help_fix))


def _parameter_fix(kind: click.ParamType[Any], help_fix: str) -> str:
    """How to give a value of the kind: its choices, or what the path must be."""
    if isinstance(kind, click.Choice):
        return f"use one of: {', '.join(map(str, kind.choices))}"
    if isinstance(kind, click.FloatRange | click.IntRange):
        return f"give a number from {kind.min} to {kind.max}"
    if isinstance(kind, click.Path):
        what = "file" if not kind.dir_okay else "directory" if not kind.file_okay else "path"
        if kind.exists:
            return f"name an existing {what}"
        return f"name a {what}" + (" (created if missing)" if what == "directory" else "")
    return help_fix


def _usage_exit(err: click.UsageError) -> NoReturn:
    """Print a usage error as a diagnostic and exit 2, as click does for usage errors."""
    click.echo(usage_diagnostic(err).format(), err=True)
    sys.exit(2)


class _Command(click.Command):
    """A chartgen command: a usage error prints where, what and a fix, and exits 2."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        """Parse the arguments; a usage error names this command, so its fix points to --help."""
        given = list(args)  # click consumes args as it parses them
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as err:
            if err.ctx is None:
                err.ctx = self.context_class(self, info_name=info_name, parent=parent)
            self.report_usage_error(usage_diagnostic(err), given)
            _usage_exit(err)

    def report_usage_error(self, diagnostic: Diagnostic, args: Sequence[str]) -> None:
        """Report a usage error beyond stderr, where a command's output format asks for it."""


class _Commands(_Command, click.Group):
    """chartgen's commands: errors print as diagnostics (exit 1, usage errors 2), no traceback."""

    command_class = _Command

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; report a ChartgenError as diagnostics and a count of errors."""
        try:
            return super().invoke(ctx)
        except ChartgenError as err:
            print_diagnostics(err.diagnostics)
            errors = sum(not d.warning for d in err.diagnostics)
            click.secho(f"{errors} error{'s' * (errors != 1)}; nothing written", err=True, fg="red")
            sys.exit(1)
        except click.UsageError as err:  # an unknown command, or one raised while running
            _usage_exit(err)


def print_diagnostics(diagnostics: Sequence[Diagnostic]) -> None:
    """One block per diagnostic on stderr."""
    for diagnostic in diagnostics:
        click.echo(diagnostic.format(), err=True)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
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
@values_option(help="An environment's values file to check against the chart's values; repeatable.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the chart on disk differs.")
@click.option("--diff", "show_diff", is_flag=True, help="With --check, print a unified diff.")
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.option("--replace", is_flag=True, help="Delete files in --out that chartgen did not write.")
def render(  # noqa: PLR0917
    specs: tuple[Path, ...],
    out: Path | None,
    values_files: tuple[Path, ...],
    check: bool,
    show_diff: bool,
    strict: bool,
    replace: bool,
) -> None:
    """Render the chart from the spec and write it (atomically), or check it is up to date."""
    from chartgen.pipeline import prepare, rendered_files  # noqa: PLC0415
    from chartgen.write import compare, write_chart  # noqa: PLC0415

    if show_diff and not check:
        raise UsageFix(
            "--diff prints what --check finds, writing nothing; without --check, render "
            "writes the chart",
            "add --check, or drop --diff",
            "--diff",
        )
    built = prepare(specs, values_files, strict=strict)
    print_diagnostics(built.warnings)
    out = out or Path("charts") / built.chart.name
    files = _Counted(rendered_files(built.chart))
    del built  # the chart's views hold what is left to do: the spec models can go
    # Each file is compared or written as it is rendered.
    if not check:
        wrote = write_chart(
            files,
            out,
            [*specs, *values_files],
            replace=replace,
            waiting=lambda where: click.echo(f"waiting for another render into {where}", err=True),
        )
        status = f"wrote {out}" if wrote else f"{out} is up to date"
        click.echo(f"{status} ({files.count} files){'' if wrote else '; nothing written'}")
        return
    differences = compare(files, out)
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


class _Counted:
    """Rendered files passed through as they come, counted."""

    def __init__(self, files: Iterable[tuple[str, str]]) -> None:
        self.files = files
        self.count = 0

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for item in self.files:
            self.count += 1
            yield item


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
    type=click.Path(dir_okay=False, path_type=Path),
    help="A values file whose alerts.* parameters set the thresholds (e.g. values/staging.yaml).",
)
def preview(specs: tuple[Path, ...], out: Path, values_file: Path | None) -> None:
    """Write a static HTML page per dashboard: its layout, panels, queries and thresholds."""
    from chartgen.live.release import release_values  # noqa: PLC0415
    from chartgen.monitoring.params import alert_params  # noqa: PLC0415
    from chartgen.pipeline import prepare  # noqa: PLC0415
    from chartgen.preview import preview_files, write_pages  # noqa: PLC0415

    built = prepare(specs, [values_file] if values_file else [])
    print_diagnostics(built.warnings)
    if not built.chart.dashboards:
        raise ChartgenError.single(
            "the spec declares no dashboards", fix="add dashboards: to the spec"
        )
    files = preview_files(built.chart.dashboards, alert_params(release_values(built)))
    write_pages(files, out)
    click.echo(f"wrote {len(files)} pages to {out}: open {out / 'index.html'}")


@main.command("rule-tests")
@click.argument("chart", type=click.Path(exists=True, file_okay=False, path_type=Path))
@values_option(help="Values file to render the rules with, as given to helm; repeatable.")
@spec_option
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Directory to write the test and its rule files to.",
)
def rule_tests(
    chart: Path, values_files: tuple[Path, ...], specs: tuple[Path, ...], out: Path
) -> None:
    """Write CHART's promtool rule tests beside the rule files `helm template` renders from it.

    Then `promtool test rules OUT/*.test.yaml` runs each alert example of the spec, and each
    SLO's simulated days, against the rules exactly as the chart ships them with these values.
    The spec is read only where the values change an SLO's objective, to test that objective.
    """
    from chartgen.monitoring.ruletests import rule_test_files  # noqa: PLC0415
    from chartgen.pipeline import prepare  # noqa: PLC0415

    files = rule_test_files(chart, values_files, lambda: prepare(specs).spec)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    tests = " ".join(str(out / name) for name in files if name.endswith(".test.yaml"))
    click.echo(f"wrote {len(files)} files to {out}; run: promtool test rules {tests}")


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
    from chartgen.load.sources import embedded_spec_text  # noqa: PLC0415

    click.echo(embedded_spec_text(), nl=False)


class _Verify(_Command):
    """verify's command: with --output json, a usage error is also a JSON report on stdout."""

    def report_usage_error(self, diagnostic: Diagnostic, args: Sequence[str]) -> None:
        """With --output json, say in JSON that verify could not run, and why."""
        if _asks_for_json(args):
            from chartgen.live.report import not_run_json  # noqa: PLC0415

            click.echo(not_run_json(None, None, [diagnostic]), nl=False)


def _asks_for_json(args: Sequence[str]) -> bool:
    """Whether the arguments ask for --output json (read before click parses them)."""
    return any(
        arg == "--output=json" or (arg, value) == ("--output", "json")
        for arg, value in itertools.pairwise([*args, ""])
    )


@main.command(cls=_Verify)
@spec_option
@click.option(
    "--prometheus-url",
    required=True,
    metavar="URL",
    help="Base URL of the Prometheus server, e.g. http://127.0.0.1:9090.",
)
@values_option(help="Values file of the release, as given to helm; repeatable, later files win.")
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
    callback=lambda _ctx, _param, seconds: _finite(seconds),
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
    chart ships with these values is loaded and healthy; each SLO's error budget left and burn
    rate are read, and pending and firing alerts are listed.
    Exit 0 when all is present and healthy, 1 when something is not, 2 when verify cannot run.
    """
    from chartgen.live.promapi import PrometheusAPI  # noqa: PLC0415
    from chartgen.live.release import release, release_values  # noqa: PLC0415
    from chartgen.live.report import not_run_json, plural  # noqa: PLC0415
    from chartgen.live.verify import verify_release  # noqa: PLC0415
    from chartgen.pipeline import prepare  # noqa: PLC0415

    def progress(message: str) -> None:
        click.echo(f"verify: {message}", err=True)

    try:
        api = PrometheusAPI(prometheus_url, timeout=timeout, retries=retries)
        built = prepare(specs, values_files)
        print_diagnostics(built.warnings)
        expected = release(built.spec, release_values(built))
        families = sum(len(s.families) for s in expected.services)
        values = "values " + ", ".join(map(str, values_files)) if values_files else "default values"
        slos = f", {plural(len(expected.slos), 'SLO')}" if expected.slos else ""
        progress(
            f"chart {expected.chart} with {values}: {len(expected.services)} scraped "
            f"services, {families} metric families, {len(expected.rules)} rules{slos}"
        )
        report = verify_release(
            api, expected, namespace=namespace, fail_on_firing=fail_on_firing, progress=progress
        )
    except ChartgenError as err:
        print_diagnostics(err.diagnostics)
        click.secho("verify could not run", err=True, fg="red")
        if output == "json":
            click.echo(not_run_json(prometheus_url, namespace, err.diagnostics), nl=False)
        sys.exit(2)
    click.echo(report.table() if output == "table" else report.as_json(), nl=False)
    sys.exit(0 if report.ok else 1)

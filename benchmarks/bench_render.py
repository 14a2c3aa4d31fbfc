"""Time whole chartgen render processes against baselines: median wall time and peak RSS.

Every render is the one path chartgen has: read, check, build, render and write a whole
chart into a directory that does not exist yet.
"""

from __future__ import annotations

import argparse
import compileall
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rule_evaluation import Evaluation, evaluate
from synthetic_spec import CHART_NAME, write_spec

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
DEFAULT_JSON = RESULTS / "latest.json"
TMPFS = Path("/dev/shm")
CHARTGEN = (sys.executable, "-m", "chartgen")
IMPORTS_ONLY = (sys.executable, "-c", "import jinja2, ruamel.yaml, pydantic, click")
GNU_TIME = "/usr/bin/time"
# Fallback for GNU time: runs argv[2:], writes the child's peak RSS in KB to argv[1].
# The command is forked from this small process, not from the benchmark, because Linux
# counts the RSS a process had when forked into its child's ru_maxrss.
RSS_RUNNER = """\
import os, sys
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss // (1024 if sys.platform == "darwin" else 1)))
sys.exit(os.waitstatus_to_exitcode(status))
"""
# The disk baseline: writes the files listed in argv[1] ([path, size] pairs) under argv[2],
# each created and written as chartgen writes them, with bytes of no meaning.
WRITER = """\
import json, os, sys
out, made = sys.argv[2], set()
for path, size in json.load(open(sys.argv[1])):
    parent = os.path.dirname(path)
    if parent not in made:
        os.makedirs(os.path.join(out, parent), exist_ok=True)
        made.add(parent)
    handle = os.open(os.path.join(out, path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    os.write(handle, b"x" * size)
    os.close(handle)
"""

# The guard rails: the size they name, the size it is scaled from, and the limits.
GUARD_N, SCALE_FROM_N = 1000, 100
DEFAULT_LIMIT, HELM_LIMIT, SCALE_LIMIT, RSS_LIMIT_MB = 3.0, 0.5, 11.0, 200.0
# The SLO cases: how many services with one SLO each, and the measured evaluation rounds.
SLO_N, EVAL_ROUNDS = 100, 3
TOOLS = ("prometheus", "promtool")


@dataclass(frozen=True)
class Command:
    """One command line to time, with a short label.

    ``before`` runs untimed before each run, e.g. to set aside what the last run wrote.
    """

    label: str
    argv: tuple[str, ...]
    before: Callable[[], None] | None = None


@dataclass(frozen=True)
class Case:
    """A chartgen command measured against the command it is compared with."""

    name: str
    subject: Command
    baseline: Command
    limit: float | None = None  # the target: subject over baseline at most this


@dataclass
class Samples:
    """Wall times (seconds) and peak RSS (MB) of every timed run of one command."""

    seconds: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        """The median wall time in seconds."""
        return statistics.median(self.seconds)


@dataclass(frozen=True)
class Line:
    """One row of the table: chartgen's figure, the baseline's, and the target if any."""

    case: str
    chartgen: float
    baseline: float
    unit: str  # "s", "ms", "MB" or "samples"
    ratio: float | None
    target: str = ""
    met: bool | None = None


@dataclass(frozen=True)
class PeakProbe:
    """A command prefix that writes the peak RSS (KB) of the command it runs to ``path``."""

    prefix: tuple[str, ...]
    path: Path

    @classmethod
    def create(cls, path: Path) -> PeakProbe:
        """GNU time if it works here, else the Python wait4 runner."""
        gnu_time = (GNU_TIME, "-f", "%M", "-o", str(path))
        if Path(GNU_TIME).is_file():
            probe = subprocess.run(
                [*gnu_time, sys.executable, "-c", ""], check=False, capture_output=True
            )
            if probe.returncode == 0:
                return cls(gnu_time, path)
        return cls((sys.executable, "-c", RSS_RUNNER, str(path)), path)

    def peak_mb(self) -> float:
        """The peak RSS in MB of the last command run (the file's last line is the KB)."""
        return int(self.path.read_text().split()[-1]) / 1024


def find_helm() -> str | None:
    """Helm from PATH, else the repo's .tools/bin, else None."""
    return shutil.which("helm") or shutil.which("helm", path=str(REPO / ".tools" / "bin"))


def run(argv: tuple[str, ...]) -> None:
    """Run a command to completion; exit the benchmark with its stderr if it fails."""
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace")
        sys.exit(f"failed ({done.returncode}): {' '.join(argv)}\n{message}")


def run_once(argv: tuple[str, ...], peak: PeakProbe) -> tuple[float, float]:
    """Run a command; its wall time in seconds and peak RSS in MB."""
    start = time.perf_counter()
    run((*peak.prefix, *argv))
    return time.perf_counter() - start, peak.peak_mb()


def measure(case: Case, runs: int, peak: PeakProbe) -> tuple[Samples, Samples]:
    """One untimed warm-up each, then ``runs`` alternating runs of subject and baseline."""
    commands = (case.subject, case.baseline)
    samples = (Samples(), Samples())
    for timed in (False, *[True] * runs):
        for command, into in zip(commands, samples, strict=True):
            if command.before:
                command.before()
            seconds, peak_mb = run_once(command.argv, peak)
            if timed:
                into.seconds.append(seconds)
                into.peak_mb.append(peak_mb)
    return samples


def render(spec: Path | None, out: Path) -> tuple[str, ...]:
    """The argv of ``chartgen render`` of a spec (None: the embedded one) into ``out``."""
    spec_args = ("--spec", str(spec)) if spec else ()
    return (*CHARTGEN, "render", *spec_args, "--out", str(out))


def setting_aside(out: Path) -> Callable[[], None]:
    """A ``before`` hook that moves what the last run wrote away, so each run starts afresh.

    Nothing is deleted until the benchmark ends: on ext4 without a journal, creating files
    soon after many were deleted makes the kernel check each recently freed inode
    (``recently_deleted``), which would charge the harness's cleanup to the next run.
    """
    aside = out.parent / "set-aside"

    def move() -> None:
        if out.exists():
            aside.mkdir(exist_ok=True)
            out.rename(aside / f"{out.name}-{len(list(aside.iterdir()))}")

    return move


def chartgen_render(spec: Path | None, out: Path) -> Command:
    """``chartgen render`` into ``out``, which each run finds absent."""
    return Command("chartgen render", render(spec, out), before=setting_aside(out))


def write_manifest(chart: Path, manifest: Path) -> tuple[int, int]:
    """List a chart's files as [path, size] pairs for the writer; their count and bytes."""
    files = sorted(
        (str(path.relative_to(chart)), path.stat().st_size)
        for path in chart.rglob("*")
        if path.is_file()
    )
    manifest.write_text(json.dumps(files), encoding="utf-8")
    return len(files), sum(size for _, size in files)


def helm_case(tmpfs: Path, n: int, helm: str) -> Case:
    """N synthetic services rendered on tmpfs, against ``helm template`` of that chart."""
    spec, reference = tmpfs / f"synthetic-{n}.yaml", tmpfs / f"synthetic-{n}-helm"
    write_spec(n, spec)
    run(render(spec, reference))
    return Case(
        helm_case_name(n),
        chartgen_render(spec, tmpfs / f"synthetic-{n}"),
        Command("helm template", (helm, "template", CHART_NAME, str(reference))),
        HELM_LIMIT if n == GUARD_N else None,
    )


def slo_case(tmpfs: Path, n: int) -> tuple[Case, Path]:
    """N synthetic services with one SLO each, against the same without, both on tmpfs.

    Also returns the SLO chart, rendered once, for the rule evaluation.
    """
    with_slos, without = tmpfs / f"synthetic-{n}-slos.yaml", tmpfs / f"synthetic-{n}-plain.yaml"
    write_spec(n, with_slos, slos=True)
    write_spec(n, without)
    chart = tmpfs / f"synthetic-{n}-slos-chart" / CHART_NAME
    run(render(with_slos, chart))
    plain = tmpfs / f"synthetic-{n}-plain"
    case = Case(
        f"N={n} with one SLO each vs without (tmpfs)",
        chartgen_render(with_slos, tmpfs / f"synthetic-{n}-slos"),
        Command("chartgen render, no SLOs", render(without, plain), setting_aside(plain)),
    )
    return case, chart


def evaluation_lines(slos: Evaluation, own: Evaluation) -> list[Line]:
    """Rule evaluation per round: the SLO groups against the services' own groups."""
    name = f"{slos.owners} SLOs ({slos.groups} groups) vs {own.owners} services' own "
    name += f"({own.groups} groups)"
    return [
        Line(
            f"rule evaluation per round, {name}",
            slos.median,
            own.median,
            "s",
            slos.median / own.median,
        ),
        Line(
            "rule evaluation per round, per SLO vs per service",
            slos.median / slos.owners * 1000,
            own.median / own.owners * 1000,
            "ms",
            slos.median / slos.owners / (own.median / own.owners),
        ),
        Line(
            f"samples per round, {name}",
            slos.samples,
            own.samples,
            "samples",
            slos.samples / own.samples,
        ),
    ]


def find_prometheus() -> tuple[str, str] | str:
    """Prometheus and promtool from PATH or /usr/bin, or why the rule evaluation is skipped."""
    found = [shutil.which(tool) or shutil.which(tool, path="/usr/bin") for tool in TOOLS]
    missing = [tool for tool, path in zip(TOOLS, found, strict=True) if path is None]
    if missing:
        return f"{' and '.join(missing)} not found"
    prometheus, promtool = found
    assert prometheus and promtool
    return prometheus, promtool


def helm_case_name(n: int) -> str:
    """The name of the tmpfs case of size ``n``."""
    return f"N={n} vs helm template (tmpfs)"


def disk_case_name(n: int) -> str:
    """The name of the disk case of size ``n``."""
    return f"N={n} on disk vs Python writing its files"


def disk_case(tmpfs: Path, disk: Path, n: int) -> tuple[Case, str]:
    """The same render onto the disk, against Python writing the same files there.

    Needs the chart ``helm_case`` rendered; also returns what was written, for the table.
    """
    spec, reference = tmpfs / f"synthetic-{n}.yaml", tmpfs / f"synthetic-{n}-helm"
    manifest = disk / f"synthetic-{n}-files.json"
    count, size = write_manifest(reference, manifest)
    written = disk / f"python-{n}"
    case = Case(
        disk_case_name(n),
        chartgen_render(spec, disk / f"synthetic-{n}"),
        Command(
            "Python writes",
            (sys.executable, "-c", WRITER, str(manifest), str(written)),
            before=setting_aside(written),
        ),
    )
    return case, f"{count} files ({size / 1e6:.1f} MB)"


def limit_line(
    case: str, subject: float, baseline: float, unit: str, limit: float, *, ratio: bool = True
) -> Line:
    """A row with a target: the ratio at most ``limit``, else the subject below it."""
    if ratio:
        value = subject / baseline
        return Line(case, subject, baseline, unit, value, f"<= {limit:.1f}x", value <= limit)
    return Line(case, subject, baseline, unit, None, f"< {limit:g} {unit}", subject < limit)


Results = dict[str, tuple[Samples, Samples]]


def summary(cases: list[Case], results: Results) -> list[Line]:
    """The table's rows, in the order the cases ran, with the guard rails where they apply."""
    lines = []
    for case in cases:
        subject, baseline = (samples.median for samples in results[case.name])
        if case.limit is None:
            lines.append(Line(case.name, subject, baseline, "s", subject / baseline))
        else:
            lines.append(limit_line(case.name, subject, baseline, "s", case.limit))
    big, small = results.get(helm_case_name(GUARD_N)), results.get(helm_case_name(SCALE_FROM_N))
    if big and small:
        lines.append(
            limit_line(
                f"N={GUARD_N} / N={SCALE_FROM_N} (tmpfs)",
                big[0].median,
                small[0].median,
                "s",
                SCALE_LIMIT,
            )
        )
    if big:
        lines.append(
            limit_line(
                f"peak RSS N={GUARD_N} (baseline: helm)",
                max(big[0].peak_mb),
                max(big[1].peak_mb),
                "MB",
                RSS_LIMIT_MB,
                ratio=False,
            )
        )
    return lines


def file_system_note(results: Results, n: int, written: str) -> str:
    """Whether the file system dominates the render onto the disk, from the figures."""
    disk, python_writes = (samples.median for samples in results[disk_case_name(n)])
    tmpfs = results[helm_case_name(n)][0].median
    share = python_writes / disk
    verdict = "dominates" if share > 0.5 else "does not dominate"
    return (
        f"N={n} on disk: {disk:.3f} s against {tmpfs:.3f} s on tmpfs; plain Python writing "
        f"the same {written} there takes {python_writes:.3f} s, {share:.0%} of the render "
        f"on disk: the file system {verdict} there."
    )


def figure(value: float, unit: str) -> str:
    """A figure of the table with its unit."""
    digits = {"s": 3, "ms": 2, "MB": 1, "samples": 0}[unit]
    return f"{value:,.{digits}f} {unit}"


def format_table(lines: list[Line]) -> str:
    """The rows as an aligned text table."""
    header = ("case", "chartgen", "baseline", "ratio", "target", "result")
    cells = [
        (
            line.case,
            figure(line.chartgen, line.unit),
            figure(line.baseline, line.unit),
            "" if line.ratio is None else f"{line.ratio:.2f}x",
            line.target,
            {True: "met", False: "NOT MET", None: ""}[line.met],
        )
        for line in lines
    ]
    widths = [max(len(row[i]) for row in [header, *cells]) for i in range(len(header))]
    right_aligned = {1, 2, 3}
    return "\n".join(
        "  ".join(
            cell.rjust(width) if i in right_aligned else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in [header, *cells]
    )


def command_rows(case: Case, subject: Samples, baseline: Samples) -> list[dict[str, Any]]:
    """Each command of a case with every run's figures, for the JSON results."""
    return [
        {
            "case": case.name,
            "command": command.label,
            "argv": list(command.argv),
            "median_s": samples.median,
            "min_s": min(samples.seconds),
            "peak_mb": max(samples.peak_mb),
            "seconds": samples.seconds,
        }
        for command, samples in ((case.subject, subject), (case.baseline, baseline))
    ]


def progress(message: str) -> None:
    """Say what the benchmark does now, on stderr."""
    print(message, file=sys.stderr, flush=True)


def parse_sizes(text: str) -> list[int]:
    """Comma-separated sizes, e.g. ``10,100,1000``."""
    return [int(size) for size in text.split(",")]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line options."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per command (default 5)")
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=[10, 100, 1000],
        help="synthetic spec sizes, comma-separated (default 10,100,1000); the largest is "
        "also rendered onto the disk",
    )
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write results")
    args = parser.parse_args(argv)
    if args.runs < 1 or any(size < 1 for size in args.sizes):
        parser.error("--runs and every --sizes entry must be at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    """Run every case, print the table and write the JSON results."""
    args = parse_args(argv)
    helm = find_helm()
    if helm is None:
        print("helm not found: skipping the synthetic cases", file=sys.stderr)
    # An installed chartgen has its bytecode compiled (pip does it); a checkout may not, and
    # where PYTHONDONTWRITEBYTECODE is set every process would compile the sources again.
    compileall.compile_dir(REPO / "chartgen", quiet=1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    if not TMPFS.is_dir():
        print(f"no {TMPFS}: the tmpfs cases use the default temporary directory", file=sys.stderr)
    results: Results = {}
    rows: list[dict[str, Any]] = []
    with (
        # The disk cases write on the repo's file system (benchmarks/results is gitignored).
        tempfile.TemporaryDirectory(prefix="chartgen-bench-", dir=RESULTS) as disk_dir,
        tempfile.TemporaryDirectory(
            prefix="chartgen-bench-", dir=TMPFS if TMPFS.is_dir() else None
        ) as tmpfs_dir,
    ):
        disk, tmpfs = Path(disk_dir), Path(tmpfs_dir)
        peak = PeakProbe.create(tmpfs / "peak-rss.txt")
        cases = [
            Case(
                "default spec vs bare imports",
                chartgen_render(None, disk / "vaultmesh"),
                Command("bare imports", IMPORTS_ONLY),
                DEFAULT_LIMIT,
            )
        ]
        written = ""
        if helm:
            print("writing the synthetic specs and charts ...", file=sys.stderr, flush=True)
            cases += [helm_case(tmpfs, n, helm) for n in args.sizes]
            on_disk, written = disk_case(tmpfs, disk, max(args.sizes))
            cases.append(on_disk)
        with_slos, slo_chart = slo_case(tmpfs, SLO_N)
        cases.append(with_slos)
        for case in cases:
            print(f"running {case.name} ...", file=sys.stderr, flush=True)
            results[case.name] = measure(case, args.runs, peak)
            rows.extend(command_rows(case, *results[case.name]))
        tools = find_prometheus()
        evaluation: dict[str, Any] = {}
        if helm is None or isinstance(tools, str):
            skipped = tools if isinstance(tools, str) else "helm not found"
            print(f"{skipped}: skipping the rule evaluation", file=sys.stderr)
            evaluation["skipped"] = skipped
        else:
            print("running the rule evaluation ...", file=sys.stderr, flush=True)
            slos, own, details = evaluate(
                tools, helm, slo_chart, n=SLO_N, rounds=EVAL_ROUNDS, progress=progress
            )
            evaluation = {"slo_groups": asdict(slos), "own_groups": asdict(own), **details}
    lines = summary(cases, results)
    if "slo_groups" in evaluation:
        lines += evaluation_lines(slos, own)
    note = file_system_note(results, max(args.sizes), written) if helm else ""
    print(f"medians of {args.runs} runs; Python {sys.version.split()[0]}")
    print(format_table(lines))
    if note:
        print(f"\n{note}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "runs": args.runs,
        "python": sys.version.split()[0],
        "helm": helm,
        "peak_rss_via": peak.prefix[0],
        "lines": [asdict(line) for line in lines],
        "file_system": note,
        "rule_evaluation": evaluation,
        "commands": rows,
    }
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()

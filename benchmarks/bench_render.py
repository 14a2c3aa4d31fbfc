"""Time whole chartgen processes against baselines: median wall time and peak RSS per command."""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthetic_spec import CHART_NAME, write_spec

REPO = Path(__file__).resolve().parent.parent
DEFAULT_JSON = REPO / "benchmarks" / "results" / "latest.json"
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


@dataclass(frozen=True)
class Command:
    """One command line to time, with a short label for the table.

    ``before`` runs untimed before each run, e.g. to set aside what the last run wrote.
    """

    label: str
    argv: tuple[str, ...]
    before: Callable[[], None] | None = None
    env: dict[str, str] | None = None


@dataclass(frozen=True)
class Case:
    """A command measured against the command it is compared with."""

    name: str
    subject: Command
    baseline: Command
    setup: tuple[str, ...] | None = None  # run once first, to create what the commands read


@dataclass
class Samples:
    """Wall times (seconds) and peak RSS (MB) of every timed run of one command."""

    seconds: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)


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


def run_once(
    argv: tuple[str, ...], peak: PeakProbe, env: dict[str, str] | None = None
) -> tuple[float, float]:
    """Run a command to completion; its wall time in seconds and peak RSS in MB."""
    start = time.perf_counter()
    done = subprocess.run(
        [*peak.prefix, *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
        env={**os.environ, **(env or {})},
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace")
        sys.exit(f"failed ({done.returncode}): {' '.join(argv)}\n{message}")
    return elapsed, peak.peak_mb()


def measure(case: Case, runs: int, peak: PeakProbe) -> tuple[Samples, Samples]:
    """Setup, one untimed warm-up each, then ``runs`` alternating runs of subject and baseline."""
    if case.setup:
        run_once(case.setup, peak)
    for command in (case.subject, case.baseline):
        if command.before:
            command.before()
        run_once(command.argv, peak, command.env)
    subject, baseline = Samples(), Samples()
    for _ in range(runs):
        for command, samples in ((case.subject, subject), (case.baseline, baseline)):
            if command.before:
                command.before()
            seconds, peak_mb = run_once(command.argv, peak, command.env)
            samples.seconds.append(seconds)
            samples.peak_mb.append(peak_mb)
    return subject, baseline


def render(spec: Path | None, out: Path, *extra: str) -> tuple[str, ...]:
    """The argv of ``chartgen render`` of a spec (None: the embedded one) into ``out``."""
    spec_args = ("--spec", str(spec)) if spec else ()
    return (*CHARTGEN, "render", *spec_args, "--out", str(out), *extra)


def setting_aside(workdir: Path, *paths: Path) -> Callable[[], None]:
    """A ``before`` hook that moves what the last run wrote away, so each run starts empty.

    Nothing is deleted until the benchmark ends: on ext4 without a journal, creating files
    soon after many were deleted makes the kernel check each recently freed inode
    (``recently_deleted``), which would charge the harness's cleanup to the next run.
    """
    aside = workdir / "set-aside"

    def move() -> None:
        aside.mkdir(exist_ok=True)
        for path in paths:
            if path.exists():
                path.rename(aside / str(len(list(aside.iterdir()))))

    return move


def renders_of(workdir: Path) -> Path:
    """The render cache directory the benchmark's chartgen processes use."""
    return workdir / "cache" / "renders"


def synthetic_case(workdir: Path, n: int, helm: str) -> Case:
    """Write the spec of ``n`` services; chartgen renders it, helm templates the result."""
    spec, out = workdir / f"synthetic-{n}.yaml", workdir / f"synthetic-{n}"
    helm_chart = workdir / f"synthetic-{n}-helm"
    write_spec(n, spec)
    return Case(
        f"synthetic N={n}",
        Command(
            "chartgen render",
            render(spec, out),
            before=setting_aside(workdir, out, renders_of(workdir)),
        ),
        Command("helm template", (helm, "template", CHART_NAME, str(helm_chart))),
        setup=render(spec, helm_chart),
    )


def build_cases(workdir: Path, sizes: list[int], helm: str | None) -> list[Case]:
    """The benchmark cases; synthetic specs are written into ``workdir`` first.

    Unless a case says otherwise, every render does the whole work (the render cache is
    emptied before each run) with compiled templates cached, and writes a whole chart into
    an empty directory.
    """
    out, kept, renders = workdir / "vaultmesh", workdir / "kept", renders_of(workdir)
    bare = Command("bare imports", IMPORTS_ONLY)
    cases = [
        Case(
            "default spec vs imports",
            Command(
                "chartgen render", render(None, out), before=setting_aside(workdir, out, renders)
            ),
            bare,
        ),
        Case(
            "default spec, no caches",
            Command(
                "chartgen render",
                render(None, out),
                before=setting_aside(workdir, out),
                env={"CHARTGEN_CACHE_DIR": ""},
            ),
            bare,
        ),
        Case(
            "default spec, from the render cache",
            Command("chartgen render", render(None, out), before=setting_aside(workdir, out)),
            bare,
        ),
        Case(
            "default spec, chart unchanged, render cache",
            Command("chartgen render", render(None, kept)),
            bare,
            setup=render(None, kept),
        ),
    ]
    if helm is None:
        print("helm not found: skipping the synthetic cases", file=sys.stderr)
    else:
        cases += [synthetic_case(workdir, n, helm) for n in sizes]
    cases.append(
        Case(
            "check vs render",
            Command(
                "chartgen render --check",
                render(None, kept, "--check"),
                before=setting_aside(workdir, renders),
            ),
            Command(
                "chartgen render", render(None, out), before=setting_aside(workdir, out, renders)
            ),
            setup=render(None, kept),
        )
    )
    return cases


def row(case: str, command: Command, samples: Samples, ratio: float | None) -> dict[str, Any]:
    """One result row: what ran and its summary statistics."""
    return {
        "case": case,
        "command": command.label,
        "argv": list(command.argv),
        "median_s": statistics.median(samples.seconds),
        "min_s": min(samples.seconds),
        "peak_mb": max(samples.peak_mb),
        "ratio": ratio,
        "seconds": samples.seconds,
    }


def case_rows(case: Case, runs: int, peak: PeakProbe) -> list[dict[str, Any]]:
    """Measure a case; the subject's ratio is its median over the baseline's median."""
    subject, baseline = measure(case, runs, peak)
    ratio = statistics.median(subject.seconds) / statistics.median(baseline.seconds)
    return [
        row(case.name, case.subject, subject, ratio),
        row(case.name, case.baseline, baseline, None),
    ]


def format_table(rows: list[dict[str, Any]]) -> str:
    """The rows as an aligned text table."""
    header = ("case", "command", "median s", "min s", "peak MB", "ratio")
    lines = [
        (
            r["case"],
            r["command"],
            f"{r['median_s']:.3f}",
            f"{r['min_s']:.3f}",
            f"{r['peak_mb']:.1f}",
            "" if r["ratio"] is None else f"{r['ratio']:.2f}x",
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]
    text_columns = 2
    return "\n".join(
        "  ".join(
            cell.ljust(width) if i < text_columns else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        )
        for line in [header, *lines]
    )


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
        help="synthetic spec sizes, comma-separated (default 10,100,1000)",
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
    # An installed chartgen has its bytecode compiled (pip does it); a checkout may not, and
    # where PYTHONDONTWRITEBYTECODE is set every process would compile the sources again.
    compileall.compile_dir(REPO / "chartgen", quiet=1)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="chartgen-bench-") as tmp:
        # chartgen's caches are the benchmark's own, not the user's.
        os.environ["CHARTGEN_CACHE_DIR"] = str(renders_of(Path(tmp)).parent)
        peak = PeakProbe.create(Path(tmp) / "peak-rss.txt")
        for case in build_cases(Path(tmp), args.sizes, helm):
            print(f"running {case.name} ...", file=sys.stderr, flush=True)
            rows.extend(case_rows(case, args.runs, peak))
    print(format_table(rows))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "runs": args.runs,
        "python": sys.version.split()[0],
        "helm": helm,
        "peak_rss_via": peak.prefix[0],
        "rows": rows,
    }
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()

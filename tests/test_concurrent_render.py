"""Renders into one --out at the same time, and renders killed at any moment: whole charts only.

Each round starts several real `chartgen render` processes into the same directory; every one
must succeed and leave exactly one whole chart. The kill rounds SIGKILL one of two renders of
different specs at a random moment; the directory then holds one of the two whole charts.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from chartgen.pipeline import generate_from_files

from .specdata import read_tree
from .test_interrupted_render import leftovers, synthetic_spec

RENDERS_AT_ONCE = 4
ROUNDS = 5
KILLS = 8


def start(spec: Path, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "chartgen", "render", "--spec", spec, "--out", out],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )


def chart_of(spec: Path) -> dict[str, bytes]:
    return {path: text.encode() for path, text in generate_from_files([spec]).files.items()}


def test_renders_into_one_directory_at_once_each_leave_the_whole_chart(tmp_path):
    spec = synthetic_spec(30, tmp_path / "spec.yaml")
    expected = chart_of(spec)
    out = tmp_path / "chart"
    for _ in range(ROUNDS):
        renders = [start(spec, out) for _ in range(RENDERS_AT_ONCE)]
        results = [(render.wait(timeout=300), *render.communicate()) for render in renders]
        for code, stdout, stderr in results:
            assert code == 0, stderr
            assert "Traceback" not in stderr
            assert stdout.startswith(f"wrote {out} (") or stdout.startswith(f"{out} is up to")
        assert read_tree(out) == expected
        assert leftovers(out) == []


def test_a_render_killed_at_any_moment_leaves_one_whole_chart(tmp_path):
    specs = [synthetic_spec(n, tmp_path / f"spec-{n}.yaml") for n in (20, 30)]
    charts = [chart_of(spec) for spec in specs]
    out = tmp_path / "chart"
    seed = random.Random(14)
    killed = 0
    for round_ in range(KILLS):
        first, second = start(specs[round_ % 2], out), start(specs[1 - round_ % 2], out)
        time.sleep(seed.uniform(0.05, 2.0))
        victim = seed.choice([first, second])
        victim.send_signal(signal.SIGKILL)  # no handler, no cleanup
        errors = {render: render.communicate(timeout=300)[1] for render in (first, second)}
        killed += victim.returncode == -signal.SIGKILL
        survivor = second if victim is first else first
        assert survivor.returncode == 0, errors[survivor]
        assert read_tree(out) in charts
    assert killed >= KILLS // 2  # most kills land before the render ends
    result = start(specs[0], out)
    assert result.wait(timeout=300) == 0
    assert read_tree(out) == charts[0]
    assert leftovers(out) == []

"""A render that cannot finish leaves the previous chart byte for byte; the next one recovers.

The file system refuses a write, or the process is killed mid-write.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from chartgen.pipeline import generate_from_files

from .conftest import ROOT
from .specdata import read_tree
from .test_cli import run

CHART = ROOT / "charts" / "vaultmesh"
# Far below the values.schema.json of a 100-service chart, so that write fails.
FILE_SIZE_LIMIT = 48 * 1024


def synthetic_spec(services: int, path: Path) -> Path:
    """A valid spec of that many services, from the benchmark generator."""
    subprocess.run(
        [sys.executable, ROOT / "benchmarks" / "synthetic_spec.py", str(services), path],
        check=True,
    )
    return path


def leftovers(out: Path) -> list[Path]:
    """Staging directories of unfinished renders beside out."""
    return sorted(out.parent.glob(f".{out.name}.*.tmp"))


def test_a_write_the_file_system_refuses_leaves_the_chart_intact(tmp_path):
    """RLIMIT_FSIZE makes the kernel refuse the write (EFBIG), as a full disk would (ENOSPC)."""
    out = tmp_path / "chart"
    shutil.copytree(CHART, out)
    before = read_tree(out)
    spec = synthetic_spec(100, tmp_path / "spec.yaml")

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))

    result = subprocess.run(
        [sys.executable, "-m", "chartgen", "render", "--spec", spec, "--out", out],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        preexec_fn=limit_file_size,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"{out}: error: cannot write the chart: File too large; the chart on disk is " in (
        result.stderr
    )
    assert "fix: free space or fix permissions" in result.stderr
    assert read_tree(out) == before
    assert leftovers(out) == []


def test_a_killed_render_leaves_the_chart_intact_and_the_next_one_recovers(tmp_path):
    out = tmp_path / "chart"
    shutil.copytree(CHART, out)
    before = read_tree(out)
    spec = synthetic_spec(100, tmp_path / "spec.yaml")

    process = subprocess.Popen(
        [sys.executable, "-m", "chartgen", "render", "--spec", spec, "--out", out],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not leftovers(out) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.001)
        process.kill()  # SIGKILL: no handler, no cleanup, as when the OOM killer strikes
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL
    [staging] = leftovers(out)  # killed while writing, before the swap
    assert read_tree(out) == before

    result = run("render", "--spec", spec, "--out", out)
    assert result.returncode == 0, result.stderr
    assert leftovers(out) == []
    expected = generate_from_files([spec]).files
    assert read_tree(out) == {path: text.encode() for path, text in expected.items()}
    assert not staging.exists()

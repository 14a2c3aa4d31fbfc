"""The wheel carries its templates and the embedded spec: it renders outside the repository."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

from .conftest import ROOT


def test_a_wheel_renders_the_chart_outside_the_checkout(tmp_path):
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path, ROOT],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    [wheel] = tmp_path.glob("chartgen-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    assert "chartgen/templates/workload.yaml.jinja" in names
    assert "chartgen/templates/_helpers.tpl.jinja" in names
    assert "chartgen/specs/vaultmesh.yaml" in names

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    where = subprocess.run(
        [sys.executable, "-c", "import chartgen; print(chartgen.__file__)"],
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
    )
    assert where.stdout.startswith(str(tmp_path / "site"))
    result = subprocess.run(
        [sys.executable, "-m", "chartgen", "render"],
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    rendered = work / "charts" / "vaultmesh"
    committed = ROOT / "charts" / "vaultmesh"
    for path in committed.rglob("*"):
        if path.is_file():
            assert (rendered / path.relative_to(committed)).read_bytes() == path.read_bytes()

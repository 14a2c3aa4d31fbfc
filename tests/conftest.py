"""Shared fixtures: the default render, real tools, and small spec builders."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from chartgen.pipeline import Generated, generate_from_files
from chartgen.write import write_chart

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / ".tools" / "bin"
VALUES_FILES = sorted((ROOT / "values").glob("*.yaml"))


def find_tool(name: str) -> str:
    """A tool on PATH or in .tools/bin; a missing tool fails the test, never skips it."""
    found = shutil.which(name) or shutil.which(name, path=str(TOOLS))
    if found is None:
        pytest.fail(f"{name} is not installed: run scripts/install-tools (or scripts/test)")
    return found


@pytest.fixture(scope="session")
def helm() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the real helm v4; returns the completed process (check it yourself)."""
    binary = find_tool("helm")
    version = subprocess.run([binary, "version", "--short"], capture_output=True, text=True)
    assert version.stdout.startswith("v4."), f"helm v4 required, found {version.stdout!r}"

    def run(*args: str | os.PathLike[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run([binary, *map(str, args)], capture_output=True, text=True)

    return run


@pytest.fixture(scope="session")
def default_render() -> Generated:
    """The embedded VaultMesh spec, rendered once for the session."""
    return generate_from_files()


@pytest.fixture(scope="session")
def default_chart(default_render: Generated, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default chart written to a temporary directory."""
    out = tmp_path_factory.mktemp("chart") / "vaultmesh"
    write_chart(default_render.files, out)
    return out


@pytest.fixture(scope="session")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., str]:
    """Run headless Chromium on a local page with the given flags; returns its stdout."""
    binary = find_tool("chromium")

    def run(page: Path, *flags: str) -> str:
        profile = tmp_path_factory.mktemp("chromium-profile")
        result = subprocess.run(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                f"--user-data-dir={profile}",
                "--window-size=1600,1200",
                *flags,
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    return run

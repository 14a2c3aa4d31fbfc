"""Sessions: tests, lint, typecheck, properties (large run), snapshots (update), bench."""

from __future__ import annotations

import os
from pathlib import Path

import nox

ROOT = Path(__file__).parent
TOOLS = ROOT / ".tools" / "bin"

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True


def _with_tools(session: nox.Session) -> dict[str, str]:
    """Install helm/promtool/prometheus where missing; return an env with them on PATH."""
    session.run("bash", str(ROOT / "scripts" / "install-tools"), external=True)
    return {"PATH": f"{TOOLS}{os.pathsep}{os.environ.get('PATH', '')}"}


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite, against real helm, promtool and kubernetes-validate."""
    session.install("-e", ".[test]")
    env = _with_tools(session)
    session.run("pytest", *session.posargs, env=env)


@nox.session
def properties(session: nox.Session) -> None:
    """The property tests with many fresh random examples (the suite runs a small fixed set)."""
    session.install("-e", ".[test]")
    env = {**_with_tools(session), "CHARTGEN_HYPOTHESIS_PROFILE": "large"}
    session.run("pytest", "tests/test_properties.py", *session.posargs, env=env)


@nox.session
def snapshots(session: nox.Session) -> None:
    """Update the syrupy snapshots; read the diff before committing it."""
    session.install("-e", ".[test]")
    env = _with_tools(session)
    session.run("pytest", "--snapshot-update", *session.posargs, env=env)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and format check."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict with the pydantic plugin."""
    session.install("-e", ".[test,lint]")
    session.run("mypy", "chartgen")


@nox.session
def bench(session: nox.Session) -> None:
    """Time chartgen render (no caches) against bare imports, helm template and file writes."""
    session.install("-e", ".")
    env = _with_tools(session)
    session.run("python", "benchmarks/bench_render.py", *session.posargs, env=env)

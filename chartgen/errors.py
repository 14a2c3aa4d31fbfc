"""Diagnostics: every user mistake is collected, located and reported at once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


def format_loc(loc: Iterable[str | int]) -> str:
    """Write a location tuple as a spec path: ``services[1].probes.liveness``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass(frozen=True, order=True)
class Location:
    """Where a problem is: a file and line, and the path inside the spec."""

    file: str = ""
    line: int = 0
    path: str = ""

    def __str__(self) -> str:
        """Render as ``file:line: path`` leaving out the parts that are unknown."""
        head = self.file
        if head and self.line:
            head = f"{head}:{self.line}"
        parts = [p for p in (head, self.path) if p]
        return ": ".join(parts) if parts else "<spec>"


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem: where it is, what is wrong, and how to fix it."""

    where: Location
    what: str
    fix: str = ""
    warning: bool = False

    def format(self) -> str:
        """Format as a message of one or two lines."""
        kind = "warning" if self.warning else "error"
        text = f"{self.where}: {kind}: {self.what}"
        if self.fix:
            text += f"\n  fix: {self.fix}"
        return text


class ChartgenError(Exception):
    """A failure caused by input: it carries diagnostics, never a traceback for the user."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics)
        super().__init__("\n".join(d.format() for d in self.diagnostics))

    @classmethod
    def single(cls, what: str, *, fix: str = "", where: Location | None = None) -> ChartgenError:
        """Build an error of one diagnostic."""
        return cls([Diagnostic(where or Location(), what, fix)])

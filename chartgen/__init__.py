"""chartgen: one typed spec of a platform -> a versioned Helm chart with its monitoring built in.

The names below are imported on first use, so a command loads only the modules it needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chartgen.errors import ChartgenError, Diagnostic, Location
    from chartgen.load import load_spec
    from chartgen.pipeline import Generated, generate, generate_from_files
    from chartgen.write import compare, write_chart

#: Public name -> the module that defines it.
_EXPORTS = {
    "ChartgenError": "chartgen.errors",
    "Diagnostic": "chartgen.errors",
    "Location": "chartgen.errors",
    "Generated": "chartgen.pipeline",
    "generate": "chartgen.pipeline",
    "generate_from_files": "chartgen.pipeline",
    "load_spec": "chartgen.load",
    "compare": "chartgen.write",
    "write_chart": "chartgen.write",
}

__all__ = [
    "ChartgenError",
    "Diagnostic",
    "Generated",
    "Location",
    "compare",
    "generate",
    "generate_from_files",
    "load_spec",
    "write_chart",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module when the name is first used."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'chartgen' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

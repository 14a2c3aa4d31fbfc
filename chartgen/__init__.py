"""chartgen: one typed spec of a platform -> a versioned Helm chart with its monitoring built in."""

from chartgen.errors import ChartgenError, Diagnostic, Location
from chartgen.generate import Generated, generate, generate_from_files
from chartgen.load import load_spec
from chartgen.write import compare, write_chart

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

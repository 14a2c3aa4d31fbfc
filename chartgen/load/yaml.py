"""The one YAML reader: one parse gives the data, its line numbers and what hygiene checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from chartgen.errors import ChartgenError, Location
from chartgen.load.hygiene import Loc, document_problems


@dataclass
class SourceFile:
    """One document: its name, its plain data and its composed node tree (for line numbers)."""

    name: str
    data: Any = None
    node: Node | None = field(default=None, repr=False)

    def line_of(self, loc: Loc) -> int:
        """The 1-based line of the deepest node of ``loc`` in the file, else of the document.

        A mapping entry's line is its key's; 0 when there is no document.
        """
        node, line = self.node, 0
        for part in loc:
            if isinstance(node, SequenceNode) and isinstance(part, int) and part < len(node.value):
                key = node = node.value[part]
            elif isinstance(node, MappingNode):  # the pairs written there, not those merged in
                pairs = node.value[len(node.merge or ()) :]
                key, node = next(((k, v) for k, v in pairs if k.value == part), (None, None))
            else:
                break
            if key is None:
                break
            line = key.start_mark.line + 1
        return line or (self.node.start_mark.line + 1 if self.node is not None else 0)


#: How to fix a credential written in a spec file.
SPEC_SECRET_FIX = (
    "reference an existing Secret instead (env: - name: X, secret: {name: <secret>, key: <key>}); "
    "credentials never go into spec files"
)


def parse_yaml(
    name: str, text: str, secret_fix: str = SPEC_SECRET_FIX, what: str = "spec file"
) -> SourceFile:
    """Parse YAML 1.2 text once, by libyaml when ruamel.yaml.clib is installed.

    Refuses duplicate keys, plain values YAML 1.1 reads differently, and clear credentials.
    """
    try:
        yaml = YAML(typ="safe")
        node = yaml.compose(text)
        problems = document_problems(node, name, secret_fix)
        if problems:
            raise ChartgenError(problems)
        data = yaml.constructor.construct_document(node) if node is not None else None
    except DuplicateKeyError as err:
        key = err.problem.split('"')[1] if '"' in (err.problem or "") else "?"
        raise ChartgenError.single(
            f"duplicate key {key!r} (first defined on line {_mark_line(err.context_mark)})",
            fix="keep one of the two entries; YAML tools silently drop one of them",
            where=Location(name, _mark_line(err.problem_mark)),
        ) from None
    except MarkedYAMLError as err:
        raise ChartgenError.single(
            f"invalid YAML: {err.problem}",
            fix="fix the YAML syntax at this line",
            where=Location(name, _mark_line(err.problem_mark)),
        ) from None
    except YAMLError as err:
        raise ChartgenError.single(
            f"invalid YAML: {err}", fix="fix the YAML syntax", where=Location(name)
        ) from None
    if data is not None and not isinstance(data, dict):
        start = "'chart:' and/or 'services:'" if what == "spec file" else "a key of values.yaml"
        raise ChartgenError.single(
            f"a {what} must be a mapping, found {type(data).__name__}",
            fix=f"start the file with {start}",
            where=Location(name, 1),
        )
    return SourceFile(name, data or {}, node)


def _mark_line(mark: Any) -> int:
    return int(mark.line) + 1 if mark is not None else 0

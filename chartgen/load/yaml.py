"""The one YAML reader: text -> plain data, refusing what Helm would read otherwise."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from chartgen.errors import ChartgenError, Location
from chartgen.load.hygiene import document_problems

Loc = tuple[str | int, ...]


@dataclass
class SourceFile:
    """One spec document: its name, text and plain data; a line-numbered tree on demand."""

    name: str
    text: str
    data: Any = None
    _tree: Any = field(default=None, repr=False)

    def line_of(self, loc: Loc) -> int:
        """The 1-based line of the deepest node of ``loc`` present in the file (0 if none)."""
        if self._tree is None:
            # A second, round-trip parse only when an error needs a line number.
            self._tree = YAML(typ="rt").load(self.text)
        node: Any = self._tree
        line = 0
        for part in loc:
            try:
                if isinstance(part, int) and isinstance(node, CommentedSeq):
                    line = node.lc.item(part)[0] + 1
                elif isinstance(part, str) and isinstance(node, CommentedMap) and part in node:
                    line = node.lc.key(part)[0] + 1
                else:
                    break
                node = node[part]
            except (AttributeError, IndexError, KeyError, TypeError):
                break
        if line == 0 and hasattr(self._tree, "lc"):
            line = self._tree.lc.line + 1
        return line


#: How to fix a credential written in a spec file.
SPEC_SECRET_FIX = (
    "reference an existing Secret instead (env: - name: X, secret: {name: <secret>, key: <key>}); "
    "credentials never go into spec files"
)


def parse_yaml(
    name: str, text: str, secret_fix: str = SPEC_SECRET_FIX, what: str = "spec file"
) -> Any:
    """Parse YAML 1.2 text into plain data.

    Refuses duplicate keys, plain values YAML 1.1 reads differently, and clear credentials.
    """
    data = _parse_node_tree(name, text, secret_fix)
    if data is None:
        return {}
    if not isinstance(data, dict):
        start = "'chart:' and/or 'services:'" if what == "spec file" else "a key of values.yaml"
        raise ChartgenError.single(
            f"a {what} must be a mapping, found {type(data).__name__}",
            fix=f"start the file with {start}",
            where=Location(name, 1),
        )
    return data


def _parse_node_tree(name: str, text: str, secret_fix: str) -> Any:
    """Plain data through ruamel.yaml's node tree, which the hygiene checks inspect."""
    try:
        yaml, node = _compose(text)
        problems = document_problems(node, name, secret_fix)
        if problems:
            raise ChartgenError(problems)
        return yaml.constructor.construct_document(node) if node is not None else None
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


def _compose(text: str) -> tuple[YAML, Any]:
    """The composed document, by libyaml when ruamel.yaml.clib is installed.

    The pure-Python parser composes the same nodes (a plain scalar's style is '' there,
    None here); on a syntax error it parses again so that messages and lines are its own.
    """
    try:
        yaml = YAML(typ="safe")
        return yaml, yaml.compose(text)
    except YAMLError:
        yaml = YAML(typ="safe", pure=True)
        return yaml, yaml.compose(text)


def _mark_line(mark: Any) -> int:
    return int(mark.line) + 1 if mark is not None else 0

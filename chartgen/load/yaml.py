"""The one YAML reader: one parse gives the data, its line numbers and what hygiene checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer
from ruamel.yaml.constructor import DuplicateKeyError, SafeConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.resolver import VersionedResolver

from chartgen.errors import ChartgenError, Location, format_loc
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


#: Deeper nesting is refused, aliases followed: specs need about 10 levels, recursion far more.
MAX_DEPTH = 64
#: Aliases may add this many nodes to a document (a merge key its entries): a bomb adds 10**9.
MAX_ALIASED = 100_000
#: A longer integer is refused unread: Python reads 4,300 digits at most, Kubernetes holds 19.
MAX_DIGITS = 100
_INT_TAG = "tag:yaml.org,2002:int"


class _Composer(Composer):
    """ruamel's composer, refusing a document nested or expanded by aliases past the bounds.

    An alias counts as the nodes and levels it repeats: each anchored node's extent is kept.
    """

    parser: Any = None  # plain attributes, not ruamel's properties run for every event
    resolver: Any = None

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self.parser, self.resolver = loader.parser, loader.resolver
        loader.max_depth = 0  # checked here instead (libyaml's loader lacks the setting)
        self.nodes, self.aliased, self.reach = 0, 0, 0
        self.extent: dict[int, tuple[int, int]] = {}
        self.keys: list[Any] = []  # the key (node) or index of each level being composed

    def compose_node(self, parent: Any, index: Any) -> Any:
        """Compose a node as ruamel does, counting it as expanded; refuse past the bounds."""
        event, nodes, reach = self.parser.peek_event(), self.nodes, self.reach
        if isinstance(event, AliasEvent):  # no extent yet: it aliases a node holding it
            node = super().compose_node(parent, index)
            size, levels = self.extent.get(id(node), (MAX_ALIASED + 1, 0))
            self.nodes, self.aliased = nodes + size, self.aliased + size
            self.keys.append(index)
            self._bound(event, max(reach, self.depth + levels))
            self.keys.pop()
            return node
        if event.anchor in self.anchors:  # libyaml's own composer refuses it too
            raise MarkedYAMLError(
                problem=f"a second anchor &{event.anchor}", problem_mark=event.start_mark
            )
        self.keys.append(index)
        self._bound(event, self.depth + 1)  # before the recursion into it
        node = super().compose_node(parent, index)
        if isinstance(node, ScalarNode) and str(node.tag) == _INT_TAG:
            self._bound_digits(node)
        self.keys.pop()
        self.nodes += 1
        if event.anchor is not None:
            self.extent[id(node)] = (self.nodes - nodes, self.reach - self.depth)
        self.reach = max(reach, self.reach)
        return node

    def _bound(self, event: Any, reach: int) -> None:
        self.reach = reach
        if reach > MAX_DEPTH:
            self._refuse(
                event,
                f"the document nests deeper than {MAX_DEPTH} levels (aliases followed)",
                f"flatten it: real files need about 10 levels, chartgen reads {MAX_DEPTH}",
            )
        if self.aliased > MAX_ALIASED:
            self._refuse(
                event,
                f"alias *{event.anchor} makes aliases add over {MAX_ALIASED:,} nodes",
                "write the repeated parts out, or alias fewer or smaller nodes",
            )

    def _bound_digits(self, node: ScalarNode) -> None:
        """Refuse an integer too long to construct (or to mean anything in a chart)."""
        text = str(node.value).lstrip("+-").replace("_", "")
        digits = len(text) - 2 * (text[:2] in ("0x", "0o", "0b"))
        if digits > MAX_DIGITS:
            self._refuse(
                node,
                f"a number of {digits:,} digits (chartgen reads integers of at most {MAX_DIGITS})",
                "write a number Kubernetes can hold: its integers have at most 19 digits "
                "(quote it if you mean text)",
            )

    def _refuse(self, event: Any, what: str, fix: str) -> None:
        """Stop at ``event`` (or node), with the path of keys and indexes that leads to it."""
        keys = [k if isinstance(k, int) else k.value for k in self.keys if k is not None]
        loc = tuple(k if isinstance(k, int | str) else "?" for k in keys)
        raise _OutOfBounds(what, fix, _mark_line(event.start_mark), loc)


class _OutOfBounds(YAMLError):
    """A document past MAX_DEPTH or MAX_ALIASED: what, how to fix it, its line and path."""

    def __init__(self, what: str, fix: str, line: int, loc: Loc) -> None:
        super().__init__(what)
        self.what, self.fix, self.line, self.loc = what, fix, line, loc


class _Constructor(SafeConstructor):
    """ruamel's safe constructor; a scalar its tag cannot read (!!int abc) stops at its node."""

    def construct_non_recursive_object(self, node: Any, tag: str | None = None) -> Any:
        """Construct as ruamel does; an error of int(), float() or a lookup names the node."""
        try:
            return super().construct_non_recursive_object(node, tag)
        except (ArithmeticError, LookupError, TypeError, ValueError) as err:
            raise _Unreadable(node, err) from None


class _Unreadable(YAMLError):
    """A node whose tag cannot read its value: the node, and why."""

    def __init__(self, node: Node, error: Exception) -> None:
        super().__init__(str(error))
        self.node, self.error = node, error


class _Resolver(VersionedResolver):
    """YAML 1.2, as chartgen reads it, without ruamel working the version out for each scalar."""

    processing_version = (1, 2)


#: How to fix a credential written in a spec file.
SPEC_SECRET_FIX = (
    "reference an existing Secret instead (env: - name: X, secret: {name: <secret>, key: <key>}); "
    "credentials never go into spec files"
)


def parse_yaml(
    name: str, text: str, secret_fix: str = SPEC_SECRET_FIX, what: str = "spec file"
) -> SourceFile:
    """Parse YAML 1.2 text once, by libyaml when ruamel.yaml.clib is installed.

    Refuses duplicate keys, plain values YAML 1.1 reads differently, clear credentials, and
    documents nested or expanded by aliases past MAX_DEPTH and MAX_ALIASED.
    """
    try:
        yaml = YAML(typ="safe")
        yaml.Composer, yaml.Resolver, yaml.Constructor = _Composer, _Resolver, _Constructor
        loader, parser = yaml.get_constructor_parser(text)  # libyaml's loader composes itself
        node = _Composer(loader).get_single_node() if loader is parser else yaml.compose(text)
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
    except ReaderError as err:  # a control character: found again, as positions differ by parser
        raise ChartgenError.single(
            f"invalid YAML: the control character U+{err.character:04X} (YAML allows none)",
            fix='remove it; in a double-quoted string write it as an escape ("\\x01")',
            where=Location(name, text.count("\n", 0, text.find(chr(err.character))) + 1),
        ) from None
    except _Unreadable as err:
        tag = str(err.node.tag).replace("tag:yaml.org,2002:", "!!")
        raise ChartgenError.single(
            f"invalid YAML: {tag} cannot read {str(err.node.value)[:80]!r}",
            fix=f"write a value {tag} reads, or remove the tag (and quote the value if it is text)",
            where=Location(
                name, _mark_line(err.node.start_mark), format_loc(_loc_of(node, err.node))
            ),
        ) from None
    except _OutOfBounds as err:
        raise ChartgenError.single(
            err.what,
            fix=err.fix,
            where=Location(name, err.line, format_loc(err.loc[:4]) + "..." * (len(err.loc) > 4)),
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
    if not isinstance(data, dict) and (data is not None or what == "spec file"):
        start = "'chart:' and/or 'services:'" if what == "spec file" else "a key of values.yaml"
        found = "no data (it is empty, or only comments)" if data is None else type(data).__name__
        raise ChartgenError.single(
            f"a {what} must be a mapping, found {found}",
            fix=f"start the file with {start}",
            where=Location(name, 1),
        )
    return SourceFile(name, data or {}, node)


def _loc_of(root: Node | None, target: Node) -> Loc:
    """The path of keys and indexes from ``root`` to ``target``; () if it is not found."""
    seen: set[int] = set()
    stack: list[tuple[Any, Loc]] = [(root, ())]
    while stack:
        node, loc = stack.pop()
        if node is target:
            return loc
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, SequenceNode):
            stack.extend((item, (*loc, index)) for index, item in enumerate(node.value))
        elif isinstance(node, MappingNode):
            for key, value in node.value:
                name = key.value if isinstance(key, ScalarNode) else "?"
                stack.extend(((key, loc), (value, (*loc, name))))
    return ()


def _mark_line(mark: Any) -> int:
    return int(mark.line) + 1 if mark is not None else 0

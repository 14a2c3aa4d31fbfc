"""Read YAML straight into plain data when the node tree has nothing to add.

chartgen reads YAML by composing ruamel.yaml's node tree: the hygiene checks need each
scalar's style and line. For most documents those checks find nothing, and a Rust YAML 1.2
parser gives the same data many times faster. This module takes that shortcut only when
it cannot change the outcome:

* a pre-scan of the text finds no construct on which the two parsers, or YAML 1.1 and 1.2
  readers, may disagree (false alarms only cost the slower path);
* the Rust parser accepts the text;
* the data holds string keys and plain scalars only, and no literal credential.

Anything else returns None, and the caller takes the node tree path for its exact data
or diagnostics.
"""

from __future__ import annotations

import functools
import gc
import re
from collections.abc import Callable, Iterable
from typing import Any

from chartgen.hygiene import names_credential

_rust_loads: Callable[[str], Any] | None
try:
    from yaml_rs import loads as _rust_loads
except ImportError:  # pragma: no cover - a platform without a yaml-rs wheel
    _rust_loads = None

# What may end a plain scalar, in block or flow context (any colon, to be safe).
_END = r"(?=[ ]*+(?:[\n#,\[\]{}:]|\Z))"
# What surely ends a plain scalar, or continues it with a space (text then, for both).
_SURE_END = r"(?=[ \n,\]}]|\Z)"
# Plain scalars either parser may read as other than text, or that YAML 1.1 reads otherwise
# (hygiene's suspects), except plain decimals, which both read alike (up to 18 digits before
# the point: Python refuses to read integers of over 4300 digits). The Rust parser reads
# more than YAML 1.2 asks: underscores anywhere in a number, 0X/0O/0B, .inf and .nan in any
# case, times such as 12:30:00. Both read dates as dates; nan never equals itself.
_NUMBER = (
    r"(?=[-+0-9_.])(?!(?:0|-?[1-9][0-9]{0,17}(?:\.[0-9]++)?|-?0\.[0-9]++)" + _SURE_END + ")"
    r"(?:[-+]?(?:0[xXoObB][0-9a-fA-F_]*+"  # hexadecimal, octal, binary
    r"|[0-9_]++(?::[0-9_]++)++(?:\.[0-9_]*+)?(?:[zZ]|[-+][0-9:]++)?"  # base 60, times
    r"|(?=[0-9_.])[0-9_]*+\.?[0-9_]*+(?:[eE][-+_]?[0-9_]*+)?"  # decimals, exponents
    r"|\.?[iI][nN][fF](?:[iI][nN][iI][tT][yY])?|\.?[nN][aA][nN])" + _END + "|[0-9]{4}-[0-9])"
)
# Booleans and nulls in any case but the lower case both read alike, YAML 1.1's yes/no/on/
# off/y/n, inf and nan, and the null, value and merge keys (spelt out: faster than
# ignoring case).
_WORD = (
    r"(?=[yYnNoOtTfFiI~=<])(?!(?:true|false|null)" + _SURE_END + ")"
    r"(?:[yY](?:[eE][sS])?|[nN](?:[oO]|[uU][lL][lL]|[aA][nN])?|[oO](?:[nN]|[fF][fF])"
    r"|[tT][rR][uU][eE]|[fF][aA][lL][sS][eE]|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?"
    r"|~|=|<<)" + _END
)
# A flow collection that closes on its own line and holds only simple scalars: plain
# ones without ':' (unless followed by a space), '?', '#', indicators or the forms above,
# and quoted ones where a node begins. The parsers disagree on several flow forms;
# anything beyond this one-line shape, nested up to four deep, takes the slow path.
_QUOTED = r"""(?:"(?:[^"\\\n]|\\[^\n])*+"|'(?:[^'\n]|'')*+')"""
_PLAIN = (
    rf"(?!{_NUMBER}|{_WORD})"
    r"""[^\s\[\]{}#?:,!&*|>%@`'"\\-][^\n\[\]{}#?:,\\]*+"""
)


def _flow(depth: int) -> str:
    node = f"(?:{_QUOTED}|{_PLAIN}" + (f"|{_flow(depth - 1)})" if depth > 1 else ")")
    entry = f"[ ]*+(?:{node}[ ]*+(?::[ ]++(?:{node}[ ]*+)?)?)?"  # a node, or a key: value pair
    return rf"[\[{{]{entry}(?:,{entry})*+[\]}}]"


# A block node that may read differently: a tag, an anchor, an alias, an explicit key,
# a plain scalar of the forms above, or a flow collection beyond the simple shape. (The
# first character is looked at first, to leave most nodes at once.) Flow collections nest
# two deep at most here: each level multiplies the pattern's size (four take seconds to
# compile).
_NODE = (
    r"(?=[-+0-9_.yYnNoOtTfFiI~=<!?&*\[{])"
    rf"(?:{_NUMBER}|{_WORD}|[!?&*]|(?=[\[{{])(?!{_flow(2)}))"
)
# Block indicators before a node: '- ' and ': ' ('? ' begins an explicit key, which _NODE
# refuses).
_INDICATORS = r"(?:[-:][ ]++)*+"
# Block nodes begin at a line's start or after ': '. Nowhere else: after a space inside
# a line a plain scalar has begun already, and holds a space (text, for both parsers).
# Nodes that begin deeper than a hundred columns (about two hundred levels) may exhaust
# ruamel.yaml's recursion, not the Rust parser's. A line may also hold a document marker
# or a directive: several documents, an explicit end and directives (%YAML 1.1) all read
# differently. Searches start with a literal (a line break, ': ') so that they skim.
_DEEP = r"(?<=[ :-]{100})"


@functools.cache
def _line_patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """The patterns of lines and values that may read differently: (first line, line, value).

    Compiled on first use (about a tenth of a second), never by a run that does not read
    a large text directly.
    """
    return (
        re.compile(rf"(?:---(?=\s|\Z))?[ ]*+{_INDICATORS}(?:{_DEEP}|{_NODE})|\.\.\.(?=\s|\Z)|%"),
        re.compile(rf"\n(?:[ ]*+{_INDICATORS}(?:{_DEEP}|{_NODE})|(?:---|\.\.\.)(?=\s|\Z)|%)"),
        re.compile(rf": ++{_INDICATORS}(?:{_DEEP}|{_NODE})"),
    )


# Characters YAML 1.2 forbids, or reads unlike YAML 1.1 (NEL, LS and PS break lines in
# 1.1), a byte order mark, tabs and carriage returns (where the parsers' rules differ).
_ODD_CHARACTERS = re.compile(
    r"[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
_PRINTABLE_ASCII = bytes(range(0x20, 0x7F)) + b"\n"


# A block scalar's header, at the end of a line.
_BLOCK_HEADER = re.compile(r"(?:\A|[ :-])[|>][-+0-9]*+[ ]*+(?:#.*)?\Z")


def may_read_differently(text: str) -> bool:
    """Whether the text may hold anything the parsers or the hygiene checks see apart.

    Errs on the side of yes: a false alarm only costs the node tree path.
    """
    if text.isascii():
        odd = bool(text.encode("ascii").translate(None, _PRINTABLE_ASCII))
    else:
        odd = _ODD_CHARACTERS.search(text) is not None
    if odd or _ends_in_a_block_scalar(text):
        return True
    first_line, line, value = _line_patterns()
    return (
        first_line.match(text) is not None
        or line.search(text) is not None
        or value.search(text) is not None
    )


def _ends_in_a_block_scalar(text: str) -> bool:
    """Whether a block scalar may end the text, empty or with no final line break.

    The Rust parser then keeps a line break that ruamel.yaml drops. Lines of spaces or
    comments after the header count as the end too.
    """
    if text and not text.endswith("\n"):
        return True
    end = len(text)
    while end > 0:
        start = text.rfind("\n", 0, end - 1) + 1
        line = text[start : end - 1].strip(" ")
        if line and not line.startswith("#"):
            return _BLOCK_HEADER.search(line) is not None
        end = start
    return False


def read_unambiguous(text: str) -> tuple[Any] | None:
    """``(data,)`` as the node tree path would read it, or None to take that path."""
    if _rust_loads is None or may_read_differently(text):
        return None
    collecting = gc.isenabled()
    gc.disable()  # the parser makes many containers and no cycles: collecting only costs
    try:
        data = _rust_loads(text)
    except BaseException as err:  # a Rust panic is a BaseException too
        if isinstance(err, KeyboardInterrupt | SystemExit):
            raise
        return None  # any refusal: the node tree path explains it
    finally:
        if collecting:
            gc.enable()
    if _needs_node_tree(data):
        return None
    return (data,)


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _needs_node_tree(data: Any) -> bool:
    """Whether data holds other than string keys and plain scalars, or a literal credential.

    The credential rule is hygiene's, on data: a key, or the ``name`` of a mapping with a
    ``value`` (an env entry), that names a credential and holds a non-empty string or a
    number. A number's text never names one, so only string names count. Names repeat a
    lot, so each is judged once, and each mapping's keys are matched as a set.
    """
    if type(data) is not dict and type(data) is not list:
        return type(data) not in _SCALARS
    judged: set[str] = set()
    credentials: set[str] = set()

    def judge(names: Iterable[Any]) -> bool:
        """Judge new names; whether one is no string."""
        for name in names:
            if type(name) is not str:
                return True
            judged.add(name)
            if names_credential(name):
                credentials.add(name)
        return False

    stack = [data]
    push = stack.append
    while stack:
        node = stack.pop()
        values: Iterable[Any] = node
        if type(node) is dict:
            keys = node.keys()
            if not keys <= judged and judge(keys - judged):
                return True
            if credentials and not credentials.isdisjoint(keys):
                if any(_literal(node[key]) for key in credentials & keys):
                    return True
            name = node.get("name")
            if type(name) is str and "value" in node and _literal(node["value"]):
                if name not in judged:
                    judge((name,))
                if name in credentials:
                    return True
            values = node.values()
        for value in values:
            kind = type(value)
            if kind is dict or kind is list:
                push(value)
            elif kind not in _SCALARS:
                return True
    return False


def _literal(value: Any) -> bool:
    """A non-empty string or a number: what hygiene calls a literal."""
    kind = type(value)
    return (kind is str and value != "") or kind is int or kind is float

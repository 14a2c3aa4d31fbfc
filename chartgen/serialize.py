"""Deterministic YAML and JSON text for data: the one place chartgen turns data into text."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

import orjson
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.representer import SafeRepresenter
from ruamel.yaml.resolver import VersionedResolver

STR_TAG = "tag:yaml.org,2002:str"
# Helm reads YAML with YAML 1.1 rules, where y/n/yes/no/on/off are booleans, 010 is octal
# and 1:20 is a number; such strings are quoted so they stay strings.
_YAML11 = VersionedResolver(version=(1, 1))
_YAML11_BOOL_LETTERS = re.compile(r"^[yYnN]$")
# A Go/Helm template action inside text that Helm must pass through, e.g. {{ $labels.pod }},
# or a lone brace pair.
_HELM_BRACES = re.compile(r"\{\{[^`]*?\}\}|\{\{|\}\}")


def _needs_quotes(text: str) -> bool:
    resolved = _YAML11.resolve(ScalarNode, text, (True, False))
    return resolved != STR_TAG or bool(_YAML11_BOOL_LETTERS.match(text))


def _represent_str(representer: SafeRepresenter, data: str) -> Any:
    style = None
    if "\n" in data and not re.search(r"[ \t]\n|[ \t]$|^\s", data):
        style = "|"
    elif _needs_quotes(data):
        style = "'"
    return representer.represent_scalar(STR_TAG, data, style=style)


def _yaml(typ: str) -> YAML:
    yaml = YAML(typ=typ, pure=True)
    yaml.default_flow_style = False
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.representer.sort_base_mapping_type_on_output = False
    yaml.representer.add_representer(str, _represent_str)
    # Data shared between two places is written out twice, never as an anchor and alias.
    yaml.representer.ignore_aliases = lambda data: True
    return yaml


_SAFE = _yaml("safe")
_ROUND_TRIP = _yaml("rt")


def to_yaml(data: Any) -> str:
    """Block-style YAML that Helm reads back as the same data, keys in insertion order."""
    try:
        return _fast_yaml(data, _Lines(round_trip=False))
    except _Unusual:
        return _ruamel_yaml(data)


class KeyDocs(NamedTuple):
    """Descriptions of a map's keys, and the KeyDocs of the maps below them.

    ``nested`` applies to the map under a key, or to each map in the list under it.
    """

    descriptions: Mapping[str, str]
    nested: Mapping[str, KeyDocs]


NO_DOCS = KeyDocs({}, {})


def to_commented_yaml(data: dict[str, Any], docs: KeyDocs) -> str:
    """YAML of a map with each key's description as a ``# --`` comment above it (values.yaml).

    What ruamel.yaml's round-trip dumper writes for the same map as a CommentedMap.
    """
    try:
        return _fast_yaml(data, _Lines(round_trip=True), docs)
    except _Unusual:
        return _ruamel_yaml(commented_map(data, docs), round_trip=True)


def commented_map(data: dict[str, Any], docs: KeyDocs, indent: int = 0) -> CommentedMap:
    """The ruamel.yaml CommentedMap of a described map, for its round-trip dumper."""
    out = CommentedMap()
    for key, value in data.items():
        out[key] = _commented(value, indent + 2, docs.nested.get(key, NO_DOCS))
        description = docs.descriptions.get(key)
        if description:
            out.yaml_set_comment_before_after_key(key, before=f"-- {description}", indent=indent)
    return out


def _commented(value: Any, indent: int, docs: KeyDocs) -> Any:
    if isinstance(value, dict):
        return commented_map(value, docs, indent)
    if isinstance(value, list):
        return CommentedSeq(_commented(item, indent + 2, docs) for item in value)
    return value


def _ruamel_yaml(data: Any, *, round_trip: bool = False) -> str:
    stream = io.StringIO()
    (_ROUND_TRIP if round_trip else _SAFE).dump(data, stream)
    return stream.getvalue()


class _Unusual(Exception):
    """Data the fast emitter leaves to ruamel.yaml."""


class _Lines(list[str]):
    """The lines written so far, and which ruamel dumper they stand in for."""

    def __init__(self, *, round_trip: bool) -> None:
        super().__init__()
        self.round_trip = round_trip
        self.key_texts = _STRINGS[True, round_trip]
        self.value_texts = _STRINGS[False, round_trip]


# The fast emitter writes what ruamel.yaml writes (with the settings of _yaml) for plain data:
# dicts with str keys, lists, str, int, float, bool and None, and in round-trip mode the
# described maps of values.yaml with comment lines above keys. Anything else, and any scalar
# ruamel would write over several lines or fold, goes to ruamel.yaml for the whole document.
_YAML12 = VersionedResolver(version=(1, 2))
# Each version's implicit resolvers by first character, as resolve() walks them; read once,
# since resolve() looks the version up on every call.
_YAML11_RESOLVERS = _YAML11.versioned_resolver
_YAML12_RESOLVERS = _YAML12.versioned_resolver
# Printable ASCII that ruamel writes plain in block context when it resolves to a string:
# no indicator first, no ': ' or ' #', no space at either end.
_PLAIN = re.compile(r"[A-Za-z0-9_(/$=<~+^][ -~]*")
_LONGEST_INLINE = 2000  # well below the 4096 columns at which ruamel folds a line
_LONGEST_SIMPLE_KEY = 128  # ruamel's emitter writes longer keys as explicit ones
# The text of each string written, as a key or as a value, for each dumper: ruamel is asked once.
_STRINGS: dict[tuple[bool, bool], dict[str, str]] = {
    (key, round_trip): {} for key in (False, True) for round_trip in (False, True)
}
_FLOATS: dict[tuple[str, bool, bool], str] = {}
# What rules out a plain scalar for ruamel's analyze_scalar: an indicator first, a space at
# either end, ': ' or ' #' inside, ':' last.
_NOT_PLAIN = re.compile(r"""^[#,\[\]{}&*!|>'"%@`]|^[-?:]( |$)|^ | $|: | #|:$""")
# Every character YAML reads as a line break.
_LINE_BREAK = re.compile("[\n\r\x85\u2028\u2029]")


def _fast_yaml(data: Any, out: _Lines, docs: KeyDocs = NO_DOCS) -> str:
    if type(data) is dict and data:
        _mapping(data, 0, out, docs)
    elif type(data) is list and data:
        _sequence(data, 2, out, docs)
    else:
        raise _Unusual
    out.append("")
    return "\n".join(out)


def _comment_lines(description: str, pad: str) -> list[str]:
    """The ``# --`` lines CommentedMap.yaml_set_comment_before_after_key puts above a key."""
    text = f"-- {description}".removesuffix("\n")
    return [f"{pad}# {line}" if line else pad for line in text.split("\n")]


def _mapping(
    data: dict[Any, Any], column: int, out: _Lines, docs: KeyDocs, first: str = ""
) -> None:
    """Keys at ``column``; the first key continues ``first`` (a list item's dash) if given."""
    pad = " " * column
    descriptions, nested = docs
    for key, value in data.items():
        if type(key) is not str:
            raise _Unusual
        description = descriptions.get(key)
        if description:
            if first:
                raise _Unusual
            if "\n" in description:
                out.extend(_comment_lines(description, pad))
            else:
                out.append(f"{pad}# -- {description}")
        text = out.key_texts.get(key) or _scalar(key, out, key=True)
        head = f"{first or pad}{text}:"
        first = ""
        _value(value, head, column + 2, out, nested.get(key, NO_DOCS))


def _sequence(data: list[Any], dash: int, out: _Lines, docs: KeyDocs, first: str = "") -> None:
    """Dashes at column ``dash``, maps described by ``docs``; the first continues ``first``."""
    pad = " " * dash
    for item in data:
        head = f"{first or pad}-"
        first = ""
        kind = type(item)
        if item and kind is dict:
            _mapping(item, dash + 2, out, docs, head + " ")
        elif item and kind is list:
            if docs != NO_DOCS:
                # ruamel puts the comments of maps in nested lists left of their keys
                raise _Unusual
            _sequence(item, dash + 4, out, docs, head + "   ")
        else:
            _value(item, head, dash + 2, out, docs)


def _value(value: Any, head: str, inner: int, out: _Lines, docs: KeyDocs) -> None:
    """``head`` followed by a value: inline if scalar or empty, else on the next lines."""
    kind = type(value)
    if kind is dict or kind is list:
        if value:
            out.append(head)
            (_mapping if kind is dict else _sequence)(value, inner, out, docs)
        else:
            out.append(head + (" {}" if kind is dict else " []"))
    elif type(value) is str and "\n" in value:
        _literal(value, head, inner, out)
    else:
        text = _scalar(value, out, key=False)
        if len(head) + len(text) > _LONGEST_INLINE:
            raise _Unusual
        out.append(f"{head} {text}")


def _literal(text: str, head: str, column: int, out: _Lines) -> None:
    """A multi-line string as a literal block (|- or |), as _represent_str chooses."""
    if re.search(r"[ \t]\n|[ \t]$|^\s|\n\n$|[\x85\u2028\u2029\r]", text):
        raise _Unusual
    body = text[:-1] if text.endswith("\n") else text
    out.append(f"{head} |" if text.endswith("\n") else f"{head} |-")
    pad = " " * column
    for line in body.split("\n"):
        if not _printable(line):
            raise _Unusual
        out.append(pad + line if line else "")


def _printable(text: str) -> bool:
    return text.isascii() and text.isprintable() and "\t" not in text


def _scalar(value: Any, out: _Lines, *, key: bool) -> str:
    """The text of a one-line scalar, as ruamel.yaml writes it in block context."""
    kind = type(value)
    if kind is str:
        texts = out.key_texts if key else out.value_texts
        text = texts.get(value)
        if text is None:
            text = texts[value] = _string(value, key, out)
        return text
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if value is None and not out.round_trip:  # round-trip writes an empty value
        return "null"
    if kind is not float:
        raise _Unusual
    # A float by its repr: 1.0 == 1 == True as keys, and -0.0 == 0.0.
    cache_key = (repr(value), key, out.round_trip)
    text = _FLOATS.get(cache_key)
    if text is None:
        text = _FLOATS[cache_key] = _by_ruamel(value, False, out)
    return text


def _string(text: str, key: bool, out: _Lines) -> str:
    if key and len(text) >= _LONGEST_SIMPLE_KEY:
        raise _Unusual  # ruamel writes it as an explicit key: '? ' and the key, then ': '
    if not _printable(text):
        return _by_ruamel(text, key, out)
    # as _needs_quotes says
    quote = not _reads_as_str(_YAML11_RESOLVERS, text) or bool(_YAML11_BOOL_LETTERS.match(text))
    if (
        not quote
        and _PLAIN.fullmatch(text)
        and not text.endswith((" ", ":"))
        and ": " not in text
        and " #" not in text
        and _reads_as_str(_YAML12_RESOLVERS, text)
    ):
        return text
    if quote or ("'" not in text and _NOT_PLAIN.search(text)):
        # _represent_str asks for single quotes, or ruamel finds an indicator that rules out
        # plain and chooses them; printable one-liners allow them.
        return "'" + text.replace("'", "''") + "'"
    return _by_ruamel(text, key, out)


def _reads_as_str(resolvers: dict[Any, list[tuple[Any, re.Pattern[str]]]], text: str) -> bool:
    """Whether plain text resolves to a string: resolve() of the resolvers' own resolver."""
    for tag, regexp in resolvers.get(text[0] if text else "", ()):
        if regexp.match(text):
            return bool(tag == STR_TAG)
    return True


def _by_ruamel(value: Any, key: bool, out: _Lines) -> str:
    """Ask ruamel.yaml how it writes one scalar; unusual if it takes more than one line."""
    data = CommentedMap({value: 0} if key else {"k": value})
    text = _ruamel_yaml(data if out.round_trip else dict(data), round_trip=out.round_trip)
    if _LINE_BREAK.search(text[:-1]) or not text.endswith("\n"):
        raise _Unusual
    if key:
        if not text.endswith(": 0\n"):
            raise _Unusual
        return text[: -len(": 0\n")]
    if not text.startswith("k: "):
        raise _Unusual
    return text[len("k: ") : -1]


def to_json(data: Any) -> str:
    """Indented JSON with a final newline, keys in insertion order, as json.dumps writes it."""
    text = _by_orjson(data)
    return text if text is not None else json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _by_orjson(data: Any) -> str | None:
    """What to_json writes, by orjson; None where orjson's text would differ from json's.

    Their compact texts are compared (json's C encoder writes those quickly): when they are
    equal, the indented ones are too. They differ on floats with an exponent (1e-07 against
    1e-7), NaN and infinities, and on types one of them refuses.
    """
    try:
        compact = orjson.dumps(data)
        if compact != json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode():
            return None
    except (TypeError, ValueError):  # orjson.JSONEncodeError is a TypeError
        return None
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n"


def helm_escape(text: str) -> str:
    """Make text reach Helm's output verbatim: template actions become Helm raw strings."""
    return _HELM_BRACES.sub(_helm_literal, text)


def _helm_literal(match: re.Match[str]) -> str:
    text = match.group(0)
    # A whole action becomes a raw string; a lone pair becomes a quoted string.
    return "{{`" + text + "`}}" if len(text) > 2 else '{{ "' + text + '" }}'


def yaml_quote(text: str) -> str:
    """A YAML double-quoted scalar of text, safe to place in a Helm template."""
    return helm_escape(json.dumps(text, ensure_ascii=False))

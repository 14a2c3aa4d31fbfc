"""Deterministic YAML and JSON text for data: the one place chartgen turns data into text."""

from __future__ import annotations

import functools
import io
import json
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

import orjson
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.representer import SafeRepresenter

from chartgen.load.hygiene import plain_type

STR_TAG = "tag:yaml.org,2002:str"
# A Go/Helm template action inside text that Helm must pass through, e.g. {{ $labels.pod }},
# or a lone brace pair.
_HELM_BRACES = re.compile(r"\{\{[^`]*?\}\}|\{\{|\}\}")
# What Helm's YAML reader (go-yaml) refuses, or takes as a line break, unless escaped ("\L").
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")
# JSON (so a YAML double-quoted scalar too) with each of those characters as a \u escape.
_json_escape = functools.partial(_UNSAFE.sub, lambda match: f"\\u{ord(match.group()):04x}")


def _represent_str(representer: SafeRepresenter, data: str) -> Any:
    style = None
    if _UNSAFE.search(data):  # escaped, as only a double-quoted scalar can
        style = '"'
    elif "\n" in data and not re.search(r"[ \t]\n|[ \t]$|^\s", data):
        style = "|"
    elif plain_type(data) != "str":  # quoted where Helm (YAML 1.1) would read no text
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
    return _dump(data)


class KeyDocs(NamedTuple):
    """Descriptions of a map's keys, and the KeyDocs of the maps below them.

    ``nested`` applies to the map under a key, or to each map in the list under it.
    """

    descriptions: Mapping[str, str]
    nested: Mapping[str, KeyDocs]


NO_DOCS = KeyDocs({}, {})


def to_commented_yaml(data: dict[str, Any], docs: KeyDocs) -> str:
    """YAML of a map with each key's description as a ``# --`` comment above it (values.yaml)."""
    return _dump(commented_map(data, docs), round_trip=True)


def commented_map(data: dict[str, Any], docs: KeyDocs, indent: int = 0) -> CommentedMap:
    """The ruamel.yaml CommentedMap of a described map, for its round-trip dumper."""
    out = CommentedMap()
    for key, value in data.items():
        out[key] = _commented(value, indent + 2, docs.nested.get(key, NO_DOCS))
        description = _UNSAFE.sub(" ", docs.descriptions.get(key, ""))  # a comment ends at a break
        if description:
            out.yaml_set_comment_before_after_key(key, before=f"-- {description}", indent=indent)
    return out


def _commented(value: Any, indent: int, docs: KeyDocs) -> Any:
    if isinstance(value, dict):
        return commented_map(value, docs, indent)
    if isinstance(value, list):
        return CommentedSeq(_commented(item, indent + 2, docs) for item in value)
    return value


def _dump(data: Any, *, round_trip: bool = False) -> str:
    stream = io.StringIO()
    (_ROUND_TRIP if round_trip else _SAFE).dump(data, stream)
    return stream.getvalue()


def to_json(data: Any) -> str:
    """Indented JSON with a final newline, keys in insertion order, text unescaped but _UNSAFE."""
    return _json_escape(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()) + "\n"


def helm_escape(text: str) -> str:
    """Make text reach Helm's output verbatim: template actions become Helm raw strings."""
    return _HELM_BRACES.sub(_helm_literal, text)


def _helm_literal(match: re.Match[str]) -> str:
    text = match.group(0)
    # A whole action becomes a raw string; a lone pair becomes a quoted string.
    return "{{`" + text + "`}}" if len(text) > 2 else '{{ "' + text + '" }}'


def yaml_quote(text: str) -> str:
    """A YAML double-quoted scalar of text, safe to place in a Helm template."""
    return helm_escape(_json_escape(json.dumps(text, ensure_ascii=False)))

"""Checks on a YAML document as written: values YAML 1.1 reads otherwise, clear credentials.

Both need the composed document (scalar styles and lines), so they run before validation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver

from chartgen.errors import Diagnostic, Location, format_loc

Loc = tuple[str | int, ...]

_YAML11 = VersionedResolver(version=(1, 1))
_YAML12 = VersionedResolver(version=(1, 2))
# Plain scalars that YAML 1.1 (Helm, kubectl, PyYAML) and YAML 1.2 may read differently:
# yes/no/on/off/y/n booleans, leading-zero octals, 0o octals and base-60 numbers like 1:20.
_SUSPECT = re.compile(
    r"^(?:[yYnN]|[yY]es|YES|[nN]o|NO|[oO]n|ON|[oO]ff|OFF"
    r"|[-+]?0[0-9_]+|0o[0-7]+|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?)$"
)
_OCTAL_11 = re.compile(r"^[-+]?0[0-7_]+$")
_TYPE_NAMES = {"bool": "a boolean", "int": "a number", "float": "a number", "str": "text"}

# Words that name a credential when they end a key or an env var name.
_CREDENTIAL_WORDS = frozenset(
    {"password", "passwd", "passphrase", "secret", "token", "apikey", "credential", "credentials"}
)
_CREDENTIAL_PAIRS = frozenset(
    {("api", "key"), ("private", "key"), ("access", "key"), ("secret", "key"), ("auth", "key")}
)
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")


def document_problems(node: Node | None, file: str, fix_secret: str) -> list[Diagnostic]:
    """Ambiguous plain scalars and literal credentials in a composed YAML document."""
    return [
        Diagnostic(Location(file, scalar.start_mark.line + 1, format_loc(loc)), what, fix)
        for loc, scalar, what, fix in _problems(node, (), fix_secret)
    ]


def plain_type(text: str, resolver: VersionedResolver = _YAML11) -> str:
    """What a plain scalar reads as (str, bool, int, float, null...): by YAML 1.1, as Helm does."""
    return str(resolver.resolve(ScalarNode, text, (True, False))).rsplit(":", 1)[-1]


def names_credential(name: str) -> bool:
    """Whether a key or env var name names a credential (DB_PASSWORD, apiKey, token)."""
    words = [w.lower() for w in _WORD.findall(name)]
    return bool(words) and (
        words[-1] in _CREDENTIAL_WORDS or tuple(words[-2:]) in _CREDENTIAL_PAIRS
    )


def _problems(
    node: Node | None, loc: Loc, fix_secret: str
) -> Iterator[tuple[Loc, ScalarNode, str, str]]:
    if isinstance(node, ScalarNode):
        problem = _ambiguity(node)
        if problem:
            yield (loc, node, *problem)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            yield from _problems(item, (*loc, index), fix_secret)
    elif isinstance(node, MappingNode):
        pairs = {k.value: v for k, v in node.value if isinstance(k, ScalarNode)}
        env_name = pairs.get("name")
        env_value = pairs.get("value")
        if (
            isinstance(env_name, ScalarNode)
            and names_credential(str(env_name.value))
            and _is_literal(env_value)
        ):
            assert isinstance(env_value, ScalarNode)
            what = f"{env_name.value} is given a literal value: a credential in the clear"
            yield ((*loc, "value"), env_value, what, fix_secret)
        for key_node, value in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else "?"
            if names_credential(str(key)) and _is_literal(value):
                assert isinstance(value, ScalarNode)
                what = f"{key!r} holds a literal value: a credential in the clear"
                yield ((*loc, key), value, what, fix_secret)
            else:
                yield from _problems(value, (*loc, key), fix_secret)


def _is_literal(node: Node | None) -> bool:
    """A non-empty text or number: what a credential in the clear looks like."""
    if not isinstance(node, ScalarNode) or node.value == "":
        return False
    tag = str(node.tag)
    return not tag.endswith((":null", ":bool"))


def _ambiguity(node: ScalarNode) -> tuple[str, str] | None:
    """(what, fix) if YAML 1.1 and 1.2 read this plain scalar differently."""
    text = node.value
    if node.style or not _SUSPECT.match(text):  # plain: None, or '' from libyaml
        return None
    as11, as12 = plain_type(text), plain_type(text, _YAML12)
    if as11 == as12 == "int" and _OCTAL_11.match(text):
        reading11 = f"the octal number {int(text.replace('_', ''), 8)}"
        reading12 = f"the number {int(text.replace('_', ''))}"
    elif as11 != as12:
        reading11 = _TYPE_NAMES.get(as11, as11)
        reading12 = _TYPE_NAMES.get(as12, as12)
    else:
        return None
    what = (
        f"{text!r} is read as {reading11} by YAML 1.1 tools (Helm among them) "
        f"and as {reading12} by YAML 1.2"
    )
    fix = f'quote it ("{text}") if you mean text; otherwise write an unambiguous value'
    if as11 == "bool":
        fix += " (true or false)"
    return what, fix

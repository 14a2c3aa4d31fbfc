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

# Words that name a credential when they end a key or an env var name (PGPASSWORD too).
_CREDENTIAL_WORDS = tuple(
    "password passwd passphrase secret token apikey credential credentials".split()
)
_CREDENTIAL_PAIRS = frozenset(
    {("api", "key"), ("private", "key"), ("access", "key"), ("secret", "key"), ("auth", "key")}
)
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
# A credential inside a value: a URL's user:password@, or an argument like -Ddb.password=x
# ($(VAR) and ${VAR} references pass).
_HELD = re.compile(r"://[^\s/@:]*:(?!\$)[^\s/@]+@|(?:^|\s)(--?[\w.-]+)=(?!\$)\S")


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
        words[-1].endswith(_CREDENTIAL_WORDS) or tuple(words[-2:]) in _CREDENTIAL_PAIRS
    )


def _problems(
    node: Node | None, loc: Loc, fix_secret: str, given: str = ""
) -> Iterator[tuple[Loc, ScalarNode, str, str]]:
    """The problems below ``node``; ``given`` says how a credential's name gives it a value."""
    if isinstance(node, ScalarNode):
        problem = _ambiguity(node)
        if problem:
            yield (loc, node, *problem)
        what = f"{given} a literal value" if given and _is_literal(node) else _held(node.value)
        if what:
            fix = fix_secret if given else f"write $(X) in its place and {fix_secret}"
            yield (loc, node, f"{what}: a credential in the clear", fix)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            yield from _problems(item, (*loc, index), fix_secret)
    elif isinstance(node, MappingNode):
        name = next((v.value for k, v in node.value if k.value == "name"), "")
        env = f"{name} is given" if isinstance(name, str) and names_credential(name) else ""
        for key_node, value in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else "?"
            given = (
                f"{key!r} holds" if names_credential(str(key)) else env if key == "value" else ""
            )
            yield from _problems(value, (*loc, key), fix_secret, given)


def _held(text: str) -> str:
    """What in a value is a credential: a URL's password, or an argument like --password=x."""
    for held in _HELD.finditer(text):
        if held[1] is None or names_credential(held[1]):
            return f"{held[1]} is given a literal value" if held[1] else "a URL holds a password"
    return ""


def _is_literal(node: ScalarNode) -> bool:
    """A non-empty text or number: what a credential in the clear looks like."""
    return node.value != "" and not str(node.tag).endswith((":null", ":bool"))


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

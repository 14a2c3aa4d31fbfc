"""Names across the spec: where a path points, and unique per kind."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from chartgen.errors import Diagnostic, Location

Locate = Callable[[Sequence[str | int]], Location]


def first_indexes(names: Iterable[str]) -> dict[str, int]:
    """Each name's first position in a list of names."""
    first: dict[str, int] = {}
    for index, name in enumerate(names):
        first.setdefault(name, index)
    return first


def duplicate_name(
    section: str, index: int, name: str, first_index: Mapping[str, int], locate: Locate
) -> list[Diagnostic]:
    """An error if an earlier entry of the section has the same name as entry ``index``."""
    first = first_index[name]
    if first == index:
        return []
    kind = section.removesuffix("s")
    return [
        Diagnostic(
            locate([section, index, "name"]),
            f"duplicate {kind} name {name!r} (also {section}[{first}])",
            f"give each {kind} a unique name",
        )
    ]

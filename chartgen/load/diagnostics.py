"""Pydantic's validation errors as diagnostics: one per location, with its line and a fix."""

from __future__ import annotations

import ast
import difflib
import re
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from chartgen.errors import Diagnostic, Location, format_loc
from chartgen.load.hygiene import Loc
from chartgen.load.yaml import SourceFile
from chartgen.spec.types import pattern_fix


def validation_diagnostics(
    errors: ValidationError | Sequence[ErrorDetails], source: SourceFile, model: type[BaseModel]
) -> list[Diagnostic]:
    """Turn pydantic errors into one diagnostic per location, with line and a hint to fix."""
    grouped: dict[Loc, list[ErrorDetails]] = {}
    for error in errors.errors() if isinstance(errors, ValidationError) else errors:
        grouped.setdefault(_data_loc(source.data, error["loc"]), []).append(error)
    out = []
    for loc, at_loc in grouped.items():
        what = " or ".join(dict.fromkeys(_message(e) for e in at_loc))
        where = Location(source.name, source.line_of(loc), format_loc(loc))
        out.append(Diagnostic(where, what, _fix(at_loc[0], model, loc)))
    return out


def unknown_fields(errors: ValidationError, data: Any) -> list[Loc] | None:
    """Where each unknown field is in ``data``, if unknown fields are all that is wrong.

    None when another error is among them, or an unknown field sits where ``data`` has no
    such path (inside one member of a union).
    """
    found = []
    for error in errors.errors():
        loc = _data_loc(data, error["loc"])
        if error["type"] != "extra_forbidden" or loc != tuple(error["loc"]):
            return None
        found.append(loc)
    return found


def _data_loc(data: Any, loc: Sequence[str | int]) -> Loc:
    """Drop the parts pydantic adds for union members, keeping the path that exists in data."""
    out: list[str | int] = []
    node = data
    for index, part in enumerate(loc):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        elif isinstance(node, dict) and index == len(loc) - 1:
            out.append(part)  # a missing or unknown key: name it
            break
        else:
            break
        out.append(part)
    return tuple(out)


#: Fields people reach for that chartgen refuses on purpose, with the alternative.
UNSUPPORTED_FIELDS = {
    "hostNetwork": "pods stay on the pod network; expose ports through the Service",
    "hostPort": "pods stay on the pod network; expose ports through the Service",
    "hostPID": "pods never share the node's process namespace",
    "hostIPC": "pods never share the node's IPC namespace",
    "hostPath": "pods never mount node paths; use an emptyDir or a volume claim",
    "nodePort": "Services are ClusterIP; expose them through an Ingress or a LoadBalancer "
    "outside the chart",
    "privileged": "containers never run privileged",
}


def _message(error: ErrorDetails) -> str:
    msg = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        name = error["loc"][-1] if error["loc"] else ""
        if name in UNSUPPORTED_FIELDS:
            return f"{name} is not supported"
        return "unknown field"
    if error["type"] == "missing":
        return "required field is missing"
    if error["type"] in {"string_type", "int_type", "bool_type"} and "input" in error:
        return f"{msg}, got {type(error['input']).__name__} {error['input']!r}"
    if error["type"] == "string_pattern_mismatch":
        return f"{error['input']!r} does not match {error['ctx']['pattern']}"
    return msg


def _fix(error: ErrorDetails, model: type[BaseModel], loc: Loc) -> str:
    """How to fix one error: its own fix, else one for its type, else what the field takes."""
    ctx: dict[str, Any] = error.get("ctx", {})
    if "fix" in ctx:
        return str(ctx["fix"])
    parent = _model_at(model, loc[:-1]) if loc else model
    name = str(loc[-1]) if loc else ""
    if error["type"] == "extra_forbidden" and parent is not None:
        return unknown_field_fix(name, _field_names(parent))
    if error["type"] == "missing":
        return f"add {name!r}"
    if error["type"] == "model_type" and (target := _model_at(model, loc)) is not None:
        return f"write a mapping of its fields: {', '.join(_field_names(target))}"
    if error["type"] in _TYPE_FIXES:
        return _TYPE_FIXES[error["type"]](ctx)
    info = _field(parent, name) if parent is not None else None
    described = f" ({info.description})" if info is not None and info.description else ""
    return f"change it to a value this field takes{described}"


#: How to fix an error of each type, given the error's context.
_TYPE_FIXES: dict[str, Callable[[dict[str, Any]], str]] = {
    "string_type": lambda _: 'quote the value so YAML reads it as a string, e.g. "1.10"',
    "int_type": lambda _: "write a whole number, without quotes",
    "float_type": lambda _: "write a number, without quotes (e.g. 0.5)",
    "bool_type": lambda _: "write true or false, without quotes",
    "list_type": lambda _: "write a list: a '- ' line per entry, or [a, b]",
    "dict_type": lambda _: "write a mapping: a 'key: value' line per entry, or {key: value}",
    "model_type": lambda _: "write a mapping: a 'key: value' line per field",
    "string_pattern_mismatch": lambda ctx: pattern_fix(ctx["pattern"]),
    "string_too_long": lambda ctx: f"shorten it to at most {ctx['max_length']:,} characters",
    "string_too_short": lambda ctx: (
        "write some text: it may not be empty"
        if ctx["min_length"] == 1
        else f"write at least {ctx['min_length']:,} characters"
    ),
    "too_short": lambda ctx: f"list at least {_entries(ctx['min_length'])}",
    "too_long": lambda ctx: f"list at most {_entries(ctx['max_length'])}",
    "greater_than_equal": lambda ctx: f"use a number of at least {ctx['ge']}",
    "greater_than": lambda ctx: f"use a number above {ctx['gt']}",
    "less_than_equal": lambda ctx: f"use a number of at most {ctx['le']}",
    "less_than": lambda ctx: f"use a number below {ctx['lt']}",
    "literal_error": lambda ctx: _one_of(str(ctx["expected"])),
    "enum": lambda ctx: _one_of(str(ctx["expected"])),
}

#: The values in pydantic's list of what it expected: "'info', 'warning' or 'critical'".
_EXPECTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^\s,]+")


def _one_of(expected: str) -> str:
    """How to fix a value that is none of the allowed ones: name them, as YAML writes them."""
    values = [_yaml_text(token) for token in _EXPECTED.findall(expected) if token != "or"]
    if len(values) == 1:
        return f"write {values[0]}: the only value allowed here"
    return f"use one of: {', '.join(values)}"


def _yaml_text(token: str) -> str:
    """A Python literal as pydantic prints it ('info', True, None), as YAML writes it."""
    try:
        value = ast.literal_eval(token)
    except (ValueError, SyntaxError):
        return token
    if isinstance(value, bool):
        return str(value).lower()
    return "null" if value is None else str(value)


def _entries(count: int) -> str:
    """``count`` entries, in words."""
    return f"{count} {'entry' if count == 1 else 'entries'}"


def _field_names(model: type[BaseModel]) -> list[str]:
    """A model's fields as a file writes them: by alias where they have one."""
    return [info.alias or field for field, info in model.model_fields.items()]


def _field(model: type[BaseModel], name: str) -> FieldInfo | None:
    """A model's field by name or by alias."""
    info = model.model_fields.get(name)
    if info is None:
        info = next((i for i in model.model_fields.values() if i.alias == name), None)
    return info


def unknown_field_fix(name: str, allowed: list[str]) -> str:
    """How to fix an unknown key: the allowed key it is closest to, and all of them."""
    if name in UNSUPPORTED_FIELDS:
        return f"remove it: {UNSUPPORTED_FIELDS[name]}"
    close = difflib.get_close_matches(name, allowed, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{hint}allowed fields here: {', '.join(allowed)}"


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model class that holds the field at ``loc`` (list indexes and mapping keys skipped)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if isinstance(current, _Mapping):
            current = current.model
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        info = _field(current, part)
        if info is None:
            return None
        current = inner_model(info.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


class _Mapping(NamedTuple):
    """A field that maps names to models."""

    model: type[BaseModel]


def inner_model(annotation: Any) -> Any:
    """Unwrap Optional, list and unions to the model class inside, if there is one.

    A mapping of names to a model gives that model wrapped in ``_Mapping``.
    """
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is dict:
        inner = inner_model(typing.get_args(annotation)[1])
        return None if inner is None else _Mapping(inner)
    if origin in (list, tuple, typing.Union, types.UnionType, typing.Annotated):
        for arg in typing.get_args(annotation):
            inner = inner_model(arg)
            if inner is not None:
                return inner
    return None

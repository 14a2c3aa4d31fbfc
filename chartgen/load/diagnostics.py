"""Pydantic's validation errors as diagnostics: one per location, with its line and a fix."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence
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
    parent = _model_at(model, loc[:-1]) if loc else model
    name = str(loc[-1]) if loc else ""
    fixes = {
        "missing": f"add {name!r}",
        "string_type": 'quote the value so YAML reads it as a string, e.g. "1.10"',
        "int_type": "write a whole number, without quotes",
        "float_type": "write a number, without quotes (e.g. 0.5)",
        "bool_type": "write true or false, without quotes",
        "string_too_long": f"shorten it to at most {error.get('ctx', {}).get('max_length', 0):,} "
        "characters",
    }
    if "fix" in error.get("ctx", {}):
        return str(error["ctx"]["fix"])
    if error["type"] == "string_pattern_mismatch":
        return pattern_fix(error["ctx"]["pattern"])
    if error["type"] == "extra_forbidden" and parent is not None:
        allowed = [info.alias or field for field, info in parent.model_fields.items()]
        return unknown_field_fix(name, allowed)
    if error["type"] in fixes:
        return fixes[error["type"]]
    info = _field(parent, name) if parent is not None else None
    return info.description or "" if info is not None else ""


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

"""Load spec files: YAML -> validated spec, with every error pointing at file:line and path."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from chartgen.errors import ChartgenError, Diagnostic, Location, format_loc
from chartgen.hygiene import document_problems
from chartgen.sources import read_spec_texts
from chartgen.spec import ChartSpec, SpecFile

Loc = tuple[str | int, ...]
#: From this many characters, reading a text directly (after a pre-scan whose patterns take
#: a tenth of a second to compile) beats composing its node tree (about 1.5 s per MB).
DIRECT_READING_SIZE = 100_000


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


@dataclass
class SpecSources:
    """Where each part of a merged spec came from, to point errors at file:line."""

    files: list[SourceFile] = field(default_factory=list)
    chart_file: int | None = None
    service_origin: list[tuple[int, int]] = field(default_factory=list)
    dashboard_origin: list[tuple[int, int]] = field(default_factory=list)

    def locate(self, loc: Sequence[str | int]) -> Location:
        """Map a path in the merged spec to the file, line and path where it was written."""
        loc = tuple(loc)
        origin: tuple[int, Loc] | None = None
        if loc[:1] == ("chart",) and self.chart_file is not None:
            origin = (self.chart_file, loc)
        elif len(loc) >= 2 and isinstance(loc[1], int):
            origins = {"services": self.service_origin, "dashboards": self.dashboard_origin}
            listed = origins.get(str(loc[0]), [])
            if loc[1] < len(listed):
                file_index, index = listed[loc[1]]
                origin = (file_index, (loc[0], index, *loc[2:]))
        if origin is None:
            return Location(path=format_loc(loc))
        source = self.files[origin[0]]
        return Location(source.name, source.line_of(origin[1]), format_loc(origin[1]))


@dataclass
class LoadedSpec:
    """A validated spec and the map back to its sources."""

    spec: ChartSpec
    sources: SpecSources


def load_spec(paths: Sequence[Path] = ()) -> LoadedSpec:
    """Load, validate and merge spec files; the embedded VaultMesh spec when none are given."""
    return load_texts(read_spec_texts(paths))


def load_texts(texts: Sequence[tuple[str, str]]) -> LoadedSpec:
    """Validate spec documents given as (name, text) and merge them into one spec."""
    sources = SpecSources()
    diagnostics: list[Diagnostic] = []
    parsed: list[SpecFile] = []
    for name, text in texts:
        source = SourceFile(name, text)
        sources.files.append(source)
        try:
            source.data = parse_yaml(name, text)
            parsed.append(SpecFile.model_validate(source.data))
            source.data = None  # valid: the models hold it now, and errors read lines anew
        except ChartgenError as err:
            diagnostics.extend(err.diagnostics)
        except ValidationError as err:
            diagnostics.extend(validation_diagnostics(err, source, SpecFile))
    if diagnostics:
        raise ChartgenError(diagnostics)
    return LoadedSpec(merge(parsed, sources), sources)


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
    Texts none of that can concern are read directly, without the node tree.
    """
    direct = None
    if len(text) >= DIRECT_READING_SIZE:
        from chartgen.unambiguous import read_unambiguous  # noqa: PLC0415 (yaml-rs: 20 ms)

        direct = read_unambiguous(text)
    data = direct[0] if direct is not None else _parse_node_tree(name, text, secret_fix)
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


def merge(files: Sequence[SpecFile], sources: SpecSources) -> ChartSpec:
    """Merge spec files: exactly one holds ``chart``; services and dashboards concatenate."""
    chart = None
    services = []
    dashboards = []
    for file_index, spec_file in enumerate(files):
        if spec_file.chart is not None:
            if chart is not None:
                first = sources.files[sources.chart_file or 0].name
                raise ChartgenError.single(
                    f"a second 'chart' section (the first is in {first})",
                    fix="keep the chart metadata in one spec file",
                    where=Location(sources.files[file_index].name, 1, "chart"),
                )
            chart, sources.chart_file = spec_file.chart, file_index
        for index, service in enumerate(spec_file.services):
            services.append(service)
            sources.service_origin.append((file_index, index))
        for index, dashboard in enumerate(spec_file.dashboards):
            dashboards.append(dashboard)
            sources.dashboard_origin.append((file_index, index))
    if chart is None:
        raise ChartgenError.single(
            "no 'chart' section in any spec file",
            fix="add 'chart:' with name, version, appVersion, description and imageRegistry",
        )
    if not services:
        raise ChartgenError.single(
            "the spec declares no services", fix="add at least one entry under 'services:'"
        )
    return ChartSpec.model_construct(chart=chart, services=services, dashboards=dashboards)


def validation_diagnostics(
    err: ValidationError, source: SourceFile, model: type[BaseModel]
) -> list[Diagnostic]:
    """Turn pydantic errors into one diagnostic per location, with line and a hint to fix."""
    grouped: dict[Loc, list[ErrorDetails]] = {}
    for error in err.errors():
        grouped.setdefault(_data_loc(source.data, error["loc"]), []).append(error)
    out = []
    for loc, errors in grouped.items():
        what = " or ".join(dict.fromkeys(_message(e) for e in errors))
        where = Location(source.name, source.line_of(loc), format_loc(loc))
        out.append(Diagnostic(where, what, _fix(errors[0], model, loc)))
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
    }
    if "fix" in error.get("ctx", {}):
        return str(error["ctx"]["fix"])
    if error["type"] == "extra_forbidden" and parent is not None:
        allowed = [info.alias or field for field, info in parent.model_fields.items()]
        return _unknown_field_fix(name, allowed)
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


def _unknown_field_fix(name: str, allowed: list[str]) -> str:
    if name in UNSUPPORTED_FIELDS:
        return f"remove it: {UNSUPPORTED_FIELDS[name]}"
    close = difflib.get_close_matches(name, allowed, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{hint}allowed fields here: {', '.join(allowed)}"


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model class that holds the field at ``loc`` (list indexes skipped)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        info = _field(current, part)
        if info is None:
            return None
        current = _inner_model(info.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    """Unwrap Optional, list and unions to the model class inside, if there is one."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, typing.Union, types.UnionType, typing.Annotated):
        for arg in typing.get_args(annotation):
            inner = _inner_model(arg)
            if inner is not None:
                return inner
    return None

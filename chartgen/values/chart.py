"""The values of one chart: its defaults, the spec's names in them, their schema and docs.

One model, ``Values``, checks the values of every chart. What varies from chart to chart is
the names under services, alerts and dashboards, and each alert's parameters: they are
keys of typed mappings in the model, checked here against the spec, and written out as
properties of their own in the schema, so that helm refuses an unknown name too.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import ErrorDetails, core_schema

from chartgen import naming
from chartgen.load.diagnostics import inner_model, unknown_field_fix
from chartgen.load.sources import HEADER
from chartgen.render.serialize import KeyDocs
from chartgen.values.kubernetes import with_kubernetes_definitions
from chartgen.values.models import (
    AlertValues,
    DashboardValues,
    ServiceValues,
    SLOValues,
    Values,
)
from chartgen.values.types import SCHEMA_DIALECT, TWICE

PROBE_KINDS = ("liveness", "readiness", "startup")
PROBE_HANDLERS = ("httpGet", "tcpSocket")
#: What a probe that always fails does to the pod.
PROBE_FAILS = {
    "liveness": "the kubelet restarts the container again and again",
    "readiness": "the pod never gets ready",
    "startup": "the kubelet restarts the container before it ever starts",
}

#: Descriptions of the settings every alert has, by key.
ALERT_SETTINGS = {
    (info.alias or name): info.description or "" for name, info in AlertValues.model_fields.items()
}

#: The sections only a spec with dashboards has.
_DASHBOARD_SECTIONS = ("grafana", "dashboards")


def param_description(param: str) -> str:
    """Description of an alert parameter's value."""
    return f"Parameter ${param} of the expr."


def service_description(name: str, description: str) -> str:
    """What values.yaml and the schema say of a service: its spec description, or its name."""
    return description or f"The {name} service."


#: The top-level keys of the values, in the model's order.
_TOP_KEYS = [info.alias or name for name, info in Values.model_fields.items()]


@dataclass(frozen=True)
class ChartValues:
    """The chart's default values as plain data, and the names that vary from chart to chart.

    services (name -> description), alerts (name -> (summary, parameters)), dashboards
    (name -> title; None without dashboards), each service's container ports (name ->
    number) and slos (service -> SLO name -> description; None without SLOs).
    """

    #: As the model dumps them (by alias, without None); shared, so read it, do not change it.
    defaults: dict[str, Any]
    services: dict[str, str]
    alerts: dict[str, tuple[str, dict[str, float | int]]]
    dashboards: dict[str, str] | None
    ports: dict[str, dict[str, int]]
    slos: dict[str, dict[str, str]] | None = None

    @functools.cached_property
    def schema(self) -> dict[str, Any]:
        """values.schema.json, made once: the chart ships it, and values files are checked by it."""
        return values_schema(self)

    def errors(self, data: dict[str, Any]) -> list[ErrorDetails]:
        """What is wrong with values given as data, in the order of the model's keys."""
        names = list(self._name_errors(data))
        unknown = [error["loc"] for error in names if error["type"] == "extra_forbidden"]
        try:
            values = Values.model_validate(data, strict=True)
            found: list[ErrorDetails] = [] if names else list(self._chart_errors(values))
        except ValidationError as err:
            found = [e for e in err.errors() if not any(e["loc"][: len(u)] == u for u in unknown)]
        order = {key: index for index, key in enumerate(_TOP_KEYS)}
        return sorted(found + names, key=lambda e: order.get(str(e["loc"][0]), len(order)))

    def _name_errors(self, data: dict[str, Any]) -> Iterator[ErrorDetails]:
        """Each section holds the spec's names, no other; each alert, its own parameters."""
        holds = {"grafana": self.dashboards, "dashboards": self.dashboards, "slos": self.slos}
        absent = [key for key, names in holds.items() if names is None]
        allowed = [key for key in _TOP_KEYS if key not in absent]
        for key in holds:
            if key in absent and key in data:
                yield _error("extra_forbidden", (key,), unknown_field_fix(key, allowed))
            elif key not in absent and key not in data:
                yield _error("missing", (key,), f"add {key!r}")
        sections: dict[str, Mapping[str, object] | None] = {
            "services": self.services,
            "alerts": self.alerts,
            "dashboards": self.dashboards,
            "slos": self.slos,
        }
        for section, names in sections.items():
            if names is not None:
                yield from _key_errors(data.get(section), (section,), list(names), list(names))
        for service, slos in (
            self.slos.items() if self.slos and isinstance(data.get("slos"), dict) else ()
        ):
            yield from _key_errors(
                data["slos"].get(service), ("slos", service), list(slos), list(slos)
            )
        for name, (_, params) in (
            self.alerts.items() if isinstance(data.get("alerts"), dict) else ()
        ):
            allowed = [*ALERT_SETTINGS, *params]
            yield from _key_errors(
                data["alerts"].get(name), ("alerts", name), allowed, list(params)
            )

    def _chart_errors(self, values: Values) -> Iterator[ErrorDetails]:
        """What valid values still get wrong in this chart: ports, name lengths, label keys."""
        for name, service in values.services.items():
            yield from _probe_port_errors(name, service, self.ports[name])
        for key in ("fullnameOverride", "nameOverride"):
            if override := getattr(values, key):
                yield from _name_length_errors(key, override, self.generated_names(override))
        yield from _repeated_label_errors(values)

    def generated_names(self, fullname: str) -> list[tuple[str, int, str]]:
        """(name, limit, kind) of each object name the chart builds from ``fullname``."""
        names = [n for service in self.services for n in naming.generated_names(fullname, service)]
        names += [
            (f"{fullname}-dashboard-{d}", naming.NAME_LIMIT, "dashboard ConfigMap")
            for d in self.dashboards or ()
        ]
        return names

    def name_room(self) -> int:
        """The longest name override whose object names all fit Kubernetes' limits."""
        return min(limit - (len(name) - 1) for name, limit, _ in self.generated_names("x"))


def _probe_port_errors(
    name: str, service: ServiceValues, ports: dict[str, int]
) -> Iterator[ErrorDetails]:
    """A probe must check one of the service's container ports, by name or number."""
    declared = ", ".join(f"{port} ({number})" for port, number in ports.items())
    for kind in PROBE_KINDS:
        probe = getattr(service.probes, kind)
        for handler in PROBE_HANDLERS:
            check = getattr(probe, handler, None)
            if check is not None and check.port not in (*ports, *ports.values()):
                yield error_details(
                    "spec",
                    ("services", name, "probes", kind, handler, "port"),
                    f"the {kind} probe checks port {check.port!r}, which is not a container "
                    f"port of {name}: the probe fails, and {PROBE_FAILS[kind]}",
                    f"use one of its ports: {declared}",
                )


def _name_length_errors(
    key: str, override: str, names: list[tuple[str, int, str]]
) -> Iterator[ErrorDetails]:
    """Every object name the chart builds from a name override fits Kubernetes' limits."""
    too_long = [
        (limit - (len(name) - len(override)), name, limit, kind)
        for name, limit, kind in names
        if len(name) > limit
    ]
    if too_long:
        room, name, limit, kind = min(too_long)
        release = " (with a release named after it)" if key == "nameOverride" else ""
        why = (
            f"the chart cuts names at {naming.NAME_LIMIT} characters, and different objects "
            "would share a name"
            if any(len(n) > naming.NAME_LIMIT for _, n, _, _ in too_long)
            else "Kubernetes refuses a longer one"
        )
        yield error_details(
            "spec",
            (key,),
            f"the {kind} name {name!r}{release} has {len(name)} characters, over {limit}: {why}",
            f"shorten {key} to at most {room} characters",
        )


def _repeated_label_errors(values: Values) -> Iterator[ErrorDetails]:
    """A label set added beside commonLabels may not repeat one of its keys."""
    sets: list[tuple[tuple[str | int, ...], Iterable[str]]] = [
        (("services", name, "podLabels"), service.podLabels)
        for name, service in values.services.items()
    ]
    sets += [
        (("rules", "configMap", "labels"), values.rules.configMap.labels),
        (("rules", "prometheusRule", "labels"), values.rules.prometheusRule.labels),
        (("serviceMonitor", "labels"), values.serviceMonitor.labels),
    ]
    if values.grafana is not None:
        sets.append((("grafana", "dashboards", "label"), [values.grafana.dashboards.label]))
    for loc, keys in sets:
        for key in keys:
            where = loc if loc[-1] == "label" else (*loc, key)
            if key in values.commonLabels:
                yield error_details(
                    "spec",
                    where,
                    f"commonLabels sets the label {key!r} too: {TWICE}",
                    "set it in one place: remove it here or from commonLabels",
                )


def _key_errors(
    entries: Any, loc: tuple[str, ...], allowed: list[str], required: list[str]
) -> Iterator[ErrorDetails]:
    """Keys of ``entries`` that are not allowed, and required keys it lacks."""
    if not isinstance(entries, dict):
        return  # the model reports what is there instead
    for key in entries:
        if key not in allowed:
            yield _error("extra_forbidden", (*loc, key), unknown_field_fix(key, allowed))
    for key in required:
        if key not in entries:
            yield _error("missing", (*loc, key), f"add {key!r}")


def _error(kind: str, loc: tuple[str | int, ...], fix: str) -> ErrorDetails:
    message = "Extra inputs are not permitted" if kind == "extra_forbidden" else "Field required"
    return error_details(kind, loc, message, fix)


def error_details(kind: str, loc: tuple[Any, ...], msg: str, fix: str) -> ErrorDetails:
    """An error found beside the model's, as pydantic reports them, with its fix."""
    return {"type": kind, "loc": loc, "msg": msg, "input": None, "ctx": {"fix": fix}}


def values_docs(values: ChartValues) -> KeyDocs:
    """Descriptions of the default values' keys: values.yaml's comments, the README's column."""
    sections = _model_docs(Values)
    nested = dict(sections.nested)
    service = _model_docs(ServiceValues)
    nested["services"] = KeyDocs(
        {name: service_description(name, text) for name, text in values.services.items()},
        dict.fromkeys(values.services, service),
    )
    nested["alerts"] = KeyDocs(
        {name: summary for name, (summary, _) in values.alerts.items() if summary},
        {
            name: KeyDocs({**ALERT_SETTINGS, **{p: param_description(p) for p in params}}, {})
            for name, (_, params) in values.alerts.items()
        },
    )
    if values.dashboards is not None:
        nested["dashboards"] = KeyDocs(
            {name: title for name, title in values.dashboards.items() if title},
            dict.fromkeys(values.dashboards, _model_docs(DashboardValues)),
        )
    if values.slos is not None:
        slo = _model_docs(SLOValues)
        nested["slos"] = KeyDocs(
            {name: f"SLOs of {name}." for name in values.slos},
            {
                name: KeyDocs(dict(slos), dict.fromkeys(slos, slo))
                for name, slos in values.slos.items()
            },
        )
    return KeyDocs(sections.descriptions, nested)


def _model_docs(model: type[BaseModel]) -> KeyDocs:
    """A model's field descriptions by key, and those of the models inside its fields."""
    descriptions: dict[str, str] = {}
    nested: dict[str, KeyDocs] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        if info.description:
            descriptions[key] = info.description
        inner = inner_model(info.annotation)
        if isinstance(inner, type):  # a model of its own; name -> model maps are described apart
            nested[key] = _model_docs(inner)
    return KeyDocs(descriptions, nested)


def chart_values(
    given: dict[str, Any],
    *,
    services: dict[str, str],
    alerts: dict[str, tuple[str, dict[str, float | int]]],
    dashboards: dict[str, str] | None,
    ports: dict[str, dict[str, int]],
    slos: dict[str, dict[str, str]] | None = None,
) -> ChartValues:
    """The chart's values: ``given`` over the defaults of the sections the spec leaves alone."""
    defaults = Values.model_validate(given).model_dump(by_alias=True, exclude_none=True)
    return ChartValues(defaults, services, alerts, dashboards, ports, slos)


class ValuesSchema(GenerateJsonSchema):
    """JSON Schema of the values: every key values.yaml writes is required."""

    def field_is_required(
        self,
        field: core_schema.ModelField | core_schema.DataclassField | core_schema.TypedDictField,
        total: bool,
    ) -> bool:
        """Required unless its default is None (values.yaml leaves such keys out).

        A default from a factory is written too, so it is required: setting it to null in an
        environment would drop it (e.g. the capabilities that drop ALL).
        """
        schema = field["schema"]
        return not (
            schema["type"] == "default" and "default" in schema and schema["default"] is None
        )


def values_schema(values: ChartValues) -> dict[str, Any]:
    """values.schema.json: the model's schema, with the spec's names as properties of their own.

    Each mapping keyed by spec names becomes an object of exactly those names; each alert
    gets a definition titled with its name that lists its parameters, all required. The
    Kubernetes objects passed through (tolerations, affinity, NetworkPolicy rules) get
    Kubernetes' own definitions, under their Kubernetes names.
    """
    model = with_kubernetes_definitions(
        Values.model_json_schema(by_alias=True, schema_generator=ValuesSchema)
    )
    defs, props = dict(model["$defs"]), dict(model["properties"])
    alert = defs.pop("AlertValues")
    alert_refs = {}
    for name, (summary, params) in values.alerts.items():
        ref = name
        while ref in model["$defs"]:  # a name pydantic's own definitions already use
            ref += "Alert"
        alert_refs[name] = _ref(ref)
        param = {p: alert["additionalProperties"] | _param_doc(p) for p in params}
        defs[ref] = _entries(name, summary, alert["properties"] | param)
    sections = {
        "services": _entries(
            "Services",
            "One entry per service of the spec.",
            {
                n: _ref("ServiceValues", service_description(n, d)) | _probe_ports(values.ports[n])
                for n, d in values.services.items()
            },
        ),
        "alerts": _entries("Alerts", "Alerts, by name.", alert_refs),
    }
    if values.dashboards is None:
        for key in (
            *_DASHBOARD_SECTIONS,
            "DashboardValues",
            "GrafanaValues",
            "GrafanaDashboardsValues",
        ):
            props.pop(key, None)
            defs.pop(key, None)
    else:
        props["grafana"] = _ref("GrafanaValues", props["grafana"]["description"])
        sections["dashboards"] = _entries(
            "Dashboards",
            "Dashboards, by name.",
            {n: _ref("DashboardValues", title) for n, title in values.dashboards.items()},
        )
    if values.slos is None:
        props.pop("slos")
        defs.pop("SLOValues")
    else:
        for service, slos in values.slos.items():
            defs[f"SLOs-{service}"] = _entries(
                f"SLOs-{service}",
                f"The SLOs of {service}, by name.",
                {name: _ref("SLOValues", text) for name, text in slos.items()},
            )
        sections["slos"] = _entries(
            "SLOs",
            "Each service's SLOs.",
            {service: _ref(f"SLOs-{service}") for service in values.slos},
        )
    for key, section in sections.items():
        props[key] = _ref(section["title"], props[key]["description"])
        defs[section["title"]] = section
    for key in ("nameOverride", "fullnameOverride"):
        props[key] = props[key] | {"maxLength": values.name_room()}
    required = {*model["required"], *_DASHBOARD_SECTIONS, "slos"}
    return {
        "$schema": SCHEMA_DIALECT,
        "$comment": HEADER,
        **model,
        "$defs": dict(sorted(defs.items())),
        "properties": props,
        "required": [key for key in props if key in required],
    }


def _probe_ports(ports: dict[str, int]) -> dict[str, Any]:
    """The schema of a service's probes that only admits its container ports."""
    handler = {"properties": {"port": {"enum": [*ports, *ports.values()]}}}
    probe = {"properties": dict.fromkeys(PROBE_HANDLERS, handler)}
    return {"properties": {"probes": {"properties": dict.fromkeys(PROBE_KINDS, probe)}}}


def _ref(definition: str, description: str | None = None) -> dict[str, str]:
    described = {} if description is None else {"description": description}
    return {"$ref": f"#/$defs/{definition}", **described}


def _param_doc(param: str) -> dict[str, str]:
    """The description and title of an alert parameter's property (pydantic's title)."""
    return {
        "description": param_description(param),
        "title": ValuesSchema().get_title_from_name(param),
    }


def _entries(title: str, description: str, properties: dict[str, Any]) -> dict[str, Any]:
    """An object of exactly these properties, all required, keys sorted as pydantic sorts."""
    return {
        "additionalProperties": False,
        **({"description": description} if description else {}),
        "properties": {key: dict(sorted(value.items())) for key, value in properties.items()},
        **({"required": list(properties)} if properties else {}),
        "title": title,
        "type": "object",
    }

"""Kubernetes' own definitions of the values passed through to the pod and NetworkPolicy.

tolerations, affinity and the extra NetworkPolicy rules are written as Kubernetes writes
them. Their JSON Schemas are read from kubernetes-validate's copy of Kubernetes' OpenAPI
(one pinned version, strict: unknown fields refused), never copied by hand. The OpenAPI
carries the shape only; the rules the API server adds in its validation code (operators,
effects, protocols, weights) are laid over it here, each with its fix in words
(``$comment``), so that chartgen and helm refuse the same values the API server refuses.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import orjson
from pydantic import WithJsonSchema

from chartgen.spec.types import pattern

#: The Kubernetes version whose definitions the values follow: the oldest the chart is tested
#: against (tests/test_helm.py), so that what passes here passes on the later ones too.
KUBERNETES_VERSION = "1.30.0"

_REF_PREFIX = "#/$defs/"

_CORE = "io.k8s.api.core.v1."
_NETWORKING = "io.k8s.api.networking.v1."
_META = "io.k8s.apimachinery.pkg.apis.meta.v1."

TOLERATION = _CORE + "Toleration"
AFFINITY = _CORE + "Affinity"
INGRESS_RULE = _NETWORKING + "NetworkPolicyIngressRule"
EGRESS_RULE = _NETWORKING + "NetworkPolicyEgressRule"


#: What Kubernetes reads as an integer in a Gt or Lt requirement's values.
_INTEGER = pattern(r"^-?[0-9]+$", "write an integer as text, e.g. '3'")


def _rule(comment: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A subschema that states its rule in words: chartgen's fix when the rule fails."""
    return {"$comment": comment, **schema}


def _when(condition: dict[str, Any], comment: str, then: dict[str, Any]) -> dict[str, Any]:
    """A rule that holds where ``condition`` does; each property it checks states it too."""
    checked = {key: _rule(comment, value) for key, value in then.get("properties", {}).items()}
    return {
        "if": condition,
        "then": _rule(comment, then | ({"properties": checked} if checked else {})),
    }


def _set(key: str) -> dict[str, Any]:
    """True of an object where ``key`` is given and not null."""
    return {"required": [key], "properties": {key: {"not": {"type": "null"}}}}


def _operator_values(operators: dict[str, str]) -> list[dict[str, Any]]:
    """The values array an operator takes, by kind: a set, nothing, or one integer."""
    takes = {
        "set": ("values must list at least one value for operator {op}", {"minItems": 1}),
        "none": ("values must be empty for operator {op}: leave values out", {"maxItems": 0}),
        "one": (
            "values must hold exactly one integer for operator {op}, e.g. ['3']",
            {"minItems": 1, "maxItems": 1, "items": {"pattern": _INTEGER}},
        ),
    }
    out = []
    for kind in ("set", "none", "one"):
        ops = [op for op, taken in operators.items() if taken == kind]
        if ops:
            comment, values = takes[kind]
            condition = {"properties": {"operator": {"enum": ops}}, "required": ["operator"]}
            text = comment.format(op=" or ".join(ops))
            then = {"required": ["values"]} if kind != "none" else {}
            out.append(_when(condition, text, then | {"properties": {"values": values}}))
    return out


def _selector_operators(operators: dict[str, str]) -> dict[str, Any]:
    names = ", ".join(operators)
    return {
        "properties": {
            "operator": _rule(f"operator must be one of {names}", {"enum": list(operators)})
        },
        "allOf": _operator_values(operators),
    }


_WEIGHT = {
    "properties": {"weight": _rule("weight must be 1 to 100", {"minimum": 1, "maximum": 100})}
}

#: What Kubernetes' API server refuses beyond the OpenAPI's shapes (pkg/apis/core/validation and
#: pkg/apis/networking/validation), by definition; null and "" mean "not set" there.
API_SERVER_RULES: dict[str, dict[str, Any]] = {
    TOLERATION: {
        "properties": {
            "operator": _rule(
                "operator must be one of Exists, Equal (or left out: Equal)",
                {"enum": ["Exists", "Equal", "", None]},
            ),
            "effect": _rule(
                "effect must be one of NoSchedule, PreferNoSchedule, NoExecute "
                "(or left out: every effect)",
                {"enum": ["NoSchedule", "PreferNoSchedule", "NoExecute", "", None]},
            ),
        },
        "allOf": [
            _when(
                _set("tolerationSeconds"),
                "tolerationSeconds applies to effect NoExecute only: set effect: NoExecute, "
                "or leave tolerationSeconds out",
                {"required": ["effect"], "properties": {"effect": {"const": "NoExecute"}}},
            ),
            _when(
                {"properties": {"operator": {"const": "Exists"}}, "required": ["operator"]},
                "operator Exists matches every value: leave value out",
                {"properties": {"value": {"enum": ["", None]}}},
            ),
            _when(
                {
                    "not": {
                        "required": ["key"],
                        "properties": {"key": {"type": "string", "minLength": 1}},
                    }
                },
                "a toleration without a key matches every taint and needs operator: Exists",
                {"required": ["operator"], "properties": {"operator": {"const": "Exists"}}},
            ),
        ],
    },
    _CORE + "NodeSelector": {
        "properties": {
            "nodeSelectorTerms": _rule(
                "nodeSelectorTerms must hold at least one term", {"minItems": 1}
            )
        }
    },
    _CORE + "NodeSelectorRequirement": _selector_operators(
        {
            "In": "set",
            "NotIn": "set",
            "Exists": "none",
            "DoesNotExist": "none",
            "Gt": "one",
            "Lt": "one",
        }
    ),
    _META + "LabelSelectorRequirement": _selector_operators(
        {"In": "set", "NotIn": "set", "Exists": "none", "DoesNotExist": "none"}
    ),
    _CORE + "PodAffinityTerm": {
        "properties": {
            "topologyKey": _rule(
                "topologyKey must name a node label, e.g. kubernetes.io/hostname",
                {"minLength": 1},
            )
        }
    },
    _CORE + "WeightedPodAffinityTerm": _WEIGHT,
    _CORE + "PreferredSchedulingTerm": _WEIGHT,
    _NETWORKING + "NetworkPolicyPort": {
        "properties": {
            "protocol": _rule(
                "protocol must be one of TCP, UDP, SCTP (or left out: TCP)",
                {"enum": ["TCP", "UDP", "SCTP", None]},
            ),
            "port": _rule(
                "port must be 1 to 65535, or a port name", {"minimum": 1, "maximum": 65535}
            ),
        },
        "allOf": [
            _when(
                _set("endPort"),
                "endPort needs a numeric port at or below it: set port: <first port>",
                {"required": ["port"], "properties": {"port": {"type": "integer"}}},
            )
        ],
    },
    _NETWORKING + "NetworkPolicyPeer": {
        "allOf": [
            _rule(
                "a peer needs an ipBlock, a podSelector or a namespaceSelector "
                "(podSelector: {} admits every pod of the namespace)",
                {"minProperties": 1},
            ),
            {
                "dependentSchemas": {
                    "ipBlock": _rule(
                        "a peer is an ipBlock, or a podSelector and/or namespaceSelector, "
                        "not both: write them as two peers",
                        {"maxProperties": 1},
                    )
                }
            },
        ]
    },
}


def _definitions_file() -> Path:
    """kubernetes-validate's definitions of the pinned version, found without importing it."""
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("kubernetes-validate, a dependency of chartgen, is not installed")
    root = Path(next(iter(spec.submodule_search_locations)))
    path = (
        root
        / "kubernetes-json-schema"
        / f"v{KUBERNETES_VERSION}-local-strict"
        / "_definitions.json"
    )
    if not path.is_file():
        raise RuntimeError(
            f"the installed kubernetes-validate has no Kubernetes {KUBERNETES_VERSION} "
            "definitions: install a version that ships them (see pyproject.toml)"
        )
    return path


@functools.cache
def _all_definitions() -> dict[str, Any]:
    definitions: dict[str, Any] = orjson.loads(_definitions_file().read_bytes())["$defs"]
    return definitions


def _refs(node: Any) -> Iterator[str]:
    """The definitions a schema refers to, by name."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(_REF_PREFIX):
                yield value.removeprefix(_REF_PREFIX)
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


#: Stands for a reference to a Kubernetes definition in the model's schema (pydantic resolves
#: every $ref against its own definitions): ``with_kubernetes_definitions`` makes it a $ref.
_MARK = "x-chartgen-kubernetes"


def _resolve_marks(node: Any) -> Any:
    if isinstance(node, dict):
        if _MARK in node:
            return {"$ref": _REF_PREFIX + node[_MARK]} | {
                key: _resolve_marks(value) for key, value in node.items() if key != _MARK
            }
        return {key: _resolve_marks(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve_marks(value) for value in node]
    return node


def with_kubernetes_definitions(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` referring to Kubernetes' definitions, with them and those they refer to.

    Each definition carries the API server's rules for it (``API_SERVER_RULES``) in its allOf.
    """
    resolved: dict[str, Any] = _resolve_marks(schema)
    found: dict[str, Any] = {}
    pending = [name for name in _refs(resolved) if name.startswith("io.k8s.")]
    while pending:
        name = pending.pop()
        if name in found:
            continue
        definition = _all_definitions()[name]
        found[name] = definition | (
            {"allOf": [API_SERVER_RULES[name]]} if name in API_SERVER_RULES else {}
        )
        pending.extend(_refs(definition))
    definitions = resolved.get("$defs", {}) | found
    return resolved | {"$defs": dict(sorted(definitions.items()))}


def _object(name: str) -> WithJsonSchema:
    return WithJsonSchema({"type": "object", _MARK: name})


#: Mappings values.schema.json checks by Kubernetes' definitions (and chartgen by that schema).
Toleration = Annotated[dict[str, Any], _object(TOLERATION)]
Affinity = Annotated[dict[str, Any], _object(AFFINITY)]
IngressRule = Annotated[dict[str, Any], _object(INGRESS_RULE)]
EgressRule = Annotated[dict[str, Any], _object(EGRESS_RULE)]

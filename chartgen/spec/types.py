"""Constrained types shared by the spec and values models: scalars, and resources."""

from __future__ import annotations

import ipaddress
import re
from decimal import Decimal
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

#: Every spec and values model rejects unknown fields and is immutable once validated.
STRICT_CONFIG = ConfigDict(extra="forbid", frozen=True, strict=True)

#: Each pattern the models use, in words: the fix line of a value that does not match it.
PATTERN_FIXES: dict[str, str] = {}


def pattern(regex: str, fix: str) -> str:
    """Register how to write a value matching ``regex``; returns ``regex``."""
    PATTERN_FIXES[regex] = fix
    return regex


def pattern_fix(regex: str) -> str:
    """How to write a value matching ``regex``, in words."""
    return PATTERN_FIXES.get(regex, f"write a value matching {regex}")


def optional(regex: str) -> str:
    """``regex`` or the empty string, with the same fix."""
    return pattern(f"^({regex[1:-1]})?$", f"{PATTERN_FIXES[regex]}, or leave it empty")


_ALNUM = "lowercase letters, digits and '-', starting and ending with a letter or digit"
DNS1123_LABEL = pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", f"use {_ALNUM} (e.g. psi-field)")
DNS1035_LABEL = pattern(
    r"^[a-z]([-a-z0-9]*[a-z0-9])?$",
    "use lowercase letters, digits and '-', starting with a letter and ending with a letter or "
    "digit (e.g. treaty)",
)
DNS1123_SUBDOMAIN = pattern(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
    f"use {_ALNUM}, in parts joined by '.' (e.g. db-credentials)",
)
# semver.org's own regular expression
SEMVER = pattern(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$",
    "write a semantic version: MAJOR.MINOR.PATCH, e.g. 1.4.0 or 2.0.0-rc.1",
)
# IANA service name: what Kubernetes accepts as a named port (it must also hold a letter)
PORT_NAME = pattern(
    r"^[a-z0-9]+(-[a-z0-9]+)*$",
    f"use {_ALNUM}, never two '-' in a row (e.g. http, grpc-api)",
)
IMAGE_TAG = pattern(
    r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$",
    "use letters, digits, '_', '.' and '-', not starting with '.' or '-' (e.g. v1.4.2)",
)
IMAGE_DIGEST = pattern(r"^sha256:[a-f0-9]{64}$", "write sha256: and 64 lowercase hex digits")
IMAGE_REPOSITORY = pattern(
    r"^[a-z0-9]+([._-]{1,2}[a-z0-9]+)*(/[a-z0-9]+([._-]{1,2}[a-z0-9]+)*)*$",
    "use lowercase path parts joined by '/' (e.g. vaultmesh/scheduler)",
)
REGISTRY = pattern(
    r"^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?(:[0-9]+)?(/[a-z0-9._-]+)*$",
    "write a host, an optional :port and path, without a scheme (e.g. registry.example.com:5000)",
)
# Kubernetes resource.Quantity, e.g. 100m, 0.5, 128Mi, 1G, 1e3
QUANTITY = pattern(
    r"^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+|[numkMGTPE]|[KMGTPE]i)?$",
    "write a Kubernetes quantity: 250m or 0.5 CPUs, 128Mi or 1Gi of memory",
)
ABSOLUTE_PATH = pattern(
    r"^(/[A-Za-z0-9._@+-]+)+$", "write an absolute path without a trailing '/' (e.g. /var/lib/app)"
)
CIDR = pattern(
    r"^([0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}|[0-9a-fA-F:]+/[0-9]{1,3})$",
    "write an address block with its prefix length (e.g. 203.0.113.0/24 or 2001:db8::/32)",
)
# Kubernetes refuses '.', '..' and names starting with '..' as env var names and Secret keys.
ENV_NAME = pattern(
    r"^([-_a-zA-Z][-._a-zA-Z0-9]*|\.[-_a-zA-Z0-9][-._a-zA-Z0-9]*)$",
    "use letters, digits, '_', '-' and '.', not starting with a digit or '..', and not '.' "
    "(e.g. LOG_LEVEL)",
)
SECRET_KEY = pattern(
    r"^([-_a-zA-Z0-9][-._a-zA-Z0-9]*|\.[-_a-zA-Z0-9][-._a-zA-Z0-9]*)$",
    "use letters, digits, '_', '-' and '.', not starting with '..', and not '.' (e.g. password)",
)
HTTP_PATH = pattern(r"^/\S*$", "write a path starting with '/' and without spaces (e.g. /healthz)")

ServiceName = Annotated[
    str,
    StringConstraints(pattern=DNS1035_LABEL, max_length=63),
    Field(description="DNS-1035 label: lowercase letters, digits and '-', starting with a letter."),
]
ChartName = Annotated[
    str,
    StringConstraints(pattern=DNS1123_LABEL, max_length=53),
    Field(description="DNS-1123 label; Helm release names built from it stay under 63."),
]
SemVer = Annotated[str, StringConstraints(pattern=SEMVER), Field(description="Semantic version.")]


#: Free text: a line (titles, summaries) or prose (descriptions), bounded so that every
#: file it lands in stays far below the sizes helm and Kubernetes refuse.
Line = Annotated[str, StringConstraints(max_length=1_000)]
Prose = Annotated[str, StringConstraints(max_length=10_000)]


def spec_error(what: str, fix: str) -> PydanticCustomError:
    """A validation error that carries how to fix it (shown as the diagnostic's fix line)."""
    return PydanticCustomError("spec", what, {"fix": fix})


def not_latest(tag: str | None) -> str | None:
    """The tag, unless it is 'latest', which names a different image from one pull to the next."""
    if tag == "latest":
        raise spec_error(
            "the tag 'latest' is not reproducible",
            "pin a version tag (e.g. v1.0.2) or a digest (sha256:...)",
        )
    return tag


def exactly_one(model: BaseModel, what: str, fields: tuple[str, str], fix: str) -> None:
    """Refuse a model that sets both or neither of two alternative fields."""
    first, second = (getattr(model, name) is not None for name in fields)
    if first == second:
        raise spec_error(f"{what} needs exactly one of {fields[0]} or {fields[1]}", fix)


def _has_letter(name: str) -> str:
    if not any("a" <= c <= "z" for c in name):
        raise spec_error("a port name needs at least one letter", "name it, e.g. 'http'")
    return name


PortName = Annotated[
    str,
    StringConstraints(pattern=PORT_NAME, max_length=15),
    AfterValidator(_has_letter),
    Field(description="IANA service name: at most 15 lowercase letters, digits and '-'."),
]
PortNumber = Annotated[int, Field(ge=1, le=65535)]
PortRef = Annotated[
    PortName | PortNumber,
    Field(description="A declared port, by name or by number."),
]
Quantity = Annotated[
    str,
    StringConstraints(pattern=QUANTITY),
    Field(description="Kubernetes quantity, e.g. '100m', '0.5', '128Mi'."),
]
ImageTag = Annotated[str, StringConstraints(pattern=IMAGE_TAG)]
ImageDigest = Annotated[str, StringConstraints(pattern=IMAGE_DIGEST)]


def _no_registry(repository: object) -> object:
    first, slash, path = str(repository).partition("/")
    if slash and (first == "localhost" or any(c in first for c in ".:")):
        raise spec_error(
            f"{repository!r} starts with the registry {first!r}",
            f"keep {path!r} here; the registry is chart.imageRegistry (values: image.registry)",
        )
    return repository


#: Before the pattern, so that a registry with a port (host:5000/x) gets this message too.
ImageRepository = Annotated[
    str,
    StringConstraints(pattern=IMAGE_REPOSITORY, max_length=255),
    BeforeValidator(_no_registry),
]
Registry = Annotated[str, StringConstraints(pattern=REGISTRY, max_length=255)]
EnvName = Annotated[str, StringConstraints(pattern=ENV_NAME)]
SecretName = Annotated[str, StringConstraints(pattern=DNS1123_SUBDOMAIN, max_length=253)]
SecretKey = Annotated[str, StringConstraints(pattern=SECRET_KEY, max_length=253)]


def _no_dot_segments(path: str) -> str:
    if any(part in (".", "..") for part in path.split("/")):
        raise spec_error(f"{path!r} has a '.' or '..' segment", "write the path without them")
    return path


AbsolutePath = Annotated[
    str,
    StringConstraints(pattern=ABSOLUTE_PATH, max_length=1024),
    AfterValidator(_no_dot_segments),
    Field(description="Absolute directory path, e.g. /var/lib/app (no '..', no trailing '/')."),
]


def _network(cidr: str) -> str:
    try:
        ipaddress.ip_network(cidr, strict=False)
    except ValueError as err:
        raise spec_error(f"{err}", "write an IPv4 or IPv6 block, e.g. 203.0.113.0/24") from None
    return cidr


def narrower_blocks(cidr: str | None, excepts: list[str] | None) -> None:
    """Refuse an 'except' block that is not strictly inside ``cidr`` (Kubernetes refuses it)."""
    if cidr is None:
        return
    block = ipaddress.ip_network(cidr, strict=False)
    for text in excepts or ():
        inner = ipaddress.ip_network(text, strict=False)
        if inner.version != block.version or not (
            inner.subnet_of(block) and inner.prefixlen > block.prefixlen  # type: ignore[arg-type]
        ):
            raise spec_error(
                f"the except block {text} is not strictly inside {cidr}",
                "list only blocks inside cidr, each narrower than it, or remove it",
            )


Cidr = Annotated[
    str,
    StringConstraints(pattern=CIDR),
    AfterValidator(_network),
    Field(description="An IPv4 or IPv6 address block, e.g. 203.0.113.0/24."),
]
HttpPath = Annotated[str, StringConstraints(pattern=HTTP_PATH)]
INT32_MAX = 2**31 - 1


def _int32(number: int) -> int:
    if number > INT32_MAX:
        raise spec_error(f"{number} is over {INT32_MAX}, the most Kubernetes holds", "lower it")
    return number


# Kubernetes holds these as int32: bounded here, not in the schema (the chart's bytes stay).
Seconds = Annotated[int, Field(ge=0), AfterValidator(_int32)]
Replicas = Annotated[int, Field(ge=0), AfterValidator(_int32)]
PositiveInt = Annotated[int, Field(ge=1), AfterValidator(_int32)]

_QUANTITY_SUFFIXES = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    **{s: Decimal(1024) ** (n + 1) for n, s in enumerate(("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"))},
}
_QUANTITY_PARTS = re.compile(r"^\+?([0-9.]+(?:[eE][-+]?[0-9]+)?)([a-zA-Z]*)$")


def quantity_value(text: str) -> Decimal:
    """The amount a Kubernetes quantity stands for ('100m' -> 0.1, '1Gi' -> 1073741824)."""
    match = _QUANTITY_PARTS.match(text)
    if match is None or match.group(2) not in _QUANTITY_SUFFIXES:
        raise ValueError(f"not a quantity: {text!r}")
    return Decimal(match.group(1)) * _QUANTITY_SUFFIXES[match.group(2)]


def _bytes(memory: str) -> str:
    if memory.endswith("m"):
        what = f"memory {memory} is {quantity_value(memory)} bytes ('m' is milli)"
        raise spec_error(what, f"did you mean {memory[:-1]}Mi?")
    return memory


Memory = Annotated[Quantity, AfterValidator(_bytes)]


class RequestsValues(BaseModel):
    """What the scheduler reserves; both are required."""

    model_config = STRICT_CONFIG

    cpu: Quantity = Field(description="CPU, e.g. 100m; required.")
    memory: Memory = Field(description="Memory, e.g. 128Mi; required.")


class LimitsValues(BaseModel):
    """The most the container may use; memory is required."""

    model_config = STRICT_CONFIG

    cpu: Quantity | None = Field(None, description="CPU; optional (above it, CPU throttles).")
    memory: Memory = Field(description="Memory; required (above it, the container is killed).")


class ResourcesValues(BaseModel):
    """Container resource requests and limits."""

    model_config = STRICT_CONFIG

    requests: RequestsValues = Field(description="What the scheduler reserves.")
    limits: LimitsValues = Field(description="The most the container may use.")

    @model_validator(mode="after")
    def _limits_cover_requests(self) -> ResourcesValues:
        for kind in ("cpu", "memory"):
            request, limit = getattr(self.requests, kind), getattr(self.limits, kind)
            if request and limit and quantity_value(limit) < quantity_value(request):
                raise spec_error(
                    f"limits.{kind} {limit} is below requests.{kind} {request}; "
                    "Kubernetes refuses such a pod",
                    f"raise limits.{kind} to at least {request}, or lower the request",
                )
        return self

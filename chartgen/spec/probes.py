"""Health probes: liveness, readiness and startup, each switchable per environment.

The checks are Kubernetes' own handlers, shared with the values.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Protocol

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from chartgen.spec.types import (
    STRICT_CONFIG,
    HttpPath,
    PortRef,
    PositiveInt,
    Seconds,
    spec_error,
)


class HTTPGetAction(BaseModel):
    """An HTTP GET probe."""

    model_config = STRICT_CONFIG

    path: HttpPath
    port: PortRef
    scheme: Literal["HTTP", "HTTPS"] = "HTTP"


class TCPSocketAction(BaseModel):
    """A TCP probe."""

    model_config = STRICT_CONFIG

    port: PortRef


def _helm_carries(argument: str) -> str:
    if re.search("[\x7f-\x9f\ufffe\uffff]", argument):
        raise spec_error(
            "helm's toYaml turns an argument holding U+007F to U+009F, U+FFFE or U+FFFF into ''",
            "remove those characters from the command",
        )
    return argument


class ExecAction(BaseModel):
    """A command probe."""

    model_config = STRICT_CONFIG

    command: list[Annotated[str, AfterValidator(_helm_carries)]] = Field(min_length=1)


class _Counted(Protocol):
    """A probe of the spec or of the values: what counts its successes."""

    @property
    def successThreshold(self) -> int:
        """Successes in a row that count."""
        ...


def one_success(probe: _Counted | None, info: ValidationInfo) -> None:
    """Refuse a liveness or startup probe counting more than one success, as Kubernetes does."""
    if probe is not None and probe.successThreshold != 1:
        raise spec_error(
            f"a {info.field_name} probe's successThreshold must be 1, not "
            f"{probe.successThreshold}: Kubernetes refuses another",
            "remove successThreshold (or set it to 1): only a readiness probe counts successes",
        )


class Probe(BaseModel):
    """One probe: exactly one check (http, tcp or exec) and its timings."""

    model_config = STRICT_CONFIG

    enabled: bool = Field(True, description="Off renders no probe; values can switch it.")
    http: HTTPGetAction | None = Field(None, description="An HTTP GET that must answer 2xx or 3xx.")
    tcp: TCPSocketAction | None = Field(None, description="A TCP connection that must open.")
    exec: ExecAction | None = Field(None, description="A command that must exit 0.")
    initialDelaySeconds: Seconds = 0
    periodSeconds: PositiveInt = 10
    timeoutSeconds: PositiveInt = 1
    failureThreshold: PositiveInt = 3
    successThreshold: PositiveInt = 1

    @model_validator(mode="after")
    def _one_check(self) -> Probe:
        checks = [name for name in ("http", "tcp", "exec") if getattr(self, name) is not None]
        if len(checks) != 1:
            found = ", ".join(checks) or "none"
            raise spec_error(
                f"a probe needs exactly one of http, tcp or exec (found: {found})",
                "keep one check per probe; declare another probe kind for a second check",
            )
        return self


class Probes(BaseModel):
    """The three Kubernetes probes of a container; each may be left out."""

    model_config = STRICT_CONFIG

    liveness: Probe | None = None
    readiness: Probe | None = None
    startup: Probe | None = None

    @field_validator("liveness", "startup")
    @classmethod
    def _one_success(cls, probe: Probe | None, info: ValidationInfo) -> Probe | None:
        one_success(probe, info)
        return probe

    def items(self) -> list[tuple[str, Probe]]:
        """The declared probes in a fixed order, as (kind, probe)."""
        return [
            (kind, probe)
            for kind in ("liveness", "readiness", "startup")
            if (probe := getattr(self, kind)) is not None
        ]

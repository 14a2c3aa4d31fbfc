"""The chart: its Helm metadata and the services it bundles."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from chartgen.spec.dashboard import Dashboard
from chartgen.spec.service import Service
from chartgen.spec.types import STRICT_CONFIG, ChartName, Line, Registry, SemVer, pattern

#: An http(s) URL: a host, no spaces, and no user:password@ before the host.
WEB_URL = pattern(
    r"^https?://[^\s/?#@]+([/?#]\S*)?$",
    "write an http:// or https:// URL with a host, without spaces or user:password@ "
    "(e.g. https://git.vaultmesh.internal/platform/vaultmesh)",
)
# The WHATWG definition of a valid e-mail address (what browsers accept in type=email).
EMAIL = pattern(
    r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$",
    "write one address, e.g. platform@vaultmesh.internal",
)
MAINTAINER_NAME = pattern(
    r"^\S(.*\S)?$",
    "write the person's or team's name on one line, without spaces around it "
    "(e.g. vaultmesh-platform)",
)

WebUrl = Annotated[str, StringConstraints(pattern=WEB_URL, max_length=1_000)]
Email = Annotated[str, StringConstraints(pattern=EMAIL, max_length=254)]


class Maintainer(BaseModel):
    """Who looks after the chart: a person or a team, and how to reach them."""

    model_config = STRICT_CONFIG

    name: Annotated[str, StringConstraints(pattern=MAINTAINER_NAME, max_length=1_000)] = Field(
        description="A user or team name; chart-testing (ct lint) looks it up as an account "
        "on the git host, e.g. https://<git host>/<name>."
    )
    email: Email | None = Field(None, description="An address that reaches the maintainer.")
    url: WebUrl | None = Field(None, description="A page of the maintainer's, e.g. its profile.")


class ChartMeta(BaseModel):
    """What Chart.yaml says about the chart, plus chart-wide defaults."""

    model_config = STRICT_CONFIG

    name: ChartName
    version: SemVer = Field(description="The chart's own version; bump it on every change.")
    appVersion: Line = Field(min_length=1, description="Version of the software deployed.")
    description: Line = Field(min_length=1)
    imageRegistry: Registry = Field(description="Default registry; a value, overridable.")
    home: WebUrl | None = Field(None, description="The project's home page.")
    keywords: list[Line] = []
    sources: list[WebUrl] = Field([], description="Where the source code of the chart lives.")
    maintainers: list[Maintainer] = Field(
        [], description="Who looks after the chart; chart-testing (ct lint) requires one or more."
    )
    icon: WebUrl | None = Field(None, description="An SVG or PNG image for the chart.")


class SpecFile(BaseModel):
    """One spec file: chart metadata, services, dashboards. Several files merge into one spec."""

    model_config = STRICT_CONFIG

    chart: ChartMeta | None = None
    services: list[Service] = []
    dashboards: list[Dashboard] = []


class ChartSpec(BaseModel):
    """The whole platform: one chart, its services and its dashboards."""

    model_config = STRICT_CONFIG

    chart: ChartMeta
    services: list[Service] = Field(min_length=1)
    dashboards: list[Dashboard] = []

"""The chart: its Helm metadata and the services it bundles."""

from __future__ import annotations

from pydantic import BaseModel, Field

from chartgen.spec.dashboard import Dashboard
from chartgen.spec.service import Service
from chartgen.spec.types import STRICT_CONFIG, ChartName, Line, Registry, SemVer


class ChartMeta(BaseModel):
    """What Chart.yaml says about the chart, plus chart-wide defaults."""

    model_config = STRICT_CONFIG

    name: ChartName
    version: SemVer = Field(description="The chart's own version; bump it on every change.")
    appVersion: Line = Field(min_length=1, description="Version of the software deployed.")
    description: Line = Field(min_length=1)
    imageRegistry: Registry = Field(description="Default registry; a value, overridable.")
    home: Line | None = None
    keywords: list[Line] = []


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

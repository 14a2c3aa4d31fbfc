"""Property tests: any valid spec renders a chart the real tools accept; broken ones are refused.

The `ci` profile (default) runs a fixed, small set of examples; `nox -s properties` runs the
`large` profile with fresh random examples.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
from typing import Any

import kubernetes_validate
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chartgen.errors import ChartgenError
from chartgen.load import load_texts
from chartgen.pipeline import generate
from chartgen.write import write_chart

from .conftest import find_tool
from .rulefiles import rule_files, write_rule_files
from .specdata import dump_yaml, load_all
from .strategies import BREAKERS, specs

settings.register_profile(
    "ci",
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "large",
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("CHARTGEN_HYPOTHESIS_PROFILE", "ci"))


def rendered(spec: dict[str, Any]):
    loaded = load_texts([("spec.yaml", dump_yaml(spec))])
    return generate(loaded.spec, loaded.sources.locate)


@given(spec=specs())
def test_any_valid_spec_renders_a_chart_helm_kubernetes_and_promtool_accept(
    spec, helm, tmp_path_factory
):
    chart = tmp_path_factory.mktemp("chart") / spec["chart"]["name"]
    write_chart(rendered(spec).files, chart)

    lint = helm("lint", "--strict", chart)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    template = helm("template", "release", chart)
    assert template.returncode == 0, template.stderr
    docs = load_all(template.stdout)
    for doc in docs:
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)
    shipped = {
        key: json.loads(text)
        for doc in docs
        if doc["kind"] == "ConfigMap" and "grafana_dashboard" in doc["metadata"]["labels"]
        for key, text in doc["data"].items()
    }
    assert sorted(shipped) == sorted(f"{d['name']}.json" for d in spec.get("dashboards", []))

    files = rule_files(template.stdout)
    if files:
        paths = write_rule_files(files, chart.parent / "rules")
        check = subprocess.run(
            [find_tool("promtool"), "check", "rules", "--lint-fatal", *paths],
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0, check.stdout + check.stderr


@given(spec=specs())
def test_the_same_spec_renders_the_same_bytes(spec):
    assert rendered(spec).files == rendered(copy.deepcopy(spec)).files


@given(spec=specs(), breaker=st.sampled_from(sorted(BREAKERS)))
def test_a_spec_broken_in_one_known_way_is_refused_with_located_diagnostics(spec, breaker):
    BREAKERS[breaker](spec)
    with pytest.raises(ChartgenError) as caught:
        rendered(spec)
    assert caught.value.diagnostics
    for diagnostic in caught.value.diagnostics:
        assert diagnostic.what
        assert diagnostic.where.path or diagnostic.where.file


def test_the_strategies_reach_every_kind_of_object():
    """Guard against a strategy that silently stops generating monitoring or StatefulSets."""
    seen: set[str] = set()

    @given(spec=specs())
    @settings(max_examples=40, derandomize=True, deadline=None)
    def collect(spec):
        for service in spec["services"]:
            seen.add("stateful" if service["stateful"] else "stateless")
            seen.update(k for k in ("probes", "metrics") if k in service)
            if service.get("alerts"):
                seen.add("alerts")
        if spec.get("dashboards"):
            seen.add("dashboards")

    collect()
    assert seen >= {"stateful", "stateless", "probes", "metrics", "alerts", "dashboards"}

"""Cross-object checks: references, uniqueness and name lengths, each with its spec path."""

from __future__ import annotations

import pytest

from chartgen.checks import check_spec
from chartgen.errors import ChartgenError, Location
from chartgen.generate import generate
from chartgen.load import format_loc
from chartgen.spec import ChartSpec

from .specdata import minimal_service, minimal_spec


def problems(spec_data: dict) -> list[str]:
    spec = ChartSpec.model_validate(spec_data)
    return [f"{d.where.path}: {d.what}" for d in check_spec(spec, _where)]


def _where(loc):
    return Location(path=format_loc(loc))


def test_the_embedded_spec_has_no_problems(default_render):
    assert default_render.warnings == ()


def test_a_probe_on_an_undeclared_port_is_refused():
    probes = {"liveness": {"http": {"path": "/health", "port": "admin"}}}
    assert problems(minimal_spec(minimal_service(probes=probes))) == [
        "services[0].probes.liveness.http.port: liveness probe uses port 'admin', "
        "which the service does not declare"
    ]


def test_a_probe_may_name_a_port_by_number():
    probes = {"readiness": {"tcp": {"port": 8080}}}
    assert problems(minimal_spec(minimal_service(probes=probes))) == []


def test_the_metrics_endpoint_must_use_a_declared_port():
    found = problems(minimal_spec(minimal_service(metrics={"port": 9090})))
    assert found == ["services[0].metrics.port: metrics port 9090 is not declared"]


def test_duplicate_services_and_ports_are_refused():
    ports = [{"name": "http", "port": 80}, {"name": "http", "port": 80}]
    found = problems(minimal_spec(minimal_service("api", ports=ports), minimal_service("api")))
    assert found == [
        "services[0].ports[1].name: duplicate port name 'http'",
        "services[0].ports[1].port: port 80 declared twice",
        "services[1].name: duplicate service name 'api' (also services[0])",
    ]


def test_names_too_long_for_kubernetes_are_refused_with_the_room_left():
    name = "s" + "x" * 57  # demo-<name>-test is 68 characters, demo-<name> 63
    found = problems(minimal_spec(minimal_service(name)))
    assert found == [
        f"services[0].name: the StatefulSet name 'demo-{name}' has 63 characters; "
        "Kubernetes allows 52"
    ]


def test_every_service_fits_a_statefulset_name_since_values_may_switch_its_kind():
    name = "s" + "x" * 47  # demo-<name> is 53 characters
    for stateful in (True, False):
        found = problems(minimal_spec(minimal_service(name, stateful=stateful)))
        assert found == [
            f"services[0].name: the StatefulSet name 'demo-{name}' has 53 characters; "
            "Kubernetes allows 52"
        ]
    assert problems(minimal_spec(minimal_service(name[:-1]))) == []


def test_generate_stops_on_errors_and_renders_nothing():
    spec = ChartSpec.model_validate(minimal_spec(minimal_service(metrics={"port": 1})))
    with pytest.raises(ChartgenError) as caught:
        generate(spec)
    assert [d.where.path for d in caught.value.diagnostics] == ["services[0].metrics.port"]

"""Cross-object checks: references, uniqueness and name lengths, each with its spec path."""

from __future__ import annotations

import pytest

from chartgen.checks.spec import check_spec
from chartgen.errors import ChartgenError, Location, format_loc
from chartgen.monitoring.series import catalog
from chartgen.pipeline import generate
from chartgen.spec import ChartSpec

from .specdata import minimal_service, minimal_spec


def problems(spec_data: dict) -> list[str]:
    spec = ChartSpec.model_validate(spec_data)
    return [f"{d.where.path}: {d.what}" for d in check_spec(spec, catalog(spec), _where)]


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


def test_egress_to_a_service_needs_the_service_and_one_of_its_ports():
    client = minimal_service(
        "client",
        egress=[
            {"service": "db", "ports": [{"port": 5432}]},
            {"service": "api", "ports": [{"port": 8080}, {"port": 9999}]},
        ],
    )
    assert problems(minimal_spec(minimal_service(), client)) == [
        "services[1].egress[0].service: egress to 'db', which is not a service of this spec",
        "services[1].egress[1].ports[1]: api does not declare port 9999/TCP",
    ]


def test_writable_paths_and_secret_mounts_each_take_their_own_directory():
    service = minimal_service(
        writablePaths=["/var/lib/api", "/tmp/cache", "/var/lib/api"],
        secretMounts=[{"secretName": "tls", "path": "/var/lib"}],
    )
    assert problems(minimal_spec(service)) == [
        "services[0].writablePaths[1]: /tmp/cache overlaps /tmp (always writable)",
        "services[0].writablePaths[2]: /var/lib/api overlaps /var/lib/api (writablePaths[0])",
        "services[0].secretMounts[0].path: /var/lib overlaps /var/lib/api (writablePaths[0])",
    ]


def test_a_secret_read_into_an_env_var_is_a_warning_not_an_error():
    env = [{"name": "TOKEN", "secret": {"name": "creds", "key": "token"}}]
    spec = ChartSpec.model_validate(minimal_spec(minimal_service(env=env)))
    [found] = check_spec(spec, catalog(spec), _where)
    assert found.warning
    assert found.where.path == "services[0].env[0].secret"
    assert "secretMounts" in found.fix
    generate(spec)  # a warning lets the render go on

"""The spec models refuse what Kubernetes or Helm would refuse later, and say why."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chartgen.spec import ChartMeta, EnvVar, Image, Port, Probe, Service, SpecFile

from .specdata import minimal_service, minimal_spec


def errors_of(model: type, data: object) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)  # type: ignore[attr-defined]
    return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in caught.value.errors()]


def test_a_minimal_spec_validates_with_defaults_filled_in():
    spec = SpecFile.model_validate(minimal_spec())
    service = spec.services[0]
    assert service.workload == "Deployment"
    assert service.automountServiceAccountToken is False
    assert service.replicas == 1
    assert service.image.pullPolicy == "IfNotPresent"
    assert service.metrics is not None and service.metrics.path == "/metrics"


@pytest.mark.parametrize("name", ["Api", "api_1", "-api", "api-", "1api", "a" * 64])
def test_service_names_must_be_dns_1035_labels(name):
    assert any(msg.startswith("name:") for msg in errors_of(Service, minimal_service(name)))


def test_unknown_fields_are_refused_at_every_level():
    service = minimal_service(replcas=2)
    assert errors_of(Service, service) == ["replcas: Extra inputs are not permitted"]
    service = minimal_service(ports=[{"name": "http", "port": 80, "proto": "TCP"}])
    assert errors_of(Service, service) == ["ports.0.proto: Extra inputs are not permitted"]


@pytest.mark.parametrize("version", ["1.0", "v1.0.0", "01.2.3", "1.2.3.4"])
def test_chart_version_must_be_semver(version):
    data = minimal_spec()["chart"] | {"version": version}
    assert any(msg.startswith("version:") for msg in errors_of(ChartMeta, data))


def test_semver_with_prerelease_and_build_is_accepted():
    meta = ChartMeta.model_validate(minimal_spec()["chart"] | {"version": "1.0.0-rc.1+build.5"})
    assert meta.version == "1.0.0-rc.1+build.5"


def test_an_image_needs_a_pinned_tag_or_a_digest():
    assert "an image needs a tag or a digest" in errors_of(Image, {"repository": "a/b"})[0]
    assert "'latest'" in errors_of(Image, {"repository": "a/b", "tag": "latest"})[0]
    digest = "sha256:" + "a" * 64
    assert Image.model_validate({"repository": "a/b", "digest": digest}).digest == digest


def test_an_image_repository_carries_no_registry_or_tag():
    assert errors_of(Image, {"repository": "a/b:v1", "tag": "v1"})
    assert errors_of(Image, {"repository": "Team/App", "tag": "v1"})


def test_a_yaml_float_is_not_taken_for_a_string_tag():
    # `tag: 1.10` in YAML is the float 1.1; strict models refuse it instead of mangling it.
    assert any("valid string" in m for m in errors_of(Image, {"repository": "a", "tag": 1.1}))


def test_a_probe_has_exactly_one_check():
    assert "found: none" in errors_of(Probe, {})[0]
    both = {"http": {"path": "/h", "port": 80}, "tcp": {"port": 80}}
    assert "found: http, tcp" in errors_of(Probe, both)[0]
    assert Probe.model_validate({"exec": {"command": ["true"]}}).enabled is True


def test_env_holds_a_value_or_a_secret_reference_never_both():
    assert EnvVar.model_validate({"name": "A", "value": "x"}).secret is None
    ref = EnvVar.model_validate({"name": "A", "secret": {"name": "creds", "key": "token"}})
    assert ref.secret is not None and ref.secret.optional is False
    both = {"name": "A", "value": "x", "secret": {"name": "creds", "key": "token"}}
    assert "exactly one of value or secret" in errors_of(EnvVar, both)[0]


@pytest.mark.parametrize("name", ["1234", "a" * 16, "Http", "-http"])
def test_port_names_follow_the_iana_service_name_rules(name):
    assert errors_of(Port, {"name": name, "port": 80})


def test_models_are_frozen_once_validated():
    service = Service.model_validate(minimal_service())
    with pytest.raises(ValidationError):
        service.replicas = 3  # type: ignore[misc]


def test_every_container_declares_cpu_and_memory_requests_and_a_memory_limit():
    service = minimal_service()
    del service["resources"]
    assert errors_of(Service, service) == ["resources: Field required"]
    service = minimal_service(resources={"requests": {"cpu": "1"}, "limits": {"cpu": "1"}})
    assert errors_of(Service, service) == [
        "resources.requests.memory: Field required",
        "resources.limits.memory: Field required",
    ]


def test_a_stateful_service_defaults_to_a_statefulset():
    assert Service.model_validate(minimal_service(stateful=True)).workload == "StatefulSet"


@pytest.mark.parametrize(
    ("rule", "complaint"),
    [
        ({"ports": [{"port": 443}]}, "exactly one of service or cidr"),
        ({"service": "db", "cidr": "10.0.0.0/8", "ports": [{"port": 1}]}, "exactly one of"),
        ({"service": "db", "except": ["10.0.0.0/8"], "ports": [{"port": 1}]}, "narrows a cidr"),
        ({"cidr": "10.0.0.0", "ports": [{"port": 1}]}, "should match pattern"),
        ({"cidr": "0.0.0.0/0", "ports": []}, "at least 1 item"),
    ],
)
def test_an_egress_rule_names_one_destination_and_its_ports(rule, complaint):
    assert any(complaint in msg for msg in errors_of(Service, minimal_service(egress=[rule])))


@pytest.mark.parametrize("path", ["tmp", "/", "/var/", "/var//lib", "/var/../etc", "/a/./b"])
def test_writable_paths_are_absolute_directories_without_dot_segments(path):
    [error] = errors_of(Service, minimal_service(writablePaths=[path]))
    assert error.startswith("writablePaths.0:")


def fix_of(model: type, data: object) -> str:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)  # type: ignore[attr-defined]
    [error] = caught.value.errors()
    return str(error.get("ctx", {}).get("fix"))


@pytest.mark.parametrize(
    "repository", ["docker.io/library/api", "registry.example.com:5000/api", "localhost/api"]
)
def test_an_image_repository_holding_a_registry_points_at_the_registry_settings(repository):
    [error] = errors_of(Image, {"repository": repository, "tag": "v1"})
    assert error.startswith(f"repository: {repository!r} starts with the registry ")
    fix = fix_of(Image, {"repository": repository, "tag": "v1"})
    assert "chart.imageRegistry" in fix and "image.registry" in fix
    assert f"keep {repository.partition('/')[2]!r} here" in fix
    for fine in ("api", "team/api.v2", "team/local-host/api"):
        assert Image.model_validate({"repository": fine, "tag": "v1"}).repository == fine


def test_replicas_and_probe_numbers_stay_within_kubernetes_int32():
    too_many = "2147483648 is over 2147483647, the most Kubernetes holds"
    assert errors_of(Service, minimal_service(replicas=2**31)) == [f"replicas: {too_many}"]
    assert Service.model_validate(minimal_service(replicas=2**31 - 1)).replicas == 2**31 - 1
    for field in ("initialDelaySeconds", "periodSeconds", "timeoutSeconds", "failureThreshold"):
        probe = {"tcp": {"port": 80}, field: 2**31}
        assert errors_of(Probe, probe) == [f"{field}: {too_many}"]


@pytest.mark.parametrize("kind", ["requests", "limits"])
def test_memory_in_millibytes_is_refused_with_what_was_meant(kind):
    resources = {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}}
    resources[kind]["memory"] = "128m"
    service = minimal_service(resources=resources)
    assert errors_of(Service, service) == [
        f"resources.{kind}.memory: memory 128m is 0.128 bytes ('m' is milli)"
    ]
    assert fix_of(Service, service) == "did you mean 128Mi?"
    assert Service.model_validate(minimal_service()).resources.requests.cpu == "10m"


@pytest.mark.parametrize("cidr", ["300.0.0.0/33", "10.0.0.0/33", "2001:db8::/129", "1.2.3.4/40"])
def test_an_egress_cidr_is_a_real_address_block(cidr):
    [error] = errors_of(Service, minimal_service(egress=[{"cidr": cidr, "ports": [{"port": 1}]}]))
    assert error == f"egress.0.cidr: {cidr!r} does not appear to be an IPv4 or IPv6 network"


@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "10.0.0.1/8", "2001:db8::/32", "203.0.113.7/32"])
def test_an_egress_cidr_may_name_any_block_host_bits_and_all(cidr):
    rule = {"cidr": cidr, "ports": [{"port": 1}]}
    assert Service.model_validate(minimal_service(egress=[rule])).egress[0].cidr == cidr


@pytest.mark.parametrize(
    ("cidr", "block"),
    [("10.0.0.0/8", "192.168.0.0/16"), ("10.0.0.0/8", "10.0.0.0/8"), ("10.0.0.0/8", "::/64")],
)
def test_an_except_block_must_lie_strictly_inside_its_cidr_as_kubernetes_requires(cidr, block):
    rule = {"cidr": cidr, "except": ["10.1.0.0/16", block], "ports": [{"port": 1}]}
    [error] = errors_of(Service, minimal_service(egress=[rule]))
    assert error == f"egress.0: the except block {block} is not strictly inside {cidr}"

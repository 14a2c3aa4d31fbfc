"""Build: the spec becomes values and template inputs, with names and defaults computed once."""

from __future__ import annotations

import re

from chartgen.build import build
from chartgen.monitoring.series import catalog
from chartgen.pipeline import generate
from chartgen.spec import ChartSpec
from chartgen.spec.types import DNS1123_LABEL

from .specdata import minimal_service, minimal_spec


def built(*services):
    spec = ChartSpec.model_validate(minimal_spec(*services))
    return build(spec, catalog(spec))


def test_chart_yaml_carries_the_spec_metadata():
    chart = built()
    assert chart.chart_yaml == {
        "apiVersion": "v2",
        "name": "demo",
        "description": "Demo platform",
        "type": "application",
        "version": "1.2.3",
        "appVersion": "v1",
    }


def test_the_registry_is_a_global_value_not_part_of_the_image():
    values = built().values.defaults
    assert values["global"]["imageRegistry"] == "registry.example.com"
    assert values["services"]["api"]["image"] == {
        "registry": "",
        "repository": "team/api",
        "tag": "v1",
        "digest": "",
        "pullPolicy": "IfNotPresent",
    }


def test_probes_become_kubernetes_probes_with_a_switch():
    probes = {
        "liveness": {"http": {"path": "/health", "port": "http"}, "periodSeconds": 20},
        "startup": {"exec": {"command": ["true"]}, "enabled": False},
    }
    values = built(minimal_service(probes=probes)).values.defaults
    assert values["services"]["api"]["probes"] == {
        "liveness": {
            "enabled": True,
            "httpGet": {"path": "/health", "port": "http", "scheme": "HTTP"},
            "initialDelaySeconds": 0,
            "periodSeconds": 20,
            "timeoutSeconds": 1,
            "failureThreshold": 3,
            "successThreshold": 1,
        },
        "startup": {
            "enabled": False,
            "exec": {"command": ["true"]},
            "initialDelaySeconds": 0,
            "periodSeconds": 10,
            "timeoutSeconds": 1,
            "failureThreshold": 3,
            "successThreshold": 1,
        },
    }


def test_the_scrape_endpoint_resolves_a_named_port_to_its_number():
    service = built(minimal_service(metrics={"port": "http", "path": "/stats"})).services[0]
    assert (service.scrape.port, service.scrape.path) == (8080, "/stats")
    assert (service.test_port, service.test_path) == (8080, "/stats")


def test_a_service_without_metrics_is_tested_on_its_first_port():
    service = built(minimal_service(metrics=None)).services[0]
    assert service.scrape is None
    assert (service.test_port, service.test_path) == (8080, "/")


def test_secret_references_render_only_names_and_keys():
    env = [{"name": "TOKEN", "secret": {"name": "api-creds", "key": "token", "optional": True}}]
    spec = ChartSpec.model_validate(minimal_spec(minimal_service(env=env)))
    workload = generate(spec).files["templates/api/workload.yaml"]
    assert (
        '            - name: "TOKEN"\n              valueFrom:\n                secretKeyRef:\n'
        '                  name: "api-creds"\n                  key: "token"\n'
        "                  optional: true\n"
    ) in workload


def test_services_keep_their_spec_order_and_stateful_ones_default_to_statefulsets():
    chart = built(minimal_service("b"), minimal_service("a", stateful=True))
    assert [s.name for s in chart.services] == ["b", "a"]
    services = chart.values.defaults["services"]
    assert (services["b"]["workload"], services["a"]["workload"]) == ("Deployment", "StatefulSet")


def test_every_pod_gets_tmp_and_the_declared_writable_paths_and_secret_mounts():
    service = minimal_service(
        writablePaths=["/var/lib/api", "/var/cache/api"],
        secretMounts=[{"secretName": "api-tls", "path": "/etc/api/tls", "keys": ["tls.crt"]}],
    )
    [view] = built(service).services
    assert [(v.name, v.path, v.secret, v.keys) for v in view.volumes] == [
        ("tmp", "/tmp", None, ()),
        ("var-lib-api", "/var/lib/api", None, ()),
        ("var-cache-api", "/var/cache/api", None, ()),
        ("secret-etc-api-tls", "/etc/api/tls", "api-tls", ("tls.crt",)),
    ]


def test_the_api_token_is_mounted_only_for_services_that_ask():
    chart = built(minimal_service("a"), minimal_service("b", automountServiceAccountToken=True))
    services = chart.values.defaults["services"]
    assert services["a"]["serviceAccount"]["automount"] is False
    assert services["b"]["serviceAccount"]["automount"] is True


def test_volume_names_are_unique_dns_labels_however_the_paths_are_spelled():
    deep = "/" + "/".join(["very-long-directory-name"] * 4)
    service = minimal_service(
        writablePaths=["/var/lib/api", "/var-lib/api", deep],
        secretMounts=[{"secretName": "tls", "path": deep + "/tls"}],
    )
    names = [v.name for v in built(service).services[0].volumes]
    assert names[:3] == ["tmp", "var-lib-api", "var-lib-api-2"]
    assert len(set(names)) == len(names) == 5
    assert all(len(n) <= 63 and re.fullmatch(DNS1123_LABEL, n) for n in names)

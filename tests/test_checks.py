"""Cross-object checks: references, uniqueness and name lengths, each with its spec path."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from chartgen.checks.spec import check_spec
from chartgen.checks.values import check_values_text, helm_merge
from chartgen.errors import ChartgenError, Location, format_loc
from chartgen.monitoring.series import catalog
from chartgen.pipeline import generate
from chartgen.spec import ChartSpec
from chartgen.spec.types import ENV_NAME, PATTERN_FIXES
from chartgen.values.chart import values_schema

from .conftest import ROOT
from .specdata import minimal_service, minimal_spec

BAD_VALUES = Path(__file__).parent / "bad_values"
CHART = ROOT / "charts" / "vaultmesh"


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


def test_an_env_var_set_twice_is_refused():
    env = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "A", "value": "3"}]
    assert problems(minimal_spec(minimal_service(env=env))) == [
        "services[0].env[2].name: env var A is set twice"
    ]


def values_problems(default_render, text: str) -> list[tuple[int | None, str, str, str]]:
    found = check_values_text(default_render.chart, "env.yaml", text)
    return [(d.where.line, d.where.path, d.what, d.fix) for d in found]


def test_values_the_model_passes_but_the_chart_schema_refuses_are_refused_before_helm(
    default_render, helm
):
    path, line, where = BAD_VALUES / "null-required-key.yaml", 2, "services.treaty"
    values = default_render.chart.values
    assert values.errors(helm_merge(values.defaults, YAML(typ="safe").load(path.read_text()))) == []
    [(at, located, what, fix)] = values_problems(default_render, path.read_text())
    assert (at, located) == (line, where)
    assert what.endswith("(values.schema.json, which helm checks)") and fix
    result = helm("template", "vaultmesh", CHART, "-f", path)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr


def test_what_the_model_refuses_is_not_reported_again_by_the_schema(default_render, helm, tmp_path):
    text = "services:\n  treaty:\n    replicas: -1\n    image: {tag: latest}\nnameOverride: 3\n"
    found = values_problems(default_render, text)
    assert [(line, where) for line, where, *_ in found] == [
        (5, "nameOverride"),
        (3, "services.treaty.replicas"),
        (4, "services.treaty.image.tag"),
    ]
    assert not any("values.schema.json" in what for _, _, what, _ in found)
    values = tmp_path / "env.yaml"
    values.write_text(text)
    stderr = helm("template", "vaultmesh", CHART, "-f", values).stderr
    for where in ("/nameOverride", "/services/treaty/replicas", "/services/treaty/image/tag"):
        assert f"at '{where}'" in stderr


def test_values_numbers_kubernetes_holds_as_int32_are_bounded_though_the_schema_is_not(
    default_render, helm
):
    too_many = "2147483648 is over 2147483647, the most Kubernetes holds"
    for setting in (
        "services:\n  treaty:\n    replicas: 2147483648\n",
        "services:\n  treaty:\n    probes: {liveness: {periodSeconds: 2147483648}}\n",
        "podDisruptionBudget: {maxUnavailable: 2147483648}\n",
        "topologySpread: {maxSkew: 2147483648}\n",
    ):
        [(_, _, what, _)] = values_problems(default_render, setting)
        assert what == too_many, setting
    service = values_schema(default_render.chart.values)["$defs"]["ServiceValues"]
    assert (
        "maximum" not in service["properties"]["replicas"]
    )  # the schema, and so the chart's bytes, stay
    # helm passes such a number, which Kubernetes' int32 field cannot hold
    path = BAD_VALUES / "replicas-over-int32.yaml"
    result = helm(
        "template", "vaultmesh", CHART, "-f", path, "-s", "templates/treaty/workload.yaml"
    )
    assert result.returncode == 0, result.stderr
    assert "\n  replicas: 2147483648\n" in result.stdout


def test_values_refuse_a_registry_in_the_repository_and_memory_in_millibytes(default_render):
    [(_, where, what, fix)] = values_problems(
        default_render, "services:\n  treaty:\n    image: {repository: docker.io/library/x}\n"
    )
    assert (where, what) == (
        "services.treaty.image.repository",
        "'docker.io/library/x' starts with the registry 'docker.io'",
    )
    assert "image.registry" in fix
    memory = "services:\n  treaty:\n    resources: {limits: {memory: 512m}}\n"
    [(_, where, what, fix)] = values_problems(default_render, memory)
    assert (where, fix) == ("services.treaty.resources.limits.memory", "did you mean 512Mi?")


def schema_patterns(node: object) -> set[str]:
    """Every regular expression a JSON Schema holds."""
    if isinstance(node, dict):
        own = {node["pattern"]} if isinstance(node.get("pattern"), str) else set()
        return own.union(*(schema_patterns(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(schema_patterns(value) for value in node))
    return set()


def test_every_pattern_of_the_spec_and_the_chart_schema_has_a_fix_in_words(default_render):
    patterns = schema_patterns(ChartSpec.model_json_schema())
    patterns |= schema_patterns(values_schema(default_render.chart.values))
    assert len(patterns) > 20
    assert sorted(patterns - set(PATTERN_FIXES)) == []
    [(_, where, what, fix)] = values_problems(
        default_render, "services:\n  treaty:\n    extraEnv: [{name: 1BAD, value: x}]\n"
    )
    assert (where, what) == (
        "services.treaty.extraEnv[0].name",
        "'1BAD' does not match " + ENV_NAME,
    )
    assert (
        fix
        == PATTERN_FIXES[ENV_NAME]
        == (
            "use letters, digits, '_', '-' and '.', not starting with a digit or '..', and not "
            "'.' (e.g. LOG_LEVEL)"
        )
    )


def slo_service(**overrides) -> dict:
    """A service with a counter pair and one events SLO over them."""
    families = [
        {"name": f"api_{kind}_total", "type": "counter", "help": kind.capitalize()}
        for kind in ("requests", "errors")
    ]
    slo = {
        "name": "success",
        "description": "Requests that did not fail.",
        "objective": 99.9,
        "sli": {
            "events": {
                "errors": {"metric": "api_errors_total"},
                "total": {"metric": "api_requests_total"},
            }
        },
        "runbook": "https://runbooks.example.com/slos/api-success",
    }
    return minimal_service(metrics={"port": "http", "families": families}, slos=[slo], **overrides)


def test_a_recording_rule_may_not_take_a_name_the_slo_rules_record():
    rules = [
        {"record": "slo:objective:ratio", "expr": "vector(0.99)"},
        {"record": "slo:sli_error:ratio_rate30d", "expr": "vector(0)"},
        {"record": "api:errors:rate5m", "expr": "sum(rate(api_errors_total[5m]))"},
    ]
    spec = ChartSpec.model_validate(minimal_spec(slo_service(recordingRules=rules)))
    found = check_spec(spec, catalog(spec), _where)
    assert [(d.where.path, d.what) for d in found] == [
        (
            f"services[0].recordingRules[{number}].record",
            f"recording rule {name!r} has the name of a series the SLO rules record: both "
            "would write it, and SLO panels and alerts read it",
        )
        for number, name in enumerate(["slo:objective:ratio", "slo:sli_error:ratio_rate30d"])
    ]
    assert found[0].fix.startswith("give the rule a name of its own (e.g. api:objective:ratio)")
    # without SLOs the names are free
    alone = minimal_spec(minimal_service(recordingRules=rules[:1]))
    assert problems(alone) == []


def test_a_28d_window_is_free_where_every_slo_is_of_30_days():
    rules = [{"record": "slo:sli_error:ratio_rate28d", "expr": "vector(0)"}]
    assert problems(minimal_spec(slo_service(recordingRules=rules))) == []


def test_rules_read_slo_series_with_the_labels_the_slo_rules_keep():
    good = {
        "alert": "ApiBudgetHalfSpent",
        "expr": 'slo:period_error_budget_remaining:ratio{sloth_id="api-success"} < $threshold',
        "params": {"threshold": 0.5},
        "severity": "warning",
        "summary": "Half the error budget is spent",
        "description": "Half the error budget is spent.",
        "runbook": "https://runbooks.example.com/ApiBudgetHalfSpent",
        "examples": [
            {
                "name": "every request fails",
                "series": [
                    {"series": f"api_{kind}_total", "values": "0+60x20"}
                    for kind in ("requests", "errors")
                ],
                "fires": [{}],
            },
            {"name": "quiet", "series": [{"series": "api_requests_total", "values": "0+60x20"}]},
        ],
    }
    typo = {
        **good,
        "alert": "ApiBudgetTypo",
        "expr": 'slo:period_error_budget_remaining:ratio{sloth_ide="api-success"} < $threshold',
    }
    assert problems(minimal_spec(slo_service(alerts=[good]))) == []
    assert problems(minimal_spec(slo_service(alerts=[good, typo]))) == [
        "services[0].alerts[1].expr: 'slo:period_error_budget_remaining:ratio' has no label "
        "'sloth_ide' (named in a matcher)"
    ]

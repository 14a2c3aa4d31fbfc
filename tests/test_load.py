"""Loading spec files: YAML problems and model errors point at file:line and the spec path."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from chartgen.errors import ChartgenError
from chartgen.load import load_spec, load_texts
from chartgen.load.hygiene import names_credential
from chartgen.pipeline import generate

from .specdata import dump_yaml, minimal_service, minimal_spec


def messages(texts: list[tuple[str, str]]) -> list[str]:
    with pytest.raises(ChartgenError) as caught:
        load_texts(texts)
    return [d.format() for d in caught.value.diagnostics]


def test_the_embedded_spec_loads_with_the_three_vaultmesh_services():
    loaded = load_spec()
    assert [s.name for s in loaded.spec.services] == ["scheduler", "psi-field", "treaty"]
    assert loaded.spec.chart.name == "vaultmesh"


def test_a_duplicate_key_is_refused_with_both_lines():
    text = "chart:\n  name: demo\n  name: other\n"
    assert messages([("spec.yaml", text)]) == [
        "spec.yaml:3: error: duplicate key 'name' (first defined on line 2)\n"
        "  fix: keep one of the two entries; YAML tools silently drop one of them"
    ]


def test_a_yaml_syntax_error_names_its_line():
    [message] = messages([("spec.yaml", "chart:\n  name: [demo\n")])
    assert message.startswith("spec.yaml:3: error: invalid YAML")


def test_an_unknown_field_gives_its_line_path_and_a_suggestion():
    spec = minimal_spec(minimal_service(replcas=2))
    [message] = messages([("spec.yaml", dump_yaml(spec))])
    line = dump_yaml(spec).splitlines().index("  replcas: 2") + 1
    assert line > 1
    assert message.startswith(f"spec.yaml:{line}: services[0].replcas: error: unknown field")
    assert "did you mean 'replicas'?" in message


def test_a_bad_name_gives_its_path_and_the_naming_rule():
    [message] = messages(
        [
            (
                "spec.yaml",
                dump_yaml(
                    minimal_spec(minimal_service("Bad_Name", image={"repository": "a", "tag": "1"}))
                ),
            )
        ]
    )
    assert "services[0].name: error: String should match pattern" in message
    assert "fix: DNS-1035 label" in message


def test_a_missing_field_is_named_where_it_belongs():
    service = minimal_service()
    del service["image"]
    [message] = messages([("spec.yaml", dump_yaml(minimal_spec(service)))])
    assert "services[0].image: error: required field is missing" in message
    assert "fix: add 'image'" in message


def test_a_union_error_is_reported_once_per_location():
    service = minimal_service(metrics={"port": ["http"]})
    [message] = messages([("spec.yaml", dump_yaml(minimal_spec(service)))])
    assert "services[0].metrics.port: error: " in message
    assert " or " in message  # both accepted forms are named in one line


def test_all_errors_of_all_files_are_reported_at_once():
    bad_a = dump_yaml(minimal_spec(minimal_service(replcas=1)))
    bad_b = "services:\n  - name: Nope\n"
    found = messages([("a.yaml", bad_a), ("b.yaml", bad_b)])
    # b.yaml: the name's pattern, and no image, ports or resources
    assert [m.split(":")[0] for m in found] == ["a.yaml"] + ["b.yaml"] * 4


def test_files_merge_one_chart_and_all_services_in_order(tmp_path: Path):
    (tmp_path / "00-chart.yaml").write_text(dump_yaml(minimal_spec(minimal_service("api"))))
    (tmp_path / "10-worker.yaml").write_text(dump_yaml({"services": [minimal_service("worker")]}))
    (tmp_path / "notes.txt").write_text("not a spec")
    loaded = load_spec([tmp_path])
    assert [s.name for s in loaded.spec.services] == ["api", "worker"]
    where = loaded.sources.locate(["services", 1, "ports", 0])
    assert (Path(where.file).name, where.line, where.path) == (
        "10-worker.yaml",
        7,
        "services[0].ports[0]",
    )


def test_two_chart_sections_are_refused():
    spec = dump_yaml(minimal_spec())
    [message] = messages([("a.yaml", spec), ("b.yaml", spec)])
    assert message.startswith("b.yaml:1: chart: error: a second 'chart' section")


def test_a_spec_without_chart_section_is_refused():
    [message] = messages([("a.yaml", dump_yaml({"services": [minimal_service()]}))])
    assert "no 'chart' section" in message


def test_a_spec_without_services_is_refused_with_how_to_add_one():
    spec = minimal_spec()
    spec["services"] = []
    with pytest.raises(ChartgenError) as caught:
        load_texts([("a.yaml", dump_yaml(spec))])
    [diagnostic] = caught.value.diagnostics
    assert (diagnostic.what, diagnostic.fix) == (
        "the spec declares no services",
        "add at least one entry under 'services:'",
    )


def test_a_file_that_is_not_a_mapping_is_refused():
    [message] = messages([("a.yaml", "- just\n- a list\n")])
    assert message.startswith("a.yaml:1: error: a spec file must be a mapping")


def test_a_plain_norway_is_refused_and_a_quoted_one_stays_a_string():
    spec = minimal_spec(minimal_service(env=[{"name": "COUNTRY", "value": "no"}]))
    quoted = dump_yaml(spec)
    assert "'no'" in quoted
    assert load_texts([("a.yaml", quoted)]).spec.services[0].env[0].value == "no"
    with pytest.raises(ChartgenError) as caught:
        load_texts([("a.yaml", quoted.replace("'no'", "no"))])
    [diagnostic] = caught.value.diagnostics
    assert diagnostic.where.path == "services[0].env[0].value"
    assert diagnostic.what == (
        "'no' is read as a boolean by YAML 1.1 tools (Helm among them) and as text by YAML 1.2"
    )


@pytest.mark.parametrize(
    ("plain", "reading"),
    [
        ("on", "a boolean by YAML 1.1 tools (Helm among them) and as text"),
        ("Y", "a boolean by YAML 1.1 tools (Helm among them) and as text"),
        ("0755", "the octal number 493 by YAML 1.1 tools (Helm among them) and as the number 755"),
        ("08080", "text by YAML 1.1 tools (Helm among them) and as a number"),
        ("1:20", "a number by YAML 1.1 tools (Helm among them) and as text"),
    ],
)
def test_plain_values_yaml_1_1_reads_otherwise_are_refused(plain, reading):
    text = dump_yaml(minimal_spec(minimal_service(env=[{"name": "X", "value": "@"}])))
    with pytest.raises(ChartgenError) as caught:
        load_texts([("a.yaml", text.replace("'@'", plain))])
    assert caught.value.diagnostics[0].what == f"{plain!r} is read as {reading} by YAML 1.2"


@pytest.mark.parametrize(
    ("written", "text"), [("'no'", "no"), ('"0755"', "0755"), ("v1.2", "v1.2"), ("noon", "noon")]
)
def test_quoted_and_unambiguous_text_loads_as_written(written, text):
    spec = dump_yaml(minimal_spec(minimal_service(env=[{"name": "X", "value": "@"}])))
    loaded = load_texts([("a.yaml", spec.replace("'@'", written))])
    assert loaded.spec.services[0].env[0].value == text


@pytest.mark.parametrize(
    ("name", "credential"),
    [
        ("DB_PASSWORD", True),
        ("ADMIN_PASSWD", True),
        ("apiKey", True),
        ("API_KEY", True),
        ("GITHUB_TOKEN", True),
        ("clientSecret", True),
        ("privateKey", True),
        ("secretName", False),
        ("tokenTTL", False),
        ("secretKeyRef", False),
        ("PASSWORD_FILE", False),
        ("LOG_LEVEL", False),
    ],
)
def test_credential_names(name, credential):
    assert names_credential(name) is credential


def test_a_literal_credential_is_refused_where_a_secret_reference_is_not():
    service = minimal_service(
        env=[
            {"name": "DB_PASSWORD", "value": "hunter2"},
            {"name": "API_TOKEN", "secret": {"name": "api", "key": "token"}},
        ]
    )
    with pytest.raises(ChartgenError) as caught:
        load_texts([("a.yaml", dump_yaml(minimal_spec(service)))])
    [diagnostic] = caught.value.diagnostics
    assert diagnostic.where.path == "services[0].env[0].value"
    assert "DB_PASSWORD is given a literal value" in diagnostic.what
    assert "secret: {name: <secret>, key: <key>}" in diagnostic.fix


def test_a_directory_without_specs_is_an_error(tmp_path: Path):
    with pytest.raises(ChartgenError, match="no spec files"):
        load_spec([tmp_path])


def test_a_valid_spec_is_parsed_once_and_its_lines_come_from_that_parse(monkeypatch):
    composed: list[str] = []
    compose = YAML.compose
    monkeypatch.setattr(
        YAML, "compose", lambda self, text: composed.append(text) or compose(self, text)
    )
    loaded = load_spec()
    generate(loaded.spec, loaded.sources.locate)
    assert loaded.sources.locate(["services", 1, "ports", 0]).line > 1
    assert len(composed) == 1

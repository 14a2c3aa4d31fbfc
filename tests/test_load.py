"""Loading spec files: YAML problems and model errors point at file:line and the spec path."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import ruamel.yaml.main
from ruamel.yaml.composer import Composer

from chartgen.errors import ChartgenError
from chartgen.load import load_spec, load_texts
from chartgen.load.hygiene import names_credential
from chartgen.load.sources import MAX_BYTES
from chartgen.load.yaml import MAX_ALIASED, MAX_DEPTH, parse_yaml
from chartgen.pipeline import generate, prepare

from .specdata import dump_yaml, minimal_service, minimal_spec
from .test_cli import refused_leaving_chart_untouched


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
    assert (
        "services[0].name: error: 'Bad_Name' does not match ^[a-z]([-a-z0-9]*[a-z0-9])?$" in message
    )
    assert "fix: use lowercase letters, digits and '-', starting with a letter" in message


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
        ("PGPASSWORD", True),
        ("MYSQL_ROOT_PASSWORD", True),
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
    composed: list[Composer] = []
    compose = Composer.get_single_node
    monkeypatch.setattr(
        Composer, "get_single_node", lambda self: composed.append(self) or compose(self)
    )
    loaded = load_spec()
    generate(loaded.spec, loaded.sources.locate)
    assert loaded.sources.locate(["services", 1, "ports", 0]).line > 1
    assert len(composed) == 1


@pytest.fixture(params=["libyaml", "pure"])
def parser(request, monkeypatch):
    """Both of ruamel's parsers: libyaml's (when installed) and its pure-Python one."""
    if request.param == "pure":
        monkeypatch.setattr(ruamel.yaml.main, "CParser", None)
    return request.param


def bound_message(text: str) -> str:
    with pytest.raises(ChartgenError) as caught:
        parse_yaml("deep.yaml", text)
    [diagnostic] = caught.value.diagnostics
    return diagnostic.format()


DEEP = f"the document nests deeper than {MAX_DEPTH} levels (aliases followed)"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("chart: " + "[" * 5_000 + "]" * 5_000 + "\n", "1: chart[0][0][0]..."),
        ("a:\n" + "".join(f"{'  ' * i}- \n" for i in range(1, 3_000)), "65: a[0][0][0]..."),
        # ruamel's own composer would crash on this one
        ("x: [\n" + "[\n" * 100_000 + "]" * 100_001 + "\n", "64: x[0][0][0]..."),
        ("a: &a " + "[" * 40 + "]" * 40 + "\nb: " + "[" * 30 + "*a" + "]" * 30, "2: b[0][0][0]..."),
        ("a: {b: [{c: " + "[" * 70 + "]" * 70 + "}]}", "1: a.b[0].c..."),
        ("a: [{b: " + "[" * 70 + "]" * 70 + "}]", "1: a[0].b[0]..."),
    ],
    ids=["flow", "block", "flow-lines", "through-an-alias", "under-keys", "under-an-item"],
)
def test_nesting_past_the_limit_is_refused_at_the_line_and_path_it_crosses_it(parser, text, where):
    assert bound_message(text).startswith(f"deep.yaml:{where}: error: {DEEP}\n  fix: flatten it")


def test_nesting_up_to_the_limit_loads(parser):
    nested = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)  # under the top-level mapping
    data = parse_yaml("a.yaml", f"a: {nested}\nb: &b {nested}\nc: *b\n").data
    assert data["a"] == data["c"]


def alias_bomb(levels: int) -> str:
    """The billion laughs: each level's list holds ten aliases of the level before."""
    lines = ["l0: &l0 [" + ", ".join(["lol"] * 10) + "]"]
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_at_the_alias_past_the_bound_and_at_once(parser):
    start = time.perf_counter()
    message = bound_message(alias_bomb(9))
    assert time.perf_counter() - start < 5
    # l4's aliases of l3 (1,111 nodes each) take what aliases add past 100,000
    assert message == (
        f"deep.yaml:5: l4[7]: error: alias *l3 makes aliases add over {MAX_ALIASED:,} nodes\n"
        "  fix: write the repeated parts out, or alias fewer or smaller nodes"
    )
    assert parse_yaml("a.yaml", alias_bomb(4)).data["l3"][9][9][9][9] == "lol"  # adds 12,330


def test_an_alias_inside_the_node_it_names_is_refused(parser):
    message = bound_message("a: &a\n  b: [*a]\n")
    assert message.startswith("deep.yaml:2: a.b[0]: error: alias *a makes aliases add over")


def test_a_second_anchor_of_a_name_is_refused(parser):
    message = bound_message("a: &x 1\nb: &x 2\nc: *x\n")
    assert message.startswith("deep.yaml:2: error: invalid YAML: a second anchor &x")


def test_merge_keys_still_merge(parser):
    alerts = "alerts:\n  - &base {alert: A, expr: up == 0, severity: warning}\n"
    text = alerts + "".join(f"  - {{<<: *base, alert: A{i}}}\n" for i in range(300))
    data = parse_yaml("a.yaml", text).data
    assert data["alerts"][300] == {"alert": "A299", "expr": "up == 0", "severity": "warning"}


def test_both_parsers_read_the_embedded_spec_the_same(monkeypatch):
    libyaml = load_spec().spec
    monkeypatch.setattr(ruamel.yaml.main, "CParser", None)
    assert load_spec().spec == libyaml


def test_a_file_over_the_size_limit_is_refused_unparsed(tmp_path):
    big = tmp_path / "big.yaml"
    with big.open("wb") as file:
        file.truncate(MAX_BYTES + 1)  # sparse: no disk needed
    stderr = refused_leaving_chart_untouched(tmp_path, "--spec", big)
    assert stderr.startswith(
        f"{big}: error: the spec file is larger than 64 MiB\n"
        "  fix: split it: chartgen reads files of 64 MiB at most\n"
    )


@pytest.mark.parametrize("text", ["", "\n\n", "# to be written\n", "---\n# nothing yet\n"])
def test_an_empty_spec_file_is_refused_by_name(text):
    assert messages([("a.yaml", dump_yaml(minimal_spec())), ("b.yaml", text)]) == [
        "b.yaml:1: error: a spec file must be a mapping, found no data (it is empty, or only "
        "comments)\n  fix: start the file with 'chart:' and/or 'services:'"
    ]


def test_an_empty_values_file_changes_nothing():
    assert parse_yaml("v.yaml", "# no overrides\n", what="values file").data == {}


def test_a_spec_without_services_in_any_file_names_the_files(tmp_path):
    (tmp_path / "00-chart.yaml").write_text(dump_yaml({"chart": minimal_spec()["chart"]}))
    (tmp_path / "10-more.yaml").write_text(dump_yaml({"services": []}))
    stderr = refused_leaving_chart_untouched(tmp_path, "--spec", tmp_path)
    assert stderr.startswith(
        f"{tmp_path}/00-chart.yaml, {tmp_path}/10-more.yaml: error: the spec declares no services"
    )


def test_a_file_that_is_not_utf8_is_refused_at_its_line(tmp_path):
    spec = tmp_path / "latin1.yaml"
    spec.write_bytes(dump_yaml(minimal_spec()).replace("Demo", "Démo").encode("latin-1"))
    line = dump_yaml(minimal_spec()).splitlines().index("  description: Demo platform") + 1
    stderr = refused_leaving_chart_untouched(tmp_path, "--spec", spec)
    assert stderr.startswith(
        f"{spec}:{line}: error: the spec file is not UTF-8 text: byte 0xe9 "
        "(invalid continuation byte)\n  fix: save it as UTF-8\n"
    )


@pytest.mark.parametrize("character", ["\x00", "\x07", "\x1b"])
def test_a_control_character_is_refused_at_its_line_not_its_position(parser, character):
    text = "chart:\n  name: démo wörld ✓\n  description: " + character + "\n"
    assert bound_message(text) == (
        f"deep.yaml:3: error: invalid YAML: the control character U+{ord(character):04X} "
        "(YAML allows none)\n  fix: remove it; in a double-quoted string write it as an escape "
        '("\\x01")'
    )


def test_a_symlink_loop_among_the_spec_files_is_named(tmp_path):
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "00-spec.yaml").write_text(dump_yaml(minimal_spec()))
    (specs / "loop-a.yaml").symlink_to("loop-b.yaml")
    (specs / "loop-b.yaml").symlink_to("loop-a.yaml")
    stderr = refused_leaving_chart_untouched(tmp_path, "--spec", specs)
    assert stderr.startswith(
        f"{specs}/loop-a.yaml: error: cannot read spec file: a symlink loop\n"
        "  fix: point the link at a file: its links lead back to it\n"
    )
    with pytest.raises(ChartgenError, match=r"loop-a\.yaml: error: cannot read spec file: a sym"):
        load_spec([specs / "loop-a.yaml"])  # named on the command line, click refuses it first


@pytest.mark.parametrize(
    ("value", "what"),
    [
        ("postgres://admin:hunter2@db:5432/app", "a URL holds a password"),
        ("redis://:hunter2@cache", "a URL holds a password"),
        ("-Xmx1g -Ddb.password=hunter2", "-Ddb.password is given a literal value"),
        ("--password=hunter2", "--password is given a literal value"),
        ("serve --api-key=abc123", "--api-key is given a literal value"),
    ],
)
def test_a_credential_held_in_a_value_is_refused(value, what):
    spec = minimal_spec(minimal_service(env=[{"name": "OPTIONS", "value": value}]))
    with pytest.raises(ChartgenError) as caught:
        load_texts([("a.yaml", dump_yaml(spec))])
    [diagnostic] = caught.value.diagnostics
    assert (diagnostic.where.path, diagnostic.what) == (
        "services[0].env[0].value",
        f"{what}: a credential in the clear",
    )
    assert diagnostic.fix.startswith("write $(X) in its place and reference an existing Secret")


@pytest.mark.parametrize(
    "value",
    [
        "postgres://admin@db:5432/app",
        "postgres://admin:$(DB_PASSWORD)@db/app",
        "https://example.com:8443/a@b",
        "git@github.com:team/repo.git",
        "--password=$(DB_PASSWORD)",
        "--password-file=/run/secrets/db",
        "--token-ttl=5m --log-level=info",
        "-Dspring.profiles.active=prod",
        "a=b, c=d",
    ],
)
def test_ordinary_values_are_not_taken_for_credentials(value):
    spec = minimal_spec(minimal_service(env=[{"name": "OPTIONS", "value": value}]))
    assert load_texts([("a.yaml", dump_yaml(spec))]).spec.services[0].env[0].value == value


def firing_alert(**changes) -> dict:
    """A valid alert of the minimal service's `up` series, with changes."""
    alert = {
        "alert": "ApiDown",
        "expr": 'up{job="api"} < $threshold',
        "params": {"threshold": 1},
        "severity": "warning",
        "summary": "api is down",
        "description": "No api target is up.",
        "runbook": "https://runbooks.example/ApiDown",
        "examples": [
            {"name": "down", "series": [{"series": 'up{job="api"}', "values": "0x5"}]},
            {"name": "up", "series": [{"series": 'up{job="api"}', "values": "1x5"}]},
        ],
    }
    alert["examples"][0]["fires"] = [{"job": "api"}]
    return {**alert, **changes}


def test_a_models_own_check_runs_past_an_unknown_field_of_that_model():
    examples = firing_alert()["examples"]
    alert = firing_alert(team="payments", examples=[examples[0], examples[0]])
    found = messages([("a.yaml", dump_yaml(minimal_spec(minimal_service(alerts=[alert]))))])
    assert [m.split("\n")[0].split(": ", 1)[1] for m in found] == [
        "services[0].alerts[0]: error: an alert needs at least one example that fires and one "
        "that stays quiet",
        "services[0].alerts[0].team: error: unknown field",
    ]


def test_a_value_error_reports_no_reference_to_what_its_service_declares_as_missing():
    families = [{"name": "api_requests_total", "type": "counter", "help": "Requests."}]
    api = minimal_service("api", replicas="2", metrics={"port": "http", "families": families})
    alert = firing_alert(expr="sum(rate(api_requests_total[5m])) < $threshold")
    worker = minimal_service("worker", alerts=[alert])
    with pytest.raises(ChartgenError) as caught:
        load_texts([("a.yaml", dump_yaml(minimal_spec(api, worker)))])
    # without api's model, worker's read of api_requests_total would look undeclared
    assert [d.where.path for d in caught.value.diagnostics] == ["services[0].replicas"]


def test_unknown_fields_in_a_node_used_twice_are_reported_at_each_use_and_the_rest_checked(
    tmp_path,
):
    service = dump_yaml([minimal_service("api", replcas=2)]).replace(
        "- name: api", "- &api\n  name: api"
    )
    spec = tmp_path / "a.yaml"
    spec.write_text(dump_yaml({"chart": minimal_spec()["chart"]}) + f"services:\n{service}- *api\n")
    with pytest.raises(ChartgenError) as caught:
        prepare([spec])
    # an alias's lines are those of the node it names
    assert [(d.where.path, d.what) for d in caught.value.diagnostics] == [
        ("services[1].name", "duplicate service name 'api' (also services[0])"),
        ("services[0].replcas", "unknown field"),
        ("services[1].replcas", "unknown field"),
    ]


@pytest.mark.parametrize(
    ("changes", "path", "fix"),
    [
        (
            {"alerts": [firing_alert(severity="page")]},
            "alerts[0].severity",
            "use one of: info, warning, critical",
        ),
        (
            {"ports": [{"name": "http", "port": 80, "protocol": "tcp"}]},
            "ports[0].protocol",
            "use one of: TCP, UDP, SCTP",
        ),
        ({"ports": []}, "ports", "list at least 1 entry"),
        ({"ports": [{"name": "http", "port": 0}]}, "ports[0].port", "use a number of at least 1"),
        ({"replicas": -1}, "replicas", "use a number of at least 0"),
        (
            {"image": "team/api:v1"},
            "image",
            "write a mapping of its fields: repository, tag, digest, pullPolicy",
        ),
        ({"env": {"LOG_LEVEL": "info"}}, "env", "write a list: a '- ' line per entry, or [a, b]"),
        (
            {"alerts": [firing_alert(labels=["team"])]},
            "alerts[0].labels",
            "write a mapping: a 'key: value' line per entry, or {key: value}",
        ),
        (
            {"alerts": [firing_alert(summary="")]},
            "alerts[0].summary",
            "write some text: it may not be empty",
        ),
        (
            {"alerts": [firing_alert(examples=firing_alert()["examples"][:1])]},
            "alerts[0].examples",
            "list at least 2 entries",
        ),
    ],
)
def test_each_kind_of_value_error_says_how_to_fix_it_not_what_the_field_is(changes, path, fix):
    with pytest.raises(ChartgenError) as caught:
        load_texts([("a.yaml", dump_yaml(minimal_spec(minimal_service(**changes))))])
    [diagnostic] = caught.value.diagnostics
    assert (diagnostic.where.path, diagnostic.fix) == (f"services[0].{path}", fix)

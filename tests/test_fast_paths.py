"""The fast paths write and read exactly what ruamel.yaml does (emitter, parsers, node
tree), and the chart's values files exactly what pydantic's values model gives."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml_rs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import ScalarNode

from chartgen import build as build_module
from chartgen import load as load_module
from chartgen import serialize, unambiguous, values
from chartgen.build import TEST_IMAGE, TEST_RESOURCES, build
from chartgen.errors import ChartgenError
from chartgen.generate import generate_from_files
from chartgen.hygiene import document_problems
from chartgen.load import DIRECT_READING_SIZE, _parse_node_tree, load_spec, parse_yaml
from chartgen.render import values_table
from chartgen.sources import embedded_spec_text
from chartgen.spec import ChartSpec

from .conftest import ROOT
from .strategies import dns_label, specs
from .test_interrupted_render import synthetic_spec
from .yamltexts import ODD_CHARACTERS, TRICKY_SCALARS, yaml_texts

# Characters YAML gives meaning to, YAML 1.1 words, line breaks and non-ASCII.
PIECES = st.sampled_from(
    [
        *"ab :#-'\"{}[],?|>!&*%@`~\n\t.09xyYNn_/$=<+^é\x85",
        *("yes", "no", "on", "null", "true", "1.5", "0o7", "0x1", "010", "1:20"),
        *("  ", "...", "---", "ψ", "\u2028", "a" * 70),
    ]
)
TEXT = st.lists(PIECES, max_size=6).map("".join)
SCALARS = st.one_of(
    TEXT, st.integers(), st.floats(allow_nan=False), st.booleans(), st.none(), st.just(1e-7)
)
DATA = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=30,
)


@settings(max_examples=400)
@given(st.one_of(st.dictionaries(TEXT, DATA, min_size=1), st.lists(DATA, min_size=1)))
def test_to_yaml_writes_what_the_ruamel_emitter_writes(data: Any):
    assert serialize.to_yaml(data) == serialize._ruamel_yaml(data)


def _ruamel_text(data: Any, docs: serialize.KeyDocs, *, round_trip: bool) -> str:
    """What ruamel.yaml writes for data; in round-trip mode with docs as comments."""
    if round_trip:
        return serialize._ruamel_yaml(serialize.commented_map(data, docs), round_trip=True)
    return serialize._ruamel_yaml(data)


def _key_docs(draw: st.DrawFn, data: Any) -> serialize.KeyDocs:
    """Descriptions for some keys of data's maps (a list's maps, for a list), at every depth."""
    descriptions: dict[str, str] = {}
    nested: dict[str, serialize.KeyDocs] = {}
    for found in data if isinstance(data, list) else [data]:
        if isinstance(found, list):
            inner = _key_docs(draw, found)
            descriptions.update(inner.descriptions)
            nested.update(inner.nested)
        elif isinstance(found, dict):
            for key, value in found.items():
                if draw(st.booleans()):
                    descriptions[key] = draw(TEXT)
                if isinstance(value, dict | list) and draw(st.booleans()):
                    nested[key] = _key_docs(draw, value)
    return serialize.KeyDocs(descriptions, nested)


@settings(max_examples=400)
@given(st.dictionaries(TEXT, DATA, min_size=1), st.data())
def test_to_commented_yaml_writes_what_the_round_trip_dumper_writes(
    data: dict[str, Any], draw: st.DataObject
):
    docs = _key_docs(draw.draw, data)
    assert serialize.to_commented_yaml(data, docs) == _ruamel_text(data, docs, round_trip=True)


def _compared_renders(monkeypatch: pytest.MonkeyPatch, spec: Path | None) -> tuple[int, int]:
    """Render with every fast YAML document checked against ruamel's; (fast, all) counts."""
    fast_yaml = serialize._fast_yaml
    counts = [0, 0]

    def checked(data: Any, out: Any, docs: serialize.KeyDocs = serialize.NO_DOCS) -> str:
        counts[1] += 1
        text = fast_yaml(data, out, docs)
        assert text == _ruamel_text(data, docs, round_trip=out.round_trip)
        counts[0] += 1
        return text

    monkeypatch.setattr(serialize, "_fast_yaml", checked)
    generate_from_files([spec] if spec else [])
    return counts[0], counts[1]


def test_the_default_chart_yaml_is_the_ruamel_emitters(monkeypatch: pytest.MonkeyPatch):
    fast, documents = _compared_renders(monkeypatch, None)
    assert documents > 10  # rule texts, values.yaml, Chart.yaml, the wiring snippet
    assert fast == documents


def test_a_synthetic_chart_yaml_is_the_ruamel_emitters(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    fast, documents = _compared_renders(monkeypatch, synthetic_spec(12, tmp_path / "s.yaml"))
    assert documents > 12 * 4
    assert fast == documents


def _nodes(text: str, *, pure: bool) -> tuple[Any, Any]:
    yaml = YAML(typ="safe", pure=pure)
    node = yaml.compose(text)
    return node, yaml.constructor.construct_document(node)


def _shape(node: Any) -> Any:
    """What chartgen reads from a node: kind, tag, line, column, plain or not, value."""
    where = (type(node).__name__, str(node.tag), node.start_mark.line, node.start_mark.column)
    if isinstance(node.value, str):
        return (*where, node.style or None, node.value)
    if node.value and isinstance(node.value[0], tuple):
        return (*where, [(_shape(k), _shape(v)) for k, v in node.value])
    return (*where, [_shape(item) for item in node.value])


def test_libyaml_is_installed_for_the_parser():
    assert YAML(typ="safe").Parser.__name__ == "CParser"


@pytest.mark.parametrize(
    "path",
    [
        None,
        *sorted((ROOT / "tests" / "bad_specs").glob("*.yaml")),
        *sorted((ROOT / "tests" / "bad_values").glob("*.yaml")),
        *sorted((ROOT / "values").glob("*.yaml")),
    ],
    ids=lambda p: p.name if p else "embedded",
)
def test_libyaml_composes_the_nodes_the_pure_parser_composes(path: Path | None):
    text = path.read_text("utf-8") if path else embedded_spec_text()
    try:
        pure_node, pure_data = _nodes(text, pure=True)
    except YAMLError as err:
        # Same kind of error; chartgen then parses again with the pure parser for its message.
        with pytest.raises(type(err)):
            _nodes(text, pure=False)
        return
    c_node, c_data = _nodes(text, pure=False)
    assert _shape(c_node) == _shape(pure_node)
    assert c_data == pure_data
    assert document_problems(c_node, "f", "fix") == document_problems(pure_node, "f", "fix")


def test_libyaml_composes_a_synthetic_spec_as_the_pure_parser_does(tmp_path: Path):
    text = synthetic_spec(12, tmp_path / "s.yaml").read_text("utf-8")
    assert _shape(_nodes(text, pure=False)[0]) == _shape(_nodes(text, pure=True)[0])


JSON = st.recursive(
    st.one_of(
        TEXT,
        st.integers(),
        st.floats(),
        st.booleans(),
        st.none(),
        st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"])),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=30,
)


@settings(max_examples=400)
@given(JSON)
def test_to_json_writes_what_json_dumps_writes(data: Any):
    assert serialize.to_json(data) == json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def test_the_chart_json_goes_through_orjson(monkeypatch: pytest.MonkeyPatch):
    written: list[bool] = []
    by_orjson = serialize._by_orjson

    def counted(data: Any) -> str | None:
        text = by_orjson(data)
        written.append(text is not None)
        return text

    monkeypatch.setattr(serialize, "_by_orjson", counted)
    generate_from_files()
    assert len(written) > 3
    assert all(written)


@pytest.mark.parametrize(
    "data", [{"f": 1e-07}, [float("nan")], {"i": float("inf")}, {"big": 2**70}, {1: "a"}]
)
def test_what_orjson_writes_otherwise_goes_to_json(data: Any):
    assert serialize._by_orjson(data) is None
    assert serialize.to_json(data) == json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def test_equal_scalars_of_other_types_keep_their_own_text():
    data = {"a": "0.9", "b": 0.9, "c": "0.9", "d": 1.0, "e": 1, "f": True, "g": -0.0, "h": 0.0}
    expected = "a: '0.9'\nb: 0.9\nc: '0.9'\nd: 1.0\ne: 1\nf: true\ng: -0.0\nh: 0.0\n"
    assert serialize.to_yaml(data) == serialize._ruamel_yaml(data) == expected


@settings(max_examples=400)
@given(TEXT)
def test_the_resolver_tables_read_text_as_the_resolvers_do(text: str):
    for resolver, table in [
        (serialize._YAML11, serialize._YAML11_RESOLVERS),
        (serialize._YAML12, serialize._YAML12_RESOLVERS),
    ]:
        resolved = resolver.resolve(ScalarNode, text, (True, False))
        assert serialize._reads_as_str(table, text) == (resolved == serialize.STR_TAG)


def test_a_long_quoted_key_is_an_explicit_key_as_ruamel_writes_it():
    data = {"&" + "a" * 140: {"x": 1}}
    assert serialize.to_yaml(data) == serialize._ruamel_yaml(data)
    assert serialize.to_commented_yaml(data, serialize.NO_DOCS) == _ruamel_text(
        data, serialize.NO_DOCS, round_trip=True
    )


# The chart's values: defaults, values.yaml, README table and values.schema.json, each against
# what the pydantic values model of the same chart gives (one model class per alert).


def _commented_by_model(model: BaseModel, indent: int = 0) -> CommentedMap:
    """values.yaml's map from a values model instance: each field's description above it."""
    out = CommentedMap()
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if value is None:
            continue
        key = info.alias or name
        out[key] = _commented_value(value, indent + 2)
        if info.description:
            out.yaml_set_comment_before_after_key(
                key, before=f"-- {info.description}", indent=indent
            )
    return out


def _commented_value(value: Any, indent: int) -> Any:
    if isinstance(value, BaseModel):
        return _commented_by_model(value, indent)
    if isinstance(value, dict):
        return CommentedMap((k, _commented_value(v, indent + 2)) for k, v in value.items())
    if isinstance(value, list):
        return CommentedSeq(_commented_value(v, indent + 2) for v in value)
    return value


def _table_by_model(model: BaseModel, prefix: str = "") -> list[tuple[str, str, str]]:
    """The README's values table from a values model instance: a row per leaf field."""
    rows: list[tuple[str, str, str]] = []
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if value is None:
            continue
        key = f"{prefix}{info.alias or name}"
        if isinstance(value, BaseModel):
            rows.extend(_table_by_model(value, key + "."))
        else:
            plain = to_jsonable_python(value, by_alias=True, exclude_none=True)
            rows.append((key, json.dumps(plain), info.description or ""))
    return rows


def _written_as_the_model_writes(chart_values: values.ChartValues, given: dict[str, Any]) -> bool:
    """Assert each values file is what the values model, validating ``given``, writes.

    True if the files were written without building the model.
    """
    docs = values.values_docs(chart_values)
    fast = (
        serialize.to_commented_yaml(chart_values.defaults, docs),
        values_table(chart_values.defaults, docs),
        serialize.to_json(values.values_schema(chart_values)),
    )
    without_model = "model" not in vars(chart_values)
    model = chart_values.model.model_validate(given)
    assert repr(chart_values.defaults) == repr(model.model_dump(by_alias=True, exclude_none=True))
    assert fast == (
        serialize._ruamel_yaml(_commented_by_model(model), round_trip=True),
        _table_by_model(model),
        serialize.to_json(values.values_json_schema(chart_values.model)),
    )
    return without_model


def _built(spec: ChartSpec) -> tuple[values.ChartValues, dict[str, Any]]:
    """A spec's chart values, and what build gave them: what the values model validates."""
    given: list[dict[str, Any]] = []

    def keep(chart_given: dict[str, Any], **names: Any) -> values.ChartValues:
        given.append(chart_given)
        return values.chart_values(chart_given, **names)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(build_module, "chart_values", keep)
        chart = build(spec)
    return chart.values, given[0]


def test_the_default_chart_values_are_the_models():
    assert _written_as_the_model_writes(*_built(load_spec([]).spec))


def test_a_synthetic_chart_values_are_the_models(tmp_path: Path):
    spec = load_spec([synthetic_spec(12, tmp_path / "s.yaml")]).spec
    assert _written_as_the_model_writes(*_built(spec))


@settings(max_examples=40, deadline=None)
@given(spec=specs())
def test_generated_chart_values_are_the_models(spec: dict[str, Any]):
    assert _written_as_the_model_writes(*_built(ChartSpec.model_validate(spec)))


def test_a_render_builds_no_values_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    spec = synthetic_spec(12, tmp_path / "s.yaml")
    generate_from_files([spec])  # the pieces pydantic gives once per process
    created: list[str] = []
    create_model = values.create_model

    def counted(name: str, **kwargs: Any) -> type[BaseModel]:
        created.append(name)
        return create_model(name, **kwargs)

    monkeypatch.setattr(values, "create_model", counted)
    chart = generate_from_files([spec]).chart
    assert created == []
    assert "model" not in vars(chart.values)
    assert chart.values.model.model_fields["alerts"].annotation is not None
    assert len(created) == 12 * 3 + 4  # a class per alert, Alerts, Dashboards, Services, Values


# Names that pydantic writes apart: model classes of the values (an alert named so is renamed),
# BaseModel's own attributes, and keys whose children pydantic's sort leaves in order.
CLASS_NAMES = sorted(
    {
        *(
            name
            for name, item in vars(values).items()
            if isinstance(item, type) and issubclass(item, BaseModel)
        ),
        *("Values", "Services", "Alerts", "Dashboards", "Config", "BaseModel", "Placeholder"),
    }
)
FIELD_NAMES = ["default", "properties", "copy", "json", "schema", "validate", "title", "anyOf"]
# Names no model class, BaseModel attribute or sort exception starts like.
ORDINARY_NAMES = {
    "services": dns_label(12).map("s".__add__),
    "alerts": st.from_regex(r"\AZ[A-Za-z0-9]{0,10}\Z"),
    "params": st.from_regex(r"\Ax[a-zA-Z0-9]{0,8}\Z"),
}
ANY_NAMES = {
    "services": st.one_of(
        ORDINARY_NAMES["services"],
        st.sampled_from([*FIELD_NAMES[:6], "model-x", "model-fields", "1st"]),
    ),
    "alerts": st.one_of(st.from_regex(r"\A[A-Z][A-Za-z0-9]{0,10}\Z"), st.sampled_from(CLASS_NAMES)),
    "params": st.one_of(
        st.from_regex(r"\A[a-z][a-zA-Z0-9]{0,8}\Z"), st.sampled_from(FIELD_NAMES)
    ).filter(lambda name: name not in values.ALERT_SETTINGS),
}
DESCRIPTIONS = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        [
            str(values.ServiceValues.__doc__),  # pydantic drops a description equal to its def's
            str(values.DashboardValues.__doc__),
            "  indented\n    lines\n",  # a class docstring: pydantic cleans it
            "",
        ]
    ),
)
NUMBERS = st.one_of(st.integers(-(10**20), 10**20), st.floats(allow_nan=False))
SERVICE = values.ServiceValues(
    workload="Deployment",
    replicas=1,
    image=values.ImageValues(repository="team/api"),
    resources=TEST_RESOURCES,
    probes=values.ProbesValues(),
)


@st.composite
def named_values(
    draw: st.DrawFn, names: dict[str, st.SearchStrategy[str]]
) -> tuple[values.ChartValues, dict[str, Any]]:
    """Chart values of drawn services, alerts, parameters and dashboards, and their input."""
    service_names = names["services"]
    services = draw(st.dictionaries(service_names, DESCRIPTIONS, min_size=1, max_size=3))
    params = st.dictionaries(names["params"], NUMBERS, max_size=3)
    alerts = draw(st.dictionaries(names["alerts"], st.tuples(DESCRIPTIONS, params), max_size=4))
    dashboards = draw(st.none() | st.dictionaries(service_names, DESCRIPTIONS, min_size=1))
    given: dict[str, Any] = {
        "global": values.GlobalValues(imageRegistry="registry.example.com"),
        "services": dict.fromkeys(services, SERVICE),
        "alerts": {
            name: {"enabled": True, "severity": "warning", "for": "5m", **alert_params}
            for name, (_, alert_params) in alerts.items()
        },
        "tests": values.TestsValues(image=TEST_IMAGE, resources=TEST_RESOURCES),
    }
    if dashboards is not None:
        given["grafana"] = values.GrafanaValues(
            dashboards=values.GrafanaDashboardsValues(folder="demo")
        )
        given["dashboards"] = {name: values.DashboardValues() for name in dashboards}
    return values.chart_values(given, services, alerts, dashboards), given


@settings(max_examples=100, deadline=None)
@given(named_values(ORDINARY_NAMES))
def test_values_of_ordinary_names_are_written_directly_as_the_model_writes(
    drawn: tuple[values.ChartValues, dict[str, Any]],
):
    assert _written_as_the_model_writes(*drawn)


@pytest.mark.filterwarnings("ignore:Field name .* shadows an attribute")
@settings(max_examples=150, deadline=None)
@given(named_values(ANY_NAMES))
def test_values_of_any_names_are_the_models(drawn: tuple[values.ChartValues, dict[str, Any]]):
    _written_as_the_model_writes(*drawn)


@pytest.mark.filterwarnings("ignore:Field name .* shadows an attribute")
@pytest.mark.parametrize(
    ("services", "alerts", "dashboards"),
    [
        ({"api": ""}, {"ServiceValues": ("", {})}, None),
        ({"api": ""}, {"Values": ("", {})}, None),
        ({"api": ""}, {"Dashboards": ("", {})}, {"api": "API"}),
        ({"api": ""}, {"ApiDown": ("", {"properties": 1})}, None),
        ({"copy": ""}, {}, None),
        ({"api": ""}, {}, {"default": "Default"}),
    ],
    ids=[
        "alert-like-a-def",
        "alert-like-the-root",
        "alert-like-dashboards",
        "sorted-apart",
        "basemodel-attribute",
        "dashboard-sorted-apart",
    ],
)
def test_names_pydantic_writes_apart_take_its_path(
    services: dict[str, str],
    alerts: dict[str, tuple[str, dict[str, float | int]]],
    dashboards: dict[str, str] | None,
):
    chart_values = values.ChartValues({}, services, alerts, dashboards)
    values.values_schema(chart_values)
    assert "model" in vars(chart_values)


def test_an_alert_named_like_a_def_the_chart_lacks_is_written_directly():
    chart_values = values.ChartValues({}, {"api": ""}, {"Dashboards": ("", {})}, None)
    schema = serialize.to_json(values.values_schema(chart_values))
    assert "model" not in vars(chart_values)
    assert schema == serialize.to_json(values.values_json_schema(chart_values.model))


# Reading YAML: the direct reading (yaml_rs, after a pre-scan and a check of the data) is
# taken only where it reads what ruamel.yaml's node tree path reads, type for type.


def _typed(data: Any) -> Any:
    """Data with every scalar's type and repr: tells 1 from 1.0 and True, -0.0 from 0.0."""
    if isinstance(data, dict):
        return ("map", [(_typed(k), _typed(v)) for k, v in data.items()])
    if isinstance(data, list):
        return ("seq", [_typed(v) for v in data])
    return (type(data).__name__, repr(data))


def _reading(text: str) -> str:
    """How parse_yaml reads the text; a direct reading must equal the node tree's."""
    direct = unambiguous.read_unambiguous(text)
    if direct is None:
        return "node tree"
    expected = _parse_node_tree("t.yaml", text, "fix")
    assert direct[0] == expected
    assert _typed(direct[0]) == _typed(expected)
    return "direct"


def test_a_yaml_text_read_directly_reads_as_through_the_node_tree():
    readings: Counter[str] = Counter()

    @settings(
        max_examples=400,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(yaml_texts())
    def check(text: str) -> None:
        readings[_reading(text)] += 1

    check()
    assert readings["direct"] >= 40, readings  # the comparison is not a vacuous one


# Where a scalar goes: after a key, as a key, in sequences, in flow collections, after an
# anchor, on a line of its own, in a comment.
CONTEXTS = [
    "k: @\n",
    "@: v\n",
    "- @\n",
    "- k: @\n",
    "k:\n  @\n",
    "k: [@]\n",
    "k: [a, @]\n",
    "k: {a: @}\n",
    "k: {@: a}\n",
    "k: &x @\n",
    "k: @  # c\n",
    "@\n",
    "k: a\n# @\n",
]


@pytest.mark.parametrize("scalar", TRICKY_SCALARS + ODD_CHARACTERS)
def test_a_tricky_scalar_reads_alike_or_through_the_node_tree(scalar: str):
    for context in CONTEXTS:
        for written in (scalar, f"'{scalar}'", f'"{scalar}"', f"|-\n  {scalar}"):
            _reading(context.replace("@", written))


# What differential testing found yaml_rs 0.1.6 to read otherwise than the node tree path
# (libyaml, or ruamel.yaml's own parser where libyaml refuses): each takes the node tree path.
READ_APART = {
    "underscore first": "k: _1\n",
    "underscore in an exponent": "k: 1e_3\n",
    "upper-case base prefix": "k: 0X1F\n",
    "upper-case octal prefix": "k: 0O17\n",
    "upper-case binary prefix": "k: 0B11\n",
    "infinity in mixed case": "k: .iNf\n",
    "not a number (never equal)": "k: .nan\n",
    "a time": "k: 12:30:00\n",
    "an integer Python refuses to read": "k: " + "9" * 5000 + "\n",
    "the value key": "k: =\n",
    "a merge key": "k: &a {x: 1}\nj: {<<: *a}\n",
    "a merge key as text": "k: <<\n",
    "a recursive alias": "k: &a [*a]\n",
    "an unknown tag": "k: !foo x\n",
    "a YAML 1.1 directive": "%YAML 1.1\n---\nk: yes\n",
    "two documents": "k: 1\n---\nj: 2\n",
    "a lone document end": "...\n",
    "a byte order mark": "\ufeffk: 1\n",
    "a YAML 1.1 line break (NEL)": "k: a\x85b\n",
    "a control character": "k: \x7f\n",
    "a tab after a colon": "k:\ta\n",
    "a colon ending a flow scalar": "k: [a:]\n",
    "a colon ending a flow key": "k: {a:, b}\n",
    "an explicit key in a flow sequence": "k: [?a]\n",
    "an empty key in a flow sequence": "k: [: b]\n",
    "a flow mapping as a key": "k: {{a: b}: c}\n",
    "an empty block scalar at the end": "k: |\n",
    "a block scalar with no final line break": "k: |\n  a",
    "a nesting too deep for ruamel.yaml": "- " * 1000 + "a\n",
    "a nesting too deep, by indentation": "".join(" " * i + "k:\n" for i in range(1000)),
}


def _read(read: Any, text: str) -> Any:
    """What a reader makes of a text: (data, its types), or how it refuses it."""
    try:
        data = read(text)
    except Exception as err:  # the kind of refusal is the reading
        return f"refused: {type(err).__name__}"
    try:
        return data, _typed(data)
    except (RecursionError, ValueError):  # too deep to compare, or an int too long to write
        return "read"


@pytest.mark.parametrize("text", READ_APART.values(), ids=READ_APART.keys())
def test_texts_yaml_rs_reads_otherwise_take_the_node_tree(text: str):
    node_tree = _read(lambda t: _parse_node_tree("t.yaml", t, "fix"), text)
    assert _read(yaml_rs.loads, text) != node_tree
    assert unambiguous.read_unambiguous(text) is None


# Values YAML 1.1 and 1.2 read apart, and literal credentials: the node tree path reports
# them with their lines.
REFUSED = [
    "k: no\n",
    "k: On\n",
    "- y\n",
    "k: [n]\n",
    "k: {a: off}\n",
    "k: 0755\n",
    "k: 0o17\n",
    "k: 1:20\n",
    "k: &x yes\n",
    "env:\n- name: DB_PASSWORD\n  value: hunter2\n",
    "env:\n- {name: API_TOKEN, value: 12}\n",
    "db:\n  password: x\n",
    "apiKey: 1.5\n",
    "a:\n- b:\n    secretKey: s\n",
]


@pytest.mark.parametrize("text", REFUSED)
def test_what_hygiene_refuses_takes_the_node_tree(text: str):
    assert unambiguous.read_unambiguous(text) is None
    with pytest.raises(ChartgenError):
        parse_yaml("t.yaml", text)


# Credential-like names that hold no literal: read directly.
NOT_CREDENTIALS = [
    "password: ''\n",
    "password: true\n",
    "password: null\n",
    "password:\n",
    "password: {vault: db}\n",
    "env:\n- name: DB_PASSWORD\n  secret: {name: db, key: password}\n",
    "env:\n- name: DB_PASSWORD\n  value: ''\n",
    "env:\n- name: 12\n  value: x\n",
    "tokenFile: /var/run/token\n",
    "keys: [token, password]\n",
]


@pytest.mark.parametrize("text", NOT_CREDENTIALS)
def test_a_credential_name_without_a_literal_is_read_directly(text: str):
    assert _reading(text) == "direct"


NAMES = st.sampled_from(
    ["name", "value", "password", "dbPassword", "apiKey", "API_TOKEN", "secret", "keys", "env"]
)
CREDENTIAL_DATA = st.recursive(
    NAMES
    | st.sampled_from(["", "x", "DB_PASSWORD"])
    | st.integers()
    | st.floats(-9, 9)
    | st.booleans()
    | st.none(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NAMES, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.dictionaries(NAMES, CREDENTIAL_DATA, min_size=1, max_size=4))
def test_the_data_check_finds_a_credential_where_hygiene_does(data: dict[str, Any]):
    node = YAML(typ="safe").compose(serialize.to_yaml(data))
    problems = [p for p in document_problems(node, "f", "fix") if "in the clear" in p.what]
    assert unambiguous._needs_node_tree(data) == bool(problems)


def _real_inputs(tmp_path: Path) -> dict[str, str]:
    synthetic = synthetic_spec(20, tmp_path / "s.yaml")
    return {
        "embedded": embedded_spec_text(),
        **{p.name: p.read_text("utf-8") for p in sorted((ROOT / "values").glob("*.yaml"))},
        "synthetic": synthetic.read_text("utf-8"),
    }


@pytest.fixture(autouse=True)
def direct_reading_at_any_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests hold the direct reading to the node tree's on small texts too."""
    monkeypatch.setattr(load_module, "DIRECT_READING_SIZE", 0)


def test_only_large_texts_are_read_directly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(load_module, "DIRECT_READING_SIZE", DIRECT_READING_SIZE)
    read: list[str] = []
    direct = unambiguous.read_unambiguous

    def counted(text: str) -> Any:
        read.append(text)
        return direct(text)

    monkeypatch.setattr(unambiguous, "read_unambiguous", counted)
    small = embedded_spec_text()
    large = synthetic_spec(60, tmp_path / "s.yaml").read_text("utf-8")
    assert len(small) < DIRECT_READING_SIZE <= len(large)
    assert parse_yaml("small.yaml", small) == _parse_node_tree("small.yaml", small, "")
    assert parse_yaml("large.yaml", large) == _parse_node_tree("large.yaml", large, "")
    assert read == [large]
    assert direct(large) is not None


def test_the_real_inputs_are_read_directly_and_alike(tmp_path: Path):
    for name, text in _real_inputs(tmp_path).items():
        assert _reading(text) == "direct", name


@pytest.mark.parametrize(
    "path",
    [
        *sorted((ROOT / "tests" / "bad_specs").glob("*.yaml")),
        *sorted((ROOT / "tests" / "bad_values").glob("*.yaml")),
    ],
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_a_bad_file_reads_as_through_the_node_tree(path: Path, monkeypatch: pytest.MonkeyPatch):
    def outcome() -> Any:
        try:
            return _typed(parse_yaml(path.name, path.read_text("utf-8")))
        except ChartgenError as err:
            return [d.format() for d in err.diagnostics]

    either_way = outcome()
    monkeypatch.setattr("chartgen.unambiguous.read_unambiguous", lambda text: None)
    assert outcome() == either_way


def test_without_yaml_rs_every_text_takes_the_node_tree(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(unambiguous, "_rust_loads", None)
    assert unambiguous.read_unambiguous("k: v\n") is None
    assert parse_yaml("t.yaml", "k: v\n") == {"k": "v"}


def test_a_yaml_rs_failure_takes_the_node_tree(monkeypatch: pytest.MonkeyPatch):
    def fails(text: str) -> Any:
        raise RuntimeError("no")

    monkeypatch.setattr(unambiguous, "_rust_loads", fails)
    assert unambiguous.read_unambiguous("k: v\n") is None
    assert parse_yaml("t.yaml", "k: v\n") == {"k": "v"}


@pytest.mark.parametrize(("text", "data"), [("", {}), ("# nothing\n", {}), ("k: v\n", {"k": "v"})])
def test_an_empty_document_is_an_empty_mapping(text: str, data: Any):
    assert parse_yaml("t.yaml", text) == data


@pytest.mark.parametrize("text", ["- a\n", "a\n", "1\n"])
def test_a_document_not_a_mapping_is_refused_either_way(text: str):
    with pytest.raises(ChartgenError, match="must be a mapping"):
        parse_yaml("t.yaml", text)

"""The fast paths write and read exactly what ruamel.yaml does (emitter, parsers, node tree)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml_rs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from chartgen import serialize, unambiguous
from chartgen.errors import ChartgenError
from chartgen.generate import generate_from_files
from chartgen.hygiene import document_problems
from chartgen.load import _parse_node_tree, embedded_spec_text, parse_yaml

from .conftest import ROOT
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


def _compared_renders(monkeypatch: pytest.MonkeyPatch, spec: Path | None) -> tuple[int, int]:
    """Render with every fast YAML document checked against ruamel's; (fast, all) counts."""
    fast_yaml = serialize._fast_yaml
    counts = [0, 0]

    def checked(data: Any, out: Any) -> str:
        counts[1] += 1
        text = fast_yaml(data, out)
        assert text == serialize._ruamel_yaml(data, round_trip=out.round_trip)
        counts[0] += 1
        return text

    monkeypatch.setattr(serialize, "_fast_yaml", checked)
    generate_from_files([spec] if spec else [])
    return counts[0], counts[1]


def test_the_default_chart_yaml_is_the_ruamel_emitters(monkeypatch: pytest.MonkeyPatch):
    fast, documents = _compared_renders(monkeypatch, None)
    assert documents > 20
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
    checks: list[bool] = []
    writes_as_json = serialize._orjson_writes_as_json

    def counted(data: Any) -> bool:
        checks.append(writes_as_json(data))
        return checks[-1]

    monkeypatch.setattr(serialize, "_orjson_writes_as_json", counted)
    generate_from_files()
    assert len(checks) > 3
    assert all(checks)


def test_equal_scalars_of_other_types_keep_their_own_text():
    data = {"a": "0.9", "b": 0.9, "c": "0.9", "d": 1.0, "e": 1, "f": True, "g": -0.0, "h": 0.0}
    expected = "a: '0.9'\nb: 0.9\nc: '0.9'\nd: 1.0\ne: 1\nf: true\ng: -0.0\nh: 0.0\n"
    assert serialize.to_yaml(data) == serialize._ruamel_yaml(data) == expected


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
    monkeypatch.setattr("chartgen.load.read_unambiguous", lambda text: None)
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

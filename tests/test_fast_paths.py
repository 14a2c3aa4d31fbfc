"""The fast paths write and read exactly what ruamel.yaml's pure-Python emitter and parser do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from chartgen import serialize
from chartgen.generate import generate_from_files
from chartgen.hygiene import document_problems
from chartgen.load import embedded_spec_text

from .conftest import ROOT
from .test_interrupted_render import synthetic_spec

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


def test_a_long_quoted_key_is_an_explicit_key_as_ruamel_writes_it():
    data = {"&" + "a" * 140: {"x": 1}}
    assert serialize.to_yaml(data) == serialize._ruamel_yaml(data)

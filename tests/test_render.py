"""Render: one strict Jinja environment, Helm syntax untouched, same spec -> same bytes."""

from __future__ import annotations

import json

import jinja2
import pytest
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from chartgen.load.sources import HEADER
from chartgen.pipeline import generate_from_files
from chartgen.render import environment, render
from chartgen.render.serialize import helm_escape, yaml_quote

from .conftest import ROOT


class TextSnapshot(SingleFileSnapshotExtension):
    """One readable snapshot file per rendered chart file."""

    _write_mode = WriteMode.TEXT
    file_extension = "txt"


CHART_FILES = sorted(generate_from_files().files)
FILE_IDS = [path.replace("/", "--") for path in CHART_FILES]


def test_the_environment_is_strict_and_does_not_escape():
    env = environment()
    assert env.undefined is jinja2.StrictUndefined
    assert env.autoescape is False
    assert env.keep_trailing_newline is True
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("[[ missing ]]").render()
    assert env.from_string("{{ .Values.x }} [[ a ]]\n").render(a="<b>") == "{{ .Values.x }} <b>\n"


def test_the_environment_is_built_once():
    assert environment() is environment()


@pytest.mark.parametrize("path", CHART_FILES, ids=FILE_IDS)
def test_each_rendered_file_matches_its_snapshot(path, default_render, snapshot):
    assert default_render.files[path] == snapshot(extension_class=TextSnapshot)


@pytest.mark.parametrize("path", CHART_FILES, ids=FILE_IDS)
def test_every_file_says_it_is_generated_on_its_first_line(path, default_render):
    text = default_render.files[path]
    if path.endswith(".json"):
        assert json.loads(text)["$comment"] == HEADER
    else:
        assert HEADER in text.splitlines()[0]


def test_rendering_twice_gives_identical_bytes(default_render):
    assert generate_from_files().files == default_render.files
    assert render(default_render.chart) == default_render.files


def test_the_committed_chart_is_the_rendered_chart(default_render):
    chart = ROOT / "charts" / "vaultmesh"
    on_disk = {
        p.relative_to(chart).as_posix(): p.read_text("utf-8")
        for p in chart.rglob("*")
        if p.is_file()
    }
    assert on_disk == default_render.files


def test_one_file_set_per_service(default_render):
    for service in ("scheduler", "psi-field", "treaty"):
        assert {
            f"templates/{service}/workload.yaml",
            f"templates/{service}/service.yaml",
            f"templates/{service}/networkpolicy.yaml",
            f"templates/{service}/poddisruptionbudget.yaml",
            f"templates/{service}/serviceaccount.yaml",
            f"templates/tests/{service}-test.yaml",
        } <= set(default_render.files)


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("plain", "plain"),
        (
            "pod {{ $labels.pod }} at {{ $value }}",
            "pod {{`{{ $labels.pod }}`}} at {{`{{ $value }}`}}",
        ),
        ("lone {{ brace", 'lone {{ "{{" }} brace'),
        ("lone }} brace", 'lone {{ "}}" }} brace'),
        ("{{ `tick` }}", '{{ "{{" }} `tick` {{ "}}" }}'),
    ],
)
def test_helm_escape_makes_template_text_literal(text, escaped):
    assert helm_escape(text) == escaped


def test_yaml_quote_gives_a_double_quoted_scalar():
    assert yaml_quote('say "hi"\n') == '"say \\"hi\\"\\n"'

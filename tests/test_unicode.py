"""Any Unicode text in the spec's free-text fields: Helm reads the chart, and data comes back.

Helm reads YAML with go-yaml, which takes U+2028, U+2029, NEL and CR as line breaks and
refuses other control characters anywhere in a file, comments included. Each check reads
chartgen's output back with Helm's own reader (`fromYaml` in a scratch chart), not Python's.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chartgen.errors import ChartgenError
from chartgen.load import load_texts
from chartgen.pipeline import generate
from chartgen.render.serialize import KeyDocs, to_commented_yaml, to_json, to_yaml, yaml_quote
from chartgen.write import write_chart

from .specdata import dump_yaml, load_all, minimal_service, minimal_spec

Helm = Callable[..., subprocess.CompletedProcess[str]]

# Line breaks and controls YAML readers care about, and text YAML, Go templates and Helm do.
TRICKY = [
    *"\u2028\u2029\x85\r\n\t\x00\x01\x08\x0b\x0c\x1b\x1f\x7f\x80\x9f\xa0\u200b\ufeff\ufffe\uffff",
    *["\r\n", "\U0010ffff", "\U0001f600", "{{", "}}", "{{ .Values }}", "*/", "{{/*", "`"],
    *["'", '"', "\\", "# ", ": ", "- ", "---", "...", "&a", "*a", "!!str", "%", "|-", "> ", " "],
]
# Helm's toYaml (go-yaml's emitter) drops a value holding U+007F..U+009F, U+FFFE or U+FFFF
# (an empty string, silently) and writes U+0085 as a space: the probe command, which reaches
# the pod through values and toYaml, cannot carry them: chartgen refuses them there.
TO_YAML_LOSES = "".join(map(chr, range(0x7F, 0xA0))) + "\ufffe\uffff"


def any_text(exclude: str = "") -> st.SearchStrategy[str]:
    """Any characters but lone surrogates (no UTF-8 file holds one) and exclude; tricky often."""
    tokens = [token for token in TRICKY if not set(token) & set(exclude)]
    characters = st.characters(codec="utf-8", exclude_characters=exclude)
    return st.lists(st.sampled_from(tokens) | characters, min_size=1, max_size=10).map("".join)


FIELDS = (
    "chart_description appVersion keyword service_description env egress help unit"
    " summary description example board board_description tag row panel panel_description"
    " no_value legend"
).split()


def unicode_spec(text: dict[str, str]) -> dict[str, Any]:
    """A one-service spec with an alert and a dashboard, each free-text field given text."""
    family = {"name": "api_requests_total", "type": "counter", "help": text["help"]}
    service = minimal_service(
        description=text["service_description"],
        env=[{"name": "TEXT", "value": text["env"]}],
        probes={"liveness": {"exec": {"command": ["sh", text["command"]]}}},
        egress=[
            {"description": text["egress"], "cidr": "203.0.113.0/24", "ports": [{"port": 443}]}
        ],
        metrics={"port": "http", "families": [{**family, "unit": text["unit"]}]},
        recordingRules=[
            {
                "record": "api:requests:rate5m",
                "expr": "sum by (job) (rate(api_requests_total[5m]))",
                "labels": {"note": text["label"]},
            }
        ],
        alerts=[
            {
                "alert": "ApiBusy",
                "expr": "api:requests:rate5m > $threshold",
                "params": {"threshold": 1},
                "severity": "warning",
                "summary": text["summary"],
                "description": text["description"],
                "runbook": text["runbook"],
                "labels": {"team": text["label"]},
                "examples": [
                    {
                        "name": text["example"],
                        "series": [{"series": "api_requests_total", "values": "0+600x30"}],
                        "fires": [{"team": text["label"]}],
                    },
                    {
                        "name": "quiet",
                        "series": [{"series": "api_requests_total", "values": "0x30"}],
                    },
                ],
            }
        ],
    )
    panel = {
        "title": text["panel"],
        "description": text["panel_description"],
        "noValue": text["no_value"],
        "targets": [{"metric": "api:requests:rate5m", "legend": text["legend"]}],
    }
    spec = minimal_spec(
        service,
        description=text["chart_description"],
        appVersion=text["appVersion"],
        keywords=[text["keyword"]],
    )
    spec["dashboards"] = [
        {
            "name": "api",
            "title": text["board"],
            "description": text["board_description"],
            "tags": [text["tag"]],
            "rows": [{"title": text["row"], "panels": [panel]}],
        }
    ]
    return spec


def as_template(text: str) -> str:
    """Text as a Prometheus template that prints it: each {{ becomes {{`{{`}} (no spaces)."""
    return text.replace("{{", "{{`{{`}}")


@st.composite
def texts(draw: st.DrawFn) -> dict[str, str]:
    """Text for every free-text field; the runbook a URL of non-space characters."""
    drawn = {field: draw(any_text()) for field in FIELDS}
    drawn["command"] = draw(any_text(exclude=TO_YAML_LOSES))
    drawn["label"] = draw(any_text(exclude="${"))  # labels refuse templates: they identify alerts
    drawn["runbook"] = "https://runbooks.example.com/" + "".join(draw(any_text()).split())
    # Annotations are templates Prometheus must parse: any text, written as one.
    for field in ("summary", "description", "runbook"):
        drawn[field] = as_template(drawn[field])
    return drawn


# Every rendered document as Helm's YAML reader sees it, and each ConfigMap entry read as YAML
# (the rule files); base64 so that no text of them reaches helm's own output unescaped.
READER = """\
docs:
{{- range $doc := regexSplit "(?m)^---$" (.Files.Get "rendered.yaml") -1 }}
{{- $object := fromYaml $doc }}
{{- $data := dict }}
{{- range $key, $text := $object.data }}{{ $_ := set $data $key (fromYaml $text) }}{{ end }}
  - {{ dict "object" $object "data" $data | toJson | b64enc | quote }}
{{- end }}
"""


def read_by_helm(helm: Helm, chart: Path, files: dict[str, str], template: str) -> Any:
    """What a scratch chart of the given files and one template renders, as JSON data."""
    (chart / "templates").mkdir(exist_ok=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: reader\nversion: 0.1.0\n")
    for name, text in files.items():
        (chart / name).write_text(text, encoding="utf-8")
    (chart / "templates" / "read.yaml").write_text(template)
    result = helm("template", "reader", chart)
    assert result.returncode == 0, result.stderr
    [read] = load_all(result.stdout)
    return read


@given(text=texts())
@settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_any_text_in_any_free_text_field_renders_a_chart_helm_reads_back(
    text, helm, tmp_path_factory
):
    loaded = load_texts([("spec.yaml", dump_yaml(unicode_spec(text)))])
    generated = generate(loaded.spec, loaded.sources.locate)
    chart = tmp_path_factory.mktemp("chart") / "demo"
    write_chart(generated.files, chart)
    rendered = helm("template", "release", chart)
    assert rendered.returncode == 0, rendered.stderr

    reader = tmp_path_factory.mktemp("reader")
    wrapped = read_by_helm(helm, reader, {"rendered.yaml": rendered.stdout}, READER)
    docs = [json.loads(base64.b64decode(doc)) for doc in wrapped["docs"]]
    assert all("Error" not in data for d in docs for data in [d["object"], *d["data"].values()])
    by_kind = {d["object"]["kind"]: d for d in docs if d["object"]}

    container = by_kind["Deployment"]["object"]["spec"]["template"]["spec"]["containers"][0]
    assert container["env"] == [{"name": "TEXT", "value": text["env"]}]
    assert container["livenessProbe"]["exec"]["command"] == ["sh", text["command"]]

    [rules, board] = [d for d in docs if d["object"].get("kind") == "ConfigMap"]
    [[recording], [alert]] = [g["rules"] for g in rules["data"]["api.rules.yaml"]["groups"]]
    assert recording["labels"] == {"note": text["label"]}
    assert alert["labels"] == {"team": text["label"], "severity": "warning"}
    assert alert["annotations"] == {
        "summary": text["summary"],
        "description": text["description"],
        "runbook_url": text["runbook"],
    }

    [view] = generated.chart.dashboards
    assert board["object"]["data"]["api.json"] == view.text.removesuffix("\n")
    dashboard = json.loads(board["object"]["data"]["api.json"])
    [row, panel] = dashboard["panels"]
    assert (dashboard["title"], dashboard["description"], dashboard["tags"]) == (
        text["board"],
        text["board_description"],
        [text["tag"]],
    )
    assert (row["title"], panel["title"], panel["description"]) == (
        text["row"],
        text["panel"],
        text["panel_description"],
    )
    assert panel["fieldConfig"]["defaults"]["noValue"] == text["no_value"]
    assert panel["targets"][0]["legendFormat"] == text["legend"]


# Every character a str in a UTF-8 file can hold: the whole BMP but surrogates, and a sample
# of the planes above it.
EVERY = "".join(
    chr(c) for c in [*range(0xD800), *range(0xE000, 0x10000), *range(0x10000, 0x110000, 97)]
)
# Helm reads each serializer's text as chartgen places it: values.yaml (a value and its
# comment), a quoted scalar in a template, YAML files, and JSON embedded in a ConfigMap.
EVERY_READER = """\
{{- $json := printf "j: |-%s" (.Files.Get "data.json" | trimSuffix "\\n" | nindent 2) }}
values: {{ .Values.text | b64enc | quote }}
quoted: {{ (include "quoted" . | fromYaml).q | b64enc | quote }}
yaml: {{ (.Files.Get "data.yaml" | fromYaml).t | b64enc | quote }}
lines: {{ (.Files.Get "data.yaml" | fromYaml).lines | b64enc | quote }}
json: {{ (fromYaml $json).j | fromJson | dig "t" "" | b64enc | quote }}
"""


def test_every_character_reaches_helm_through_every_serializer(helm, tmp_path):
    (tmp_path / "templates").mkdir()
    quoted = '{{- define "quoted" }}q: ' + yaml_quote(EVERY) + "\n{{- end }}\n"
    (tmp_path / "templates" / "_quoted.tpl").write_text(quoted, encoding="utf-8")
    files = {
        "values.yaml": to_commented_yaml({"text": EVERY}, KeyDocs({"text": EVERY}, {})),
        "data.yaml": to_yaml({"t": EVERY, "lines": "a\nb\u2028c\n"}),
        "data.json": to_json({"t": EVERY}),
    }
    read = {
        key: base64.b64decode(value).decode()
        for key, value in read_by_helm(helm, tmp_path, files, EVERY_READER).items()
    }
    assert read == {
        "values": EVERY,
        "quoted": EVERY,
        "yaml": EVERY,
        "lines": "a\nb\u2028c\n",
        "json": EVERY,
    }


def test_a_lone_surrogate_in_a_spec_file_is_refused_where_it_is_written():
    text = dump_yaml(minimal_spec(description="Demo\x01")).replace("\\x01", "\\ud800")
    with pytest.raises(ChartgenError) as caught:
        load_texts([("spec.yaml", text)])
    [diagnostic] = caught.value.diagnostics
    assert (diagnostic.where.file, diagnostic.where.line) == ("spec.yaml", 5)
    assert "escape" in diagnostic.what


def test_a_probe_command_helm_cannot_carry_is_refused_where_it_is_written():
    service = minimal_service(probes={"liveness": {"exec": {"command": ["sh", "a\x7fb"]}}})
    with pytest.raises(ChartgenError) as caught:
        load_texts([("spec.yaml", dump_yaml(minimal_spec(service)))])
    [diagnostic] = caught.value.diagnostics
    assert diagnostic.where.file == "spec.yaml"
    assert diagnostic.where.path == "services[0].probes.liveness.exec.command[1]"

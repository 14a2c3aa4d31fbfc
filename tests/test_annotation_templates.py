"""Alert annotations are Go templates: chartgen refuses what promtool refuses, and only that."""

from __future__ import annotations

import copy
import json
import random
import re
import subprocess
from pathlib import Path

import pytest

from chartgen.checks.spec import check_spec
from chartgen.errors import Location, format_loc
from chartgen.monitoring import templates
from chartgen.monitoring.series import catalog
from chartgen.pipeline import generate_from_files
from chartgen.spec import ChartSpec
from chartgen.write import write_chart

from .conftest import find_tool
from .rulefiles import rule_files
from .specdata import dump_yaml, load_all, minimal_service, minimal_spec

ALERT = {
    "alert": "QueueDeep",
    "expr": "api_queue_depth > $limit",
    "params": {"limit": 10},
    "severity": "warning",
    "summary": "Queue is deep on {{ $labels.pod }}",
    "description": "The queue holds {{ $value }} requests.",
    "runbook": "https://runbooks.example.com/QueueDeep",
    "examples": [
        {
            "name": "deep queue fires",
            "series": [{"series": 'api_queue_depth{job="api", pod="a"}', "values": "50x20"}],
            "fires": [{"pod": "a"}],
        },
        {
            "name": "short queue is quiet",
            "series": [{"series": 'api_queue_depth{job="api", pod="a"}', "values": "1x20"}],
        },
    ],
}
FAMILIES = [{"name": "api_queue_depth", "type": "gauge", "help": "Requests waiting."}]

#: Templates Prometheus loads, many looking like mistakes: chartgen must accept each.
VALID = {
    "a label": "Queue is deep on {{ $labels.pod }}",
    "a piped value": "{{ $value | humanizePercentage }}",
    "a query": '{{ with query "up" }}{{ . | first | value }}{{ end }}',
    "trim markers": "{{- if gt $value 1.0 -}}x{{- end }}",
    "braces in a printf string": '{{ printf "%s }} {{ x" $labels.pod }}',
    "braces in a raw string": "{{ printf `}}` }}",
    "a comment": "{{/* why this fires */}}Queue deep",
    "a trimmed comment": "x {{- /* note */ -}} y",
    "a stray closing pair": "x }} y",
    "literal braces, as the fix for an unclosed action says": 'write {{ "{{" }} and }}',
    "literal braces in a raw string": "write {{`{{`}}",
    "a range with break": '{{ range $i, $s := query "up" }}{{ $i }}{{ break }}{{ end }}',
    "else if": "{{ if gt $value 1.0 }}a{{ else if lt $value 0.5 }}b{{ else }}c{{ end }}",
    "a declared variable": '{{ $pod := $labels.pod }}{{ $pod | printf "%q" }}',
    "a multi-line raw string": "{{ printf `two\nlines` }}",
    "an action over lines": '{{ printf "%s"\n  $labels.pod }}',
    "external labels and URL": "{{ $externalLabels.dc }} {{ $externalURL }} {{ $.Labels.pod }}",
    "a define and its template": '{{ define "p" }}{{ .Labels.pod }}{{ end }}{{ template "p" . }}',
    "a template never defined": '{{ template "nosuch" . }}',
    "nil as a value": "{{ nil }}",
    "numbers": "{{ 0x1F }} {{ 1e3 }} {{ .5 }} {{ -3 }} {{ 'a' }} {{ 1_000 }} {{ 1+2i }}",
    "parentheses": '{{ printf "%d" (len $labels) }}',
    "a pipe into a variable": "{{ $value | $labels }}",
    "an empty redefinition": '{{ define "a" }} {{/* - */}} {{ end }}{{ define "a" }}y{{ end }}',
}
#: Templates promtool refuses: chartgen must refuse each, with what and how to fix.
INVALID = {
    "an unclosed action": "Queue deep on {{ $labels.pod",
    "a single closing brace": "Queue deep on {{ $labels.pod }",
    "an unclosed comment": "{{/* never closed",
    "a comment not touching the braces": "{{/* note */ }}",
    "an unknown function": "{{ $value | humanise }}",
    "a Sprig function": '{{ $labels.pod | default "none" }}',
    "an undefined variable": "{{ $labls.pod }}",
    "a variable used after its block": "{{ if true }}{{ $x := 1 }}{{ end }}{{ $x }}",
    "an alert variable inside define": '{{ define "p" }}{{ $labels.pod }}{{ end }}',
    "a stray end": "Queue deep {{ end }}",
    "a stray else": "{{ else }}",
    "an unbalanced if": "{{ if gt $value 1.0 }}very deep",
    "an unbalanced range": '{{ range query "up" }}x',
    "two elses": "{{ if true }}a{{ else }}b{{ else }}c{{ end }}",
    "else with, before Go 1.23": "{{ with $value }}a{{ else with $value }}b{{ end }}",
    "break outside range": "{{ if true }}{{ break }}{{ end }}",
    "an empty action": "{{ }}",
    "an empty if": "{{ if }}x{{ end }}",
    "a constant after a pipe": '{{ $value | "x" }}',
    "an unterminated string": '{{ printf "%s }}',
    "an unterminated raw string": "{{ printf `%s }}",
    "a string over lines": '{{ printf "a\nb" }}',
    "an unknown escape": '{{ printf "a\\qb" }}',
    "a long character constant": "{{ printf 'ab' }}",
    "a hyphen in a field": "{{ $labels.pod-name }}",
    "a missing space": '{{ printf"x" }}',
    "an unclosed parenthesis": "{{ (len $labels }}",
    "a stray parenthesis": "{{ len $labels) }}",
    "a bad number": "{{ 09 }}",
    "an out of range number": "{{ 99999999999999999999 }}",
    "a float beyond a float64": "{{ gt $value 1e400 }}",
    "a field of a literal": '{{ "x".y }}',
    "define inside if": '{{ if true }}{{ define "a" }}x{{ end }}{{ end }}',
    "a template name not quoted": "{{ template nosuch }}",
    "a block without a value": '{{ block "b" }}x{{ end }}',
    "two definitions": '{{ define "a" }}x{{ end }}{{ define "a" }}y{{ end }}',
    "the alert's own template name": '{{ define "__alert_QueueDeep" }}x{{ end }}',
    "a character Go does not know": "{{ € }}",
}


def promtool_accepts(text: str, directory: Path) -> tuple[bool, str]:
    """Whether promtool check rules loads a rule file whose alert has text as its summary."""
    rule = {"alert": ALERT["alert"], "expr": "vector(1)", "labels": {"severity": "warning"}}
    group = {"name": "g", "rules": [{**rule, "annotations": {"summary": text}}]}
    path = directory / "rules.yaml"
    path.write_text(json.dumps({"groups": [group]}))
    result = subprocess.run(
        [find_tool("promtool"), "check", "rules", path], capture_output=True, text=True
    )
    return result.returncode == 0, result.stdout + result.stderr


def service(**alert: str) -> dict:
    return minimal_service(
        metrics={"port": "http", "families": FAMILIES}, alerts=[{**ALERT, **alert}]
    )


def diagnostics(**alert: str) -> dict[str, tuple[str, str]]:
    """chartgen's checks on a spec with the alert changed: {spec path: (what, fix)}."""
    spec = ChartSpec.model_validate(minimal_spec(service(**alert)))
    found = check_spec(spec, catalog(spec), lambda loc: Location(path=format_loc(loc)))
    return {d.where.path: (d.what, d.fix) for d in found}


@pytest.mark.parametrize(
    ("text", "loads"),
    [pytest.param(text, True, id=name) for name, text in VALID.items()]
    + [pytest.param(text, False, id=name) for name, text in INVALID.items()],
)
def test_chartgen_accepts_an_annotation_exactly_when_promtool_does(text, loads, tmp_path):
    accepted, output = promtool_accepts(text, tmp_path)
    assert accepted == loads, output
    field = "description" if "\n" in text else "summary"  # a summary is one line
    found = diagnostics(**{field: text})
    assert (f"services[0].alerts[0].{field}" not in found) == loads, found
    if not loads:
        what, fix = found[f"services[0].alerts[0].{field}"]
        assert what.startswith(f"Prometheus cannot parse the {field} as a template: ")
        assert fix


def mutants(count: int, seed: int) -> list[str]:
    """Templates of the tables with one to three random edits of template syntax each."""
    rng = random.Random(seed)
    bases = [*VALID.values(), *INVALID.values()]
    pieces = [*"{}()$.|:=,\"'`- \n/*\\_019aex", "{{", "}}", "{{- ", " -}}", " end ", "if "]
    pieces += ["$labels", "else", "range", ":=", "define", "break", "nil", "1e", "0x", "/*", "*/"]
    found = set()
    while len(found) < count:
        text = rng.choice(bases)
        for _ in range(rng.randint(1, 3)):
            at = rng.randint(0, len(text))
            if rng.random() < 0.5:
                text = text[:at] + rng.choice(pieces) + text[at:]
            else:
                text = text[:at] + text[at + rng.randint(1, 3) :]
        found.add(text)
    return sorted(found)


def test_mutated_templates_get_the_same_verdict_from_chartgen_and_promtool(tmp_path):
    texts = mutants(1000, seed=7)
    rules = [
        {"alert": f"A{n}", "expr": "vector(1)", "annotations": {"summary": text}}
        for n, text in enumerate(texts)
    ]
    path = tmp_path / "rules.yaml"
    path.write_text(json.dumps({"groups": [{"name": "g", "rules": rules}]}))
    result = subprocess.run(
        [find_tool("promtool"), "check", "rules", path], capture_output=True, text=True
    )
    refused = {int(n) for n in re.findall(r'"A(\d+)": annotation "summary"', result.stderr)}
    assert 100 < len(refused) < 900, result.stderr[-2000:]  # both verdicts are well represented
    disagree = [
        (text, problem)
        for n, text in enumerate(texts)
        if ((problem := templates.problem(text, f"A{n}")) is None) != (n not in refused)
    ]
    assert disagree == []


def test_every_function_chartgen_knows_is_one_promtool_knows(tmp_path):
    calls = "".join(
        f"{{{{ if false }}}}{{{{ {name} }}}}{{{{ end }}}}" for name in templates.FUNCTIONS
    )
    accepted, output = promtool_accepts(calls, tmp_path)
    assert accepted, output
    assert {"humanize", "query", "printf", "reReplaceAll", "toUpper"} < templates.FUNCTIONS


@pytest.mark.parametrize("name", ["tmpl", "now", "toDuration", "quote", "trimSuffix", "humanise"])
def test_a_function_prometheus_lacks_is_refused_by_both(name, tmp_path):
    text = f"{{{{ if false }}}}{{{{ {name} }}}}{{{{ end }}}}"
    assert not promtool_accepts(text, tmp_path)[0]
    assert templates.problem(text, "A") is not None


def test_a_misspelt_function_or_variable_gets_the_closest_name_as_its_fix():
    assert "did you mean 'humanize'?" in templates.problem("{{ $value | humanise }}", "A").fix
    assert "did you mean $labels?" in templates.problem("{{ $label.pod }}", "A").fix


def test_an_unclosed_block_names_the_block_to_close():
    problem = templates.problem('{{ range query "up" }}{{ with . }}x{{ end }}', "A")
    assert problem.what.startswith("{{ range }} is never closed")
    assert problem.fix == "close the {{ range }} with {{ end }}"


def test_the_description_and_runbook_are_checked_where_they_are_written():
    found = diagnostics(
        description="{{ if gt $value 1.0 }}deep", runbook="https://r.example.com/{{$labels.pod"
    )
    assert found["services[0].alerts[0].description"][0].endswith(
        "the template ends before its {{ end }}"
    )
    assert "unclosed action" in found["services[0].alerts[0].runbook"][0]


def test_accepted_templates_reach_prometheus_verbatim_through_helm(helm, tmp_path):
    """The Helm path (helm_escape, helm template) delivers each template as written."""
    texts = list(VALID.values())
    alerts = []
    for number, text in enumerate(texts):
        alert = copy.deepcopy(ALERT)
        alerts.append({**alert, "alert": f"QueueDeep{number}", "summary": text.replace("\n", " ")})
        alerts[-1]["description"] = text
    spec = tmp_path / "spec.yaml"
    data = minimal_spec(
        minimal_service(metrics={"port": "http", "families": FAMILIES}, alerts=alerts)
    )
    spec.write_text(dump_yaml(data))
    out = tmp_path / "demo"
    write_chart(generate_from_files([spec]).files, out)
    result = helm("template", "demo", out)
    assert result.returncode == 0, result.stderr
    [text] = rule_files(result.stdout).values()
    rules = [r for g in load_all(text)[0]["groups"] for r in g["rules"] if "alert" in r]
    assert [r["annotations"]["description"] for r in rules] == texts
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    checked = subprocess.run(
        [find_tool("promtool"), "check", "rules", path], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(texts)} rules found" in checked.stdout

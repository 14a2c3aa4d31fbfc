"""A chart's promtool rule tests with the rule files they load, as `helm template` renders them."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from chartgen.errors import ChartgenError
from chartgen.monitoring import slos
from chartgen.render import RULE_TESTS_DIR, SLO_TESTS
from chartgen.render.serialize import to_yaml
from chartgen.spec import ChartSpec

HELM_INSTALL = "install helm: https://helm.sh/docs/intro/install/"
#: An SLO test's name: "slo <sloth_id> (<objective>%): what it shows".
SLO_TEST_NAME = re.compile(r"^slo (?P<id>\S+) \((?P<objective>[^%]+)%\): ")


def rule_test_files(
    chart: Path, values_files: Sequence[Path], spec: Callable[[], ChartSpec]
) -> dict[str, str]:
    """The chart's rule tests and each rule file they load, by file name, for one directory.

    The rule files are the data of the ConfigMaps `helm template` renders from the chart
    with these values files, byte for byte; the tests name them in their `rule_files`. The
    SLO tests of SLOs those values switch off are left out; those of an SLO whose objective
    they change are generated again for it, from ``spec`` (the spec the chart came from).
    """
    tests = sorted((chart / RULE_TESTS_DIR).glob("*.test.yaml"))
    if not tests:
        raise ChartgenError.single(
            f"{chart / RULE_TESTS_DIR} holds no *.test.yaml",
            fix="give the directory of a chart chartgen rendered (helm package leaves it out)",
        )
    texts = {path.name: path.read_text(encoding="utf-8") for path in tests}
    wanted = list(dict.fromkeys(n for p in tests for n in rule_file_names(p, texts[p.name])))
    rule_files = configmap_files(helm_template(chart, values_files), wanted)
    if SLO_TESTS in texts:
        shipped = slo_objectives(rule_files.values())
        document = _load(SLO_TESTS, texts[SLO_TESTS])
        document["tests"] = slo_tests(document["tests"], shipped, spec)
        if document["tests"]:
            texts[SLO_TESTS] = texts[SLO_TESTS].partition("\n")[0] + "\n" + to_yaml(document)
        else:
            del texts[SLO_TESTS]
    return {**rule_files, **texts}


def slo_objectives(rule_texts: Iterable[str]) -> dict[str, str]:
    """The objective of each SLO the rule files ship, by sloth_id, as sloth_slo_info holds it."""
    found = {}
    for text in rule_texts:
        for group in _load("a rule file", text).get("groups") or []:
            for rule in group.get("rules") or []:
                if rule.get("record") == "sloth_slo_info":
                    labels = rule.get("labels", {})
                    found[labels["sloth_id"]] = str(labels["sloth_objective"])
    return found


def slo_tests(
    tests: list[dict[str, Any]], shipped: dict[str, str], spec: Callable[[], ChartSpec]
) -> list[dict[str, Any]]:
    """The chart's SLO tests of the SLOs shipped, each for the objective it ships with."""
    kept: list[dict[str, Any]] = []
    changed: dict[str, str] = {}
    for test in tests:
        match = SLO_TEST_NAME.match(test["name"])
        if match is None or match["id"] not in shipped:
            continue
        if shipped[match["id"]] == match["objective"]:
            kept.append(test)
        else:
            changed[match["id"]] = shipped[match["id"]]
    if not changed:
        return kept
    by_id = {slos.slo_id(s, o): (s, o) for s, o in slos.all_slos(spec().services)}
    for slo_id, objective in changed.items():
        if slo_id not in by_id:
            raise ChartgenError.single(
                f"the values change SLO {slo_id}'s objective to {objective}%, and the spec "
                "has no such SLO to generate its tests again",
                fix="give the spec the chart was rendered from with --spec",
            )
        service, slo = by_id[slo_id]
        number = float(objective) if "." in objective else int(objective)
        kept += slos.simulation_tests(service, slo.model_copy(update={"objective": number}))
    return kept


def rule_file_names(path: Path, text: str) -> list[str]:
    """The rule files a promtool test file loads."""
    names = _load(str(path), text).get("rule_files")
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise ChartgenError.single(f"{path} has no rule_files list", fix="render the chart again")
    return names


def helm_template(chart: Path, values_files: Sequence[Path]) -> str:
    """The manifests `helm template` renders from the chart, released under the chart's name."""
    helm = shutil.which("helm")
    if helm is None:
        raise ChartgenError.single("helm is not on PATH", fix=HELM_INSTALL)
    release = chart_name(chart)
    values_args = [arg for path in values_files for arg in ("-f", str(path))]
    command = [helm, "template", release, str(chart), *values_args]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        what = f"helm template {chart} failed: {' '.join(result.stderr.split())}"
        raise ChartgenError.single(what, fix="fix the chart or the values files")
    return result.stdout


def chart_name(chart: Path) -> str:
    """The name in a chart's Chart.yaml."""
    path = chart / "Chart.yaml"
    try:
        name = _load(str(path), path.read_text(encoding="utf-8")).get("name")
    except FileNotFoundError:
        name = None
    if not isinstance(name, str) or not name:
        raise ChartgenError.single(f"{path} names no chart", fix="give a chart directory")
    return name


def configmap_files(manifests: str, names: Sequence[str]) -> dict[str, str]:
    """The named files among the data of the ConfigMaps in a manifest stream, in that order."""
    found: dict[str, str] = {}
    for document in YAML(typ="safe").load_all(manifests):
        if isinstance(document, dict) and document.get("kind") == "ConfigMap":
            data = document.get("data") or {}
            found.update((key, text) for key, text in data.items() if key in names)
    missing = [name for name in names if name not in found]
    if missing:
        raise ChartgenError.single(
            f"helm template renders no ConfigMap holding {', '.join(missing)}",
            fix="the test loads every rule file: keep rules.configMap.enabled and the services on",
        )
    return {name: found[name] for name in names}


def _load(where: str, text: str) -> dict[str, Any]:
    """A YAML mapping; anything else is an error naming the file."""
    try:
        document = YAML(typ="safe").load(text)
    except YAMLError as err:
        raise ChartgenError.single(f"{where} is not YAML: {err}") from None
    if not isinstance(document, dict):
        raise ChartgenError.single(f"{where} is not a YAML mapping")
    return document

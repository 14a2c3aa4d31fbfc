"""A chart's promtool rule test with the rule files it loads, as `helm template` renders them."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from chartgen.errors import ChartgenError
from chartgen.render import RULE_TESTS

HELM_INSTALL = "install helm: https://helm.sh/docs/intro/install/"
#: The name of the test file, in the chart and in the directory written for promtool.
TEST_FILE = PurePosixPath(RULE_TESTS).name


def rule_test_files(chart: Path, values_files: Sequence[Path]) -> dict[str, str]:
    """The chart's rule test and each rule file it loads, by file name, for one directory.

    The rule files are the data of the ConfigMaps `helm template` renders from the chart
    with these values files, byte for byte; the test names them in its `rule_files`.
    """
    test_path = chart / RULE_TESTS
    if not test_path.is_file():
        raise ChartgenError.single(
            f"{test_path} does not exist",
            fix="give the directory of a chart chartgen rendered (helm package leaves it out)",
        )
    test_text = test_path.read_text(encoding="utf-8")
    wanted = rule_file_names(test_path, test_text)
    manifests = helm_template(chart, values_files)
    return {**configmap_files(manifests, wanted), TEST_FILE: test_text}


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

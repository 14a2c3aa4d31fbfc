"""Extract the Prometheus rule files a `helm template` run ships, to test them with promtool."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from .specdata import dump_yaml, load_all


def rule_files(manifests: str) -> dict[str, str]:
    """The rule files in the rules ConfigMaps of a manifest stream, by file name."""
    files: dict[str, str] = {}
    for doc in load_all(manifests):
        if doc.get("kind") == "ConfigMap" and doc["metadata"]["name"].endswith("-rules"):
            files.update(doc["data"])
    return files


def without_annotations(text: str) -> str:
    """A rule file with alert annotations removed.

    promtool 2.42 compares annotations exactly when a test gives none; the examples state
    labels only, and the annotations are checked verbatim by the real-Prometheus tests.
    """
    document: dict[str, Any] = YAML(typ="safe").load(text)
    for group in document["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    return dump_yaml(document)


def write_rule_files(files: dict[str, str], directory: Path) -> list[Path]:
    """Write rule files into a directory; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in files.items():
        path = directory / name
        path.write_text(text)
        paths.append(path)
    return paths

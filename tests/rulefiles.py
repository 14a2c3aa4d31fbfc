"""Extract the Prometheus rule files a `helm template` run ships, to test them with promtool."""

from __future__ import annotations

from pathlib import Path

from .specdata import load_all


def rule_files(manifests: str) -> dict[str, str]:
    """The rule files in the rules ConfigMaps of a manifest stream, by file name."""
    files: dict[str, str] = {}
    for doc in load_all(manifests):
        if doc.get("kind") == "ConfigMap" and doc["metadata"]["name"].endswith("-rules"):
            files.update(doc["data"])
    return files


def write_rule_files(files: dict[str, str], directory: Path) -> list[Path]:
    """Write rule files into a directory; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in files.items():
        path = directory / name
        path.write_text(text)
        paths.append(path)
    return paths

"""Small spec builders and YAML helpers for tests."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML


def load_all(text: str) -> list[Any]:
    """Every non-empty YAML document in a stream."""
    return [doc for doc in YAML(typ="safe").load_all(text) if doc is not None]


def minimal_service(name: str = "api", **overrides: Any) -> dict[str, Any]:
    """A small valid service as spec data."""
    service: dict[str, Any] = {
        "name": name,
        "image": {"repository": f"team/{name}", "tag": "v1"},
        "ports": [{"name": "http", "port": 8080}],
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}},
        "metrics": {"port": "http"},
    }
    service.update(overrides)
    return service


def minimal_spec(*services: dict[str, Any], **chart: Any) -> dict[str, Any]:
    """A small valid spec as data: one chart and the given services (one 'api' if none)."""
    meta = {
        "name": "demo",
        "version": "1.2.3",
        "appVersion": "v1",
        "description": "Demo platform",
        "imageRegistry": "registry.example.com",
        **chart,
    }
    return {"chart": meta, "services": list(services) or [minimal_service()]}


def dump_yaml(data: Any) -> str:
    """Block-style YAML of data in insertion order, for writing spec files in tests."""
    stream = StringIO()
    yaml = YAML(typ="safe")
    yaml.default_flow_style = False
    yaml.representer.sort_base_mapping_type_on_output = False
    yaml.dump(data, stream)
    return stream.getvalue()


def read_tree(directory: Path) -> dict[str, bytes]:
    """Every file under a directory, by relative path, with its bytes."""
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }

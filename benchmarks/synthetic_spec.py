"""Write a deterministic chartgen spec of N synthetic services, for benchmarks."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

CHART_NAME = "synthetic"
LEVELS = ("debug", "info", "warn")


def service_name(index: int) -> str:
    """The DNS-1035 name of service ``index``: svc-0001, svc-0002, ..."""
    return f"svc-{index:04d}"


def http_probe(path: str, port: str, period: int) -> dict[str, Any]:
    """An HTTP probe on a declared port."""
    return {"http": {"path": path, "port": port}, "periodSeconds": period}


def synthetic_service(index: int) -> dict[str, Any]:
    """Service ``index`` (1-based), varied deterministically by its index."""
    name = service_name(index)
    size = 1 + index % 4
    ports = [{"name": "http", "port": 8080}]
    if index % 2 == 0:
        ports.append({"name": "metrics", "port": 9090})
    scrape_port = ports[-1]["name"]
    return {
        "name": name,
        "description": f"Synthetic benchmark service number {index}.",
        "image": {"repository": f"synthetic/{name}", "tag": f"v1.{index % 10}.0"},
        "stateful": index % 5 == 0,
        "replicas": 1 + index % 3,
        "ports": ports,
        "resources": {
            "requests": {"cpu": f"{50 * size}m", "memory": f"{64 * size}Mi"},
            "limits": {"cpu": f"{100 * size}m", "memory": f"{128 * size}Mi"},
        },
        "env": [
            {"name": "LOG_LEVEL", "value": LEVELS[index % len(LEVELS)]},
            {
                "name": "API_TOKEN",
                "secret": {"name": f"{CHART_NAME}-{name}", "key": "token", "optional": True},
            },
        ],
        "probes": {
            "liveness": http_probe("/health", "http", 20),
            "readiness": http_probe("/ready", "http", 10),
        },
        "metrics": {"port": scrape_port, "path": "/metrics"},
    }


def synthetic_spec(n: int) -> dict[str, Any]:
    """A whole spec of ``n`` synthetic services under the chart ``synthetic``."""
    return {
        "chart": {
            "name": CHART_NAME,
            "version": "0.1.0",
            "appVersion": "1.0.0",
            "description": f"Synthetic chart of {n} services for chartgen benchmarks",
            "imageRegistry": "registry.example.com",
            "keywords": ["synthetic", "benchmark"],
        },
        "services": [synthetic_service(index) for index in range(1, n + 1)],
    }


def write_spec(n: int, path: Path) -> None:
    """Write the spec of ``n`` services to ``path`` as YAML."""
    yaml = YAML(typ="rt", pure=True)
    yaml.default_flow_style = False
    with path.open("w", encoding="utf-8") as stream:
        yaml.dump(synthetic_spec(n), stream)


def main(argv: list[str] | None = None) -> None:
    """``python benchmarks/synthetic_spec.py N OUT.yaml``."""
    match sys.argv[1:] if argv is None else argv:
        case [count, out] if count.isdigit() and int(count) >= 1:
            write_spec(int(count), Path(out))
        case _:
            sys.exit("usage: python benchmarks/synthetic_spec.py N OUT.yaml  (N >= 1)")


if __name__ == "__main__":
    main()

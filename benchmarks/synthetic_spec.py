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


def synthetic_service(index: int, *, with_slo: bool = False) -> dict[str, Any]:
    """Service ``index`` (1-based) with its monitoring, varied deterministically by its index.

    ``with_slo`` gives it one SLO (see ``slo``).
    """
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
            {"name": "API_TOKEN_FILE", "value": f"/var/run/secrets/{name}/token"},
        ],
        "secretMounts": [
            {
                "secretName": f"{CHART_NAME}-{name}",
                "path": f"/var/run/secrets/{name}",
                "keys": ["token"],
                "optional": True,
            }
        ],
        "probes": {
            "liveness": http_probe("/health", "http", 20),
            "readiness": http_probe("/ready", "http", 10),
        },
        "metrics": {"port": scrape_port, "path": "/metrics", "families": metric_families(index)},
        "recordingRules": recording_rules(index),
        "alerts": alerts(index),
        **({"slos": [slo(index)]} if with_slo else {}),
    }


def metric_prefix(index: int) -> str:
    """The metric name prefix of service ``index``: svc_0001, ..."""
    return f"svc_{index:04d}"


def metric_families(index: int) -> list[dict[str, Any]]:
    """Five metric families: a counter pair, two gauges and one histogram."""
    prefix = metric_prefix(index)
    return [
        {
            "name": f"{prefix}_requests_total",
            "type": "counter",
            "help": "Requests received.",
            "unit": "requests",
            "labels": ["code"],
        },
        {
            "name": f"{prefix}_errors_total",
            "type": "counter",
            "help": "Requests that failed.",
            "unit": "requests",
            "labels": ["code"],
        },
        {"name": f"{prefix}_queue_depth", "type": "gauge", "help": "Items waiting."},
        {
            "name": f"{prefix}_saturation",
            "type": "gauge",
            "help": "Share of capacity in use (0..1).",
            "unit": "ratio",
        },
        {
            "name": f"{prefix}_request_duration_seconds",
            "type": "histogram",
            "help": "Duration of one request.",
            "unit": "seconds",
        },
    ]


def recording_rules(index: int) -> list[dict[str, Any]]:
    """Three recording rules over the service's families."""
    prefix, job = metric_prefix(index), service_name(index)
    return [
        {
            "record": f"{prefix}:requests:rate_5m",
            "expr": f'sum by (job, namespace) (rate({prefix}_requests_total{{job="{job}"}}[5m]))',
        },
        {
            "record": f"{prefix}:error_ratio:5m",
            "expr": (
                f'sum by (job, namespace) (rate({prefix}_errors_total{{job="{job}"}}[5m]))\n/\n'
                f'sum by (job, namespace) (rate({prefix}_requests_total{{job="{job}"}}[5m]))'
            ),
        },
        {
            "record": f"{prefix}:latency:p95",
            "expr": (
                "histogram_quantile(0.95, sum by (job, namespace, le) "
                f'(rate({prefix}_request_duration_seconds_bucket{{job="{job}"}}[5m])))'
            ),
        },
    ]


def alert(index: int, name: str, series: str, expr: str, **fields: Any) -> dict[str, Any]:
    """Alert ``name`` of service ``index`` on one series: it fires at the first of ``values``."""
    job = service_name(index)
    labels = f'job="{job}", pod="{job}-0", namespace="bench"'
    fired = {"job": job, "pod": f"{job}-0", "namespace": "bench"}
    fire, quiet = fields.pop("values")
    return {
        "alert": f"Svc{index:04d}{name}",
        "expr": expr,
        "for": "5m",
        "runbook": f"https://runbooks.example.com/{job}",
        **fields,
        "examples": [
            {
                "name": "fires",
                "series": [{"series": f"{series}{{{labels}}}", "values": fire}],
                "fires": [fired],
            },
            {
                "name": "stays quiet",
                "series": [{"series": f"{series}{{{labels}}}", "values": quiet}],
                "fires": [],
            },
        ],
    }


def alerts(index: int) -> list[dict[str, Any]]:
    """Three alerts: two with a threshold parameter, one structural."""
    prefix, job = metric_prefix(index), service_name(index)
    return [
        alert(
            index,
            "QueueDeep",
            f"{prefix}_queue_depth",
            f'{prefix}_queue_depth{{job="{job}"}} > $threshold',
            params={"threshold": 100},
            severity="warning",
            summary="Queue is deep on {{ $labels.pod }}",
            description="{{ $value }} items wait on {{ $labels.pod }}.",
            values=("500x20", "5x20"),
        ),
        alert(
            index,
            "Saturated",
            f"{prefix}_saturation",
            f'{prefix}_saturation{{job="{job}"}} > $threshold',
            params={"threshold": 0.9},
            severity="critical",
            summary="Saturated on {{ $labels.pod }}",
            description="{{ $labels.pod }} uses {{ $value | humanizePercentage }}.",
            values=("0.95x20", "0.5x20"),
        ),
        alert(
            index,
            "Down",
            "up",
            f'up{{job="{job}"}} == 0',
            severity="critical",
            summary="{{ $labels.pod }} is down",
            description="Prometheus cannot scrape {{ $labels.pod }}.",
            values=("0x20", "1x20"),
        ),
    ]


#: The kinds of SLI the synthetic SLOs take in turn, by service index modulo 3.
SLO_KINDS = ("errors", "good", "latency")
#: The synthetic histograms' bucket bounds (seconds); a latency SLO's bound is one of them.
BUCKETS = (0.1, 0.5, 1.0)
LATENCY_BOUND = 0.5


def slo_kind(index: int) -> str:
    """The SLI kind of service ``index``'s SLO: errors/total, good/total or latency."""
    return SLO_KINDS[index % len(SLO_KINDS)]


def slo(index: int) -> dict[str, Any]:
    """One SLO over the service's own families, its SLI kind taken in turn by index.

    errors: errors_total out of requests_total; good: requests_total{code="200"} out of
    requests_total; latency: request_duration_seconds at or below 0.5 s.
    """
    prefix, job = metric_prefix(index), service_name(index)
    requests: dict[str, Any] = {"metric": f"{prefix}_requests_total"}
    slis: dict[str, dict[str, Any]] = {
        "errors": {"events": {"errors": {"metric": f"{prefix}_errors_total"}, "total": requests}},
        "good": {"events": {"good": {**requests, "matchers": {"code": "200"}}, "total": requests}},
        "latency": {
            "latency": {"histogram": f"{prefix}_request_duration_seconds", "le": LATENCY_BOUND}
        },
    }
    return {
        "name": "requests",
        "description": f"Requests of service {index} served well ({slo_kind(index)} SLI).",
        "objective": 99.9 if index % 2 else 99.5,
        "sli": slis[slo_kind(index)],
        "runbook": f"https://runbooks.example.com/{job}/slo",
    }


def dashboard(index: int) -> dict[str, Any]:
    """One dashboard of six panels over the service's series."""
    prefix = metric_prefix(index)
    return {
        "name": service_name(index),
        "title": f"Service {index}",
        "tags": ["synthetic"],
        "variables": ["namespace"],
        "rows": [
            {
                "title": "Traffic",
                "panels": [
                    {"title": "Requests", "targets": [{"metric": f"{prefix}_requests_total"}]},
                    {
                        "title": "Error ratio",
                        "unit": "percentunit",
                        "targets": [{"metric": f"{prefix}:error_ratio:5m"}],
                    },
                    {
                        "title": "Latency",
                        "unit": "s",
                        "targets": [{"metric": f"{prefix}_request_duration_seconds"}],
                    },
                ],
            },
            {
                "title": "Load",
                "panels": [
                    {
                        "title": "Queue depth",
                        "type": "stat",
                        "width": 8,
                        "targets": [{"metric": f"{prefix}_queue_depth"}],
                        "thresholds": [{"alert": f"Svc{index:04d}QueueDeep"}],
                    },
                    {
                        "title": "Saturation",
                        "type": "gauge",
                        "width": 8,
                        "unit": "percentunit",
                        "min": 0,
                        "max": 1,
                        "targets": [{"metric": f"{prefix}_saturation"}],
                        "thresholds": [{"alert": f"Svc{index:04d}Saturated"}],
                    },
                    {
                        "title": "Request rate",
                        "width": 8,
                        "targets": [{"metric": f"{prefix}:requests:rate_5m"}],
                    },
                ],
            },
        ],
    }


def synthetic_spec(n: int, *, slos: bool = False) -> dict[str, Any]:
    """A whole spec of ``n`` synthetic services under the chart ``synthetic``.

    ``slos``: each service has one SLO.
    """
    return {
        "chart": {
            "name": CHART_NAME,
            "version": "0.1.0",
            "appVersion": "1.0.0",
            "description": f"Synthetic chart of {n} services for chartgen benchmarks",
            "imageRegistry": "registry.example.com",
            "keywords": ["synthetic", "benchmark"],
        },
        "services": [synthetic_service(i, with_slo=slos) for i in range(1, n + 1)],
        "dashboards": [dashboard(index) for index in range(1, n + 1)],
    }


def write_spec(n: int, path: Path, *, slos: bool = False) -> None:
    """Write the spec of ``n`` services (``slos``: with one SLO each) to ``path`` as YAML."""
    yaml = YAML(typ="rt", pure=True)
    yaml.default_flow_style = False
    with path.open("w", encoding="utf-8") as stream:
        yaml.dump(synthetic_spec(n, slos=slos), stream)


def main(argv: list[str] | None = None) -> None:
    """``python benchmarks/synthetic_spec.py N OUT.yaml [--slos]``."""
    args = sys.argv[1:] if argv is None else argv
    match args:
        case [count, out] | [count, out, "--slos"] if count.isdigit() and int(count) >= 1:
            write_spec(int(count), Path(out), slos=len(args) == 3)
        case _:
            sys.exit(
                "usage: python benchmarks/synthetic_spec.py N OUT.yaml [--slos]  (N >= 1; "
                "--slos: one SLO per service)"
            )


if __name__ == "__main__":
    main()

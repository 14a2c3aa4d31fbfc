"""Hypothesis strategies for chartgen specs: valid ones, and ones broken in one known way."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from chartgen.load.hygiene import names_credential

LOWER = "abcdefghijklmnopqrstuvwxyz"
DIGITS = "0123456789"
# Free text for descriptions and summaries: punctuation YAML and Helm care about included
# (quotes, colons, hashes, backticks, percent, non-ASCII); braces are template syntax.
TEXT = (
    st.text(
        alphabet=st.characters(
            codec="utf-8",
            categories=("L", "N", "P", "S", "Zs"),
            exclude_characters="{}\\",
        ),
        min_size=1,
        max_size=40,
    )
    .map(str.strip)
    .filter(bool)
)
TEMPLATES = st.sampled_from(
    ["", " on {{ $labels.pod }}", " ({{ $value | humanize }})", " in {{ $labels.namespace }}"]
)


def dns_label(max_size: int) -> st.SearchStrategy[str]:
    """A DNS-1035 label: a letter, then letters, digits and inner '-'."""
    return st.from_regex(rf"\A[a-z]([-a-z0-9]{{0,{max_size - 2}}}[a-z0-9])?\Z")


def snake(max_size: int = 12) -> st.SearchStrategy[str]:
    """A lowercase identifier, usable in metric and label names."""
    return st.from_regex(rf"\A[a-z][a-z0-9_]{{0,{max_size - 1}}}\Z").filter(
        lambda name: not names_credential(name) and not name.startswith("__")
    )


@st.composite
def quantities(draw: st.DrawFn) -> dict[str, dict[str, str]]:
    """Requests and limits, each limit at least its request."""
    cpu = draw(st.integers(10, 2000))
    memory = draw(st.integers(16, 4096))
    return {
        "requests": {"cpu": f"{cpu}m", "memory": f"{memory}Mi"},
        "limits": {
            "cpu": f"{cpu + draw(st.integers(0, 2000))}m",
            "memory": f"{memory + draw(st.integers(0, 4096))}Mi",
        },
    }


@st.composite
def services(draw: st.DrawFn, index: int, name_size: int) -> dict[str, Any]:
    """One valid service; its metric names carry its index so they are unique in the chart."""
    name = draw(dns_label(name_size))
    port_count = draw(st.integers(1, 3))
    port_names = draw(
        st.lists(dns_label(15), min_size=port_count, max_size=port_count, unique=True)
    )
    numbers = draw(
        st.lists(st.integers(1024, 65535), min_size=port_count, max_size=port_count, unique=True)
    )
    ports = [{"name": n, "port": p} for n, p in zip(port_names, numbers, strict=True)]
    service: dict[str, Any] = {
        "name": name,
        "description": draw(TEXT),
        "image": {
            "repository": f"team/{name}",
            "tag": draw(st.from_regex(r"\Av[0-9]{1,3}\.[0-9]{1,3}\Z")),
        },
        "stateful": draw(st.booleans()),
        "replicas": draw(st.integers(0, 4)),
        "ports": ports,
        "resources": draw(quantities()),
        "env": [
            {"name": env_name.upper(), "value": draw(TEXT)}
            for env_name in draw(st.lists(snake(), max_size=3, unique=True))
        ],
    }
    if draw(st.booleans()):
        port = draw(st.sampled_from(port_names))
        service["probes"] = {
            "liveness": {"http": {"path": "/health", "port": port}},
            "readiness": {"http": {"path": "/ready", "port": port}},
        }
    if draw(st.booleans()):
        service.update(monitoring(draw, index, draw(st.sampled_from(port_names)), name))
    return service


def monitoring(draw: st.DrawFn, index: int, port: str, job: str) -> dict[str, Any]:
    """Metric families, recording rules over them and alerts over those."""
    stems = draw(st.lists(snake(), min_size=1, max_size=3, unique=True))
    counters = [f"s{index}_{stem}_total" for stem in stems]
    gauge = f"s{index}_{stems[0]}_level"
    families = [
        {"name": counter, "type": "counter", "help": draw(TEXT)} for counter in counters
    ] + [{"name": gauge, "type": "gauge", "help": draw(TEXT), "unit": "ratio"}]
    records = [
        {
            "record": f"s{index}:{counter.removesuffix('_total')}:rate5m",
            "expr": f'sum by (job) (rate({counter}{{job="{job}"}}[5m]))',
        }
        for counter in counters
    ]
    alerts = []
    for number, record in enumerate(records[: draw(st.integers(0, len(records)))]):
        series = f'{counters[number]}{{job="{job}"}}'
        alerts.append(
            {
                "alert": f"S{index}Alert{number}",
                "expr": f"{record['record']} > $threshold",
                "params": {
                    "threshold": draw(
                        st.floats(0, 1000, allow_nan=False).map(lambda x: round(x, 3))
                    )
                },
                "for": draw(st.sampled_from(["0s", "1m", "5m", "1h30m"])),
                "severity": draw(st.sampled_from(["info", "warning", "critical"])),
                "summary": draw(TEXT) + draw(TEMPLATES),
                "description": draw(TEXT) + draw(TEMPLATES),
                "runbook": f"https://runbooks.example.com/{job}/{number}",
                "examples": [
                    {
                        "name": "fires",
                        "series": [{"series": series, "values": "0+600x30"}],
                        "fires": [{"job": job}],
                    },
                    {"name": "quiet", "series": [{"series": series, "values": "0x30"}]},
                ],
            }
        )
    return {
        "metrics": {"port": port, "families": families},
        "recordingRules": records,
        "alerts": alerts,
    }


@st.composite
def specs(draw: st.DrawFn) -> dict[str, Any]:
    """A valid spec of 1 to 4 services with unique names that fit every Kubernetes limit."""
    chart_name = draw(dns_label(12))
    # <chart>-<service>-headless must stay within 63, <chart>-<service> within 52.
    name_size = min(40, 52 - len(chart_name) - 1)
    count = draw(st.integers(1, 4))
    drawn = [draw(services(index, name_size)) for index in range(count)]
    unique = {service["name"]: service for service in drawn}
    series = [
        name
        for service in unique.values()
        for name in [f["name"] for f in service.get("metrics", {}).get("families", [])]
        + [r["record"] for r in service.get("recordingRules", [])]
    ]
    alerts = [a["alert"] for service in unique.values() for a in service.get("alerts", [])]
    boards = draw(dashboards(series, alerts)) if series else []
    return {
        "chart": {
            "name": chart_name,
            "version": ".".join(str(draw(st.integers(0, 20))) for _ in range(3)),
            "appVersion": "v1",
            "description": draw(TEXT),
            "imageRegistry": "registry.example.com",
        },
        "services": list(unique.values()),
        **({"dashboards": boards} if boards else {}),
    }


@st.composite
def dashboards(draw: st.DrawFn, series: list[str], alerts: list[str]) -> list[dict[str, Any]]:
    """Up to two dashboards of rows of panels over the given series and alert thresholds."""
    names = draw(st.lists(dns_label(20), max_size=2, unique=True))
    return [
        {
            "name": name,
            "title": draw(TEXT),
            "rows": [
                {
                    "title": draw(TEXT),
                    "panels": draw(st.lists(panels(series, alerts), min_size=1, max_size=4)),
                }
                for _ in range(draw(st.integers(1, 2)))
            ],
        }
        for name in names
    ]


@st.composite
def panels(draw: st.DrawFn, series: list[str], alerts: list[str]) -> dict[str, Any]:
    """A panel over one or two declared series, maybe with a fixed or an alert threshold."""
    panel: dict[str, Any] = {
        "title": draw(TEXT),
        "type": draw(st.sampled_from(["timeseries", "stat", "gauge", "table"])),
        "targets": [
            {"metric": name}
            for name in draw(st.lists(st.sampled_from(series), min_size=1, max_size=2, unique=True))
        ],
        "width": draw(st.integers(1, 24)),
        "height": draw(st.integers(2, 12)),
    }
    if alerts and draw(st.booleans()):
        panel["thresholds"] = [{"alert": draw(st.sampled_from(alerts))}]
    elif draw(st.booleans()):
        panel["thresholds"] = [{"value": draw(st.integers(0, 100))}]
    return panel


#: One way to break a valid spec each: (what it breaks, function of the spec data).
def _first(spec: dict[str, Any]) -> dict[str, Any]:
    service: dict[str, Any] = spec["services"][0]
    return service


BREAKERS: dict[str, Any] = {
    "latest tag": lambda s: _first(s)["image"].update(tag="latest"),
    "undeclared probe port": lambda s: _first(s).update(
        probes={"liveness": {"http": {"path": "/h", "port": "nowhere"}}}
    ),
    "limits below requests": lambda s: _first(s)["resources"]["limits"].update(memory="1Mi"),
    "unknown field": lambda s: _first(s).update(replica=2),
    "duplicate service": lambda s: s["services"].append(dict(_first(s))),
    "bad name": lambda s: _first(s).update(name="Bad_Name"),
    "credential": lambda s: _first(s)["env"].append({"name": "DB_PASSWORD", "value": "x1"}),
    "invalid promql": lambda s: _first(s).update(
        recordingRules=[{"record": "a:b:c", "expr": "sum(("}]
    ),
}

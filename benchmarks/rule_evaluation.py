"""What a chart's rule groups cost a real Prometheus: evaluation time and samples per round.

The rule files are those ``helm template`` renders from the chart's rules ConfigMaps. Every
series the synthetic rules read gets 3 days of 1-minute samples, backfilled with ``promtool
tsdb create-blocks-from openmetrics``, and stays live afterwards: a loopback exporter serves
the same counters on, and Prometheus scrapes it every minute, so every window (5m to 3d) the
rules read holds samples during the measured rounds. Prometheus then evaluates the rules every
minute; ``prometheus_rule_group_last_duration_seconds`` and
``prometheus_rule_group_last_evaluation_samples`` are read from its /metrics after every
group's evaluation. Each group's first evaluation is a warm-up, left out of the figures.
"""

from __future__ import annotations

import json
import re
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from synthetic_spec import BUCKETS, metric_prefix, service_name

LOOPBACK = "127.0.0.1"
INTERVAL = 60  # seconds: scrape and evaluation interval, and the backfill's sample spacing
HISTORY = 3 * 86400  # seconds of backfilled samples
SLO_GROUP = "sloth-slo-"  # the prefix of an SLO's three rule groups
# No proxy handler: requests go straight to the loopback whatever http_proxy says.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
GROUP_METRIC = re.compile(
    r"^prometheus_rule_group_(last_duration_seconds|last_evaluation_samples|"
    r'last_evaluation_timestamp_seconds)\{rule_group="[^;"]*;([^"]*)"\} (\S+)$',
    re.MULTILINE,
)


@dataclass(frozen=True)
class Series:
    """One synthetic series: its family, OpenMetrics type, sample name, labels, rate or level.

    A counter's value at time t is ``rate`` x (t - origin); anything else stays at ``level``.
    """

    family: str
    kind: str
    name: str
    labels: str
    rate: float = 0.0
    level: float = 0.0

    def value(self, t: float, origin: float) -> float:
        """The value at Unix time ``t`` (seconds)."""
        return round(self.rate * (t - origin), 3) if self.rate else self.level


def service_series(index: int, instance: str, *, slo: bool) -> list[Series]:
    """The series service ``index``'s rules and SLI read, as its exporter would expose them.

    10 requests/s, 0.05% of them errors (code 500) and 0.04% slower than 0.5 s: under every
    objective's budget, so the burn-rate alerts stay quiet. ``slo``: also the SLO's recorded
    5-minute error ratio, which its period rule averages over its history.
    """
    prefix, job = metric_prefix(index), service_name(index)
    own = f'job="{job}",instance="{instance}"'
    requests, duration = f"{prefix}_requests", f"{prefix}_request_duration_seconds"
    total, errors = 10.0, 0.005
    bounds = [*(format(b, ".1f") for b in BUCKETS), "+Inf"]
    below = [8.0, total + errors - 0.004, total + errors - 0.001, total + errors]
    series = [
        Series(requests, "counter", f"{requests}_total", f'{own},code="200"', rate=total),
        Series(requests, "counter", f"{requests}_total", f'{own},code="500"', rate=errors),
        Series(
            f"{prefix}_errors",
            "counter",
            f"{prefix}_errors_total",
            f'{own},code="500"',
            rate=errors,
        ),
        *(
            Series(duration, "histogram", f"{duration}_bucket", f'{own},le="{le}"', rate=rate)
            for le, rate in zip(bounds, below, strict=True)
        ),
        Series(duration, "histogram", f"{duration}_count", own, rate=total + errors),
        Series(f"{prefix}_queue_depth", "gauge", f"{prefix}_queue_depth", own, level=5),
        Series(f"{prefix}_saturation", "gauge", f"{prefix}_saturation", own, level=0.5),
    ]
    if slo:
        ids = f'sloth_id="{job}-requests",sloth_service="{job}",sloth_slo="requests"'
        record = "slo:sli_error:ratio_rate5m"
        series.append(Series(record, "gauge", record, f'{ids},sloth_window="5m"', level=0.0005))
    return series


def write_openmetrics(path: Path, series: list[Series], start: int, end: int) -> int:
    """Every series' samples from ``start`` to ``end`` (Unix seconds), one per INTERVAL.

    Families are written whole, one after the other, as OpenMetrics wants; returns the count
    of samples.
    """
    stamps = range(start, end + 1, INTERVAL)
    count = 0
    with path.open("w", encoding="utf-8") as out:
        family = ""
        for one in series:
            if one.family != family:
                family = one.family
                out.write(f"# TYPE {family} {one.kind}\n")
            head = f"{one.name}{{{one.labels}}} "
            out.write("".join(f"{head}{one.value(t, start)} {t}\n" for t in stamps))
            count += len(stamps)
        out.write("# EOF\n")
    return count


def exposition(series: list[Series], origin: float) -> str:
    """The text format of the series' current values (recorded series left out)."""
    now = time.time()
    return "".join(
        f"{one.name}{{{one.labels}}} {one.value(now, origin)}\n"
        for one in series
        if not one.name.startswith("slo:")
    )


@contextmanager
def exporter(text: Callable[[], str]) -> Iterator[str]:
    """Serve ``text()`` at http://127.0.0.1:<port>/metrics from a thread; yields host:port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = text().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Keep scrapes out of the benchmark's output."""

    server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{LOOPBACK}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def rule_files(helm: str, chart: Path, services: list[str], into: Path) -> list[Path]:
    """The rule files ``helm template`` renders into the services' rules ConfigMaps."""
    shown = [f"--show-only=templates/{name}/prometheus-rules.yaml" for name in services]
    done = subprocess.run(
        [helm, "template", chart.name, str(chart), *shown],
        capture_output=True,
        text=True,
        check=True,
    )
    files = []
    for document in YAML(typ="safe").load_all(done.stdout):
        if document and document["kind"] == "ConfigMap":
            for name, text in document["data"].items():
                files.append(into / name)
                files[-1].write_text(text, encoding="utf-8")
    return files


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Rounds:
    """Each rule group's evaluations seen: (duration in seconds, samples) per round."""

    groups: dict[str, list[tuple[float, int]]] = field(default_factory=dict)
    last: dict[str, float] = field(default_factory=dict)

    def see(self, metrics: str) -> None:
        """Record every group whose last evaluation is new since the last look."""
        figures: dict[str, dict[str, float]] = {}
        for metric, group, value in GROUP_METRIC.findall(metrics):
            figures.setdefault(group, {})[metric] = float(value)
        for group, got in figures.items():
            stamp = got.get("last_evaluation_timestamp_seconds", 0.0)
            if stamp > 0 and stamp != self.last.get(group):
                self.last[group] = stamp
                self.groups.setdefault(group, []).append(
                    (got["last_duration_seconds"], int(got["last_evaluation_samples"]))
                )

    def complete(self, groups: int, rounds: int) -> bool:
        """Whether all ``groups`` were seen evaluated ``rounds`` times."""
        return len(self.groups) == groups and all(
            len(seen) >= rounds for seen in self.groups.values()
        )


def prometheus_config(rules: list[Path], target: str) -> dict[str, Any]:
    """prometheus.yml: the rule files, and the exporter scraped with its own job labels."""
    return {
        "global": {"scrape_interval": "1m", "evaluation_interval": "1m"},
        "rule_files": [str(path) for path in rules],
        "scrape_configs": [
            {
                "job_name": "synthetic-exporter",
                "honor_labels": True,
                "static_configs": [{"targets": [target]}],
            }
        ],
    }


def get(url: str) -> str:
    """The body of a GET, or '' when nothing answers yet."""
    try:
        with OPENER.open(url, timeout=5) as response:
            return str(response.read().decode())
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return ""


def watch_rounds(
    prometheus: str, workdir: Path, *, rules: list[Path], target: str, groups: int, rounds: int
) -> Rounds:
    """Run Prometheus until every group was evaluated ``rounds`` times; stop it, always."""
    config = workdir / "prometheus.yml"
    config.write_text(json.dumps(prometheus_config(rules, target)), encoding="utf-8")
    url = f"http://{LOOPBACK}:{free_port()}"
    seen = Rounds()
    deadline = time.monotonic() + 60 * (rounds + 3)
    with (workdir / "prometheus.log").open("wb") as log:
        process = subprocess.Popen(
            [
                prometheus,
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'data'}",
                "--storage.tsdb.retention.time=15d",
                f"--web.listen-address={url.removeprefix('http://')}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        while not seen.complete(groups, rounds):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = (workdir / "prometheus.log").read_text(errors="replace")[-3000:]
                why = "exited" if process.poll() is not None else "timed out"
                raise RuntimeError(f"prometheus {why} before {rounds} rounds:\n{tail}")
            seen.see(get(f"{url}/metrics"))
            time.sleep(2)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return seen


@dataclass(frozen=True)
class Evaluation:
    """Per round, summed over a set of groups: seconds and samples; and how many owners."""

    label: str
    groups: int
    owners: int  # SLOs or services the groups belong to
    seconds: list[float]  # per round
    samples: int  # per round (the same every round)

    @property
    def median(self) -> float:
        """The median over rounds of the summed evaluation time."""
        return statistics.median(self.seconds)


def summed(label: str, rounds: Rounds, names: list[str], per: int, count: int) -> Evaluation:
    """The groups ``names`` summed round by round; ``per`` groups belong to each owner."""
    seconds = [sum(rounds.groups[name][r][0] for name in names) for r in range(1, 1 + count)]
    samples = sum(rounds.groups[name][-1][1] for name in names)
    return Evaluation(label, len(names), len(names) // per, seconds, samples)


def evaluate(
    tools: tuple[str, str],
    helm: str,
    chart: Path,
    *,
    n: int,
    rounds: int,
    progress: Callable[[str], None],
) -> tuple[Evaluation, Evaluation, dict[str, Any]]:
    """The SLO groups' and the services' own groups' cost per round, and the details.

    ``tools``: prometheus and promtool; ``chart`` is rendered from the spec of ``n`` synthetic
    services with one SLO each.
    """
    prometheus, promtool = tools
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(
        prefix="chartgen-rules-", dir=shm if shm.is_dir() else None
    ) as tmp:
        workdir = Path(tmp)
        (workdir / "rules").mkdir()
        services = [service_name(index) for index in range(1, n + 1)]
        rules = rule_files(helm, chart, services, workdir / "rules")
        end = int(time.time()) // INTERVAL * INTERVAL
        start = end - HISTORY
        served: list[Series] = []
        with exporter(lambda: exposition(served, start)) as target:
            series = [s for i in range(1, n + 1) for s in service_series(i, target, slo=True)]
            served.extend(series)
            progress(f"backfilling {len(series)} series, 3 days at 1m ...")
            openmetrics = workdir / "history.om"
            count = write_openmetrics(openmetrics, series, start, end)
            began = time.perf_counter()
            subprocess.run(
                [
                    promtool,
                    "tsdb",
                    "create-blocks-from",
                    "openmetrics",
                    "--quiet",
                    "--max-block-duration=162h",
                    str(openmetrics),
                    str(workdir / "data"),
                ],
                check=True,
                capture_output=True,
            )
            backfill_s = time.perf_counter() - began
            openmetrics.unlink()
            names = [
                group["name"]
                for path in rules
                for group in YAML(typ="safe").load(path.read_text(encoding="utf-8"))["groups"]
            ]
            progress(
                f"prometheus: {len(names)} groups, {1 + rounds} evaluations each (1 warm-up) ..."
            )
            seen = watch_rounds(
                prometheus,
                workdir,
                rules=rules,
                target=target,
                groups=len(names),
                rounds=1 + rounds,
            )
    slo = [name for name in names if name.startswith(SLO_GROUP)]
    own = [name for name in names if not name.startswith(SLO_GROUP)]
    details = {
        "series": len(series),
        "backfilled_samples": count,
        "backfill_s": backfill_s,
        "rounds": {name: seen.groups[name] for name in names},
    }
    return (
        summed("SLO groups", seen, slo, 3, rounds),
        summed("services' own groups", seen, own, 2, rounds),
        details,
    )

"""Loopback test harness: exporters serving exposition text, and a real Prometheus scraping them.

Everything listens on 127.0.0.1 only, on ports the OS picks. Typical use::

    with exporters(healthy_staging()) as running:
        targets = scrape_targets(running, namespace="aurora-staging")
        with Prometheus(find_tool("prometheus"), targets, [rules_file]) as prom:
            prom.wait_settled()
            prom.query("up")

Every wait is bounded both in time and in number of polls.
"""

from __future__ import annotations

import json
import math
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

LOOPBACK = "127.0.0.1"
EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
HTTP_TIMEOUT = 5.0

T = TypeVar("T")
# (job, pod): how exporters and exposition texts are keyed throughout the tests.
TargetKey = tuple[str, str]

# No proxy handler: requests go straight to 127.0.0.1 whatever http_proxy says.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class PrometheusError(RuntimeError):
    """Prometheus failed to start, exited, or answered an API call with an error."""


class _ExporterServer(ThreadingHTTPServer):
    """An HTTP server that knows the exporter whose text it serves."""

    daemon_threads = True

    def __init__(self, exporter: Exporter) -> None:
        super().__init__((LOOPBACK, 0), _ExporterHandler)
        self.exporter = exporter


class _ExporterHandler(BaseHTTPRequestHandler):
    """Serves the exporter's current text at /metrics, 404 elsewhere."""

    server: _ExporterServer

    def do_GET(self) -> None:
        """Answer a scrape."""
        if urllib.parse.urlsplit(self.path).path != "/metrics":
            self.send_error(404)
            return
        body = self.server.exporter.text.encode()
        self.send_response(200)
        self.send_header("Content-Type", EXPOSITION_CONTENT_TYPE)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep scrapes out of the test output."""


class Exporter:
    """Serves Prometheus text exposition at http://127.0.0.1:<port>/metrics from a thread.

    The text is a string, or a function called on every scrape (for counters that move).
    """

    def __init__(self, text: str | Callable[[], str] = "") -> None:
        self._lock = threading.Lock()
        self._text = text
        self._server: _ExporterServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def text(self) -> str:
        """The exposition text served on the next scrape."""
        with self._lock:
            text = self._text
        return text if isinstance(text, str) else text()

    @text.setter
    def text(self, value: str | Callable[[], str]) -> None:
        with self._lock:
            self._text = value

    @property
    def address(self) -> str:
        """host:port of the running exporter."""
        if self._server is None:
            raise RuntimeError("exporter is not running")
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> Self:
        """Bind a free loopback port and serve in a background thread."""
        if self._server is not None:
            raise RuntimeError("exporter is already running")
        self._server = _ExporterServer(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"exporter-{self.address}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; further scrapes are refused. Idempotent."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@dataclass(frozen=True)
class ScrapeTarget:
    """One scraped pod: its service (the Prometheus job), pod, namespace and host:port."""

    job: str
    pod: str
    namespace: str
    address: str


@contextmanager
def exporters(texts: Mapping[TargetKey, str]) -> Iterator[dict[TargetKey, Exporter]]:
    """Start one exporter per (job, pod) serving the given text; stop them all on exit."""
    with ExitStack() as stack:
        yield {key: stack.enter_context(Exporter(text)) for key, text in texts.items()}


def scrape_targets(running: Mapping[TargetKey, Exporter], namespace: str) -> list[ScrapeTarget]:
    """Scrape targets for running exporters, all in one Kubernetes namespace."""
    return [
        ScrapeTarget(job=job, pod=pod, namespace=namespace, address=exporter.address)
        for (job, pod), exporter in running.items()
    ]


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def prometheus_config(
    targets: Sequence[ScrapeTarget],
    rule_files: Sequence[str | PathLike[str]] = (),
    *,
    scrape_interval: str = "1s",
    evaluation_interval: str = "1s",
    scrape_configs: Sequence[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """prometheus.yml as data: one job per service, pod/namespace labels per target.

    Given scrape_configs replace those jobs (the targets are then only counted by waits).
    """
    jobs: dict[str, list[dict[str, Any]]] = {}
    for target in targets:
        jobs.setdefault(target.job, []).append(
            {
                "targets": [target.address],
                "labels": {"pod": target.pod, "namespace": target.namespace},
            }
        )
    return {
        "global": {
            "scrape_interval": scrape_interval,
            "scrape_timeout": scrape_interval,
            "evaluation_interval": evaluation_interval,
        },
        "rule_files": [str(Path(path).resolve()) for path in rule_files],
        "scrape_configs": [
            {
                "job_name": job,
                # The scheduler exposes its own `namespace` label (e.g. "dao:vaultmesh"), which
                # collides with the target label `namespace`. With honor_labels: false
                # Prometheus would keep the target's value and rename the scraped one to
                # `exported_namespace`; honor_labels: true keeps the exporter's value, as the
                # community chart's kubernetes-pods/-service-endpoints jobs do. Series without
                # their own `namespace` label (e.g. `up`) still get the target's.
                "honor_labels": True,
                "metrics_path": "/metrics",
                "static_configs": static_configs,
            }
            for job, static_configs in jobs.items()
        ]
        if scrape_configs is None
        else list(scrape_configs),
    }


def _timestamp(rfc3339: str) -> float:
    """Unix time of an RFC 3339 timestamp as the Prometheus API writes it."""
    return datetime.fromisoformat(rfc3339).timestamp()


class Prometheus:
    """A real Prometheus on a free loopback port, scraping targets and evaluating rule files."""

    def __init__(
        self,
        binary: str,
        targets: Sequence[ScrapeTarget],
        rule_files: Sequence[str | PathLike[str]] = (),
        *,
        scrape_interval: str = "1s",
        evaluation_interval: str = "1s",
        scrape_configs: Sequence[dict[str, Any]] | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        self.binary = binary
        self.targets_configured = list(targets)
        self.config = prometheus_config(
            targets,
            rule_files,
            scrape_interval=scrape_interval,
            evaluation_interval=evaluation_interval,
            scrape_configs=scrape_configs,
        )
        self.startup_timeout = startup_timeout
        self.port = 0
        self._workdir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the web API."""
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def config_file(self) -> Path:
        """The prometheus.yml in use; rewrite it and call reload() to change the config."""
        if self._workdir is None:
            raise RuntimeError("prometheus is not running")
        return self._workdir / "prometheus.yml"

    def __enter__(self) -> Self:
        self._workdir = Path(tempfile.mkdtemp(prefix="promharness-"))
        try:
            self._start()
        except BaseException:
            self._shutdown()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._shutdown()

    def _start(self) -> None:
        """Write the config, launch prometheus and wait until /-/ready answers 200."""
        # JSON is YAML, so the standard library is enough to write prometheus.yml.
        self.config_file.write_text(json.dumps(self.config, indent=2))
        workdir = self.config_file.parent
        self.port = free_port()
        with (workdir / "prometheus.log").open("wb") as log:
            self._process = subprocess.Popen(
                [
                    self.binary,
                    f"--config.file={self.config_file}",
                    f"--storage.tsdb.path={workdir / 'data'}",
                    f"--web.listen-address={LOOPBACK}:{self.port}",
                    "--web.enable-lifecycle",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self.wait_until(self._ready, self.startup_timeout, message="/-/ready")

    def _ready(self) -> bool:
        """Whether /-/ready answers 200."""
        try:
            with _OPENER.open(f"{self.url}/-/ready", timeout=HTTP_TIMEOUT) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def _shutdown(self) -> None:
        """Terminate prometheus (kill it after a timeout) and remove the temp dir."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        workdir, self._workdir = self._workdir, None
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of prometheus' own log."""
        if self._workdir is None:
            return ""
        log = self._workdir / "prometheus.log"
        if not log.exists():
            return ""
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def _check_alive(self) -> None:
        """Raise with the log tail if prometheus is not running."""
        if self._process is None:
            raise PrometheusError("prometheus is not running")
        code = self._process.poll()
        if code is not None:
            raise PrometheusError(f"prometheus exited with {code}:\n{self.log_tail()}")

    def wait_until(
        self,
        predicate: Callable[[], T],
        timeout: float = 10.0,
        *,
        interval: float = 0.1,
        message: str = "condition",
    ) -> T:
        """Poll predicate until it returns something truthy and return that; bounded."""
        deadline = time.monotonic() + timeout
        for _ in range(math.ceil(timeout / interval) + 1):
            self._check_alive()
            result = predicate()
            if result:
                return result
            if time.monotonic() >= deadline:
                break
            time.sleep(interval)
        raise PrometheusError(
            f"timed out after {timeout}s waiting for {message}\n{self.log_tail()}"
        )

    def wait_settled(self, timeout: float = 15.0) -> None:
        """Wait until every target is up and every rule group was evaluated after that."""
        expected = len(self.targets_configured)

        def all_up() -> bool:
            active = self.targets()
            return len(active) == expected and all(t["health"] == "up" for t in active)

        self.wait_until(all_up, timeout, message=f"{expected} targets up")
        self.wait_evaluated(timeout)

    def wait_evaluated(self, timeout: float = 15.0) -> None:
        """Wait until every rule group has been evaluated after this call."""
        since = time.time()
        self.wait_until(
            lambda: all(_timestamp(g["lastEvaluation"]) > since for g in self.rules()),
            timeout,
            message="every rule group evaluated again",
        )

    def api(self, path: str, /, **params: str) -> Any:
        """GET /api/v1/<path>; return its `data`, raise PrometheusError unless it succeeded."""
        self._check_alive()
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        url = f"{self.url}/api/v1/{path.lstrip('/')}{query}"
        try:
            with _OPENER.open(url, timeout=HTTP_TIMEOUT) as response:
                body = json.load(response)
        except urllib.error.HTTPError as error:
            # API errors (e.g. a bad query: 400) still carry a JSON body with the reason.
            try:
                body = json.load(error)
            except ValueError:
                raise PrometheusError(f"GET {url}: HTTP {error.code}") from error
        if body.get("status") != "success":
            raise PrometheusError(f"GET {url}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str) -> list[Any]:
        """Instant query at now; the result list (samples for a vector)."""
        result: list[Any] = self.api("query", query=expr)["result"]
        return result

    def rules(self) -> list[dict[str, Any]]:
        """Rule groups from /api/v1/rules, each with its rules, health and lastEvaluation."""
        groups: list[dict[str, Any]] = self.api("rules")["groups"]
        return groups

    def alerts(self) -> list[dict[str, Any]]:
        """Pending and firing alerts from /api/v1/alerts."""
        alerts: list[dict[str, Any]] = self.api("alerts")["alerts"]
        return alerts

    def targets(self) -> list[dict[str, Any]]:
        """Active scrape targets from /api/v1/targets, with labels, health and lastError."""
        active: list[dict[str, Any]] = self.api("targets", state="active")["activeTargets"]
        return active

    def reload(self) -> None:
        """POST /-/reload: re-read the config file and the rule files."""
        self._check_alive()
        request = urllib.request.Request(f"{self.url}/-/reload", method="POST")
        try:
            with _OPENER.open(request, timeout=HTTP_TIMEOUT):
                pass
        except urllib.error.HTTPError as error:
            reason = error.read().decode(errors="replace").strip()
            raise PrometheusError(f"reload failed: HTTP {error.code}: {reason}") from error

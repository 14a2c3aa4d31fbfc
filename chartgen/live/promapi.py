"""A small client of the Prometheus HTTP API (/api/v1), with bounded timeouts and retries."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, cast

from chartgen.errors import ChartgenError, Location
from chartgen.live.report import plural

#: HTTP statuses worth another attempt: Prometheus starting up, or a proxy in between.
RETRY_STATUSES = frozenset({502, 503, 504})
CONNECTION_FIX = (
    "check --prometheus-url; in a cluster, forward the server first, e.g. "
    "kubectl port-forward svc/prometheus-server 9090:80, then use http://127.0.0.1:9090"
)


class PrometheusAPI:
    """GET/POST /api/v1/<path> of one Prometheus; every failure is a ChartgenError."""

    def __init__(
        self, url: str, *, timeout: float = 10.0, retries: int = 2, backoff: float = 0.5
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        try:
            port_ok = parts.port is None or parts.port > 0
        except ValueError:  # not a number, or past 65535
            port_ok = False
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or not port_ok
            or any(c.isspace() for c in url)
        ):
            raise ChartgenError.single(
                f"{url!r} is not an http(s) URL with a host and a port from 1 to 65535",
                fix="pass the Prometheus base URL, e.g. http://127.0.0.1:9090",
                where=Location("--prometheus-url"),
            )
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff

    def get(self, path: str, *, missing_ok: bool = False, **params: str) -> Any:
        """GET /api/v1/<path>?params: the response's `data`; None for a 404 with missing_ok."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        request = urllib.request.Request(f"{self.url}/api/v1/{path}{query}")
        return self._call(request, missing_ok=missing_ok)

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query, POSTed as a form (queries can be long); its vector's samples."""
        request = urllib.request.Request(
            f"{self.url}/api/v1/query",
            data=urllib.parse.urlencode({"query": expr}).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            method="POST",
        )
        data = self._call(request)
        if data.get("resultType") != "vector":
            raise self._error(f"query {expr!r} returned a {data.get('resultType')}, not a vector")
        return cast("list[dict[str, Any]]", data["result"])

    def _call(self, request: urllib.request.Request, *, missing_ok: bool = False) -> Any:
        """Send the request and decode the API envelope; retries are bounded, with backoff."""
        failed: urllib.error.HTTPError | None = None
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    body = response.read()
                break
            except urllib.error.HTTPError as error:
                if error.code == 404 and missing_ok:
                    return None
                if error.code not in RETRY_STATUSES or last:
                    failed = error
                    body = error.read()
                    break
            except (urllib.error.URLError, OSError) as error:
                if last:
                    reason = getattr(error, "reason", error)
                    if isinstance(reason, TimeoutError):
                        reason = f"no answer within {self.timeout:g}s"
                    raise self._error(
                        f"cannot reach Prometheus at {self.url} "
                        f"({plural(self.retries + 1, 'attempt')}): {reason}"
                    ) from None
            time.sleep(self.backoff * 2**attempt)
        envelope = _decode(body)
        if envelope is None and failed is not None:
            what = f"{request.full_url} answered HTTP {failed.code} {failed.reason}"
            if failed.code in RETRY_STATUSES:
                what += f" ({plural(self.retries + 1, 'attempt')})"
            elif failed.code == 404:
                what += ": not the Prometheus API"
            raise self._error(what)
        if envelope is None:
            raise self._error(f"{request.full_url} did not answer with Prometheus API JSON")
        # An HTTP error with an API envelope: the envelope says what went wrong.
        if failed is not None or envelope.get("status") != "success":
            raise self._error(
                f"{request.full_url}: {envelope.get('errorType')}: {envelope.get('error')}"
            )
        return envelope.get("data")

    def _error(self, what: str) -> ChartgenError:
        return ChartgenError.single(what, fix=CONNECTION_FIX, where=Location(self.url))


def _decode(body: bytes) -> dict[str, Any] | None:
    """The API's JSON envelope, or None if the body is not one."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) and "status" in data else None

"""The `helm test` check of a service, as a POSIX shell script for busybox (wget, grep, timeout)."""

from __future__ import annotations

from collections.abc import Sequence

from chartgen.spec import MetricFamily

#: Attempts and seconds between them while the service may still be starting.
ATTEMPTS = 6
DELAY_SECONDS = 5
#: Seconds one fetch may take (busybox `timeout`: wget -T crashes some busybox builds).
FETCH_TIMEOUT = 10


def metrics_check_script(service: str, families: Sequence[MetricFamily]) -> str:
    """A script that fetches the URL in $1 and fails unless every declared family is exposed.

    A family counts as exposed when each of its series (a histogram's _bucket, _sum and
    _count) has a sample line. CHECK_ATTEMPTS and CHECK_DELAY override the retry bounds.
    """
    lines = [
        f"# {service}: the endpoint in $1 answers"
        + (f" and exposes its {len(families)} declared metric families" if families else ""),
        "set -u",
        'url="$1"',
        f'attempts="${{CHECK_ATTEMPTS:-{ATTEMPTS}}}"',
        f'delay="${{CHECK_DELAY:-{DELAY_SECONDS}}}"',
        "tries=1",
        f'until body="$(timeout {FETCH_TIMEOUT} wget -q -O - "$url")"; do',
        '  if [ "$tries" -ge "$attempts" ]; then',
        '    echo "FAIL: $url did not answer after $tries attempts" >&2',
        "    exit 1",
        "  fi",
        "  tries=$((tries + 1))",
        '  sleep "$delay"',
        "done",
    ]
    if families:
        lines += [
            'missing=""',
            "family() {",
            '  name="$1"',
            "  shift",
            '  for series in "$@"; do',
            '    if ! printf \'%s\\n\' "$body" | grep -q -E "^${series}([{ ]|\\$)"; then',
            '      missing="$missing $name"',
            "      return",
            "    fi",
            "  done",
            "}",
            # Metric names are [a-zA-Z_][a-zA-Z0-9_]* (spec-validated): safe as bare shell words.
            *(" ".join(("family", f.name, *f.series_names())) for f in families),
            'if [ -n "$missing" ]; then',
            '  echo "FAIL: $url does not expose:$missing" >&2',
            "  exit 1",
            "fi",
            f'echo "ok: $url exposes all {len(families)} declared metric families"',
        ]
    else:
        lines.append('echo "ok: $url answers"')
    return "\n".join(lines) + "\n"

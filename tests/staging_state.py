"""The observed VaultMesh staging state (shared/VAULTMESH.md) as Prometheus exposition text.

The values are plain dicts; the functions only format them. Texts are keyed by (job, pod), ready
for ``promharness.exporters``. In the healthy state exactly three alerts should fire:
PsiFieldPodDrift, PsiFieldPredictionErrorHigh and TreatyNoRequests.

Broken variants change only the treaty values. To take a psi-field target down, stop its
exporter (``running[PSI_FIELD_1].stop()``): the next scrape is refused and its ``up`` becomes 0.
For rules over counter rates, serve a function so the counters advance with every scrape:
``running[TREATY].text = lambda: treaty_text(dropping_treaty(time.monotonic() - start))``.
"""

from __future__ import annotations

from collections.abc import Mapping

from .promharness import TargetKey

NAMESPACE = "aurora-staging"
PSI_FIELD_0: TargetKey = ("psi-field", "psi-field-0")
PSI_FIELD_1: TargetKey = ("psi-field", "psi-field-1")
TREATY: TargetKey = ("treaty", "treaty-0")
SCHEDULER: TargetKey = ("scheduler", "scheduler-0")

# name -> (TYPE, HELP) for all 19 families.
FAMILIES: dict[str, tuple[str, str]] = {
    "psi_field_density": ("gauge", "Density of the psi field."),
    "psi_field_phase_coherence": ("gauge", "Phase coherence of the psi field."),
    "psi_field_continuity": ("gauge", "Continuity of the psi field."),
    "psi_field_futurity": ("gauge", "Futurity of the psi field."),
    "psi_field_temporal_entropy": ("gauge", "Temporal entropy of the psi field."),
    "psi_field_prediction_error": ("gauge", "Prediction error of the psi field."),
    "psi_field_time_dilation": ("gauge", "Time dilation of the psi field."),
    "treaty_fill_rate": ("gauge", "Fraction of requests filled (0..1)."),
    "treaty_rtt_ms": ("gauge", "Round-trip time in milliseconds."),
    "treaty_provenance_coverage": ("gauge", "Fraction of requests with provenance (0..1)."),
    "treaty_requests_total": ("counter", "Requests received."),
    "treaty_requests_routed": ("counter", "Requests routed."),
    "treaty_dropped_requests": ("counter", "Requests dropped."),
    "vmsh_anchors_attempted_total": ("counter", "Anchor attempts."),
    "vmsh_anchors_succeeded_total": ("counter", "Successful anchors."),
    "vmsh_anchors_failed_total": ("counter", "Failed anchors."),
    "vmsh_backoff_state": ("gauge", "Backoff level; 7 is the maximum."),
    "vmsh_anchor_duration_seconds": ("histogram", "Duration of anchor attempts."),
    "vmsh_anchor_last_success_timestamp_seconds": (
        "gauge",
        "Unix time of the last successful anchor, 0 if none.",
    ),
}

PSI_FIELD: dict[str, dict[str, float]] = {
    "psi-field-0": {
        "psi_field_density": 0.526,
        "psi_field_phase_coherence": 0.154,
        "psi_field_continuity": 0.776,
        "psi_field_futurity": 0.541,
        "psi_field_temporal_entropy": 0.080,
        "psi_field_prediction_error": 0.063,
        "psi_field_time_dilation": 1.0,
    },
    "psi-field-1": {
        "psi_field_density": 0.526,
        "psi_field_phase_coherence": 0.161,
        "psi_field_continuity": 0.776,
        "psi_field_futurity": 0.637,
        "psi_field_temporal_entropy": 0.633,
        "psi_field_prediction_error": 0.863,
        "psi_field_time_dilation": 1.0,
    },
}

# Idle: the counters do not move.
TREATY_VALUES: dict[str, float] = {
    "treaty_fill_rate": 0.95,
    "treaty_rtt_ms": 118.7,
    "treaty_provenance_coverage": 0.95,
    "treaty_requests_total": 1100,
    "treaty_requests_routed": 1045,
    "treaty_dropped_requests": 55,
}

SCHEDULER_NAMESPACE = "dao:vaultmesh"
SCHEDULER_CADENCE = "fast"
# Every anchor fails (no credentials), so the scheduler sits at maximum backoff.
SCHEDULER_VALUES: dict[str, float] = {
    "vmsh_anchors_attempted_total": 28,
    "vmsh_anchors_succeeded_total": 0,
    "vmsh_anchors_failed_total": 28,
    "vmsh_backoff_state": 7,
    "vmsh_anchor_last_success_timestamp_seconds": 0,
}
# Families labelled with the scheduler's namespace only (no cadence).
SCHEDULER_NAMESPACE_ONLY = frozenset(
    {"vmsh_backoff_state", "vmsh_anchor_last_success_timestamp_seconds"}
)
# Cumulative bucket counts of the 28 anchor attempts; their sum is 61.6 s (2.2 s on average).
ANCHOR_DURATION_BUCKETS: dict[str, int] = {
    "0.5": 0,
    "1": 2,
    "2": 11,
    "2.5": 20,
    "5": 27,
    "10": 28,
    "+Inf": 28,
}
ANCHOR_DURATION_SUM = 61.6

# dropping_treaty(): traffic rate and the fraction of it that is dropped.
DROPPING_REQUESTS_PER_SECOND = 10.0
DROPPING_FRACTION = 0.5


def _sample(name: str, labels: Mapping[str, str], value: float) -> str:
    """One exposition line."""
    label_text = ",".join(f'{key}="{val}"' for key, val in labels.items())
    return f"{name}{{{label_text}}} {float(value)!r}" if labels else f"{name} {float(value)!r}"


def _header(name: str) -> list[str]:
    """The HELP and TYPE lines of a family."""
    kind, help_text = FAMILIES[name]
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]


def _text(lines: list[str]) -> str:
    """Lines joined into an exposition body."""
    return "\n".join(lines) + "\n"


def _unlabelled_text(values: Mapping[str, float]) -> str:
    """Exposition of one unlabelled series per family."""
    return _text(
        [
            line
            for name, value in values.items()
            for line in (*_header(name), _sample(name, {}, value))
        ]
    )


def psi_field_text(pod: str) -> str:
    """Exposition of one psi-field pod."""
    return _unlabelled_text(PSI_FIELD[pod])


def treaty_text(values: Mapping[str, float] = TREATY_VALUES) -> str:
    """Exposition of the treaty pod."""
    return _unlabelled_text(values)


def scheduler_text(values: Mapping[str, float] = SCHEDULER_VALUES) -> str:
    """Exposition of the scheduler pod, with its own namespace/cadence labels and histogram."""
    both = {"namespace": SCHEDULER_NAMESPACE, "cadence": SCHEDULER_CADENCE}
    only_namespace = {"namespace": SCHEDULER_NAMESPACE}
    lines: list[str] = []
    for name, value in values.items():
        labels = only_namespace if name in SCHEDULER_NAMESPACE_ONLY else both
        lines += [*_header(name), _sample(name, labels, value)]
    histogram = "vmsh_anchor_duration_seconds"
    lines += _header(histogram)
    for le, count in ANCHOR_DURATION_BUCKETS.items():
        lines.append(_sample(f"{histogram}_bucket", {**both, "le": le}, count))
    lines.append(_sample(f"{histogram}_sum", both, ANCHOR_DURATION_SUM))
    lines.append(_sample(f"{histogram}_count", both, ANCHOR_DURATION_BUCKETS["+Inf"]))
    return _text(lines)


def staging(treaty: Mapping[str, float] = TREATY_VALUES) -> dict[TargetKey, str]:
    """Texts for all four targets, keyed by (job, pod), with the given treaty values."""
    texts = {("psi-field", pod): psi_field_text(pod) for pod in PSI_FIELD}
    texts[TREATY] = treaty_text(treaty)
    texts[SCHEDULER] = scheduler_text()
    return texts


def healthy_staging() -> dict[TargetKey, str]:
    """The observed staging state: all targets up, three alerts firing."""
    return staging()


def low_fill_rate_staging() -> dict[TargetKey, str]:
    """Staging with the treaty fill rate at 0.3."""
    return staging({**TREATY_VALUES, "treaty_fill_rate": 0.3})


def high_rtt_staging() -> dict[TargetKey, str]:
    """Staging with the treaty round-trip time at 9000 ms."""
    return staging({**TREATY_VALUES, "treaty_rtt_ms": 9000})


def dropping_treaty(
    elapsed_seconds: float, fraction: float = DROPPING_FRACTION
) -> dict[str, float]:
    """Treaty values after elapsed_seconds of traffic of which a fraction (half) is dropped."""
    new = DROPPING_REQUESTS_PER_SECOND * elapsed_seconds
    dropped = new * fraction
    return {
        **TREATY_VALUES,
        "treaty_requests_total": TREATY_VALUES["treaty_requests_total"] + new,
        "treaty_requests_routed": TREATY_VALUES["treaty_requests_routed"] + new - dropped,
        "treaty_dropped_requests": TREATY_VALUES["treaty_dropped_requests"] + dropped,
    }


def broken_treaty(elapsed_seconds: float) -> dict[str, float]:
    """Treaty plainly broken: fill rate 0.3, rtt 9 s, half of its live traffic dropped."""
    return {**dropping_treaty(elapsed_seconds), "treaty_fill_rate": 0.3, "treaty_rtt_ms": 9000}


def dropping_staging(elapsed_seconds: float) -> dict[TargetKey, str]:
    """Staging after elapsed_seconds of treaty traffic of which half is dropped."""
    return staging(dropping_treaty(elapsed_seconds))

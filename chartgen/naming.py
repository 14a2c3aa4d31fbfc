"""Kubernetes object names, computed the way the generated ``_helpers.tpl`` computes them."""

from __future__ import annotations

#: Kubernetes' limit for DNS-1123 label names (Services, Pods, ...).
NAME_LIMIT = 63
#: A StatefulSet's pods carry a controller-revision-hash label built from its name.
STATEFULSET_NAME_LIMIT = 52
HEADLESS_SUFFIX = "-headless"
TEST_SUFFIX = "-test"
RULES_SUFFIX = "-rules"
#: The labels the chart's templates set on objects themselves (``labels``, ``componentLabels``,
#: the headless Service): values may not add them again.
CHART_LABELS = (
    "helm.sh/chart",
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/component",
    "chartgen.io/headless",
)
#: The chart's labels its selectors match pods on.
SELECTOR_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
)


def component_name(fullname: str, service: str) -> str:
    """Name of a service's objects, as the ``componentName`` helper computes it."""
    return f"{fullname}-{service}"[:NAME_LIMIT].rstrip("-")


def rules_configmap_name(fullname: str, service: str) -> str:
    """Name of a service's rules ConfigMap."""
    return component_name(fullname, service) + RULES_SUFFIX


def generated_names(fullname: str, service: str) -> list[tuple[str, int, str]]:
    """Every name the chart builds for a service, as (name, limit, object kind).

    The workload kind is a value, so every service must fit a StatefulSet's names.
    """
    base = f"{fullname}-{service}"
    return [
        (base, NAME_LIMIT, "Service"),
        (base + TEST_SUFFIX, NAME_LIMIT, "test Job"),
        (base, STATEFULSET_NAME_LIMIT, "StatefulSet"),
        (base + HEADLESS_SUFFIX, NAME_LIMIT, "headless Service"),
    ]

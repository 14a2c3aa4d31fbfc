"""The pods a rendered chart runs, and the restricted Pod Security Standard, field by field."""

from __future__ import annotations

from typing import Any

from .conftest import ROOT

#: (id, helm template arguments, namespace): each environment, and the chart's defaults.
ENVIRONMENTS = [
    ("defaults", [], "vaultmesh"),
    ("staging", ["-f", ROOT / "values" / "staging.yaml"], "aurora-staging"),
    ("production", ["-f", ROOT / "values" / "production.yaml"], "vaultmesh"),
]
ENVIRONMENT_IDS = [name for name, _, _ in ENVIRONMENTS]
POD_TEMPLATE_KINDS = ("Deployment", "StatefulSet", "Job", "DaemonSet", "ReplicaSet")
# https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted
RESTRICTED_VOLUME_TYPES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
MIN_ID = 10000


def pod_specs(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every pod spec of the manifests, by 'Kind/name' of the object that holds it."""
    pods = {}
    for doc in docs:
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        if doc["kind"] == "Pod":
            pods[where] = doc["spec"]
        elif doc["kind"] in POD_TEMPLATE_KINDS:
            pods[where] = doc["spec"]["template"]["spec"]
    return pods


def containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    """Containers, init containers and ephemeral containers of a pod."""
    return [
        *pod.get("containers", []),
        *pod.get("initContainers", []),
        *pod.get("ephemeralContainers", []),
    ]


def restricted_violations(pod: dict[str, Any]) -> list[str]:
    """What breaks the restricted profile (and this chart's own rules) in one pod spec."""
    found = []
    pod_context = pod.get("securityContext", {})
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(field):
            found.append(f"{field} is true")
    for volume in pod.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUME_TYPES:
            found.append(f"volume {volume['name']} is {sorted(kinds)}")
    if pod_context.get("sysctls"):
        found.append("pod sets sysctls")
    for field in ("runAsUser", "runAsGroup", "fsGroup"):
        if pod_context.get(field, 0) < MIN_ID:
            found.append(f"pod {field} is {pod_context.get(field)}, not >= {MIN_ID}")
    if pod.get("automountServiceAccountToken") is not False:
        found.append("automountServiceAccountToken is not false")
    writable = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
    for container in containers(pod):
        found.extend(
            f"{container['name']}: {problem}"
            for problem in container_problems(container, pod_context, writable)
        )
    return found


def container_problems(
    container: dict[str, Any], pod_context: dict[str, Any], writable: set[str]
) -> list[str]:
    """What breaks the restricted profile in one container of a pod."""
    found = []
    context = container.get("securityContext", {})

    def either(field: str) -> Any:
        return context.get(field, pod_context.get(field))

    if either("runAsNonRoot") is not True:
        found.append("runAsNonRoot is not true")
    if either("runAsUser") in (None, 0):
        found.append("runAsUser is unset or 0")
    seccomp = either("seccompProfile") or {}
    if seccomp.get("type") not in ("RuntimeDefault", "Localhost"):
        found.append(f"seccompProfile is {seccomp}")
    if context.get("privileged"):
        found.append("privileged")
    if context.get("allowPrivilegeEscalation") is not False:
        found.append("allowPrivilegeEscalation is not false")
    capabilities = context.get("capabilities", {})
    if "ALL" not in capabilities.get("drop", []):
        found.append("capabilities do not drop ALL")
    if set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}:
        found.append(f"adds capabilities {capabilities['add']}")
    if context.get("procMount", "Default") != "Default":
        found.append(f"procMount {context['procMount']}")
    if context.get("readOnlyRootFilesystem") is not True:
        found.append("root filesystem is writable")
    if any("hostPort" in port for port in container.get("ports", [])):
        found.append("uses a hostPort")
    found.extend(image_problems(container))
    found.extend(resource_problems(container))
    mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
    if mounts.get("/tmp") not in writable:
        found.append("/tmp is not an emptyDir")
    return found


def image_problems(container: dict[str, Any]) -> list[str]:
    """A fixed tag or a digest, never latest, and an explicit pull policy."""
    image: str = container["image"]
    found = []
    if "@sha256:" not in image:
        tag = image.rpartition(":")[2] if ":" in image.rpartition("/")[2] else ""
        if tag in ("", "latest"):
            found.append(f"image {image} has no fixed tag or digest")
    if container.get("imagePullPolicy") not in ("Always", "IfNotPresent", "Never"):
        found.append("imagePullPolicy is not set")
    return found


def resource_problems(container: dict[str, Any]) -> list[str]:
    """CPU and memory requests and a memory limit."""
    resources = container.get("resources", {})
    wanted = [("requests", "cpu"), ("requests", "memory"), ("limits", "memory")]
    return [f"no {kind}.{what}" for kind, what in wanted if what not in resources.get(kind, {})]

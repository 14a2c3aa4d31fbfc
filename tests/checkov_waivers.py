"""The only checkov findings the chart accepts, each with its reason; every other one fails."""

from __future__ import annotations

WAIVERS: dict[str, str] = {
    "CKV_K8S_43": (
        "Image should use digest: the chart deploys by tag by default, since the spec and the "
        "environments name releases (v1.0.2). Tags are fixed ('latest' is refused by the spec "
        "and by values.schema.json); services.<name>.image.digest pins an image exactly."
    ),
    "CKV_K8S_15": (
        "Image Pull Policy should be Always: with fixed tags or digests, IfNotPresent runs the "
        "same image without a registry round trip on every start, and keeps pods starting "
        "while the private registry is away. services.<name>.image.pullPolicy can say Always."
    ),
}

"""Limits on the built and rendered output: sizes helm, kubectl and Kubernetes would refuse."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from chartgen.checks.names import Locate
from chartgen.errors import ChartgenError, Diagnostic, Location
from chartgen.monitoring import dashboards

if TYPE_CHECKING:  # the rules import the serializers, which import these limits
    from chartgen.monitoring.rules import RulesView


def check_rule_sizes(rules: Sequence[RulesView | None], locate: Locate) -> list[Diagnostic]:
    """Each built rules ConfigMap (one per service, in spec order) fits kubectl apply."""
    found = []
    for index, view in enumerate(rules):
        if view is None:
            continue
        texts = [view.recording_text, *(a.text for a in view.alerts), *(s.text for s in view.slos)]
        size = sum(len(text.encode()) for text in texts)
        if size > dashboards.APPLY_ANNOTATION_LIMIT:
            found.append(
                Diagnostic(
                    locate(["services", index, "name"]),
                    f"the rules ConfigMap of {view.service!r} would hold {size:,} bytes; "
                    f"`kubectl apply` refuses more than {dashboards.APPLY_ANNOTATION_LIMIT:,} "
                    f"(and Kubernetes any ConfigMap over {dashboards.CONFIGMAP_LIMIT:,})",
                    "split the rules across services, or shorten descriptions and expressions",
                )
            )
    return found


#: Helm refuses to load a chart that holds a file over 5 MiB.
HELM_FILE_LIMIT = 5 * 1024 * 1024


def check_file_size(path: str, text: str, helm_ignored: Sequence[str] = ()) -> Diagnostic | None:
    """The problem with one rendered file if helm would refuse it for its size."""
    if path.startswith(tuple(helm_ignored)) or len(text) * 4 <= HELM_FILE_LIMIT:
        return None  # at most 4 bytes per character: small enough without encoding
    size = len(text.encode())
    if size <= HELM_FILE_LIMIT:
        return None
    return Diagnostic(
        Location(path=path),
        f"{path} would be {size:,} bytes; helm refuses to load a chart holding a "
        f"file over {HELM_FILE_LIMIT:,} bytes (5 MiB)",
        "split the services into several charts, one spec (or directory of spec files) each",
    )


def raise_for_errors(diagnostics: Sequence[Diagnostic]) -> None:
    """Stop with all errors at once; warnings alone let the render go on."""
    if any(not d.warning for d in diagnostics):
        raise ChartgenError(diagnostics)


def check_dashboard_sizes(
    views: Sequence[dashboards.DashboardView], locate: Locate
) -> list[Diagnostic]:
    """Each built dashboard's ConfigMap fits kubectl apply's annotation and Kubernetes' 1 MiB."""
    found = []
    fix = "split it into smaller dashboards, or shorten its panels' descriptions and queries"
    for index, view in enumerate(views):
        size = dashboards.configmap_bytes(view.name, view.text)
        if size > dashboards.CONFIGMAP_LIMIT:
            limit = f"Kubernetes' limit of {dashboards.CONFIGMAP_LIMIT:,} bytes (1 MiB)"
        elif size > dashboards.APPLY_ANNOTATION_LIMIT:
            limit = (
                f"the {dashboards.APPLY_ANNOTATION_LIMIT:,} bytes kubectl apply can keep in its "
                "last-applied annotation"
            )
        else:
            continue
        found.append(
            Diagnostic(
                locate(["dashboards", index]),
                f"dashboard {view.name!r} needs a ConfigMap of about {size:,} bytes, over {limit}",
                fix,
            )
        )
    return found

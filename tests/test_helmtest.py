"""helm test pods: their script, run for real with busybox against loopback exporters."""

from __future__ import annotations

import subprocess
from pathlib import Path

import kubernetes_validate
import pytest

from chartgen.build import build
from chartgen.monitoring.series import catalog
from chartgen.spec import ChartSpec

from .conftest import ROOT, find_tool
from .promharness import Exporter, exporters
from .specdata import load_all, minimal_service, minimal_spec
from .staging_state import (
    PSI_FIELD_1,
    SCHEDULER,
    TREATY,
    TREATY_VALUES,
    healthy_staging,
    scheduler_text,
    treaty_text,
)

# What the busybox image offers the script besides the shell's builtins.
APPLETS = ("wget", "grep", "sleep", "timeout")


@pytest.fixture(scope="module")
def busybox_bin(tmp_path_factory) -> Path:
    """A PATH holding only busybox applets, as in the test image."""
    busybox = find_tool("busybox")
    directory = tmp_path_factory.mktemp("busybox-bin")
    for applet in ("sh", *APPLETS):
        (directory / applet).symlink_to(busybox)
    return directory


@pytest.fixture(scope="module")
def test_jobs(helm, default_chart) -> dict[str, dict]:
    """The helm test Jobs of the default chart in staging, by service."""
    result = helm("template", "vaultmesh", default_chart, "-f", ROOT / "values" / "staging.yaml")
    assert result.returncode == 0, result.stderr
    jobs = [d for d in load_all(result.stdout) if d["kind"] == "Job"]
    return {
        j["metadata"]["labels"]["app.kubernetes.io/component"].removesuffix("-test"): j
        for j in jobs
    }


@pytest.fixture(scope="module")
def test_pods(test_jobs) -> dict[str, dict]:
    """The pod templates of the helm test Jobs, by service."""
    return {service: job["spec"]["template"] for service, job in test_jobs.items()}


def run_check(
    pod: dict, url: str, busybox_bin: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the pod's command with busybox, with its URL pointed at a loopback exporter."""
    [container] = pod["spec"]["containers"]
    shell, flag, script, name, _url = container["command"]
    assert (shell, flag) == ("sh", "-c")
    return subprocess.run(
        [str(busybox_bin / "sh"), flag, script, name, url],
        capture_output=True,
        text=True,
        env={"PATH": str(busybox_bin), **env},
        timeout=60,
    )


def metrics_url(exporter: Exporter) -> str:
    return f"http://{exporter.address}/metrics"


def test_each_test_pod_targets_its_service_metrics_endpoint(test_jobs, test_pods):
    expected = {
        "scheduler": "http://vaultmesh-scheduler:9091/metrics",
        "psi-field": "http://vaultmesh-psi-field:8000/metrics",
        "treaty": "http://vaultmesh-treaty:8080/metrics",
    }
    assert {s: p["spec"]["containers"][0]["command"][-1] for s, p in test_pods.items()} == expected
    for job in test_jobs.values():
        assert job["metadata"]["annotations"]["helm.sh/hook"] == "test"
        kubernetes_validate.validate(job, kubernetes_validate.latest_version(), strict=True)
    for pod in test_pods.values():
        assert pod["spec"]["containers"][0]["image"] == "docker.io/library/busybox:1.37.0"


def test_the_scripts_pass_on_the_staging_state_and_prove_the_19_families(test_pods, busybox_bin):
    proven = 0
    with exporters(healthy_staging()) as running:
        for (service, pod), exporter in running.items():
            result = run_check(test_pods[service], metrics_url(exporter), busybox_bin)
            assert result.returncode == 0, (pod, result.stdout + result.stderr)
            count = int(result.stdout.split("exposes all ")[1].split()[0])
            assert result.stdout == (
                f"ok: {metrics_url(exporter)} exposes all {count} declared metric families\n"
            )
            if pod != PSI_FIELD_1[1]:  # count each service once
                proven += count
    assert proven == 19


def test_a_missing_family_fails_and_is_named(test_pods, busybox_bin):
    values = {k: v for k, v in TREATY_VALUES.items() if k != "treaty_rtt_ms"}
    with Exporter(treaty_text(values)) as exporter:
        url = metrics_url(exporter)
        result = run_check(test_pods[TREATY[0]], url, busybox_bin)
    assert result.returncode == 1
    assert result.stderr == f"FAIL: {url} does not expose: treaty_rtt_ms\n"


def test_a_histogram_without_its_buckets_is_missing(test_pods, busybox_bin):
    text = "".join(
        line + "\n"
        for line in scheduler_text().splitlines()
        if not line.startswith("vmsh_anchor_duration_seconds_bucket")
    )
    with Exporter(text) as exporter:
        result = run_check(test_pods[SCHEDULER[0]], metrics_url(exporter), busybox_bin)
    assert result.returncode == 1
    assert result.stderr.endswith("does not expose: vmsh_anchor_duration_seconds\n")


def test_a_family_whose_name_is_only_a_prefix_does_not_count(test_pods, busybox_bin):
    # treaty_rtt_ms_max is a different family; treaty_rtt_ms itself is gone.
    text = treaty_text().replace("treaty_rtt_ms", "treaty_rtt_ms_max")
    with Exporter(text) as exporter:
        result = run_check(test_pods[TREATY[0]], metrics_url(exporter), busybox_bin)
    assert result.returncode == 1
    assert result.stderr.endswith("does not expose: treaty_rtt_ms\n")


def test_an_endpoint_that_does_not_answer_fails_after_bounded_attempts(test_pods, busybox_bin):
    exporter = Exporter(treaty_text()).start()
    url = metrics_url(exporter)
    exporter.stop()
    result = run_check(test_pods[TREATY[0]], url, busybox_bin, CHECK_ATTEMPTS="3", CHECK_DELAY="0")
    assert result.returncode == 1
    assert result.stderr.endswith(f"FAIL: {url} did not answer after 3 attempts\n")


def test_a_service_without_families_only_has_to_answer(busybox_bin):
    spec = ChartSpec.model_validate(minimal_spec(minimal_service()))
    chart = build(spec, catalog(spec))
    [service] = chart.services
    with Exporter("") as exporter:
        url = metrics_url(exporter)
        result = subprocess.run(
            [str(busybox_bin / "sh"), "-c", service.test_script, "api-test", url],
            capture_output=True,
            text=True,
            env={"PATH": str(busybox_bin)},
            timeout=60,
        )
    assert (result.returncode, result.stdout) == (0, f"ok: {url} answers\n")

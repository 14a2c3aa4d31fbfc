"""The chart README: the monitoring reference and the Prometheus wiring, checked against tools."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from chartgen import render as render_module
from chartgen.load import load_spec, load_texts
from chartgen.load.sources import embedded_spec_text
from chartgen.monitoring.docs import COMMUNITY_RULE_FILES, RULES_MOUNT
from chartgen.pipeline import generate
from chartgen.render import PER_ENTRY_SECTIONS, markdown_cell

from .conftest import ROOT, find_tool
from .promharness import Exporter, Prometheus, TargetKey, exporters, scrape_targets
from .specdata import dump_yaml, load_all
from .staging_state import NAMESPACE, SCHEDULER, SCHEDULER_NAMESPACE, TREATY, healthy_staging

CHART = ROOT / "charts" / "vaultmesh"


def section(readme: str, heading: str) -> str:
    """The text under a `## heading`, up to the next one."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", readme, re.M | re.S)
    assert match, f"no section {heading!r}"
    return match.group(1)


def table(readme: str, heading: str) -> list[dict[str, str]]:
    """The rows of the Markdown table in a section, as {column: cell}."""
    lines = [line for line in section(readme, heading).splitlines() if line.startswith("|")]
    split = [
        [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
        for line in lines
    ]
    header, _rule, *rows = split
    return [dict(zip(header, row, strict=True)) for row in rows]


@pytest.fixture(scope="module")
def readme(default_render) -> str:
    return default_render.files["README.md"]


@pytest.fixture(scope="module")
def spec():
    return load_spec().spec


def test_the_readme_lists_every_metric_family(readme, spec):
    rows = table(readme, "Metrics")
    expected = [
        (s.name, f"`{f.name}`", f.type, f.unit or "-", ", ".join(f.labels) or "-", f.help)
        for s in spec.services
        if s.metrics
        for f in s.metrics.families
    ]
    assert [tuple(row.values()) for row in rows] == expected
    assert len(rows) == 19


def test_the_readme_lists_every_recording_rule_with_its_expression(readme, spec):
    rows = table(readme, "Recording rules")
    expected = [
        (s.name, f"`{r.record}`", "`" + " ".join(r.expr.split()) + "`")
        for s in spec.services
        for r in s.recordingRules
    ]
    assert [tuple(row.values()) for row in rows] == expected
    assert len(rows) == 22


def test_the_readme_lists_every_alert_with_defaults_severity_and_runbook(readme, spec):
    rows = {row["alert"]: row for row in table(readme, "Alerts")}
    alerts = [a for s in spec.services for a in s.alerts]
    assert list(rows) == [a.alert for a in alerts]
    assert len(rows) == 12
    for alert in alerts:
        row = rows[alert.alert]
        assert row["severity"] == alert.severity
        assert row["for"] == alert.for_
        assert row["parameters"] == (", ".join(f"{k}={v}" for k, v in alert.params.items()) or "-")
        assert row["runbook"] == f"[runbook]({alert.runbook})"
    assert rows["TreatyRttHigh"]["parameters"] == "threshold=500"
    assert rows["PsiFieldDensityAnomaly"]["parameters"] == "low=0.2, high=0.8"
    assert rows["TreatyDropRateHigh"]["severity"] == "critical"


def test_a_pipe_in_an_expression_stays_inside_its_cell():
    assert markdown_cell('up{job=~"a|b"}\n  == 0') == 'up{job=~"a\\|b"} == 0'


def wiring_values(readme: str) -> dict[str, Any]:
    """The values snippet of the wiring section."""
    match = re.search(r"```yaml\n(.*?)```", section(readme, "Wiring into Prometheus"), re.S)
    assert match
    values: dict[str, Any] = YAML(typ="safe").load(match.group(1))
    return values


def test_the_wiring_values_mount_the_configmaps_the_chart_ships(readme, helm):
    values = wiring_values(readme)
    result = helm("template", "vaultmesh", CHART)
    assert result.returncode == 0, result.stderr
    shipped = {
        doc["metadata"]["name"]: sorted(doc["data"])
        for doc in load_all(result.stdout)
        if doc.get("kind") == "ConfigMap" and doc["metadata"]["name"].endswith("-rules")
    }
    mounts = values["server"]["extraConfigmapMounts"]
    assert {
        m["configMap"]: [f"{m['configMap'].removeprefix('vaultmesh-')[:-6]}.rules.yaml"]
        for m in mounts
    } == shipped
    assert values["configmapReload"]["prometheus"]["extraConfigmapMounts"] == mounts
    assert values["configmapReload"]["prometheus"]["extraVolumeDirs"] == [
        m["mountPath"] for m in mounts
    ]


def pod_discovery(manifests: str, running: dict[TargetKey, Exporter]) -> list[dict[str, Any]]:
    """static_configs carrying the labels Kubernetes pod discovery would give each exporter.

    The labels and annotations come from the chart's own pod templates; only the port
    annotation is the exporter's. A pod of another chart is added: it must not be scraped.
    Debian's prometheus is built without Kubernetes discovery, hence this stand-in.
    """
    meta = "__meta_kubernetes_pod_"
    pods = {
        doc["metadata"]["labels"]["app.kubernetes.io/component"]: doc["spec"]["template"]
        for doc in load_all(manifests)
        if doc.get("kind") in ("Deployment", "StatefulSet")
    }
    static_configs = []
    for (job, pod), exporter in running.items():
        template = pods[job]["metadata"]
        host, port = exporter.address.split(":")
        labels = {
            "__meta_kubernetes_namespace": NAMESPACE,
            f"{meta}name": pod,
            **{f"{meta}label_{sanitize(k)}": v for k, v in template["labels"].items()},
            **{f"{meta}annotation_{sanitize(k)}": v for k, v in template["annotations"].items()},
            f"{meta}annotation_prometheus_io_port": port,
        }
        static_configs.append({"targets": [host], "labels": labels})
        if job == TREATY[0]:
            foreign = {**labels, f"{meta}label_app_kubernetes_io_name": "other"}
            static_configs.append({"targets": [exporter.address], "labels": foreign})
    return static_configs


def sanitize(name: str) -> str:
    """A Kubernetes label or annotation key as a discovery meta label suffix."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


@pytest.fixture(scope="module")
def staging_manifests(helm) -> str:
    result = helm(
        "template", "vaultmesh", CHART, "-n", NAMESPACE, "-f", ROOT / "values" / "staging.yaml"
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_wiring_values_give_a_prometheus_config_that_loads_every_rule(
    readme, staging_manifests, tmp_path: Path
):
    """promtool checks the config the community chart would build, rules mounted as it would."""
    values = wiring_values(readme)
    configmaps = {
        doc["metadata"]["name"]: doc["data"]
        for doc in load_all(staging_manifests)
        if doc.get("kind") == "ConfigMap"
    }
    root = tmp_path / "root"

    def local(path: str) -> Path:
        return root / path.lstrip("/")

    for mount in values["server"]["extraConfigmapMounts"]:
        directory = local(mount["mountPath"])
        directory.mkdir(parents=True)
        for key, text in configmaps[mount["configMap"]].items():
            (directory / key).write_text(text)
    for path in COMMUNITY_RULE_FILES:
        local(path).parent.mkdir(parents=True, exist_ok=True)
        local(path).write_text("{}\n")
    rule_files = values["serverFiles"]["prometheus.yml"]["rule_files"]
    assert rule_files == [
        *COMMUNITY_RULE_FILES,
        *(f"{m['mountPath']}/*.yaml" for m in values["server"]["extraConfigmapMounts"]),
    ]
    assert all(
        m["mountPath"].startswith(RULES_MOUNT) for m in values["server"]["extraConfigmapMounts"]
    )
    [job] = YAML(typ="safe").load(values["extraScrapeConfigs"])
    assert job.pop("kubernetes_sd_configs") == [{"role": "pod"}]
    job["static_configs"] = [{"targets": ["127.0.0.1:9"]}]
    config_file = tmp_path / "prometheus.yml"
    config_file.write_text(
        dump_yaml({"rule_files": [str(local(p)) for p in rule_files], "scrape_configs": [job]})
    )

    check = subprocess.run(
        [find_tool("promtool"), "check", "config", config_file], capture_output=True, text=True
    )
    output = check.stdout + check.stderr
    assert check.returncode == 0, output
    found = [int(n) for n in re.findall(r"SUCCESS: (\d+) rules found", output)]
    # VaultMesh's 22 recording rules and 12 alerts, and 17 rules for each of the two SLOs
    # staging keeps (it switches off the scheduler's)
    assert sum(found) == 22 + 12 + 2 * 17, output


def test_the_wiring_scrape_job_labels_targets_as_the_rules_select_them(readme, staging_manifests):
    [job] = YAML(typ="safe").load(wiring_values(readme)["extraScrapeConfigs"])
    with exporters(healthy_staging()) as running:
        job.pop("kubernetes_sd_configs")
        job["static_configs"] = pod_discovery(staging_manifests, running)
        targets = scrape_targets(running, NAMESPACE)
        with Prometheus(find_tool("prometheus"), targets, scrape_configs=[job]) as prom:
            prom.wait_settled()
            up = sorted(
                (s["metric"]["job"], s["metric"]["pod"], s["metric"]["namespace"], s["value"][1])
                for s in prom.query("up")
            )
            assert up == sorted((job, pod, NAMESPACE, "1") for job, pod in running)
            # honor_labels: the scheduler's own namespace label is kept, not renamed.
            [backoff] = prom.query("vmsh_backoff_state")
            assert backoff["metric"]["namespace"] == SCHEDULER_NAMESPACE
            assert backoff["metric"]["job"] == SCHEDULER[0]
            # The selectors the rules use find the series.
            assert len(prom.query('psi_field_prediction_error{job="psi-field"}')) == 2
            assert len(prom.query('treaty_fill_rate{job="treaty"}')) == 1


def test_the_project_readme_example_service_renders_beside_the_vaultmesh_spec():
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"```yaml\n(services:\n  - name: harbinger\n.*?)```", readme, re.S)
    assert match
    loaded = load_texts(
        [("vaultmesh.yaml", embedded_spec_text()), ("harbinger.yaml", match.group(1))]
    )
    files = generate(loaded.spec, loaded.sources.locate).files
    assert "templates/harbinger/workload.yaml" in files
    assert "harbinger:signals:rate5m" in files["templates/harbinger/prometheus-rules.yaml"]


def test_a_readme_past_helms_file_limit_leaves_each_entrys_keys_to_values_yaml(
    default_render, monkeypatch
):
    full = default_render.files["README.md"]
    limit = len(full.encode()) - 1
    monkeypatch.setattr(render_module, "HELM_FILE_LIMIT", limit)
    readme = render_module.render(default_render.chart)["README.md"]
    assert len(readme.encode()) <= limit
    keys = [line.split("`")[1] for line in readme.splitlines() if line.startswith("| `")]
    full_keys = [line.split("`")[1] for line in full.splitlines() if line.startswith("| `")]
    assert keys == [k for k in full_keys if k.split(".")[0] not in PER_ENTRY_SECTIONS]
    assert "`services.<name>.*`, `alerts.<name>.*`, `dashboards.<name>.*`" in readme
    assert "described in `values.yaml`" in readme
    assert "described in `values.yaml`" not in full
    for section in ("## Metrics", "## Recording rules", "## Alerts", "## Wiring into Prometheus"):
        assert full.split(section, 1)[1] == readme.split(section, 1)[1]


def test_the_install_notes_print_the_readmes_wiring_for_the_installed_release(readme, helm):
    result = helm("install", "vaultmesh", CHART, "--dry-run=client", "-n", NAMESPACE)
    assert result.returncode == 0, result.stderr
    block = result.stdout.split("chart's README):\n", 1)[1].split("\n\n", 1)[0]
    printed = YAML(typ="safe").load(block)
    documented = wiring_values(readme)
    del documented["extraScrapeConfigs"]  # one job for the chart's pods under any release
    assert printed == documented

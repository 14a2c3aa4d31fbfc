"""chartgen preview: a static page per dashboard, opened in a real headless Chromium."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

from ruamel.yaml import YAML

from chartgen.pipeline import generate
from chartgen.spec import ChartSpec

from .conftest import ROOT
from .rulefiles import rule_files
from .specdata import dump_yaml, minimal_service, minimal_spec
from .test_cli import run
from .test_dashboards import NAMES, dashboard_configmaps, demo_spec, panel

#: Alert parameters, smallest first, and how Helm's toJson writes them: str() writes the first
#: three 1e-07, 1e-05 and 5.0, and int() the last in 22 digits.
AS_HELM_WRITES = {
    "tinier": (1e-07, "1e-7"),
    "tiny": (1e-05, "0.00001"),
    "five": (5.0, "5"),
    "huge": (1e21, "1e+21"),
}


class PageReader(HTMLParser):
    """The body's data attributes and the title of every panel on a page."""

    def __init__(self) -> None:
        super().__init__()
        self.body: dict[str, str | None] = {}
        self.panels: list[dict[str, str]] = []
        self.rows: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "body":
            self.body = attributes
        elif tag == "div" and attributes.get("class") == "panel":
            self.panels.append({"type": attributes["data-type"], "title": ""})
        elif tag == "div" and attributes.get("class") == "row":
            self._in = "row"
        elif tag == "h2" and self.panels:
            self._in = "h2"
        elif tag == "span":
            self._in = None

    def handle_data(self, data):
        if self._in == "h2":
            self.panels[-1]["title"] += data
        elif self._in == "row":
            self.rows.append(data)
            self._in = None

    def handle_endtag(self, tag):
        if tag in ("h2", "div"):
            self._in = None


def read_page(text: str) -> PageReader:
    reader = PageReader()
    reader.feed(text)
    return reader


def expected(name: str) -> list[dict]:
    path = ROOT / "charts" / "vaultmesh" / "dashboards" / f"{name}.json"
    return json.loads(path.read_text())["panels"]


def test_preview_writes_a_page_per_dashboard_and_an_index(tmp_path):
    result = run("preview", "--out", tmp_path / "pages")
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout
        == f"wrote 5 pages to {tmp_path / 'pages'}: open {tmp_path / 'pages' / 'index.html'}\n"
    )
    pages = sorted(p.name for p in (tmp_path / "pages").iterdir())
    assert pages == sorted(["index.html", *(f"{n}.html" for n in NAMES)])
    index = (tmp_path / "pages" / "index.html").read_text()
    for name in NAMES:
        assert f'href="{name}.html"' in index
    scheduler = read_page((tmp_path / "pages" / "scheduler.html").read_text())
    titles = [p["title"] for p in expected("scheduler") if p["type"] != "row"]
    assert [p["title"] for p in scheduler.panels] == titles


def test_preview_shows_the_slo_dashboard_with_a_row_per_slo_and_its_objective_query(tmp_path):
    assert run("preview", "--out", tmp_path).returncode == 0
    text = (tmp_path / "slos.html").read_text()
    page = read_page(text)
    assert page.rows == [p["title"] for p in expected("slos") if p["type"] == "row"]
    assert [p["title"] for p in page.panels] == [
        p["title"] for p in expected("slos") if p["type"] != "row"
    ]
    assert '<code>slo:objective:ratio{sloth_id="treaty-routing-success"}</code>' in text


def test_preview_shows_the_queries_escaped_and_thresholds_of_the_chosen_environment(tmp_path):
    staging = tmp_path / "staging"
    assert (
        run("preview", "--out", staging, "--values", ROOT / "values" / "staging.yaml").returncode
        == 0
    )
    assert run("preview", "--out", tmp_path / "default").returncode == 0
    page = (staging / "psi-field.html").read_text()
    assert '<code>psi:pod_drift:abs{namespace=~"$namespace"}</code>' in page
    scheduler = (staging / "scheduler.html").read_text()
    assert 'namespace=~"$namespace"} &gt; 0)</code>' in scheduler
    assert ">0.6</span>" in page
    assert ">0.6</span>" not in (tmp_path / "default" / "psi-field.html").read_text()


def test_preview_refuses_a_spec_without_dashboards_and_writes_nothing(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(dump_yaml(minimal_spec(minimal_service())))
    result = run("preview", "--spec", spec, "--out", tmp_path / "pages")
    assert result.returncode == 1
    assert "error: the spec declares no dashboards" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "pages").exists()


def test_preview_refuses_a_threshold_that_is_not_a_number(tmp_path):
    values = tmp_path / "values.yaml"
    values.write_text("alerts:\n  PsiFieldPodDrift:\n    threshold: high\n")
    result = run("preview", "--values", values, "--out", tmp_path / "pages")
    assert result.returncode == 1
    assert (
        f"{values}:3: alerts.PsiFieldPodDrift.threshold: error: 'high' is not a number"
        in result.stderr
    )
    assert not (tmp_path / "pages").exists()


def test_chromium_lays_out_every_panel_without_overlap(chromium, tmp_path):
    assert run("preview", "--out", tmp_path).returncode == 0
    for name in NAMES:
        page = read_page(chromium(tmp_path / f"{name}.html", "--dump-dom"))
        panels = expected(name)
        # set by the page's script from the boxes the browser laid out
        assert page.body["data-laid-out"] == str(len(panels)), name
        assert page.body["data-overlaps"] == "0", name
        assert [p["title"] for p in page.panels] == [
            p["title"] for p in panels if p["type"] != "row"
        ]
        assert [p["type"] for p in page.panels] == [p["type"] for p in panels if p["type"] != "row"]
        assert page.rows == [p["title"] for p in panels if p["type"] == "row"]


def test_an_alert_threshold_reads_in_the_preview_as_helm_writes_it(helm, tmp_path):
    thresholds = [{"alert": "ApiQueueDeep", "param": name} for name in AS_HELM_WRITES]
    spec = demo_spec(panel({"metric": "api_queue_depth"}, thresholds=thresholds))
    [alert] = spec["services"][0]["alerts"]
    alert["params"] = {name: value for name, (value, _) in AS_HELM_WRITES.items()}
    alert["expr"] = " or ".join(f"api_queue_depth > ${name}" for name in AS_HELM_WRITES)
    (tmp_path / "spec.yaml").write_text(dump_yaml(spec))
    assert (
        run("render", "--spec", tmp_path / "spec.yaml", "--out", tmp_path / "demo").returncode == 0
    )
    assert run("preview", "--spec", tmp_path / "spec.yaml", "--out", tmp_path).returncode == 0
    [configmap] = dashboard_configmaps(helm, tmp_path / "demo").values()
    [shipped] = configmap["data"].values()
    [view] = generate(ChartSpec.model_validate(spec)).chart.dashboards
    assert shipped + "\n" == view.with_values()
    written = [text for _, text in AS_HELM_WRITES.values()]
    assert re.findall(r'"value": ([^\s,]+)', shipped) == ["null", *written]
    page = (tmp_path / "api.html").read_text()
    assert re.findall(r'class="step"[^>]*>([^<]*)<', page) == ["base", *written]
    # the rule spells some otherwise ({{ $alert.tiny }} prints 1e-05), the same number
    [rules] = rule_files(helm("template", "demo", tmp_path / "demo").stdout).values()
    [rule] = YAML(typ="safe").load(rules)["groups"][1]["rules"]
    numbers = [float(n) for n in re.findall(r"> (\S+)", rule["expr"])]
    assert numbers == [value for value, _ in AS_HELM_WRITES.values()]

"""chartgen preview: a static page per dashboard, opened in a real headless Chromium."""

from __future__ import annotations

import json
from html.parser import HTMLParser

from .conftest import ROOT
from .specdata import dump_yaml, minimal_service, minimal_spec
from .test_cli import run
from .test_dashboards import NAMES


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
        == f"wrote 4 pages to {tmp_path / 'pages'}: open {tmp_path / 'pages' / 'index.html'}\n"
    )
    pages = sorted(p.name for p in (tmp_path / "pages").iterdir())
    assert pages == sorted(["index.html", *(f"{n}.html" for n in NAMES)])
    index = (tmp_path / "pages" / "index.html").read_text()
    for name in NAMES:
        assert f'href="{name}.html"' in index
    scheduler = read_page((tmp_path / "pages" / "scheduler.html").read_text())
    titles = [p["title"] for p in expected("scheduler") if p["type"] != "row"]
    assert [p["title"] for p in scheduler.panels] == titles


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

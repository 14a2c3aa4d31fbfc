"""Static HTML previews of the dashboards: layout, titles, queries and thresholds, no Grafana."""

from __future__ import annotations

import json
import os
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chartgen.errors import ChartgenError, Location
from chartgen.load.sources import HEADER
from chartgen.monitoring.dashboards import DashboardView
from chartgen.monitoring.params import format_number

ROW_PX = 30  # Grafana's grid row height
STYLE = """
body { font-family: system-ui, sans-serif; margin: 16px; background: #111217; color: #ccccdc; }
h1 { font-size: 20px; margin: 0 0 4px; }
p.description { margin: 0 0 8px; color: #9fa7b3; }
ul.variables { list-style: none; padding: 0; margin: 0 0 12px; display: flex; gap: 8px; }
ul.variables li { background: #22252b; border-radius: 3px; padding: 2px 8px; font-size: 13px; }
.grid { display: grid; grid-template-columns: repeat(24, 1fr); grid-auto-rows: 30px; gap: 4px; }
.panel { background: #181b1f; border: 1px solid #2c3235; border-radius: 3px; padding: 6px;
  overflow: auto; font-size: 12px; box-sizing: border-box; }
.panel h2 { font-size: 13px; margin: 0 0 4px; color: #fff; }
.row { border-bottom: 1px solid #2c3235; font-size: 15px; font-weight: 600; align-self: end; }
.kind { float: right; color: #6e9fff; }
.unit { color: #9fa7b3; }
code { display: block; white-space: pre-wrap; word-break: break-all; background: #0b0c0e;
  padding: 2px 4px; margin: 2px 0; color: #e0b400; }
.legend { color: #9fa7b3; }
.steps { display: flex; gap: 4px; margin-top: 4px; flex-wrap: wrap; }
.step { border-radius: 2px; padding: 0 4px; color: #000; }
"""
# Runs in the browser: records how many panels were laid out and whether any two overlap.
CHECK_SCRIPT = """
const boxes = [...document.querySelectorAll('.grid > div')].map(e => e.getBoundingClientRect());
let overlaps = 0;
for (let i = 0; i < boxes.length; i++) {
  for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    const apart = a.right - 1 <= b.left || b.right - 1 <= a.left
      || a.bottom - 1 <= b.top || b.bottom - 1 <= a.top;
    if (!apart) overlaps++;
  }
}
document.body.dataset.laidOut = boxes.filter(b => b.width > 0 && b.height > 0).length;
document.body.dataset.overlaps = overlaps;
"""
COLORS = {"green": "#73bf69", "orange": "#ff9830", "red": "#f2495c", "blue": "#5794f2"}


def _element(parent: ET.Element, tag: str, text: str = "", **attributes: str) -> ET.Element:
    child = ET.SubElement(parent, tag, {k.rstrip("_"): v for k, v in attributes.items()})
    child.text = text or None
    return child


def _page(title: str, body: ET.Element) -> str:
    html = ET.Element("html", lang="en")
    head = _element(html, "head")
    _element(head, "meta", charset="utf-8")
    _element(head, "title", title)
    _element(head, "style", STYLE)
    html.append(body)
    text = ET.tostring(html, encoding="unicode", method="html")
    return f"<!DOCTYPE html>\n<!-- {HEADER} -->\n{text}\n"


def _panel(parent: ET.Element, panel: Mapping[str, Any]) -> None:
    grid = panel["gridPos"]
    style = f"grid-column: {grid['x'] + 1} / span {grid['w']}; "
    style += f"grid-row: {grid['y'] + 1} / span {grid['h']};"
    if panel["type"] == "row":
        _element(parent, "div", panel["title"], class_="row", style=style)
        return
    box = _element(parent, "div", class_="panel", style=style)
    box.set("data-id", str(panel["id"]))
    box.set("data-type", panel["type"])
    _element(_element(box, "h2", panel["title"]), "span", panel["type"], class_="kind")
    defaults = panel["fieldConfig"]["defaults"]
    _element(box, "div", f"unit: {defaults['unit']}", class_="unit")
    for target in panel["targets"]:
        _element(box, "code", target["expr"])
        _element(box, "div", f"{target['refId']}: {target['legendFormat']}", class_="legend")
    steps = _element(box, "div", class_="steps")
    for step in defaults["thresholds"]["steps"]:
        value = "base" if step["value"] is None else format_number(step["value"])
        color = COLORS.get(step["color"], step["color"])
        _element(steps, "span", value, class_="step", style=f"background: {color}")


def preview_html(view: DashboardView, values: Mapping[tuple[str, str], float | int]) -> str:
    """One dashboard as a standalone HTML page; thresholds filled with the given values."""
    dashboard = json.loads(view.with_values(values))
    body = ET.Element("body", {"data-uid": dashboard["uid"]})
    _element(body, "h1", dashboard["title"])
    if dashboard.get("description"):
        _element(body, "p", dashboard["description"], class_="description")
    variables = _element(body, "ul", class_="variables")
    for variable in dashboard["templating"]["list"]:
        _element(variables, "li", f"${variable['name']}")
    grid = _element(body, "div", class_="grid")
    for panel in dashboard["panels"]:
        _panel(grid, panel)
    _element(body, "script", CHECK_SCRIPT)
    return _page(f"{dashboard['title']} - dashboard preview", body)


def index_html(views: tuple[DashboardView, ...]) -> str:
    """A page linking the previews."""
    body = ET.Element("body")
    _element(body, "h1", "Dashboard previews")
    listing = _element(body, "ul")
    for view in views:
        _element(_element(listing, "li"), "a", view.title, href=f"{view.name}.html")
    return _page("Dashboard previews", body)


def preview_files(
    views: tuple[DashboardView, ...], values: Mapping[tuple[str, str], float | int]
) -> dict[str, str]:
    """Every preview page by file name: one per dashboard, and index.html."""
    files = {f"{view.name}.html": preview_html(view, values) for view in views}
    return {"index.html": index_html(views), **files}


def write_pages(files: Mapping[str, str], out: Path) -> None:
    """Write each page whole: to a temporary file beside it, then renamed over it."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            handle, temporary = tempfile.mkstemp(prefix=f".{name}.", dir=out)
            with os.fdopen(handle, "w", encoding="utf-8") as page:
                page.write(text)
            os.chmod(temporary, 0o644)
            os.replace(temporary, out / name)
    except OSError as err:
        raise ChartgenError.single(
            f"cannot write the preview: {err.strerror or err}",
            fix="choose another --out, or fix its permissions",
            where=Location(str(out)),
        ) from None

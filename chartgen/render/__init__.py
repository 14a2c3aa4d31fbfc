"""Render: the one Jinja environment, and the chart's files as {relative path: text}."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from chartgen.checks.output import HELM_FILE_LIMIT
from chartgen.load.sources import HEADER, template_dir
from chartgen.render.serialize import (
    KeyDocs,
    helm_escape,
    to_commented_yaml,
    to_json,
    to_yaml,
    yaml_quote,
)
from chartgen.values.chart import values_docs

if TYPE_CHECKING:  # the build imports the serializers of this package
    from chartgen.build import ChartView

__all__ = ["HEADER", "environment", "render", "render_files", "template_dir", "values_table"]

#: promtool's unit tests of the rules; .helmignore keeps this directory out of the package.
RULE_TESTS_DIR = "rule-tests/"
#: Its test files: the alert examples, and the SLOs over simulated days.
ALERT_TESTS, SLO_TESTS = "alerts.test.yaml", "slos.test.yaml"


def _test_text(document: dict[str, Any]) -> str:
    return f"# {HEADER}\n" + to_yaml(document)


def markdown_cell(text: object) -> str:
    """Text that stays inside one Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


FILTERS: dict[str, Any] = {
    "helm_escape": helm_escape,
    "cell": markdown_cell,
    "quote": yaml_quote,
    "to_yaml": to_yaml,
}


@functools.cache
def environment(directory: Path | None = None) -> jinja2.Environment:
    """The Jinja environment: its own delimiters so Helm's {{ }} pass through untouched."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory or template_dir()),
        block_start_string="[%",
        block_end_string="%]",
        variable_start_string="[[",
        variable_end_string="]]",
        comment_start_string="[#",
        comment_end_string="#]",
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        auto_reload=False,  # templates do not change during a run: no stat per file rendered
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    env.globals["HEADER"] = HEADER
    return env


def render(chart: ChartView) -> dict[str, str]:
    """Every file of the chart, keyed by its path inside the chart directory, sorted."""
    return dict(sorted(render_files(chart)))


def render_files(chart: ChartView) -> Iterator[tuple[str, str]]:
    """Every file of the chart as (path, text), each rendered when reached, in a fixed order.

    Only one file's text is made at a time, so a consumer that writes or compares each file
    as it comes never holds the whole chart. The values files come first: they take the
    most memory to make, and the memory the spec models left is free then.
    """
    env = environment()

    def rendered(name: str, **context: Any) -> str:
        return env.get_template(name).render(chart=chart, **context)

    def template(name: str, **context: Any) -> Callable[[], str]:
        return functools.partial(rendered, name, **context)

    def text(value: str) -> Callable[[], str]:
        return lambda: value

    defaults, docs = chart.values.defaults, values_docs(chart.values)
    files: dict[str, Callable[[], str]] = {
        "Chart.yaml": lambda: f"# {HEADER}\n" + to_yaml(chart.chart_yaml),
        "values.yaml": lambda: f"# {HEADER}\n" + to_commented_yaml(defaults, docs),
        "values.schema.json": lambda: to_json(chart.values.schema),
        ".helmignore": template("helmignore.jinja", rule_tests_dir=RULE_TESTS_DIR),
        "README.md": lambda: readme(rendered, values_table(defaults, docs)),
        "templates/_helpers.tpl": template("_helpers.tpl.jinja"),
        "templates/NOTES.txt": template("NOTES.txt.jinja"),
    }
    for service in chart.services:
        kinds = [*SERVICE_FILES]
        if service.rules:
            kinds.append("prometheus-rules")
        if service.scrape:
            kinds.append("servicemonitor")
        for kind in kinds:
            path = f"templates/{service.name}/{kind}.yaml"
            files[path] = template(f"{kind}.yaml.jinja", service=service)
        files[f"templates/tests/{service.name}-test.yaml"] = template(
            "test-pod.yaml.jinja", service=service
        )
    for dashboard in chart.dashboards:
        files[dashboard.file_name] = text(dashboard.text)
        files[f"templates/dashboards/{dashboard.name}.yaml"] = template(
            "dashboard-configmap.yaml.jinja", dashboard=dashboard
        )
    for name, document in chart.rule_tests.items():
        # promtool unit tests of the rules; .helmignore keeps them out of the package
        files[RULE_TESTS_DIR + name] = functools.partial(_test_text, document)
    first = ("values.schema.json", "values.yaml")
    for path in (*first, *sorted(files.keys() - set(first))):
        yield path, files[path]()


#: The templates every service gets, by file name; rules and a ServiceMonitor when it has them.
SERVICE_FILES = ("workload", "service", "networkpolicy", "poddisruptionbudget", "serviceaccount")

#: Values sections with an entry per service, alert or dashboard.
PER_ENTRY_SECTIONS = ("services", "alerts", "dashboards")


def readme(template: Callable[..., str], rows: list[tuple[str, str, str]]) -> str:
    """The chart README; past helm's file limit, without the rows of each entry's keys."""
    # The rows' characters alone are fewer than their bytes in the file: past the limit,
    # the whole table need not be rendered to know it does not fit.
    if sum(len(key) + len(default) + len(text) for key, default, text in rows) <= HELM_FILE_LIMIT:
        text = template("README.md.jinja", values_rows=values_rows(rows), listed_elsewhere=())
        if len(text) * 4 <= HELM_FILE_LIMIT or len(text.encode()) <= HELM_FILE_LIMIT:
            return text
    present = {key.split(".", 1)[0] for key, _, _ in rows}
    sections = tuple(s for s in PER_ENTRY_SECTIONS if s in present)
    shared = [row for row in rows if row[0].split(".", 1)[0] not in sections]
    return template("README.md.jinja", values_rows=values_rows(shared), listed_elsewhere=sections)


def values_rows(rows: list[tuple[str, str, str]]) -> str:
    """The README's values table rows, one line each: a row per key, 56,000 at 1000 services.

    Joined here rather than looped over in the template, which took a quarter of a second.
    """
    return "".join(f"| `{key}` | `{default}` | {text} |\n" for key, default, text in rows)


def values_table(values: dict[str, Any], docs: KeyDocs) -> list[tuple[str, str, str]]:
    """(key, default as JSON, description) for every leaf of the values, for the README.

    A map that ``docs`` describes (a section of the values model) gives a row per key;
    any other value, lists and plain maps too, is one row.
    """
    rows: list[tuple[str, str, str]] = []

    def add(values: dict[str, Any], docs: KeyDocs, prefix: str) -> None:
        descriptions, nested = docs
        for key, value in values.items():
            inner = nested.get(key)
            if inner is not None and isinstance(value, dict):
                add(value, inner, f"{prefix}{key}.")
            else:
                rows.append((prefix + key, json.dumps(value), descriptions.get(key, "")))

    add(values, docs, "")
    return rows

"""PromQL, read by a real parser: parameters substituted, metric names collected."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping

import promql_parser

from chartgen.monitoring.params import format_number

# Prometheus 2.42's name for double exponential smoothing, which promql-parser reads no more.
_TYPES = promql_parser.ValueType
promql_parser.register_extra_functions(
    [
        promql_parser.Function(
            "holt_winters", [_TYPES.Matrix, _TYPES.Scalar, _TYPES.Scalar], _TYPES.Vector
        )
    ]
)

#: A named parameter inside an alert expression, e.g. ``> $threshold``.
PARAM = re.compile(r"\$([a-z][a-zA-Z0-9]*)")
#: The label that holds a series' name: every series has it, and a selector may match on it.
NAME_LABEL = "__name__"
#: Series Prometheus writes for each scrape: they carry the target's labels.
SCRAPE_SERIES = frozenset(
    {
        "up",
        "scrape_duration_seconds",
        "scrape_samples_scraped",
        "scrape_samples_post_metric_relabeling",
        "scrape_series_added",
    }
)
#: Series Prometheus writes for alerts: they carry each alert's labels, which vary.
ALERT_SERIES = frozenset({"ALERTS", "ALERTS_FOR_STATE"})
#: Series Prometheus itself writes: always there to be read, never declared by a service.
BUILTIN_SERIES = SCRAPE_SERIES | ALERT_SERIES


def label_matcher(name: str, value: str, op: str = "=") -> str:
    """One label matcher, its value a quoted PromQL string literal."""
    return f"{name}{op}{json.dumps(value, ensure_ascii=False)}"


def series_text(metric: str, labels: Mapping[str, str]) -> str:
    """A series in PromQL notation, each label value a quoted string literal."""
    pairs = ", ".join(label_matcher(name, value) for name, value in labels.items())
    return f"{metric}{{{pairs}}}"


def params_used(expr: str) -> list[str]:
    """The parameter names an expression refers to, in order of first use."""
    return list(dict.fromkeys(PARAM.findall(expr)))


def literal_spans(expr: str) -> Iterator[tuple[int, int, bool]]:
    """(start, end, is_string) of each string literal (quotes included) and # comment."""
    quote, start, index = "", 0, 0
    while index < len(expr):
        char = expr[index]
        if not quote and char == "#":
            end = expr.find("\n", index)
            end = len(expr) if end < 0 else end
            yield index, end, False
            index = end
        elif not quote and char in "\"'`":
            quote, start = char, index
        elif quote and char == "\\" and quote != "`":
            index += 1  # the escaped character
        elif quote and char == quote:
            quote = ""
            yield start, index + 1, True
        index += 1


def string_spans(expr: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each string literal of an expression, its quotes included."""
    return ((start, end) for start, end, is_string in literal_spans(expr) if is_string)


def code_only(expr: str) -> str:
    """The expression with each string blanked to "  " and each comment to spaces, in place."""
    code = list(expr)
    for start, end, is_string in literal_spans(expr):
        code[start:end] = '"' + " " * (end - start - 2) + '"' if is_string else " " * (end - start)
    return "".join(code)


def parse(expr: str) -> promql_parser.Expr:
    """The expression's tree, each `raw string` read as written, as Go does; ValueError if none."""
    text = expr
    for start, end in reversed(list(string_spans(expr))):
        if expr[start] == "`":
            # promql-parser reads escapes in raw strings: hand it the same text double-quoted.
            inner = expr[start + 1 : end - 1].replace("\\", "\\\\").replace('"', '\\"')
            inner = inner.replace("\n", "\\n")
            text = f'{text[:start]}"{inner}"{text[end:]}'
    return promql_parser.parse(text)


def params_in_strings(expr: str) -> list[str]:
    """The parameters written inside quotes, where a number cannot stand (e.g. {x="$p"})."""
    found = [
        match.group(1)
        for start, end in string_spans(expr)
        for match in PARAM.finditer(expr, start + 1, end - 1)
    ]
    return list(dict.fromkeys(found))


def substitute(expr: str, params: Mapping[str, float | int]) -> str:
    """The expression with each ``$name`` replaced by its value."""
    return PARAM.sub(lambda m: format_number(params[m.group(1)]), expr)


def duration_seconds(text: str) -> float:
    """Seconds of a Prometheus duration such as 5m or 1h30m ("0s" and "0" are zero)."""
    if text in ("0", "0s"):
        return 0.0
    return float(promql_parser.parse_duration(text).total_seconds())


def matchers(selector: promql_parser.VectorSelector) -> Iterator[promql_parser.Matcher]:
    """Every matcher of a selector, those of each ``or`` alternative included."""
    yield from selector.matchers.matchers
    for group in selector.matchers.or_matchers:
        yield from group


def selector_names(selector: promql_parser.VectorSelector) -> set[str]:
    """The metric names a selector reads: its name, and each __name__ it matches exactly."""
    names = {selector.name} if selector.name else set()
    names.update(
        m.value
        for m in matchers(selector)
        if m.name == NAME_LABEL and m.op == promql_parser.MatchOp.Equal
    )
    return names


def metric_names(expr: str | promql_parser.Expr) -> set[str]:
    """The metric names an expression, as text or parsed, reads; ValueError if it does not parse."""
    tree = parse(expr) if isinstance(expr, str) else expr
    names: set[str] = set()

    def visit(node: object) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            names.update(selector_names(node))
        return True

    promql_parser.walk(tree, visit)
    return names

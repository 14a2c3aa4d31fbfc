"""PromQL as Prometheus 2.42 reads it: the chart's target, and the promtool the tests run.

promql-parser reads newer PromQL than 2.42 (functions and aggregations added since, unitless
durations, quoted UTF-8 names, `or` between matchers) and does not check regexes as Go does,
nor what fails only at evaluation (label_replace's regex and destination, count_values' label).
This module names each such part of a parsed expression, with the 2.42 way to write it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import promql_parser
import re2

from chartgen.monitoring import promql
from chartgen.monitoring.params import format_number
from chartgen.spec.monitoring import DURATION, LABEL_NAME

#: The Prometheus release whose PromQL chartgen writes and accepts.
TARGET = "Prometheus 2.42"

#: Functions of Prometheus 2.42 (promql/parser/functions.go at v2.42.0).
FUNCTIONS = frozenset(
    """abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil changes
    clamp clamp_max clamp_min cos cosh count_over_time day_of_month day_of_week day_of_year
    days_in_month deg delta deriv exp floor histogram_count histogram_fraction
    histogram_quantile histogram_sum holt_winters hour idelta increase irate label_join
    label_replace last_over_time ln log10 log2 max_over_time min_over_time minute month pi
    predict_linear present_over_time quantile_over_time rad rate resets round scalar sgn sin
    sinh sort sort_desc sqrt stddev_over_time stdvar_over_time sum_over_time tan tanh time
    timestamp vector year""".split()
)
#: Aggregation operators of Prometheus 2.42.
AGGREGATIONS = frozenset(
    "avg bottomk count count_values group max min quantile stddev stdvar sum topk".split()
)
#: How to write, in 2.42, what a newer function or aggregation does (where 2.42 can).
INSTEAD = {
    "sort_by_label": "use sort_desc(...) or sort(...), which order by value",
    "sort_by_label_desc": "use sort_desc(...) or sort(...), which order by value",
    "limitk": "use topk(k, ...) or bottomk(k, ...)",
    "limit_ratio": "use topk(k, ...) with a fixed k",
    "info": "join the info series: x * on (job, instance) group_left (label) target_info",
    "mad_over_time": "use stddev_over_time(...) or quantile_over_time(...)",
    "double_exponential_smoothing": "use holt_winters(...), its name in 2.42",
    "histogram_avg": "use histogram_sum(x) / histogram_count(x)",
    "first_over_time": "use x offset <range> for the value a range ago",
}
#: Label names as 2.42 reads them; metric names may also hold ':'.
_LABEL_NAME = re.compile(LABEL_NAME)
_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
#: The text of a range or subquery in brackets, and the duration after offset.
_BRACKETS = re.compile(r"\[([^\]]*)\]")
_OFFSET = re.compile(r"(?i)(?<![\w:])offset\s*[-+]?\s*([0-9.][\w.]*)")
_OFFSET_PARAM = re.compile(r"(?i)(?<![\w:])offset\s*[-+]?\s*" + promql.PARAM.pattern)
#: A word starting with a digit: a number, or a duration where 2.42 expects a number.
_NUMBER = re.compile(r"(?<![\w.:])[0-9][\w.]*")
_GROUPING = re.compile(
    r"(?i)(?<![\w:])(?:by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)\)"
)
_SELECTOR = re.compile(r"\{([^{}]*)\}")
_NAME_POSITION = re.compile(r'(?:^|,)\s*(")')
_QUOTE = re.compile(r'(")[^"]*"')

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False
#: Unicode scripts newer than Unicode 13, the tables of Go 1.19 that built 2.42's promtool.
_NEWER_SCRIPTS = frozenset(
    """Cypro_Minoan Old_Uyghur Tangsa Toto Vithkuqi Kawi Nag_Mundari Garay Gurung_Khema
    Kirat_Rai Ol_Onal Sunuwar Todhri Tulu_Tigalari Beria_Erfe Chisoi Sidetic Tai_Yo
    Tolong_Siki""".split()
)
#: Groups nested deeper than this are refused: Go's regexp stops at 1000 levels of its syntax
#: tree, and a group may cost two (the group, and a repetition or alternation inside it).
MAX_REGEX_DEPTH = 500
_REGEX_FIX = "write RE2 syntax as Go reads it (no lookarounds, backreferences or possessive a++)"


def problems(text: str, tree: promql_parser.Expr) -> Iterator[tuple[str, str]]:
    """(what, fix) for each part of an expression, parsed from text, that 2.42 cannot run."""
    yield from _lexical(text)
    found: list[tuple[str, str]] = []

    def visit(node: object) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            found.extend(_selector_problems(node))
        elif isinstance(node, promql_parser.Call):
            found.extend(_call_problems(node))
        elif isinstance(node, promql_parser.AggregateExpr):
            found.extend(_aggregation_problems(node))
        return True

    promql_parser.walk(tree, visit)
    yield from dict.fromkeys(found)


def params_in_durations(expr: str) -> list[str]:
    """The parameters written as a range, step or offset, where 2.42 reads only a duration."""
    code = promql.code_only(expr)
    found = [name for match in _BRACKETS.finditer(code) for name in promql.params_used(match[1])]
    return list(dict.fromkeys([*found, *_OFFSET_PARAM.findall(code)]))


def regex_problem(regex: str, *, matcher: bool) -> tuple[str, str] | None:
    """(what, fix) if Go's regexp (Prometheus 2.42) refuses the regex, else None.

    Prometheus anchors it as ^(?:regex)$; a label matcher also parses it alone.
    """
    texts = [f"^(?:{regex})$", regex] if matcher else [f"^(?:{regex})$"]
    for candidate in texts:
        try:
            re2.compile(candidate, _RE2_OPTIONS)
        except re2.error as err:
            why = err.args[0].decode() if isinstance(err.args[0], bytes) else str(err)
            return f"the regex {regex!r} is not one Go reads ({why})", _regex_fix(regex)
    lacks = _go_lacks(regex)
    if lacks is not None:
        return f"the regex {regex!r} uses {lacks[0]}, which Go's regexp lacks", lacks[1]
    return None


def _regex_fix(regex: str) -> str:
    if "(?<" in regex and "(?<=" not in regex and "(?<!" not in regex:
        return "name a group (?P<name>...), the form Go reads"
    return _REGEX_FIX


def _go_lacks(regex: str) -> tuple[str, str] | None:
    """What of a regex RE2 reads that Go 1.19's regexp refuses, with the fix; None if nothing."""
    index, depth, deepest, in_class = 0, 0, 0, False
    while index < len(regex):
        if regex.startswith("\\Q", index):
            end = regex.find("\\E", index + 2)
            index = len(regex) if end < 0 else end + 2
            continue
        char = regex[index]
        if char == "\\":
            escaped = regex[index + 1 : index + 2]
            if escaped == "C":
                return "\\C (any byte)", "match any character with ."
            script = re.match(r"\{\^?(\w+)\}", regex[index + 2 :]) if escaped in "pP" else None
            if script and script.group(1) in _NEWER_SCRIPTS:
                return f"the script {script.group(1)}", "name a script of Unicode 13 or older"
            index += 2
            continue
        if in_class:
            if regex.startswith("[:", index):
                end = regex.find(":]", index + 2)
                index = index + 1 if end < 0 else end + 2
                continue
            in_class = char != "]"
        elif char == "[":
            in_class = True
            index += 2 if regex.startswith("[]", index) else 1
            index += 2 if regex.startswith("^]", index) else 0
            continue
        elif regex.startswith("(?<", index):
            return "(?<name>...)", "name a group (?P<name>...), the form Go reads"
        elif char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif char == ")":
            depth -= 1
        index += 1
    if deepest > MAX_REGEX_DEPTH:
        return f"groups nested {deepest} deep", f"nest at most {MAX_REGEX_DEPTH} groups"
    return None


def _lexical(text: str) -> Iterator[tuple[str, str]]:
    """Durations without a unit, durations as numbers and quoted names, read from the text."""
    code = promql.code_only(text)
    durations: list[tuple[int, int]] = []
    for match in _BRACKETS.finditer(code):
        durations.append(match.span())
        for part in match.group(1).split(":"):
            yield from _unitless(part.strip(), f"[{match.group(1).strip()}]")
    for match in _OFFSET.finditer(code):
        durations.append(match.span())
        yield from _unitless(match.group(1), f"offset {match.group(1)}")
    for match in _NUMBER.finditer(code):
        word = match.group()
        inside = any(start <= match.start() < end for start, end in durations)
        if not inside and not word.isdigit() and DURATION.match(word):
            seconds = format_number(promql.duration_seconds(word))
            yield (
                f"{word} is a duration where {TARGET} reads a number",
                f"write {seconds} (seconds)",
            )
    # In 2.42 a string stands in a selector only after =, !=, =~ or !~, and never in by (...).
    spans = dict(promql.string_spans(text))
    for pattern, names in ((_SELECTOR, _NAME_POSITION), (_GROUPING, _QUOTE)):
        for match in pattern.finditer(code):
            for quote in names.finditer(match.group(1)):
                start = match.start(1) + quote.start(1)
                yield _quoted_name(text[start : spans[start]], pattern is _SELECTOR)


def _unitless(word: str, where: str) -> Iterator[tuple[str, str]]:
    if word and not DURATION.match(word):
        try:
            seconds = float(int(word, 0)) if word.isalnum() else float(word)
        except ValueError:
            fix = "use whole units: 30s, 5m, 1h30m (largest first)"
        else:
            whole = seconds.is_integer() and seconds >= 0
            fix = f"write {int(seconds)}s" if whole else "use whole units: 30s, 5m, 1h30m"
        yield f"{where}: {word} has no unit, and {TARGET} reads only a duration there", fix


def _quoted_name(literal: str, selector: bool) -> tuple[str, str]:
    name = literal[1:-1]
    valid = (_METRIC_NAME if selector else _LABEL_NAME).match(name)
    what = f"the quoted name {literal}: {TARGET} reads names only unquoted"
    if valid:
        return what, f"write {name} without quotes"
    return what, f"{TARGET} names hold letters, digits and '_'; read the series by such a name"


def _selector_problems(node: promql_parser.VectorSelector) -> Iterator[tuple[str, str]]:
    if node.matchers.or_matchers:
        yield (
            f"'or' between label matchers is not in {TARGET}",
            'write two selectors joined by or: x{a="1"} or x{b="2"}',
        )
    for matcher in promql.matchers(node):
        if matcher.op in (promql_parser.MatchOp.Re, promql_parser.MatchOp.NotRe):
            problem = regex_problem(matcher.value, matcher=True)
            if problem is not None:
                yield problem


def _call_problems(node: promql_parser.Call) -> Iterator[tuple[str, str]]:
    name = node.func.name
    if name not in FUNCTIONS:
        fix = INSTEAD.get(name, f"write it with the functions {TARGET} has")
        yield f"{name}() is not in {TARGET}", fix
        return
    strings = [_string(arg) for arg in node.args]
    if name == "label_replace" and strings[4] is not None:
        problem = regex_problem(strings[4], matcher=False)
        if problem is not None:
            yield f"label_replace: {problem[0]}; every evaluation fails", problem[1]
    names = strings[1:2] if name == "label_replace" else []
    if name == "label_join":
        names = [strings[1], *strings[3:]]
    for label in names:
        if label is not None and not _LABEL_NAME.match(label):
            yield _bad_label(name, label)


def _aggregation_problems(node: promql_parser.AggregateExpr) -> Iterator[tuple[str, str]]:
    op = str(node.op)
    if op not in AGGREGATIONS:
        yield f"{op} is not an aggregation of {TARGET}", INSTEAD.get(op, "use topk or bottomk")
    elif op == "count_values" and node.param is not None:
        label = _string(node.param)
        if label is not None and not _LABEL_NAME.match(label):
            yield _bad_label(op, label)


def _bad_label(function: str, label: str) -> tuple[str, str]:
    return (
        f"{function}: {label!r} is not a label name; every evaluation fails",
        "write letters, digits and '_', not starting with a digit",
    )


def _string(node: promql_parser.Expr | None) -> str | None:
    while isinstance(node, promql_parser.ParenExpr):
        node = node.expr
    return node.val if isinstance(node, promql_parser.StringLiteral) else None

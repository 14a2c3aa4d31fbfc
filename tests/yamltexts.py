"""Hypothesis strategy: YAML texts, valid or not, made of the constructs parsers disagree on."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st

# Scalars YAML readers may read apart, by the kind of trouble.
TRICKY_SCALARS = [
    # YAML 1.1 booleans, YAML 1.2 booleans and nulls in every case
    *("y", "Y", "n", "N", "yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off"),
    *("true", "false", "True", "FALSE", "tRUE", "null", "Null", "NULL", "nULL", "~", ""),
    # integers: signs, leading zeros, bases, underscores, sizes
    *("0", "7", "-1", "+1", "-0", "+0", "007", "0755", "08", "-010", "0o17", "0O17", "0o8"),
    *("0x1F", "0X1F", "0xg", "0b101", "0B11", "1_000", "_1", "1_", "+_1", "1__0", "0x_1"),
    *("123456789012345678901234567890", "9223372036854775808", "-9223372036854775809"),
    # floats: exponents, dots, underscores, inf and nan, precision
    *("1e3", "1E3", "1e+3", "1e-3", "1.5e3", "1.e3", "1e_3", ".5", "-.5", "+.5", "1.", "1.0"),
    *("-0.0", "0.0", "-1.5", "1.5", "1_0.5", "0.1", ".inf", "-.inf", "+.inf", ".Inf", ".iNf"),
    *("inf", ".nan", ".NaN", "nan", "NaN", "1e400", "0.1000000000000000055511151231257827"),
    *("3.14159265358979323846", "2.5e-308", "4.9e-324"),
    # base 60, times, dates, timestamps
    *("1:20", "1:20:30", "-1:20", "12:30", "12:30:00", "12:30:00.5", "21:59:43Z", "190:20:30"),
    *("2001-12-14", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5", "2001-1-1"),
    # text that looks like numbers
    *("1.2.3", "0.1.0", "v1.1.0", "100m", "128Mi", "5m", "500x20", "1,000", "1 2", "- 1"),
    # indicators and YAML syntax inside scalars
    *("=", "<<", "-", "+", ".", "...", "---", "a:b", "a: b", "http://x.y/z?q=1#f", "a #b"),
    *("a#b", "?a", "? a", "-a", "a - b", "!x", "!!str", "&a", "*a", "%x", "@x", "`x", "|", ">"),
    *("[a]", "{a: b}", "a, b", "a]", "a}", "'a'", '"a"', "a'b", 'a"b', "a\\b", "\\n", "a  b"),
    *("{{ $labels.pod }}", '{{ $value | printf "%.3f" }}', 'rate(x{job="a"}[5m])', " a", "a "),
    # names hygiene looks at
    *("password", "API_TOKEN", "apiKey", "secretName", "token", "name", "value"),
    # non-ASCII
    *("é", "ψ", "\xa0"),
]
# Characters YAML 1.2 forbids or reads unlike YAML 1.1, and tabs and carriage returns.
ODD_CHARACTERS = ["\t", "\r", "\x85", "\u2028", "\ufeff", "\x7f", "\x01"]
_INDICATORS = "abn y:#-'\"{}[],?|>!&*%@`~._01789xoeE+=<\\é"
CLEAN_SCALARS = st.one_of(
    st.from_regex(r"\A[a-z][a-zA-Z_-]{0,8}\Z"),
    st.from_regex(r"\A[A-Z]?[a-z]{1,6}(?: [a-z0-9.,()/{}$|%-]{1,6}){0,4}\Z"),
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["true", "false", "null", "100m", "128Mi", "v1.2.3", "http://a.b/c", "a:b"]),
)
KEYS = st.one_of(
    st.from_regex(r"\A[a-z][a-zA-Z_-]{0,8}\Z"),
    st.sampled_from(["name", "value", "password", "apiKey", "token", "secretName", "env"]),
)
ESCAPES = ["\\x41", "\\u00e9", "\\U0001F600", "\\n", "\\t", "\\N", "\\_", "\\L", "\\P", "\\e"]
ESCAPES += ["\\/", "\\ ", "\\0", "\\a", "\\\\", '\\"', "\\z", "\\ud800", "\\\n"]


@dataclass
class Document:
    """What one generated document draws from, and the anchors it has defined."""

    scalars: st.SearchStrategy[str]
    anchors: list[str] = field(default_factory=list)
    wild: bool = False

    def rarely(self, draw: st.DrawFn, one_in: int) -> bool:
        """True about once in one_in draws; never in a tame document."""
        return self.wild and draw(st.integers(0, one_in - 1)) == 0


@st.composite
def scalar(draw: st.DrawFn, doc: Document, indent: int, key: bool = False) -> str:
    """A scalar in one of YAML's five styles, sometimes broken on purpose."""
    text = draw((st.one_of(KEYS, doc.scalars) if doc.wild else KEYS) if key else doc.scalars)
    style = draw(st.sampled_from("ppppsd" if key else "ppppppsdlf"))
    pad = " " * (indent + draw(st.sampled_from([2, 2, 1, 4])))
    if style == "p":
        if not key and " " in text and draw(st.booleans()):
            text = text.replace(" ", "\n" + pad, 1)  # a multi-line plain scalar
        return text
    if style == "s":
        body = text if doc.rarely(draw, 10) else text.replace("'", "''")
        return "'" + (body if key else body.replace("\n", "\n" + pad)) + "'"
    if style == "d":
        body = text if doc.rarely(draw, 10) else text.replace("\\", "\\\\").replace('"', '\\"')
        for _ in range(draw(st.integers(0, 2))):
            at = draw(st.integers(0, len(body)))
            body = body[:at] + draw(st.sampled_from(ESCAPES)) + body[at:]
        if not key and draw(st.integers(0, 3)) == 0:
            body = body.replace(" ", "\n" + pad, 1)  # a multi-line quoted scalar
        return f'"{body}"'
    header = ("|" if style == "l" else ">") + draw(st.sampled_from(["", "-", "-", "+", "2", "1-"]))
    lines = draw(st.lists(st.one_of(doc.scalars, st.just(""), st.just(" x")), max_size=4))
    blank = st.sampled_from(["", " ", pad])
    body = "".join("\n" + (pad + line if line else draw(blank)) for line in lines)
    return header + draw(st.sampled_from(["", "", " # c"])) + body


@st.composite
def node(draw: st.DrawFn, doc: Document, indent: int, depth: int) -> tuple[str, bool]:
    """(text, block): a block collection's text starts on a new line."""
    prefix = ""
    if doc.rarely(draw, 12):
        doc.anchors.append(f"a{len(doc.anchors)}")
        prefix = f"&{doc.anchors[-1]} "
    if doc.rarely(draw, 15):
        prefix += draw(st.sampled_from(["!!str ", "!!int ", "!x ", "!!map ", "!!float "]))
    if doc.anchors and doc.rarely(draw, 6):
        return "*" + draw(st.sampled_from([*doc.anchors, "nope"])), False
    kind = draw(st.sampled_from("ssssmmqqfF" if depth < 3 else "s"))
    if kind == "s":
        return prefix + draw(scalar(doc, indent)), False
    if kind in "fF":
        return prefix + draw(flow(doc, depth, kind == "F")), False
    inner = indent + draw(st.sampled_from([2, 2, 4, 1]))
    if kind == "q" and draw(st.booleans()):
        inner = indent  # a sequence at its key's indentation
    body = draw((mapping if kind == "m" else sequence)(doc, inner, depth + 1))
    return (prefix.rstrip() + "\n" if prefix else "\n") + body, True


@st.composite
def flow(draw: st.DrawFn, doc: Document, depth: int, is_mapping: bool) -> str:
    """A flow collection, sometimes over several lines or not well formed."""
    items = []
    for _ in range(draw(st.integers(0, 3))):
        if depth < 3 and draw(st.integers(0, 4)) == 0:
            item = draw(flow(doc, depth + 1, draw(st.booleans())))
        else:
            item = draw(scalar(doc, 0, key=True))
        if is_mapping or draw(st.integers(0, 6)) == 0:
            colon = ": " if not doc.wild else draw(st.sampled_from([": ", ":", " : ", ":\n  "]))
            item = f"{draw(scalar(doc, 0, key=True))}{colon}{item}"
        items.append(item)
    comma = ", " if not doc.wild else draw(st.sampled_from([", ", ",", ",\n  ", " ,"]))
    tail = draw(st.sampled_from(["", "", ",", " "]))
    return "{["[not is_mapping] + comma.join(items) + tail + "}]"[not is_mapping]


def _comment(draw: st.DrawFn, doc: Document, indent: int) -> str:
    comments = ["", "", "", "", " # note", f"\n{' ' * indent}# a comment"]
    if doc.wild:
        comments += [" #no", f"\n{' ' * indent}# c: 1:20", "\n# - no"]
    return draw(st.sampled_from(comments))


@st.composite
def mapping(draw: st.DrawFn, doc: Document, indent: int, depth: int) -> str:
    """A block mapping: key: value lines at one indentation."""
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        key = draw(scalar(doc, indent, key=True))
        if doc.rarely(draw, 20):
            key = "? " + key
        value, block = draw(node(doc, indent, depth))
        colon = ":" if block else ": "
        if doc.wild and not block:
            colon = draw(st.sampled_from([": ", ":  ", f":\n{' ' * indent}  "]))
        lines.append(" " * indent + key + colon + value + _comment(draw, doc, indent))
    return "\n".join(lines)


@st.composite
def sequence(draw: st.DrawFn, doc: Document, indent: int, depth: int) -> str:
    """A block sequence: '- ' entries at one indentation."""
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        value, block = draw(node(doc, indent + 2, depth))
        if block and draw(st.booleans()):
            value = " " + value.lstrip("\n ")  # the compact form: '- key: value'
        lines.append(" " * indent + "-" + ("" if value.startswith(("\n", " ")) else " ") + value)
    return "\n".join(lines)


@st.composite
def yaml_texts(draw: st.DrawFn) -> str:
    """A YAML document: a mapping mostly; tame ones hold text most parsers agree on."""
    wild = draw(st.booleans())
    tricky = [*TRICKY_SCALARS, *ODD_CHARACTERS] if wild else TRICKY_SCALARS
    odd = "".join(ODD_CHARACTERS) if wild else ""
    scalars = st.one_of(
        *[CLEAN_SCALARS] * (2 if wild else 10),
        st.sampled_from(tricky),
        st.text(alphabet=_INDICATORS + odd, max_size=8),
    )
    doc = Document(scalars, wild=wild)
    if draw(st.integers(0, 3)):
        body = draw(mapping(doc, 0, 0))
    else:
        text, block = draw(node(doc, 0, 0))
        body = text.lstrip("\n") if block else text
    head, tail = "", "\n"
    if doc.rarely(draw, 3):
        head = draw(st.sampled_from(["---\n", "--- ", "# top\n", "%YAML 1.2\n---\n", "\ufeff"]))
        tail = draw(st.sampled_from(["", "\n...\n", "\n---\nb: 1\n", "\n\n# end\n", "\n  \n"]))
    text = head + body + tail
    return text.replace("\n", "\r\n") if doc.rarely(draw, 30) else text

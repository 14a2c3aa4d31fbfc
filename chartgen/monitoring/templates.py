"""Alert annotations as Prometheus parses them: Go text/template with Prometheus' functions.

Prometheus (and `promtool check rules`) parses every annotation as a Go template before it
loads a rule file, and refuses the file if one does not parse. This module follows the parser
of Go 1.19's text/template (lex.go and parse.go, what Prometheus 2.42 is built with) closely
enough to give the same verdict, and says in words what is wrong and how to fix it. Only
parsing is checked: like promtool, it runs nothing, so a {{ template }} of an unknown name or
a function given the wrong arguments are left to Prometheus' evaluation.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from dataclasses import dataclass

#: Go's text/template builtins (Go 1.19).
GO_FUNCTIONS = frozenset(
    "and call html index slice js len not or print printf println urlquery "
    "eq ge gt le lt ne".split()
)
#: The functions of Prometheus' template expander (template/template.go) as promtool 2.42 here
#: knows them: tests prove each is one promtool knows, and that near misses are not.
PROMETHEUS_FUNCTIONS = frozenset(
    "query first label value strvalue args reReplaceAll safeHtml match title toUpper toLower "
    "graphLink tableLink sortByLabel stripPort stripDomain humanize humanize1024 "
    "humanizeDuration humanizePercentage humanizeTimestamp toTime pathPrefix externalURL "
    "parseDuration".split()
)
FUNCTIONS = GO_FUNCTIONS | PROMETHEUS_FUNCTIONS
#: What rulefmt declares before each annotation ({{$labels := .Labels}}...), besides $.
VARIABLES = ("$labels", "$value", "$externalLabels", "$externalURL")

_KEYWORDS = frozenset("block break continue define else end if range nil template with".split())
_SPACE = " \t\r\n"
_FIX_SYNTAX = "write it as Go's text/template reads it, e.g. {{ $labels.pod }}"


@dataclass(frozen=True)
class TemplateProblem:
    """Why Prometheus cannot load a template, and how to fix it."""

    what: str
    fix: str


class _Refused(Exception):
    def __init__(self, what: str, fix: str = _FIX_SYNTAX) -> None:
        super().__init__(what)
        self.what = what
        self.fix = fix


@dataclass(frozen=True)
class _Token:
    kind: str  # text, left, right, space, word, keyword, field, variable, dot, string, ...
    text: str
    start: int  # where the action holding it starts (for messages)


def problem(text: str, alert: str) -> TemplateProblem | None:
    """Why Prometheus refuses text as an annotation of the alert, or None if it parses."""
    try:
        _Parser(text, alert).parse()
    except _Refused as refused:
        return TemplateProblem(refused.what, refused.fix)
    return None


# -- the lexer -----------------------------------------------------------------------------


def _is_alphanumeric(char: str) -> bool:
    return char == "_" or char.isalpha() or unicodedata.category(char) == "Nd"


class _LexError(Exception):
    pass


def _lex(text: str) -> list[_Token]:
    """Go's lexer; a lexing error becomes an `error` token, which the parser raises on reading."""
    lexer = _Lexer(text)
    pos = 0
    while True:
        left = text.find("{{", pos)
        if text[pos : left if left >= 0 else len(text)]:
            lexer.tokens.append(_Token("text", text[pos : left if left >= 0 else len(text)], pos))
        if left < 0:
            lexer.tokens.append(_Token("eof", "", len(text)))
            return lexer.tokens
        try:
            pos = lexer.action(left)
        except _LexError as error:
            lexer.tokens.append(_Token("error", str(error), left))
            return lexer.tokens


def _right_delim(text: str, pos: int) -> int:
    """The length of a closing delimiter (}} or -}} after a space) at pos; 0 if none."""
    if text.startswith("}}", pos):
        return 2
    if text[pos : pos + 1] in tuple(_SPACE) and text.startswith("-}}", pos + 1):
        return 4
    return 0


class _Lexer:
    """The tokens of Go's lexer, one action at a time."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[_Token] = []
        self.left = 0
        self.depth = 0

    def add(self, kind: str, start: int, end: int) -> int:
        self.tokens.append(_Token(kind, self.text[start:end], self.left))
        return end

    def action(self, left: int) -> int:
        """Lex the action (or comment) at left; the position after it."""
        text = self.text
        pos = left + 2
        if text[pos : pos + 1] == "-" and text[pos + 1 : pos + 2] in tuple(_SPACE):
            pos += 2
        if text.startswith("/*", pos):
            end = text.find("*/", pos + 2)
            if end < 0:
                raise _LexError("unclosed comment")
            if not _right_delim(text, end + 2):
                raise _LexError("comment ends before closing delimiter")
            return end + 2 + _right_delim(text, end + 2)
        self.left, self.depth = left, 0
        self.tokens.append(_Token("left", "{{", left))
        while not _right_delim(text, pos):
            if pos >= len(text):
                raise _LexError("unclosed action")
            pos = self.token(pos)
        if self.depth:
            raise _LexError("unclosed left paren")
        return self.add("right", pos, pos + _right_delim(text, pos))

    def token(self, pos: int) -> int:
        """Lex the token at pos inside an action; the position after it."""
        char = self.text[pos]
        if char in _SPACE:
            return self.space(pos)
        if char in "\"'`":
            return self.quoted(pos)
        if char in "+-0123456789" or (char == "." and self.text[pos + 1 : pos + 2].isdigit()):
            return self.number(pos)
        if char in "$." or _is_alphanumeric(char):
            return self.word(pos)
        return self.punctuation(pos)

    def word(self, pos: int) -> int:
        """A variable ($x, or $ alone), a field (.X), dot, a keyword, a bool or a function."""
        char = self.text[pos]
        if char in "$.":
            end = self.word_end(pos + 1)
            kind = "variable" if char == "$" else ("dot" if end == pos + 1 else "field")
            return self.add(kind, pos, end)
        end = self.word_end(pos)
        word = self.text[pos:end]
        kind = "keyword" if word in _KEYWORDS else "word"
        return self.add("bool" if word in ("true", "false") else kind, pos, end)

    def punctuation(self, pos: int) -> int:
        char = self.text[pos]
        single = {"=": "assign", "|": "pipe", "(": "lparen", ")": "rparen"}
        if char in single:
            self.depth += {"(": 1, ")": -1}.get(char, 0)
            if self.depth < 0:
                raise _LexError("unexpected right paren")
            return self.add(single[char], pos, pos + 1)
        if char == ":":
            if not self.text.startswith(":=", pos):
                raise _LexError("expected :=")
            return self.add("declare", pos, pos + 2)
        if not (char.isascii() and char.isprintable()):
            raise _LexError(f"unrecognized character in action: {char!r}")
        return self.add("punct", pos, pos + 1)

    def space(self, pos: int) -> int:
        end = pos
        while (
            end < len(self.text) and self.text[end] in _SPACE and not _right_delim(self.text, end)
        ):
            end += 1
        return self.add("space", pos, end)

    def word_end(self, pos: int) -> int:
        """The end of the letters, digits and '_' from pos, which must end at a terminator."""
        while pos < len(self.text) and _is_alphanumeric(self.text[pos]):
            pos += 1
        if pos < len(self.text) and self.text[pos] not in _SPACE + ".,|:()}":
            raise _LexError(f"bad character {self.text[pos]!r}")
        return pos

    def quoted(self, pos: int) -> int:
        quote = self.text[pos]
        kinds = {'"': "quoted string", "'": "character constant", "`": "raw quoted string"}
        end = _quoted_end(self.text, pos)
        if end < 0:
            raise _LexError(f"unterminated {kinds[quote]}")
        return self.add({'"': "string", "'": "charconst", "`": "rawstring"}[quote], pos, end)

    def number(self, pos: int) -> int:
        end, ok = _scan_number(self.text, pos)
        kind = "number"
        if ok and self.text[end : end + 1] in ("+", "-"):
            end, ok = _scan_number(self.text, end)
            ok, kind = ok and self.text[end - 1] == "i", "complex"
        if not ok:
            raise _LexError(f"bad number syntax: {self.text[pos:end]!r}")
        return self.add(kind, pos, end)


def _quoted_end(text: str, pos: int) -> int:
    """The end of the string or character constant at pos; -1 if unterminated."""
    quote = text[pos]
    if quote == "`":
        end = text.find("`", pos + 1)
        return end + 1 if end >= 0 else -1
    pos += 1
    while pos < len(text) and text[pos] != "\n":
        if text[pos] == "\\":
            pos += 1
            if pos >= len(text) or text[pos] == "\n":
                return -1
        elif text[pos] == quote:
            return pos + 1
        pos += 1
    return -1


def _scan_number(text: str, pos: int) -> tuple[int, bool]:
    """Go's scanNumber: the end of a number's characters, and whether they can be one."""

    def run(chars: str) -> None:
        nonlocal pos
        while pos < len(text) and text[pos] in chars:
            pos += 1

    def accept(chars: str) -> bool:
        nonlocal pos
        if pos < len(text) and text[pos] in chars:
            pos += 1
            return True
        return False

    accept("+-")
    digits = "0123456789_"
    if accept("0"):
        if accept("xX"):
            digits = "0123456789abcdefABCDEF_"
        elif accept("oO"):
            digits = "01234567_"
        elif accept("bB"):
            digits = "01_"
    run(digits)
    if accept("."):
        run(digits)
    if len(digits) == 11 and accept("eE"):
        accept("+-")
        run("0123456789_")
    if len(digits) == 23 and accept("pP"):
        accept("+-")
        run("0123456789_")
    accept("i")
    if pos < len(text) and _is_alphanumeric(text[pos]):
        return pos + 1, False
    return pos, True


# -- numbers and strings, as strconv reads them -------------------------------------------------

_DIGITS = r"\d(?:_?\d)*"
_GO_INT = re.compile(
    r"[+-]?(?:0[xX](?:_?[0-9a-fA-F])+|0[bB](?:_?[01])+|0[oO](?:_?[0-7])+|0(?:_?[0-7])*"
    r"|[1-9](?:_?\d)*)"
)
_HEX = r"[0-9a-fA-F](?:_?[0-9a-fA-F])*"
_GO_FLOAT = re.compile(
    rf"[+-]?(?:(?:{_DIGITS}(?:\.(?:{_DIGITS})?)?|\.{_DIGITS})(?:[eE][+-]?{_DIGITS})?"
    rf"|0[xX]_?(?:{_HEX}(?:\.(?:{_HEX})?)?|\.{_HEX})[pP][+-]?{_DIGITS})"
)
_ESCAPES = re.compile(
    r"\\(?:[abfnrtv\\]|[0-3][0-7]{2}|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|(.))"
)


def _number_ok(text: str) -> bool:
    """Whether Go's parser takes text as a number: an int of 64 bits, a float or a complex."""
    if text.endswith("i"):  # imaginary, or complex (1+2i): floats as strconv reads them
        real_end = _scan_number(text, 0)[0]
        parts = (text[:real_end], text[real_end:-1]) if real_end < len(text) else (text[:-1],)
        return all(_float_ok(part) for part in parts)
    if _GO_INT.fullmatch(text):
        digits = text.lstrip("+-").replace("_", "")
        octal = len(digits) > 1 and digits[0] == "0" and digits[1].isdigit()
        value = int("0o" + digits[1:], 0) if octal else int(digits, 0)
        return value < 2**64 if not text.startswith("-") else value <= 2**63
    # A float; one without '.', an exponent or 'p' is an int too large for 64 bits.
    return any(c in text for c in ".eEpP") and _float_ok(text)


def _float_ok(text: str) -> bool:
    """Whether strconv.ParseFloat reads text: Go's syntax, within a float64's range."""
    if not _GO_FLOAT.fullmatch(text):
        return False
    plain = text.replace("_", "")
    try:  # Python reads a number beyond the range as inf; strconv refuses it
        return math.isfinite(float.fromhex(plain) if "x" in plain.lower() else float(plain))
    except OverflowError:
        return False


def _unquote_ok(token: str, quote: str) -> bool:
    """Whether Go's strconv reads the escapes of a quoted string (not an unknown one like q)."""
    for match in _ESCAPES.finditer(token[1:-1]):
        other = match.group(1)
        if other is not None and other != quote:
            return False
        if match.group(0).startswith(("\\u", "\\U")):
            code = int(match.group(0)[2:], 16)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                return False
    return "\\" not in _ESCAPES.sub("", token[1:-1])


def _char_ok(token: str) -> bool:
    """Whether a character constant holds exactly one character or escape."""
    body = token[1:-1]
    if body.startswith("\\"):
        match = _ESCAPES.match(body)
        return match is not None and match.end() == len(body) and _unquote_ok(token, "'")
    return len(body) == 1


# -- the parser ------------------------------------------------------------------------------


class _Parser:
    """Go's template parser: the same grammar, scoping and checks, building no tree."""

    def __init__(self, text: str, alert: str) -> None:
        self.text = text
        self.tokens = _lex(text)
        self.pos = 0
        self.variables: list[str] = ["$", *VARIABLES]
        self.range_depth = 0
        # Template name: whether its body is empty; Prometheus names the template itself.
        self.defined: dict[str, bool] = {f"__alert_{alert}": False}

    # Tokens.
    def next(self) -> _Token:
        token = self.tokens[self.pos]
        if token.kind == "error":
            raise _Refused(
                f"{token.text} (in {self.action_text(token)})", self._lex_fix(token.text)
            )
        self.pos += 1
        return token

    def backup(self, count: int = 1) -> None:
        self.pos -= count

    def peek(self) -> _Token:
        token = self.next()
        self.backup()
        return token

    def next_non_space(self) -> _Token:
        token = self.next()
        while token.kind == "space":
            token = self.next()
        return token

    def peek_non_space(self) -> _Token:
        token = self.next_non_space()
        self.backup()
        return token

    # Errors.
    def action_text(self, token: _Token) -> str:
        end = self.text.find("}}", token.start)
        shown = self.text[token.start : end + 2 if end >= 0 else len(self.text)]
        return shown if len(shown) <= 60 else shown[:57] + "..."

    def unexpected(self, token: _Token, context: str) -> _Refused:
        if token.text == "}":
            return _Refused(
                f"a single '}}' in {self.action_text(token)}: an action closes with '}}}}'",
                "close the action with }}",
            )
        shown = "}}" if token.kind == "right" else token.text or "the end"
        return _Refused(
            f"unexpected {shown!r} in {context} (in {self.action_text(token)})",
            _FIX_SYNTAX,
        )

    @staticmethod
    def _lex_fix(error: str) -> str:
        if "comment" in error:
            return "write a comment as {{/* ... */}}, the braces touching /* and */"
        if error == "unclosed action":
            return 'close the action with }}; for literal braces write {{ "{{" }}'
        if error.startswith("unterminated"):
            return "close the string on the same line (`raw strings` may span lines)"
        if "paren" in error:
            return "balance the parentheses inside the action"
        return _FIX_SYNTAX

    # The template.
    def parse(self) -> None:
        while self.peek().kind != "eof":
            if self.peek().kind == "left":
                mark = self.pos
                left = self.next()
                if self.next_non_space().text == "define":
                    self.definition(left)
                    continue
                self.pos = mark
            kind, token = self.text_or_action()
            if kind in ("end", "else"):
                raise _Refused(
                    f"{{{{ {kind} }}}} without an {{{{ if }}}}, {{{{ range }}}} or {{{{ with }}}} "
                    f"to {'close' if kind == 'end' else 'continue'} "
                    f"(in {self.action_text(token)})",
                    f"remove the {{{{ {kind} }}}}, or open the block it belongs to before it",
                )

    def definition(self, left: _Token) -> None:
        name = self.template_name(self.next_non_space(), "define clause")
        self.expect("right", "define clause")
        outer, self.variables = self.variables, ["$"]
        outer_depth, self.range_depth = self.range_depth, 0
        kind, token, empty = self.item_list("define")
        if kind != "end":
            raise self.unexpected(token, "define clause")
        self.add_template(name, empty, left)
        self.variables, self.range_depth = outer, outer_depth

    def add_template(self, name: str, empty: bool, left: _Token) -> None:
        """Go keeps one definition of a name, and lets an empty one be replaced or ignored."""
        if self.defined.get(name, True):
            self.defined[name] = empty
        elif not empty:
            raise _Refused(
                f"template {name!r} is defined twice (in {self.action_text(left)})",
                "give each {{ define }} or {{ block }} its own name",
            )

    def item_list(self, opened: str) -> tuple[str, _Token, bool]:
        """Items up to an {{ end }} or {{ else }}: which, its token, and if all were empty.

        Empty is Go's IsEmptyTree: nothing but spaces and comments.
        """
        empty = True
        while self.peek_non_space().kind != "eof":
            kind, token = self.text_or_action()
            if kind in ("end", "else"):
                return kind, token, empty
            empty = empty and kind == "text" and not token.text.strip()
        raise _Refused(
            f"{{{{ {opened} }}}} is never closed: the template ends before its {{{{ end }}}}",
            f"close the {{{{ {opened} }}}} with {{{{ end }}}}",
        )

    def text_or_action(self) -> tuple[str, _Token]:
        token = self.next_non_space()
        if token.kind == "left":
            return self.action(), token
        if token.kind == "text":
            return "text", token
        raise self.unexpected(token, "input")

    def action(self) -> str:
        token = self.next_non_space()
        if token.kind == "keyword":
            word = token.text
            if word in ("break", "continue"):
                self.expect("right", f"{{{{{word}}}}}")
                if not self.range_depth:
                    raise _Refused(
                        f"{{{{ {word} }}}} outside {{{{ range }}}}",
                        f"use {{{{ {word} }}}} only inside {{{{ range }}}}",
                    )
                return word
            if word == "else":
                if self.peek_non_space().text != "if":
                    self.expect("right", "else")
                return "else"
            if word == "end":
                self.expect("right", "end")
                return "end"
            if word in ("if", "range", "with"):
                self.control(word)
                return word
            if word in ("template", "block"):
                self.template_action(word, token)
                return word
            if word == "define":
                raise _Refused(
                    f"{{{{ define }}}} inside another block (in {self.action_text(token)})",
                    "write {{ define }} at the top level of the template",
                )
        self.backup()
        self.pipeline("command", "right")
        return "action"

    def control(self, word: str) -> None:
        depth = len(self.variables)
        self.pipeline(word, "right")
        if word == "range":
            self.range_depth += 1
        kind, token, _ = self.item_list(word)
        if word == "range":
            self.range_depth -= 1
        if kind == "else":
            if word == "if" and self.peek_non_space().text == "if":
                self.next_non_space()
                self.control("if")
            else:
                kind, token, _ = self.item_list(word)
                if kind != "end":
                    raise _Refused(
                        f"a second {{{{ else }}}} in one {{{{ {word} }}}} "
                        f"(in {self.action_text(token)})",
                        "keep one {{ else }}, or use {{ else if ... }} inside {{ if }}",
                    )
        del self.variables[depth:]

    def template_action(self, word: str, token: _Token) -> None:
        context = f"{word} clause"
        name = self.template_name(self.next_non_space(), context)
        if word == "template":
            if self.next_non_space().kind != "right":
                self.backup()
                self.pipeline(context, "right")
            return
        self.pipeline(context, "right")
        outer, self.variables = self.variables, ["$"]
        outer_depth, self.range_depth = self.range_depth, 0
        kind, end, empty = self.item_list("block")
        if kind != "end":
            raise self.unexpected(end, context)
        self.add_template(name, empty, token)
        self.variables, self.range_depth = outer, outer_depth

    def template_name(self, token: _Token, context: str) -> str:
        if token.kind == "string" and _unquote_ok(token.text, '"'):
            return token.text[1:-1]
        if token.kind == "rawstring":
            return token.text[1:-1]
        word = context.removesuffix(" clause")
        raise _Refused(
            f"a {word} needs its name as a string (in {self.action_text(token)})",
            f'write {{{{ {word} "name" }}}}',
        )

    def expect(self, kind: str, context: str) -> _Token:
        token = self.next_non_space()
        if token.kind != kind:
            raise self.unexpected(token, context)
        return token

    def pipeline(self, context: str, end: str) -> None:
        first = self.peek_non_space()
        declared = 0
        while self.peek_non_space().kind == "variable":
            mark = self.pos
            variable = self.next()
            following = self.peek_non_space()
            if following.kind in ("assign", "declare"):
                self.next_non_space()
                self.variables.append(variable.text)
                break
            if following.kind == "punct" and following.text == ",":
                self.next_non_space()
                declared += 1
                if context == "range" and declared < 2:
                    if self.peek_non_space().kind in ("variable", "right", "rparen"):
                        self.variables.append(variable.text)
                        continue
                    raise _Refused(
                        f"range can only initialize variables (in {self.action_text(first)})",
                        "write {{ range $index, $element := ... }}",
                    )
                raise _Refused(
                    f"too many declarations in {context} (in {self.action_text(first)})",
                    "declare one variable, or two in {{ range $i, $x := ... }}",
                )
            self.pos = mark
            break
        commands: list[_Token] = []
        while True:
            token = self.next_non_space()
            if token.kind == end:
                break
            if token.kind in _OPERANDS or token.text == "nil":
                self.backup()
                commands.append(self.command())
            else:
                raise self.unexpected(token, context)
        if not commands:
            raise _Refused(
                f"missing value for {context} (in {self.action_text(first)})",
                "give the action a value, e.g. {{ $value }}, or remove the empty {{ }}",
            )
        for stage, command in enumerate(commands[1:], start=2):
            if command.kind in _CONSTANTS:
                raise _Refused(
                    f"{command.text!r} cannot take the piped value (stage {stage} of "
                    f"{self.action_text(first)})",
                    "after '|' name a function, e.g. {{ $value | humanize }}",
                )

    def command(self) -> _Token:
        first: _Token | None = None
        while True:
            self.peek_non_space()
            operand = self.operand()
            if first is None and operand is not None:
                first = operand
            token = self.next()
            if token.kind == "space":
                continue
            if token.kind in ("right", "rparen"):
                self.backup()
            elif token.kind != "pipe":
                raise self.unexpected(token, "operand")
            break
        if first is None:
            raise _Refused(
                f"an empty command (in {self.action_text(token)})",
                "write a value or a function on each side of '|'",
            )
        return first

    def operand(self) -> _Token | None:
        node = self.term()
        if node is None:
            return None
        if self.peek().kind == "field":
            while self.peek().kind == "field":
                self.next()
            if node.kind in _CONSTANTS:
                raise _Refused(
                    f"unexpected . after {node.text!r} (in {self.action_text(node)})",
                    "read fields of a variable or of dot, e.g. $labels.pod or .Labels.pod",
                )
        return node

    def term(self) -> _Token | None:
        token = self.next_non_space()
        kind = token.kind
        if kind == "word" and token.text not in FUNCTIONS:
            raise self.unknown_function(token)
        if kind == "variable" and token.text not in self.variables:
            raise self.undefined_variable(token)
        if kind == "lparen":
            self.pipeline("parenthesized pipeline", "rparen")
        elif kind not in ("dot", "field", "bool", "rawstring", "word", "variable") and (
            not self.literal(token)
        ):
            self.backup()
            return None
        return token

    def literal(self, token: _Token) -> bool:
        """Whether the token is a literal, refused if Go cannot read it as one."""
        kind = token.kind
        if kind in ("number", "complex"):
            if not _number_ok(token.text):
                raise _Refused(
                    f"illegal number syntax: {token.text!r} (in {self.action_text(token)})",
                    "write a number as Go reads it, e.g. 0.9 or 100",
                )
        elif kind == "charconst":
            if not _char_ok(token.text):
                raise _Refused(
                    f"malformed character constant {token.text} (in {self.action_text(token)})",
                    'quote strings with " ("text"), not \'',
                )
        elif kind == "string":
            if not _unquote_ok(token.text, '"'):
                raise _Refused(
                    f"the string {token.text} has an escape Go does not know "
                    f"(in {self.action_text(token)})",
                    'escape only \\\\ \\" \\n \\t ..., or use a `raw string`',
                )
        else:
            return kind == "keyword" and token.text == "nil"
        return True

    def unknown_function(self, token: _Token) -> _Refused:
        close = difflib.get_close_matches(token.text, sorted(FUNCTIONS), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return _Refused(
            f"function {token.text!r} is not defined in Prometheus' templates "
            f"(in {self.action_text(token)})",
            f"{hint}Prometheus has humanize, humanizePercentage, humanizeDuration, query, "
            "first, value, label, printf, toUpper, reReplaceAll, ... (its template reference)",
        )

    def undefined_variable(self, token: _Token) -> _Refused:
        close = difflib.get_close_matches(token.text, self.variables, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        return _Refused(
            f"undefined variable {token.text} (in {self.action_text(token)})",
            f"{hint}Prometheus defines {', '.join(VARIABLES)}; declare others with "
            f"{{{{ {token.text} := ... }}}} before use",
        )


_OPERANDS = frozenset(
    "bool charconst complex dot field word number rawstring string variable lparen".split()
)
#: Operands that are values, not functions: nothing can be piped into them.
_CONSTANTS = frozenset("bool charconst complex dot keyword number rawstring string".split())

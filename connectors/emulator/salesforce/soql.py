"""A small recursive-descent parser for the SOQL subset the connectors use.

SELECT field, Relationship.Field, COUNT() FROM one sObject
[WHERE cond] [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n].
Conditions: = != <> < > <= >= LIKE IN (...) NOT IN (...), AND, OR, NOT, parentheses.
Literals: 'strings' with SOQL escapes, numbers, true/false, null, date (2026-01-05) and
datetime (2026-01-05T10:00:00Z, 2026-01-05T10:00:00.000+09:00) literals.
Syntax errors raise `SoqlError` with MALFORMED_QUERY and the real message layout
("\\n<query>\\n<caret>\\nERROR at Row:1:Column:N\\n<detail>").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TypeAlias

KEYWORDS = {
    "select",
    "from",
    "where",
    "and",
    "or",
    "not",
    "in",
    "like",
    "order",
    "by",
    "asc",
    "desc",
    "nulls",
    "first",
    "last",
    "limit",
    "offset",
    "null",
    "true",
    "false",
    "count",
}

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\dT]))
  | (?P<number>[+-]?\d+(?:\.\d+)?(?![\w.]))
  | (?P<string>')
  | (?P<op><>|!=|<=|>=|=|<|>)
  | (?P<punct>[(),])
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


class SoqlError(Exception):
    """A query the real service refuses: `code` is its errorCode, `message` its text."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Str:
    """A string literal: its value and the LIKE pattern it denotes (\\% and \\_ literal)."""

    value: str
    like: str


Literal: TypeAlias = Str | int | float | bool | datetime | date | None


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int
    value: Literal = None


@dataclass(frozen=True)
class Cmp:
    path: str
    op: str  # = != < > <= >= like in notin
    value: Literal | tuple[Literal, ...]
    pos: int


@dataclass(frozen=True)
class BoolOp:
    op: str  # and / or
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    item: Expr


Expr: TypeAlias = Cmp | BoolOp | Not


@dataclass(frozen=True)
class Order:
    path: str
    desc: bool
    nulls_first: bool
    pos: int


@dataclass
class Query:
    text: str
    fields: list[tuple[str, int]] = field(default_factory=list)
    count: bool = False
    sobject: str = ""
    sobject_pos: int = 0
    where: Expr | None = None
    order: list[Order] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0


def error_at(text: str, pos: int, detail: str, code: str = "MALFORMED_QUERY") -> SoqlError:
    """The real error text: the query, a caret under the offending column, then the detail."""
    line = " ".join(text.split("\n"))
    return SoqlError(code, f"\n{line}\n{' ' * pos}^\nERROR at Row:1:Column:{pos + 1}\n{detail}")


def _read_string(text: str, start: int) -> tuple[Str, int]:
    value: list[str] = []
    like: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "'":
            return Str("".join(value), "".join(like)), i + 1
        if ch == "\\":
            if i + 1 >= len(text):
                break
            nxt = text[i + 1]
            if nxt in ("%", "_"):
                value.append("\\" + nxt)
                like.append(re.escape(nxt))
            elif nxt in _ESCAPES:
                value.append(_ESCAPES[nxt])
                like.append(re.escape(_ESCAPES[nxt]))
            else:
                raise error_at(
                    text,
                    i,
                    "Invalid string literal '"
                    + text[start + 1 : i + 2]
                    + "'. Illegal character sequence '\\"
                    + nxt
                    + "' in string literal.",
                )
            i += 2
            continue
        value.append(ch)
        like.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    raise error_at(
        text, start, "line 1:" + str(start) + " mismatched character '<EOF>' expecting '''"
    )


def _parse_datetime(raw: str) -> datetime:
    fixed = raw.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", fixed):
        fixed = fixed[:-2] + ":" + fixed[-2:]
    return datetime.fromisoformat(fixed).astimezone(UTC)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        if text[pos] == "'":
            value, end = _read_string(text, pos)
            tokens.append(Token("literal", text[pos:end], pos, value))
            pos = end
            continue
        match = _TOKEN.match(text, pos)
        if match is None:
            raise error_at(
                text, pos, f"line 1:{pos} no viable alternative at character '{text[pos]}'"
            )
        kind, raw = match.lastgroup or "", match.group()
        if kind == "datetime":
            tokens.append(Token("literal", raw, pos, _parse_datetime(raw)))
        elif kind == "date":
            tokens.append(Token("literal", raw, pos, date.fromisoformat(raw)))
        elif kind == "number":
            tokens.append(Token("literal", raw, pos, float(raw) if "." in raw else int(raw)))
        elif kind == "name" and raw.lower() in KEYWORDS:
            tokens.append(Token("kw", raw.lower(), pos))
        elif kind != "ws":
            tokens.append(Token(kind, raw, pos))
        pos = match.end()
    tokens.append(Token("eof", "<EOF>", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def fail(self, detail: str | None = None) -> SoqlError:
        return error_at(self.text, self.tok.pos, detail or f"unexpected token: {self.tok.text}")

    def accept(self, kind: str, text: str | None = None) -> Token | None:
        tok = self.tok
        if tok.kind == kind and (text is None or tok.text == text):
            self.i += 1
            return tok
        return None

    def expect(self, kind: str, text: str | None = None) -> Token:
        tok = self.accept(kind, text)
        if tok is None:
            raise self.fail()
        return tok

    def name(self) -> Token:
        return self.expect("name")

    def query(self) -> Query:
        q = Query(self.text)
        self.expect("kw", "select")
        if self.accept("kw", "count"):
            self.expect("punct", "(")
            self.expect("punct", ")")
            q.count = True
        else:
            while True:
                tok = self.name()
                q.fields.append((tok.text, tok.pos))
                if not self.accept("punct", ","):
                    break
        self.expect("kw", "from")
        tok = self.name()
        q.sobject, q.sobject_pos = tok.text, tok.pos
        if self.accept("kw", "where"):
            q.where = self.disjunction()
        if self.accept("kw", "order"):
            self.expect("kw", "by")
            while True:
                q.order.append(self.order_item())
                if not self.accept("punct", ","):
                    break
        if self.accept("kw", "limit"):
            q.limit = self.integer()
        if self.accept("kw", "offset"):
            q.offset = self.integer()
        if self.tok.kind != "eof":
            raise self.fail()
        return q

    def integer(self) -> int:
        tok = self.tok
        if tok.kind != "literal" or not isinstance(tok.value, int) or isinstance(tok.value, bool):
            raise self.fail()
        self.i += 1
        return tok.value

    def order_item(self) -> Order:
        tok = self.name()
        desc = bool(self.accept("kw", "desc"))
        if not desc:
            self.accept("kw", "asc")
        nulls_first = not desc
        if self.accept("kw", "nulls"):
            if self.accept("kw", "first"):
                nulls_first = True
            else:
                self.expect("kw", "last")
                nulls_first = False
        return Order(tok.text, desc, nulls_first, tok.pos)

    def disjunction(self) -> Expr:
        items = [self.conjunction()]
        while self.accept("kw", "or"):
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def conjunction(self) -> Expr:
        items = [self.unary()]
        while self.accept("kw", "and"):
            items.append(self.unary())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def unary(self) -> Expr:
        if self.accept("kw", "not"):
            return Not(self.unary())
        if self.accept("punct", "("):
            inner = self.disjunction()
            self.expect("punct", ")")
            return inner
        return self.comparison()

    def comparison(self) -> Cmp:
        tok = self.name()
        if self.accept("kw", "not"):
            self.expect("kw", "in")
            return Cmp(tok.text, "notin", self.literal_list(), tok.pos)
        if self.accept("kw", "in"):
            return Cmp(tok.text, "in", self.literal_list(), tok.pos)
        if self.accept("kw", "like"):
            return Cmp(tok.text, "like", self.literal(), tok.pos)
        op = self.expect("op").text
        return Cmp(tok.text, "!=" if op == "<>" else op, self.literal(), tok.pos)

    def literal_list(self) -> tuple[Literal, ...]:
        self.expect("punct", "(")
        values = [self.literal()]
        while self.accept("punct", ","):
            values.append(self.literal())
        self.expect("punct", ")")
        return tuple(values)

    def literal(self) -> Literal:
        tok = self.tok
        if tok.kind == "literal":
            self.i += 1
            return tok.value
        if tok.kind == "kw" and tok.text in ("null", "true", "false"):
            self.i += 1
            return None if tok.text == "null" else tok.text == "true"
        raise self.fail()


def parse(text: str) -> Query:
    """Parse `text` or raise SoqlError(MALFORMED_QUERY)."""
    return _Parser(text).query()

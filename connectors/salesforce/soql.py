"""SOQL text that cannot be broken by the values in it: string and datetime literals, IN
lists, and a small SELECT builder that only accepts plain field and object names.

SOQL string literals are single-quoted; a backslash escapes `\\ ' " n r t b f` (SOQL and
SOSL Reference, "Quoted String Escape Sequences"). Any other character, Japanese included,
stands for itself. Datetime literals are unquoted: `2026-01-09T01:00:00Z`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}
_ESCAPE = re.compile("|".join(re.escape(ch) for ch in _ESCAPES))
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*$")
_ORDER = re.compile(r"^(?P<name>\S+)(?: (?:ASC|DESC))?(?: NULLS (?:FIRST|LAST))?$", re.IGNORECASE)


def quote(value: str) -> str:
    """`value` as a SOQL string literal: 'O\\'Brien'."""
    return "'" + _ESCAPE.sub(lambda m: _ESCAPES[m.group()], value) + "'"


def datetime_literal(moment: datetime) -> str:
    """`moment` (timezone-aware) as a SOQL datetime literal in UTC, whole seconds.

    Sub-second parts are dropped, which moves the instant earlier: `>=` then reads a little
    more, never less.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a SOQL datetime needs a timezone-aware datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def in_list(values: Iterable[str]) -> str:
    """`('a','b')` for `Field IN (...)`; values are quoted, an empty list is refused."""
    quoted = [quote(v) for v in values]
    if not quoted:
        raise ValueError("SOQL has no empty IN list; skip the query instead")
    return "(" + ",".join(quoted) + ")"


def name(value: str) -> str:
    """`value` if it is a plain (dotted) API name such as `Owner.Email`, else ValueError."""
    if not _NAME.match(value):
        raise ValueError(f"not a Salesforce API name: {value!r}")
    return value


def select(
    sobject: str,
    fields: Sequence[str],
    *,
    where: str | None = None,
    order_by: Sequence[str] = (),
    limit: int | None = None,
) -> str:
    """`SELECT fields FROM sobject [WHERE ...] [ORDER BY ...] [LIMIT n]`.

    Names are checked (`name`); `where` is taken as written, so build its values with
    `quote`, `datetime_literal` and `in_list`. `order_by` items are names with an optional
    `ASC`/`DESC` and `NULLS FIRST`/`NULLS LAST`.
    """
    if not fields:
        raise ValueError("a SELECT needs at least one field")
    text = f"SELECT {', '.join(name(f) for f in fields)} FROM {name(sobject)}"
    if where:
        text += f" WHERE {where}"
    if order_by:
        for item in order_by:
            match = _ORDER.match(item.strip())
            if match is None:
                raise ValueError(f"not an ORDER BY item: {item!r}")
            name(match["name"])
        text += " ORDER BY " + ", ".join(item.strip() for item in order_by)
    if limit is not None:
        if limit < 1:
            raise ValueError("LIMIT must be 1 or more")
        text += f" LIMIT {limit}"
    return text

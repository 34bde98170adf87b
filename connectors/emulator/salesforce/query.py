"""Runs a parsed SOQL query against the org: type checks, filtering, ordering, projection.

Semantic errors have the real codes: INVALID_TYPE for an unknown sObject, INVALID_FIELD for
an unknown column ("No such column 'X' on entity 'Lead'. If you are attempting to use a
custom field, ...") or a literal of the wrong type for its field.
String comparisons are case-insensitive, as in SOQL.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from connectors.emulator.salesforce.records import to_json
from connectors.emulator.salesforce.schema import OBJECTS, FieldDef, ObjectDef, sobject
from connectors.emulator.salesforce.soql import (
    BoolOp,
    Cmp,
    Expr,
    Literal,
    Not,
    Query,
    SoqlError,
    Str,
    error_at,
)
from connectors.emulator.salesforce.state import Record, SalesforceState

_TEXT = {"string", "email", "phone", "picklist", "textarea", "id", "reference"}
_NUMBER = {"double", "currency", "int"}


def _no_column(q: Query, pos: int, name: str, entity: str) -> SoqlError:
    return error_at(
        q.text,
        pos,
        f"No such column '{name}' on entity '{entity}'. If you are attempting to use a custom "
        "field, be sure to append the '__c' after the custom field name. Please reference your "
        "WSDL or the describe call for the appropriate names.",
        "INVALID_FIELD",
    )


def resolve(q: Query, obj: ObjectDef, path: str, pos: int) -> list[FieldDef]:
    """The chain of fields a dotted path walks, e.g. Owner.Email -> [OwnerId, User.Email]."""
    parts = path.split(".")
    if parts[0].lower() == obj.name.lower() and len(parts) > 1:
        parts = parts[1:]
    chain: list[FieldDef] = []
    current = obj
    for i, part in enumerate(parts):
        if i < len(parts) - 1:
            ref = current.relationship(part)
            if ref is None:
                raise error_at(
                    q.text,
                    pos,
                    f"Didn't understand relationship '{part}' in field path. If you are "
                    "attempting to use a custom relationship, be sure to append the '__r' after "
                    "the custom relationship name. Please reference your WSDL or the describe "
                    "call for the appropriate names.",
                    "INVALID_FIELD",
                )
            chain.append(ref)
            current = OBJECTS[ref.reference_to[0]]
        else:
            fdef = current.field(part)
            if fdef is None:
                raise _no_column(q, pos, part, current.name)
            chain.append(fdef)
    return chain


class Runner:
    """Executes one query; `run` returns the projected records (JSON-ready)."""

    def __init__(self, state: SalesforceState, q: Query, *, include_deleted: bool) -> None:
        self.state = state
        self.q = q
        found = sobject(q.sobject)
        if found is None:
            raise error_at(
                q.text,
                q.sobject_pos,
                f"sObject type '{q.sobject}' is not supported. If you are attempting to use a "
                "custom object, be sure to append the '__c' after the entity name. Please "
                "reference your WSDL or the describe call for the appropriate names.",
                "INVALID_TYPE",
            )
        self.obj = found
        self.include_deleted = include_deleted
        self.select = [(path, resolve(q, found, path, pos)) for path, pos in q.fields]
        self.order = [(o, resolve(q, found, o.path, o.pos)) for o in q.order]
        self._chains: dict[int, list[FieldDef]] = {}
        if q.where is not None:
            self._check(q.where)

    def _check(self, expr: Expr) -> None:
        if isinstance(expr, BoolOp):
            for item in expr.items:
                self._check(item)
        elif isinstance(expr, Not):
            self._check(expr.item)
        else:
            chain = resolve(self.q, self.obj, expr.path, expr.pos)
            self._chains[id(expr)] = chain
            fdef = chain[-1]
            if fdef.type == "textarea" and fdef.length > 255:
                raise error_at(
                    self.q.text,
                    expr.pos,
                    f"field '{fdef.name}' can not be filtered in a query call",
                    "INVALID_FIELD",
                )
            if expr.op == "like" and fdef.type not in _TEXT:
                raise error_at(
                    self.q.text,
                    expr.pos,
                    f"invalid operator on {fdef.type} field: LIKE",
                    "INVALID_QUERY_FILTER_OPERATOR",
                )
            values = expr.value if isinstance(expr.value, tuple) else (expr.value,)
            for value in values:
                self._check_literal(fdef, value, expr.pos)

    def _check_literal(self, fdef: FieldDef, value: Literal, pos: int) -> None:
        if value is None:
            return
        kind = fdef.type
        ok = (
            (kind in _TEXT and isinstance(value, Str))
            or (kind in _NUMBER and isinstance(value, int | float) and not isinstance(value, bool))
            or (kind == "boolean" and isinstance(value, bool))
            or (kind == "datetime" and isinstance(value, datetime))
            or (kind == "date" and isinstance(value, date) and not isinstance(value, datetime))
        )
        if ok:
            return
        wanted = {
            "datetime": "dateTime",
            "double": "double",
            "currency": "double",
            "int": "int",
            "boolean": "boolean",
            "date": "date",
        }.get(kind, "string")
        quotes = (
            "should be enclosed in quotes"
            if wanted == "string"
            else ("should not be enclosed in quotes")
        )
        raise error_at(
            self.q.text,
            pos,
            f"value of filter criterion for field '{fdef.name}' must be of type {wanted} and "
            f"{quotes}",
            "INVALID_FIELD",
        )

    def value(self, record: Record, chain: list[FieldDef]) -> Any:
        current: Record | None = record
        for fdef in chain[:-1]:
            target = current.get(fdef.name) if current else None
            current = self.state.find(target) if target else None
        return current.get(chain[-1].name) if current else None

    def _getter(self, chain: list[FieldDef]) -> Callable[[Record], Any]:
        """The value a field path reads from a record, lower-cased if text (`_norm`)."""
        if len(chain) == 1:
            name = chain[0].name

            def own(record: Record) -> Any:
                value = record.get(name)
                return value.lower() if isinstance(value, str) else value

            return own
        return lambda record: _norm(self.value(record, chain))

    def _predicate(self, expr: Expr) -> Callable[[Record], bool]:
        """`expr` as a function of a record, built once per query rather than interpreted
        per record: the scan of every Lead is most of a query's cost."""
        if isinstance(expr, BoolOp):
            items = [self._predicate(item) for item in expr.items]
            if expr.op == "and":
                return lambda record: all(item(record) for item in items)
            return lambda record: any(item(record) for item in items)
        if isinstance(expr, Not):
            inner = self._predicate(expr.item)
            return lambda record: not inner(record)
        get = self._getter(self._chains[id(expr)])
        if expr.op in ("in", "notin"):
            assert isinstance(expr.value, tuple)
            choices = [_norm(v) for v in expr.value]
            negated = expr.op == "notin"

            def among(record: Record) -> bool:
                actual = get(record)
                return any(actual == choice for choice in choices) != negated

            return among
        assert not isinstance(expr.value, tuple)
        if expr.op == "like":
            if not isinstance(expr.value, Str):
                return lambda record: False
            pattern = re.compile(expr.value.like, re.IGNORECASE | re.DOTALL)

            def like(record: Record) -> bool:
                actual = get(record)
                return actual is not None and pattern.fullmatch(str(actual)) is not None

            return like
        wanted = _norm(expr.value)
        if expr.op == "=":
            return lambda record: bool(get(record) == wanted)
        if expr.op == "!=":
            return lambda record: bool(get(record) != wanted)
        if wanted is None:
            return lambda record: False
        compare = _ORDERINGS[expr.op]
        chain = self._chains[id(expr)]
        if len(chain) == 1:  # `SystemModstamp >= t`, the connectors' incremental read
            name = chain[0].name

            def own(record: Record) -> bool:
                actual = record.get(name)
                if actual is None:
                    return False
                if isinstance(actual, str):
                    actual = actual.lower()
                return bool(compare(actual, wanted))

            return own

        def ordered(record: Record) -> bool:
            actual = get(record)
            return actual is not None and bool(compare(actual, wanted))

        return ordered

    def run(self) -> list[Record]:
        rows = self._indexed()
        where = None if self.q.where is None else self._predicate(self.q.where)
        if not rows:  # every record of the type, filtered in one pass
            deleted_too = self.include_deleted
            with self.state.lock:
                rows = [
                    r
                    for r in self.state.records[self.obj.name].values()
                    if (deleted_too or not r["IsDeleted"]) and (where is None or where(r))
                ]
        elif where is not None:
            rows = list(filter(where, rows))
        for order, chain in reversed(self.order):
            get = self._getter(chain)
            present: list[tuple[Any, Record]] = []
            absent: list[Record] = []
            for record in rows:
                value = get(record)
                if value is None:
                    absent.append(record)
                else:
                    present.append((value, record))
            present.sort(key=_first, reverse=order.desc)  # stable, as sorting the records
            ordered = [record for _, record in present]
            rows = absent + ordered if order.nulls_first else ordered + absent
        rows = rows[self.q.offset :]
        if self.q.limit is not None:
            rows = rows[: self.q.limit]
        return [dict(r) for r in rows]

    def _indexed(self) -> list[Record] | None:
        """Candidates from the external-ID index for `Field = 'x'` (alone or ANDed)."""
        where = self.q.where
        items = where.items if isinstance(where, BoolOp) and where.op == "and" else (where,)
        for item in items:
            if not isinstance(item, Cmp) or item.op != "=" or not isinstance(item.value, Str):
                continue
            chain = self._chains[id(item)]
            if self.include_deleted or len(chain) != 1:
                continue
            if not (chain[0].unique or chain[0].external_id):
                continue
            return self.state.by_external_id(self.obj.name, chain[0].name, item.value.value)
        return None

    def project(self, record: Record, version: str) -> Record:
        out: Record = {"attributes": _attributes(self.obj.name, record["Id"], version)}
        for _, chain in self.select:
            if len(chain) == 1:  # a field of the record itself: the common case, made short
                out[chain[0].name] = _json(record.get(chain[0].name))
                continue
            target: Record = out
            current: Record | None = record
            for fdef in chain[:-1]:
                ref_id = current.get(fdef.name) if current else None
                current = self.state.find(ref_id) if ref_id else None
                name = fdef.relationship_name or fdef.name
                if current is None:
                    target[name] = None
                    break
                kind = self.state.type_of(current["Id"]) or ""
                nested = target.get(name)
                if not isinstance(nested, dict):
                    nested = {"attributes": _attributes(kind, current["Id"], version)}
                    target[name] = nested
                target = nested
            else:
                target[chain[-1].name] = to_json(current.get(chain[-1].name) if current else None)
        return out


def _attributes(kind: str, record_id: str, version: str) -> dict[str, str]:
    return {"type": kind, "url": f"/services/data/v{version}/sobjects/{kind}/{record_id}"}


def _json(value: Any) -> Any:
    """`to_json`, with UTC datetimes (every timestamp the org writes) formatted directly:
    the same text as `records.format_datetime`, several times cheaper than its strftime."""
    if isinstance(value, datetime) and value.tzinfo is UTC and value.year >= 1000:
        return "%04d-%02d-%02dT%02d:%02d:%02d.%03d+0000" % (  # noqa: UP031 (faster)
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond // 1000,
        )
    return to_json(value)


def _first(pair: tuple[Any, Record]) -> Any:
    return pair[0]


_ORDERINGS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}


def _norm(value: Any) -> Any:
    if isinstance(value, Str):
        value = value.value
    if isinstance(value, str):
        return value.lower()
    return value

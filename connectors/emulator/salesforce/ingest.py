"""Bulk API 2.0 ingest data: reading an uploaded CSV, applying its rows, writing result CSVs.

Each row is applied like one record of an sObject Collections call, through the same state
methods and record checks, so a row fails with the same code and message a collection record
would. CSV cell semantics: an empty cell leaves the field unchanged (on insert: not set),
`#N/A` sets it to null. A header naming an unknown field fails the whole job (`JobError`).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from connectors.emulator.salesforce.records import RecordError, RequestError, coerce
from connectors.emulator.salesforce.schema import FieldDef, ObjectDef
from connectors.emulator.salesforce.state import SalesforceState

DELIMITERS = {
    "BACKQUOTE": "`",
    "CARET": "^",
    "COMMA": ",",
    "PIPE": "|",
    "SEMICOLON": ";",
    "TAB": "\t",
}
LINE_ENDINGS = ("LF", "CRLF")
NULL = "#N/A"

Row = list[str]


class JobError(Exception):
    """The whole job fails: state Failed with this errorMessage, no row processed."""


@dataclass
class Outcome:
    """What processing a job's data gave: rows by result, in input order."""

    header: list[str] = field(default_factory=list)
    successful: list[tuple[str, bool, Row]] = field(default_factory=list)
    failed: list[tuple[str, str, Row]] = field(default_factory=list)
    unprocessed: list[Row] = field(default_factory=list)

    @property
    def processed(self) -> int:
        return len(self.successful) + len(self.failed)


def error_text(exc: RecordError) -> str:
    """The `sf__Error` cell: `CODE:message:Field1,Field2 --`, or `CODE:message:--`."""
    fields = ",".join(exc.fields)
    return f"{exc.status_code}:{exc.message}:{fields + ' ' if fields else ''}--"


def check_line_ending(data: bytes, line_ending: str) -> None:
    """JobError when the first line does not end the way the job said its lines end."""
    first_break = data.find(b"\n")
    if first_break >= 0 and (data[first_break - 1 : first_break] == b"\r") != (
        line_ending == "CRLF"
    ):
        raise JobError(
            "ClientInputError : LineEnding is invalid on user data. "
            f"Current LineEnding setting is {line_ending}"
        )


def read_csv(data: bytes, delimiter: str) -> tuple[list[str], list[Row]]:
    """Header and rows of a UTF-8 upload (blank lines skipped)."""
    text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
    try:
        rows = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if r]
    except csv.Error as exc:
        raise JobError(f"ClientInputError : {exc}") from None
    if not rows:
        return [], []
    return rows[0], rows[1:]


def header_fields(obj: ObjectDef, header: list[str]) -> list[FieldDef]:
    fields: list[FieldDef] = []
    for name in header:
        fdef = obj.field(name)
        if fdef is None:
            raise JobError(f"InvalidBatch : Field name not found : {name}")
        fields.append(fdef)
    return fields


def _body(fields: list[FieldDef], row: Row) -> dict[str, Any]:
    """The record values of a row: empty cells left out, #N/A as null (false for checkboxes)."""
    body: dict[str, Any] = {}
    for index, fdef in enumerate(fields):
        cell = row[index] if index < len(row) else ""
        if cell == "":
            continue
        if cell == NULL:
            body[fdef.name] = False if fdef.type == "boolean" else None
            continue
        try:
            coerce(fdef, cell)
        except RequestError:
            raise RecordError(
                "INVALID_TYPE_ON_FIELD_IN_RECORD",
                f"{fdef.describe()['label']}: value not of required type: {cell}",
                [fdef.name],
            ) from None
        body[fdef.name] = cell
    return body


def _take(body: dict[str, Any], name: str) -> str | None:
    value = body.pop(name, None)
    return None if value in (None, "") else str(value)


class _Apply:
    """Applies the rows of one job; each method returns (record id, created)."""

    def __init__(self, state: SalesforceState, obj: ObjectDef, external: str | None) -> None:
        self.state = state
        self.kind = obj.name
        self.external = external
        self.target = ""  # the record a failing row was aimed at, for sf__Id

    def insert(self, body: dict[str, Any]) -> tuple[str, bool]:
        if "Id" in body:
            raise RecordError(
                "INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ["Id"]
            )
        return self.state.create(self.kind, body), True

    def _existing(self, record_id: str | None) -> str:
        if record_id is None:
            raise RecordError("MISSING_ARGUMENT", "Id not specified in an update call", [])
        current = self.state.find(record_id)
        if current is None or self.state.type_of(record_id) != self.kind:
            raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        self.target = str(current["Id"])
        return self.target

    def update(self, body: dict[str, Any]) -> tuple[str, bool]:
        record_id = self._existing(_take(body, "Id"))
        self.state.update(self.kind, record_id, body)
        return record_id, False

    def delete(self, body: dict[str, Any]) -> tuple[str, bool]:
        record_id = self._existing(_take(body, "Id"))
        try:
            self.state.delete(self.kind, record_id)
        except RequestError as exc:
            raise RecordError(exc.code, exc.message) from None
        return record_id, False

    def upsert(self, body: dict[str, Any]) -> tuple[str, bool]:
        field_name = self.external or "Id"
        value = _take(body, field_name)
        if field_name == "Id":  # upsert on Id: a blank Id inserts, a given one updates
            return self.insert(body) if value is None else self.update({**body, "Id": value})
        if value is None:
            raise RecordError("MISSING_ARGUMENT", f"{field_name} not specified", [field_name])
        matches = self.state.by_external_id(self.kind, field_name, value)
        self.target = str(matches[0]["Id"]) if len(matches) == 1 else ""
        try:
            return self.state.upsert(self.kind, field_name, value, body)
        except RequestError as exc:
            raise RecordError(
                "DUPLICATE_VALUE",
                f"duplicate value found: {field_name} duplicates "
                f"value on records with ids: {exc.message}",
            ) from None


def _duplicate_keys(fields: list[FieldDef], rows: list[Row], external: str) -> dict[int, str]:
    """Upsert rows whose external ID appears more than once in the job, with that ID."""
    column = next((i for i, f in enumerate(fields) if f.name == external), None)
    if column is None:
        return {}
    keys = {i: r[column] for i, r in enumerate(rows) if column < len(r)}
    keys = {i: k for i, k in keys.items() if k not in ("", NULL)}
    seen = Counter(k.lower() for k in keys.values())
    return {i: k for i, k in keys.items() if seen[k.lower()] > 1}


def apply(
    state: SalesforceState,
    obj: ObjectDef,
    operation: str,
    external: str | None,
    data: bytes,
    delimiter: str,
) -> Outcome:
    """Process a job's upload row by row; JobError when its header cannot be used."""
    header, rows = read_csv(data, delimiter)
    fields = header_fields(obj, header)
    outcome = Outcome(header=header)
    duplicates = _duplicate_keys(fields, rows, external) if external else {}
    for index, row in enumerate(rows):
        applier = _Apply(state, obj, external)
        try:
            if index in duplicates:
                raise RecordError(
                    "DUPLICATE_EXTERNAL_ID",
                    f"Duplicate external id specified: {duplicates[index]}",
                    [str(external)],
                )
            body = _body(fields, row)
            with state.lock:
                record_id, created = getattr(applier, operation)(body)
        except RequestError as exc:
            failure = RecordError(exc.code, exc.message)
            outcome.failed.append((applier.target, error_text(failure), row))
        except RecordError as exc:
            outcome.failed.append((applier.target, error_text(exc), row))
        else:
            outcome.successful.append((record_id, created, row))
    return outcome


def unprocessed(data: bytes | None, delimiter: str) -> Outcome:
    """Every row of an upload as unprocessed (a job aborted or failed before processing)."""
    if not data:
        return Outcome()
    try:
        header, rows = read_csv(data, delimiter)
    except JobError:
        return Outcome()
    return Outcome(header=header, unprocessed=rows)


def results_csv(kind: str, outcome: Outcome, delimiter: str) -> str:
    """A results CSV: quoted `sf__` columns, the original header, every value quoted."""
    width = len(outcome.header)
    rows: list[list[str]]
    if kind == "successfulresults":
        prefix = ["sf__Id", "sf__Created"]
        rows = [[i, "true" if c else "false", *r] for i, c, r in outcome.successful]
    elif kind == "failedresults":
        prefix = ["sf__Id", "sf__Error"]
        rows = [[i, e, *r] for i, e, r in outcome.failed]
    else:
        prefix = []
        rows = [list(r) for r in outcome.unprocessed]
    if not outcome.header and not prefix:
        return ""
    out = io.StringIO()
    out.write(delimiter.join([f'"{p}"' for p in prefix] + outcome.header) + "\n")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n", quoting=csv.QUOTE_ALL)
    for row in rows:
        full = len(prefix) + width
        writer.writerow((row + [""] * full)[:full])
    return out.getvalue()

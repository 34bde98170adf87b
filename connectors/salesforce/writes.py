"""Upserts by external ID: sObject Collections for batches, Bulk API 2.0 above a threshold.

`PATCH /composite/sobjects/{sobject}/{field}` takes at most 200 records a call; with
`allOrNone: false` each record succeeds or fails alone and the answer lists one result per
record, in input order (REST API Developer Guide, "Upsert Multiple Records"). A request
refused as a whole for one record's value (e.g. JSON_PARSER_ERROR for text in a number
field) is halved until the bad records stand alone, so one bad record never stops the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

import structlog
from simple_salesforce.api import Salesforce

from connectors.errors import RecordError, RecordFailure
from connectors.salesforce.session import SalesforceSession
from connectors.salesforce.soql import name

log = structlog.get_logger()
COLLECTION_MAX = 200


class Written(NamedTuple):
    """One record Salesforce stored: the caller's external ID, the record Id, whether new."""

    key: str
    salesforce_id: str
    created: bool


@dataclass
class WriteOutcome:
    """What one `upsert` did: the records written and those refused (with Salesforce's own
    code and message), each once, in input order within each list."""

    written: list[Written] = field(default_factory=list)
    failed: list[RecordFailure] = field(default_factory=list)

    def extend(self, other: WriteOutcome) -> None:
        self.written.extend(other.written)
        self.failed.extend(other.failed)


def key_of(record: Mapping[str, Any], external_id_field: str) -> str:
    """The record's external ID (field name matched case-insensitively), or ''."""
    value = record.get(external_id_field)
    if value is None:
        lowered = external_id_field.lower()
        value = next((v for k, v in record.items() if k.lower() == lowered), None)
    return "" if value is None else str(value)


def json_value(value: Any) -> Any:
    """A value as the REST API takes it: datetimes in UTC ISO 8601, dates ISO, Decimals as
    numbers; everything else unchanged."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("Salesforce datetimes need a timezone-aware datetime")
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def record_failure(key: str, errors: Any) -> RecordFailure:
    """A RecordFailure from a save result's `errors`: the first code, every message."""
    items = [e for e in errors if isinstance(e, Mapping)] if isinstance(errors, list) else []
    if not items:
        return RecordFailure(key, "UNKNOWN_EXCEPTION", "Salesforce gave no error detail")
    fields = tuple(str(f) for e in items for f in (e.get("fields") or []))
    message = "; ".join(str(e.get("message") or "") for e in items)
    return RecordFailure(key, str(items[0].get("statusCode") or ""), message, fields)


class CollectionWriter:
    """Upserts through sObject Collections, 200 records a call."""

    def __init__(self, session: SalesforceSession) -> None:
        self._session = session

    def upsert(
        self, sobject: str, external_id_field: str, records: Sequence[Mapping[str, Any]]
    ) -> WriteOutcome:
        path = f"composite/sobjects/{name(sobject)}/{name(external_id_field)}"
        outcome = WriteOutcome()
        for start in range(0, len(records), COLLECTION_MAX):
            chunk = records[start : start + COLLECTION_MAX]
            outcome.extend(self._send(path, sobject, external_id_field, chunk))
        return outcome

    def _send(
        self, path: str, sobject: str, field: str, chunk: Sequence[Mapping[str, Any]]
    ) -> WriteOutcome:
        body = {
            "allOrNone": False,
            "records": [
                {
                    "attributes": {"type": sobject},
                    **{k: json_value(v) for k, v in r.items() if k != "attributes"},
                }
                for r in chunk
            ],
        }

        def patch(sf: Salesforce) -> Any:
            return sf.restful(path, method="PATCH", json=body)

        try:
            results = self._session.call("composite.upsert", patch)
        except RecordError as exc:  # the request as a whole, for some record's value
            if len(chunk) == 1:
                key = key_of(chunk[0], field)
                return WriteOutcome(failed=[RecordFailure(key, exc.code or "", exc.message)])
            log.info("salesforce.upsert_split", sobject=sobject, records=len(chunk), code=exc.code)
            half = len(chunk) // 2
            outcome = self._send(path, sobject, field, chunk[:half])
            outcome.extend(self._send(path, sobject, field, chunk[half:]))
            return outcome
        outcome = WriteOutcome()
        for record, result in zip(chunk, results or [], strict=True):
            key = key_of(record, field)
            if result.get("success"):
                outcome.written.append(
                    Written(key, str(result.get("id")), bool(result.get("created")))
                )
            else:
                outcome.failed.append(record_failure(key, result.get("errors")))
        return outcome

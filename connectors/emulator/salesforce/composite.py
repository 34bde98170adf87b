"""sObject Collections: POST/PATCH /composite/sobjects and PATCH /composite/sobjects/{T}/{F}.

The whole body is read first, as the real API deserialises it before acting on any record: a
value that does not fit its field's type (text in a number, date or checkbox field, ...)
refuses the whole request with 400 JSON_PARSER_ERROR and nothing is written, whatever
allOrNone says. Then at most 200 records a call (EXCEEDED_ID_LIMIT otherwise); results in
input order; with allOrNone every change is rolled back when one record fails and the valid
records report ALL_OR_NONE_OPERATION_ROLLED_BACK.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from connectors.emulator.salesforce.http import json_response, read_json
from connectors.emulator.salesforce.records import RecordError, RequestError, parse_values
from connectors.emulator.salesforce.rest import external_field, sobject_of
from connectors.emulator.salesforce.schema import ObjectDef, sobject
from connectors.emulator.salesforce.state import SalesforceState

MAX_RECORDS = 200
ROLLED_BACK = RecordError(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using AllOrNone "
    "header",
)
Result = dict[str, Any]


def _declared(record: Any) -> ObjectDef | None:
    """The sObject a record names in `attributes.type`, if it is one the org has."""
    attributes = record.get("attributes") if isinstance(record, dict) else None
    kind = attributes.get("type") if isinstance(attributes, dict) else None
    return sobject(kind) if isinstance(kind, str) else None


def _records(body: Any, path_type: ObjectDef | None = None) -> tuple[list[Any], bool]:
    """The records and allOrNone of a collection body, every value read against its field's
    type first (RequestError JSON_PARSER_ERROR for the whole request, before any write).
    A record without a known type is left to its own INVALID_TYPE result, except on the
    upsert route, whose path names the type (`path_type`)."""
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise RequestError(
            400, "JSON_PARSER_ERROR", "Cannot deserialize instance of records from null value"
        )
    records: list[Any] = body["records"]
    for record in records:
        obj = _declared(record) or path_type
        if obj is not None and isinstance(record, dict):
            parse_values(obj, record)
    if len(records) > MAX_RECORDS:
        raise RequestError(
            400,
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
        )
    return records, bool(body.get("allOrNone", False))


def _type_of(record: Any) -> str:
    found = _declared(record)
    if found is None:
        raise RecordError("INVALID_TYPE", "Must send a concrete entity type.")
    return found.name


def _run(
    state: SalesforceState,
    records: list[Any],
    all_or_none: bool,
    action: Callable[[int, dict[str, Any]], Result],
    pre_errors: dict[int, RecordError] | None = None,
) -> Response:
    results: list[Result] = []
    with state.lock, state.transaction() as undo:
        try:
            for index, record in enumerate(records):
                if pre_errors and index in pre_errors:
                    results.append({"success": False, "errors": [pre_errors[index].as_result()]})
                    continue
                try:
                    if not isinstance(record, dict):
                        raise RecordError("INVALID_TYPE", "Must send a concrete entity type.")
                    results.append(action(index, record))
                except RecordError as exc:
                    results.append({"success": False, "errors": [exc.as_result()]})
        except Exception:  # the request refused as a whole: none of its writes stay
            state.rollback(undo)
            raise
        if all_or_none and any(not r["success"] for r in results):
            state.rollback(undo)
            results = [
                r if not r["success"] else {"success": False, "errors": [ROLLED_BACK.as_result()]}
                for r in results
            ]
    return json_response(results)


async def create_many(request: Request, state: SalesforceState, version: str) -> Response:
    records, all_or_none = _records(await read_json(request))

    def action(_: int, record: dict[str, Any]) -> Result:
        kind = _type_of(record)
        if any(key.lower() == "id" for key in record):
            raise RecordError(
                "INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ["Id"]
            )
        return {"id": state.create(kind, record), "success": True, "errors": []}

    return _run(state, records, all_or_none, action)


async def update_many(request: Request, state: SalesforceState, version: str) -> Response:
    records, all_or_none = _records(await read_json(request))

    def action(_: int, record: dict[str, Any]) -> Result:
        kind = _type_of(record)
        record_id = next((v for k, v in record.items() if k.lower() == "id"), None)
        if not isinstance(record_id, str) or not record_id:
            raise RecordError("MISSING_ARGUMENT", "Id not specified in an update call", [])
        current = state.find(record_id)
        if current is None or state.type_of(record_id) != kind:
            raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        state.update(kind, record_id, record)
        return {"id": current["Id"], "success": True, "errors": []}

    return _run(state, records, all_or_none, action)


async def upsert_many(request: Request, state: SalesforceState, version: str) -> Response:
    obj = sobject_of(request)
    field = external_field(obj, request.path_params["field"])
    records, all_or_none = _records(await read_json(request), obj)
    lowered = field.lower()

    def key_of(record: Any) -> str | None:
        if not isinstance(record, dict):
            return None
        value = next((v for k, v in record.items() if k.lower() == lowered), None)
        return None if value in (None, "") else str(value)

    keys = [key_of(r) for r in records]  # each record's external ID, read once
    seen = Counter(k.lower() for k in keys if k is not None)
    pre_errors = {
        i: RecordError("DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: {key}", [field])
        for i, key in enumerate(keys)
        if key is not None and seen[key.lower()] > 1
    }

    def action(index: int, record: dict[str, Any]) -> Result:
        if _type_of(record) != obj.name:
            raise RecordError("INVALID_TYPE", "Must send a concrete entity type.")
        value = keys[index]
        if value is None:
            raise RecordError("MISSING_ARGUMENT", f"{field} not specified", [field])
        body = {k: v for k, v in record.items() if k.lower() != lowered}
        try:
            record_id, created = state.upsert(obj.name, field, value, body)
        except RequestError as exc:  # several records hold this external ID (HTTP 300 alone)
            if exc.status != 300:
                raise
            raise RecordError(
                "DUPLICATE_VALUE",
                f"duplicate value found: {field} duplicates "
                f"value on records with ids: {exc.message}",
            ) from None
        return {"id": record_id, "success": True, "errors": [], "created": created}

    return _run(state, records, all_or_none, action, pre_errors)

"""Query, sObject and limits resources of the REST API (/services/data/vXX.X/...)."""

from __future__ import annotations

import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from connectors.emulator.salesforce.http import error, json_response, read_json
from connectors.emulator.salesforce.query import Runner
from connectors.emulator.salesforce.records import RequestError, to_json
from connectors.emulator.salesforce.schema import ObjectDef, sobject
from connectors.emulator.salesforce.soql import parse
from connectors.emulator.salesforce.state import SalesforceState

MAX_BATCH = 2000
MIN_BATCH = 200


def _batch_size(request: Request) -> int:
    options = request.headers.get("sforce-query-options", "")
    for part in options.split(","):
        key, _, value = part.strip().partition("=")
        if key.lower() == "batchsize" and value.isdigit():
            return max(MIN_BATCH, min(MAX_BATCH, int(value)))
    return MAX_BATCH


def _page(
    state: SalesforceState,
    rows: list[dict[str, Any]],
    start: int,
    size: int,
    locator: str,
    base: str,
) -> Response:
    page = rows[start : start + size]
    body: dict[str, Any] = {"totalSize": len(rows), "done": start + size >= len(rows)}
    if not body["done"]:
        body["nextRecordsUrl"] = f"{base}/{locator}-{start + size}"
    else:
        with state.lock:
            state.cursors.pop(locator, None)
    body["records"] = page
    return json_response(body)


async def query(request: Request, state: SalesforceState, version: str) -> Response:
    include_deleted = request.url.path.rstrip("/").endswith("queryAll")
    text = request.query_params.get("q")
    if text is None:
        return error(400, "MALFORMED_QUERY", "A query string has to be specified")
    parsed = parse(text)
    runner = Runner(state, parsed, include_deleted=include_deleted)
    with state.lock:
        rows = runner.run()
        if parsed.count:
            return json_response({"totalSize": len(rows), "done": True, "records": []})
        projected = [runner.project(r, version) for r in rows]
    size = _batch_size(request)
    locator = "01g" + secrets.token_hex(8)[:12].upper() + "AAA"
    if len(projected) > size:
        with state.lock:
            state.cursors[locator] = (projected, version)
    base = f"/services/data/v{version}/{'queryAll' if include_deleted else 'query'}"
    return _page(state, projected, 0, size, locator, base)


async def query_more(request: Request, state: SalesforceState, version: str) -> Response:
    cursor = request.path_params["cursor"]
    locator, _, start = cursor.rpartition("-")
    with state.lock:
        found = state.cursors.get(locator)
    if found is None or not start.isdigit():
        return error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    include_deleted = "/queryAll/" in request.url.path
    base = f"/services/data/v{version}/{'queryAll' if include_deleted else 'query'}"
    return _page(state, found[0], int(start), _batch_size(request), locator, base)


async def limits(request: Request, state: SalesforceState, version: str) -> Response:
    used, limit = state.api_usage()
    return json_response(
        {
            "DailyApiRequests": {"Max": limit, "Remaining": max(0, limit - used)},
            "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
            "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
        }
    )


def sobject_of(request: Request) -> ObjectDef:
    name = request.path_params["sobject"]
    found = sobject(name)
    if found is None:
        raise RequestError(404, "NOT_FOUND", "The requested resource does not exist")
    return found


async def describe(request: Request, state: SalesforceState, version: str) -> Response:
    return json_response(sobject_of(request).describe(version))


def record_json(kind: str, record: dict[str, Any], version: str, fields: str | None) -> Any:
    out: dict[str, Any] = {
        "attributes": {
            "type": kind,
            "url": f"/services/data/v{version}/sobjects/{kind}/{record['Id']}",
        }
    }
    wanted = None if not fields else {f.strip().lower() for f in fields.split(",")}
    for name, value in record.items():
        if wanted is None or name.lower() in wanted:
            out[name] = to_json(value)
    return out


async def create(request: Request, state: SalesforceState, version: str) -> Response:
    obj = sobject_of(request)
    body = await read_json(request)
    if not isinstance(body, dict):
        raise RequestError(
            400,
            "JSON_PARSER_ERROR",
            f"Cannot deserialize instance of {obj.name} from START_ARRAY value [line:1, column:1]",
        )
    record_id = state.create(obj.name, body)
    return json_response({"id": record_id, "success": True, "errors": []}, 201)


def _looks_like_id(obj: ObjectDef, value: str) -> bool:
    return len(value) in (15, 18) and value.startswith(obj.key_prefix) and value.isalnum()


async def record(request: Request, state: SalesforceState, version: str) -> Response:
    obj = sobject_of(request)
    record_id = request.path_params["record_id"]
    if not _looks_like_id(obj, record_id):
        return error(
            404,
            "NOT_FOUND",
            f"Provided external ID field does not exist or is not accessible: {record_id}",
        )
    if request.method == "GET":
        found = state.get(obj.name, record_id)
        return json_response(
            record_json(obj.name, found, version, request.query_params.get("fields"))
        )
    if request.method == "DELETE":
        state.delete(obj.name, record_id)
        return Response(status_code=204)
    body = await read_json(request)
    state.get(obj.name, record_id)
    state.update(obj.name, record_id, body if isinstance(body, dict) else {})
    return Response(status_code=204)


def external_field(obj: ObjectDef, name: str) -> str:
    fdef = obj.field(name)
    if fdef is None:
        raise RequestError(
            404,
            "NOT_FOUND",
            f"Provided external ID field does not exist or is not accessible: {name}",
        )
    if not (fdef.external_id or fdef.name == "Id"):
        raise RequestError(
            400, "INVALID_FIELD", f"Field {fdef.name} is not an External ID or Id field"
        )
    return fdef.name


async def by_external_id(request: Request, state: SalesforceState, version: str) -> Response:
    obj = sobject_of(request)
    field = external_field(obj, request.path_params["field"])
    value = request.path_params["value"]
    matches = state.by_external_id(obj.name, field, value)
    if request.method == "GET":
        if len(matches) > 1:
            return _multiple(obj, matches, version)
        if not matches:
            return error(404, "NOT_FOUND", "The requested resource does not exist")
        return json_response(record_json(obj.name, matches[0], version, None))
    if request.method == "DELETE":
        if len(matches) != 1:
            return (
                _multiple(obj, matches, version)
                if matches
                else error(404, "NOT_FOUND", "The requested resource does not exist")
            )
        state.delete(obj.name, matches[0]["Id"])
        return Response(status_code=204)
    body = await read_json(request)
    if not isinstance(body, dict):
        body = {}
    for key in body:
        if key.lower() in (field.lower(), "id"):
            raise RequestError(
                400,
                "INVALID_FIELD",
                f"The field {key} should not be specified in the sobject data.",
            )
    try:
        record_id, created = state.upsert(obj.name, field, value, body)
    except RequestError as exc:
        if exc.status == 300:
            return _multiple(obj, state.by_external_id(obj.name, field, value), version)
        raise
    return json_response(
        {"id": record_id, "success": True, "errors": [], "created": created},
        201 if created else 200,
    )


def _multiple(obj: ObjectDef, matches: list[dict[str, Any]], version: str) -> Response:
    return json_response(
        [f"/services/data/v{version}/sobjects/{obj.name}/{r['Id']}" for r in matches], 300
    )

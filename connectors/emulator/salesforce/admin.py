"""Admin routes under /__emulator/salesforce: what a salesperson does in the UI, session
expiry, the API allowance, and record getters for assertions. JSON in, JSON out."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connectors.emulator.salesforce.records import (
    RecordError,
    RequestError,
    parse_datetime,
    to_json,
)
from connectors.emulator.salesforce.schema import sobject
from connectors.emulator.salesforce.state import SalesforceState

PREFIX = "/__emulator/salesforce"
Action = Callable[[Request, dict[str, Any]], Any]


def _at(body: dict[str, Any], state: SalesforceState) -> datetime:
    raw = body.get("at")
    return parse_datetime(raw) if isinstance(raw, str) else state.clock.now()


def admin_routes(state: SalesforceState) -> list[Route]:
    def wrap(action: Action) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            payload = json.loads(raw) if raw else {}
            try:
                result = action(request, payload if isinstance(payload, dict) else {})
            except RecordError as exc:
                return JSONResponse([exc.as_rest()], status_code=400)
            except RequestError as exc:
                return JSONResponse(exc.body(), status_code=exc.status)
            return JSONResponse(result if result is not None else {"ok": True})

        return endpoint

    def lead(request: Request) -> str:
        return str(request.path_params["record_id"])

    def get_record(request: Request, _: dict[str, Any]) -> Any:
        obj = sobject(request.path_params["sobject"])
        if obj is None:
            raise RequestError(404, "NOT_FOUND", "The requested resource does not exist")
        with state.lock:
            found = state.find(request.path_params["record_id"])
            if found is None:
                raise RequestError(404, "NOT_FOUND", "The requested resource does not exist")
            return {k: to_json(v) for k, v in found.items()}

    def list_records(request: Request, _: dict[str, Any]) -> Any:
        obj = sobject(request.path_params["sobject"])
        if obj is None:
            raise RequestError(404, "NOT_FOUND", "The requested resource does not exist")
        with state.lock:
            rows = state.rows(obj.name, include_deleted=True)
            return [{k: to_json(v) for k, v in r.items()} for r in rows]

    def limits(_: Request, body: dict[str, Any]) -> Any:
        with state.lock:
            if "daily" in body:
                state.daily_api_limit = int(body["daily"])
            if "used" in body:
                state.charge_api()
                state.api_used = int(body["used"])
            return {"used": state.api_used, "daily": state.daily_api_limit}

    routes: list[tuple[str, str, Action]] = [
        ("POST", "/sessions", lambda r, b: {"sessionId": state.new_session()}),
        ("POST", "/expire_sessions", lambda r, b: state.expire_sessions()),
        ("POST", "/limits", limits),
        ("POST", "/users", lambda r, b: {"id": state.add_user(b["name"], b["email"])}),
        ("GET", "/records/{sobject}", list_records),
        ("GET", "/records/{sobject}/{record_id}", get_record),
        (
            "POST",
            "/leads/{record_id}/call",
            lambda r, b: {"id": state.log_call(lead(r), _at(b, state), b.get("subject", "Call"))},
        ),
        (
            "POST",
            "/leads/{record_id}/meeting",
            lambda r, b: {"id": state.log_meeting(lead(r), _at(b, state))},
        ),
        ("PATCH", "/leads/{record_id}", lambda r, b: state.set_fields(lead(r), b)),
        (
            "POST",
            "/leads/{record_id}/convert",
            lambda r, b: {"opportunityId": state.convert_lead(lead(r), _at(b, state))},
        ),
        ("DELETE", "/leads/{record_id}", lambda r, b: state.delete_lead(lead(r))),
        (
            "POST",
            "/leads/{record_id}/merge",
            lambda r, b: state.merge_leads(lead(r), str(b["duplicate"])),
        ),
        (
            "POST",
            "/opportunities/{record_id}/close",
            lambda r, b: state.close_opportunity(
                lead(r), bool(b.get("won")), b.get("amount"), _at(b, state)
            ),
        ),
    ]
    return [Route(PREFIX + path, wrap(action), methods=[method]) for method, path, action in routes]

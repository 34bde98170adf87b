"""What every data API call goes through: version check, session check, the daily request
counter and the `Sforce-Limit-Info` header, and the mapping of errors to real error bodies."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from connectors.emulator.salesforce.records import RecordError, RequestError
from connectors.emulator.salesforce.soql import SoqlError
from connectors.emulator.salesforce.state import SalesforceState

MIN_VERSION = (59, 0)
_VERSION = re.compile(r"^v(\d{2,3})\.(\d)$")

Handler = Callable[[Request, SalesforceState, str], Awaitable[Response]]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)


def error(status: int, code: str, message: str) -> Response:
    return json_response([{"message": message, "errorCode": code}], status)


def not_found() -> Response:
    return error(404, "NOT_FOUND", "The requested resource does not exist")


def version_of(raw: str) -> str | None:
    """'59.0' for 'v59.0' when the version is one the emulator serves, else None."""
    match = _VERSION.match(raw)
    if match is None or (int(match[1]), int(match[2])) < MIN_VERSION:
        return None
    return raw[1:]


async def read_json(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw or b"null")
    except json.JSONDecodeError as exc:
        raise RequestError(
            400,
            "JSON_PARSER_ERROR",
            f"Unexpected character ('{raw[exc.pos : exc.pos + 1].decode(errors='replace')}'): "
            f"was expecting a value at [line:{exc.lineno}, column:{exc.colno}]",
        ) from None


def api(state: SalesforceState, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a data API handler with the checks the real service makes before answering."""

    async def endpoint(request: Request) -> Response:
        version = version_of(request.path_params.get("version", ""))
        if version is None:
            return not_found()
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() not in ("bearer", "oauth") or not state.session_valid(token.strip()):
            return error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        if not state.charge_api():
            response = error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        else:
            try:
                response = await handler(request, state, version)
            except RequestError as exc:
                response = json_response(exc.body(), exc.status)
            except RecordError as exc:
                response = json_response([exc.as_rest()], 400)
            except SoqlError as exc:
                response = error(400, exc.code, exc.message)
        used, limit = state.api_usage()
        response.headers["Sforce-Limit-Info"] = f"api-usage={used}/{limit}"
        return response

    return endpoint

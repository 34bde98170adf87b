"""Response bodies in HubSpot's shapes: CRM objects, batch results and errors.

Error bodies follow what HubSpot sends (`{"status":"error","message":...,"correlationId":...,
"category":...}`, plus `context` where HubSpot gives one): every one carries a fresh uuid4
`correlationId`, repeated in the answer's `X-HubSpot-Correlation-Id` header. Batch errors are
`StandardError`s (`hubspot/crm/contacts/models/standard_error.py`), which the SDK insists have
every field; like HubSpot's, they carry no correlationId of their own.
"""

from __future__ import annotations

import uuid
from collections.abc import Container, Iterable
from datetime import datetime
from typing import Any

import orjson
from starlette import responses
from starlette.responses import Response

from connectors.emulator.hubspot._properties import DEFAULT_PROPERTIES, iso
from connectors.emulator.hubspot.state import Contact

ALWAYS = ("createdate", "hs_object_id", "lastmodifieddate")
AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and "
    "you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


class JSONResponse(responses.JSONResponse):
    """Starlette's JSONResponse encoded by orjson: the same bytes (compact, UTF-8 as is)
    for these bodies, at a fraction of the cost (`json.dumps` was two thirds of the CPU of
    a 200-contact search page)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


CORRELATION_HEADER = "X-HubSpot-Correlation-Id"


def correlation_id() -> str:
    return str(uuid.uuid4())


def _with_correlation(
    body: dict[str, Any], status: int, headers: dict[str, str] | None
) -> JSONResponse:
    """An error answer whose header names the same correlation id as its body."""
    return JSONResponse(
        body,
        status_code=status,
        headers={**(headers or {}), CORRELATION_HEADER: body["correlationId"]},
    )


def error(
    status: int,
    category: str,
    message: str,
    *,
    context: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": correlation_id(),
    }
    if context is not None:
        body["context"] = context
    body["category"] = category
    return _with_correlation(body, status, headers)


def validation_error(message: str, **kw: Any) -> JSONResponse:
    return error(400, "VALIDATION_ERROR", message, **kw)


def unauthorized() -> JSONResponse:
    return error(401, "INVALID_AUTHENTICATION", AUTH_MESSAGE)


def rate_limited(policy: str, message: str, headers: dict[str, str]) -> JSONResponse:
    body = {
        "status": "error",
        "message": message,
        "errorType": "RATE_LIMIT",
        "correlationId": correlation_id(),
        "policyName": policy,
        "groupName": "private-app:emulator",
    }
    return _with_correlation(body, 429, headers)


def object_not_found(object_id: str) -> Response:
    """HubSpot answers an unknown numeric id with an empty 404; anything else with a body."""
    if object_id.isdigit():
        return Response(status_code=404)
    return error(
        404,
        "OBJECT_NOT_FOUND",
        "Object not found.  objectId are usually numeric.",
        context={"id": [object_id]},
    )


def standard_error(
    category: str, message: str, context: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    return {
        "status": "error",
        "category": category,
        "message": message,
        "context": context or {},
        "errors": [],
        "links": {},
    }


def selected(requested: Iterable[str] | None) -> list[str]:
    """The properties to return: the requested ones (or the default set) plus the three
    HubSpot always returns."""
    names = [n for n in (requested or []) if n]
    if not names:
        names = list(DEFAULT_PROPERTIES)
    return list(dict.fromkeys([*names, *ALWAYS]))


def render(
    contact: Contact,
    properties: list[str],
    known: Container[str],
    with_history: Iterable[str] = (),
) -> dict[str, Any]:
    """A contact as a `SimplePublicObject`; unknown property names are left out, never-set
    ones are null and cleared ones ""."""
    return render_all([contact], properties, known, with_history)[0]


def render_all(
    contacts: Iterable[Contact],
    properties: list[str],
    known: Container[str],
    with_history: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """`render` for many contacts; the property names are checked once for all of them."""
    shown = [name for name in properties if name in known]
    history = [name for name in with_history if name in known]
    bodies = []
    for contact in contacts:
        values = contact.properties
        body: dict[str, Any] = {
            "id": contact.id,
            "properties": {name: values.get(name) for name in shown},
            "createdAt": contact.created_iso,
            "updatedAt": values.get("lastmodifieddate") or contact.updated_iso,
            "archived": contact.archived,
        }
        if history:
            body["propertiesWithHistory"] = {
                name: [entry.to_json() for entry in reversed(contact.history_of(name))]
                for name in history
            }
        bodies.append(body)
    return bodies


def batch(
    results: list[dict[str, Any]],
    errors: list[dict[str, Any]],
    started: datetime,
    completed: datetime,
) -> JSONResponse:
    """A batch answer: 200 when all went well, 207 with `errors` otherwise."""
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": iso(started),
        "completedAt": iso(completed),
    }
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
    return JSONResponse(body, status_code=207 if errors else 200)

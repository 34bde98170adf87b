"""Response bodies in HubSpot's shapes: CRM objects, batch results and errors.

Error bodies follow what HubSpot sends (`{"status":"error","message":...,"correlationId":...,
"category":...}`, plus `context` where HubSpot gives one); batch errors are `StandardError`s
(`hubspot/crm/contacts/models/standard_error.py`), which the SDK insists have every field.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from starlette.responses import JSONResponse, Response

from connectors.emulator.hubspot._properties import DEFAULT_PROPERTIES, iso
from connectors.emulator.hubspot.state import Contact

ALWAYS = ("createdate", "hs_object_id", "lastmodifieddate")
AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and "
    "you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


def correlation_id() -> str:
    return str(uuid.uuid4())


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
    return JSONResponse(body, status_code=status, headers=headers)


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
    return JSONResponse(body, status_code=429, headers=headers)


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
    known: Iterable[str],
    with_history: Iterable[str] = (),
) -> dict[str, Any]:
    """A contact as a `SimplePublicObject`; unknown property names are left out, never-set
    ones are null and cleared ones ""."""
    names = set(known)
    body: dict[str, Any] = {
        "id": contact.id,
        "properties": {name: contact.properties.get(name) for name in properties if name in names},
        "createdAt": iso(contact.created_at),
        "updatedAt": iso(contact.updated_at),
        "archived": contact.archived,
    }
    history = [name for name in with_history if name in names]
    if history:
        body["propertiesWithHistory"] = {
            name: [entry.to_json() for entry in reversed(contact.history.get(name, []))]
            for name in history
        }
    return body


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

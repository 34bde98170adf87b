"""The CRM v3 contacts routes: list, read, create, update and search.

Paths and bodies as in the SDK's `hubspot/crm/contacts/api/{basic,search}_api.py` and the
spec `PublicApiSpecs/CRM/Contacts/Rollouts/424/v3/contacts.json`.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from connectors.emulator.hubspot import _search
from connectors.emulator.hubspot._shapes import (
    JSONResponse,
    error,
    object_not_found,
    render,
    render_all,
    selected,
    validation_error,
)
from connectors.emulator.hubspot._validation import check_writes, problems_message
from connectors.emulator.hubspot.state import Contact, HubSpotState

LIST_MAX = 100


class BadRequestError(Exception):
    """A request HubSpot refuses with 400; the message is HubSpot's."""


async def read_json(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw or b"null")
    except json.JSONDecodeError as exc:
        raise BadRequestError(
            f"Invalid input JSON on line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc


def names(request: Request, param: str) -> list[str]:
    """A multi-valued query parameter, repeated or comma-separated."""
    return [n for value in request.query_params.getlist(param) for n in value.split(",") if n]


class ContactRoutes:
    """Handlers over one state; `find` resolves an id or an `idProperty` value."""

    def __init__(self, state: HubSpotState) -> None:
        self.state = state

    def find(self, key: str, id_property: str | None) -> Contact | None:
        state = self.state
        if id_property in (None, "", "hs_object_id"):
            return state.contacts.get(key)
        if id_property == "email":
            found = state.id_for_email(key)
            return state.contacts.get(found) if found else None
        raise BadRequestError(f"{id_property} is not a unique identifier property for contacts")

    def writes(
        self, contact: Contact | None, properties: Any
    ) -> tuple[dict[str, str], list[dict[str, Any]]]:
        """Validated values, and problems (a lifecycle move backwards is silently kept)."""
        current = contact.properties if contact is not None else {}
        values, problems, _backwards = check_writes(self.state.properties, current, properties)
        return values, problems

    def one(self, contact: Contact, request: Request) -> dict[str, Any]:
        props = selected(names(request, "properties"))
        history = names(request, "propertiesWithHistory")
        return render(contact, props, self.state.properties, history)

    async def get_page(self, request: Request) -> Response:
        limit_raw = request.query_params.get("limit", "10")
        after_raw = request.query_params.get("after", "0")
        if not limit_raw.isdigit() or not 1 <= int(limit_raw) <= LIST_MAX:
            raise BadRequestError(f"limit must be between 1 and {LIST_MAX}, was {limit_raw}")
        if not after_raw.isdigit():
            raise BadRequestError(f"Invalid after value {after_raw!r}")
        limit, after = int(limit_raw), int(after_raw)
        archived = request.query_params.get("archived", "false").lower() == "true"
        with self.state.lock:
            ordered = sorted(
                (c for c in self.state.contacts.values() if c.archived == archived),
                key=lambda c: int(c.id),
            )
            page = [c for c in ordered if int(c.id) > after][:limit]
            results = [self.one(c, request) for c in page]
            more = bool(page) and int(page[-1].id) < int(ordered[-1].id)
        body: dict[str, Any] = {"results": results}
        if more:
            cursor = str(int(page[-1].id))
            link = f"{request.base_url}crm/v3/objects/contacts?after={cursor}"
            body["paging"] = {"next": {"after": cursor, "link": link}}
        return JSONResponse(body)

    async def get_by_id(self, request: Request) -> Response:
        key = request.path_params["contactId"]
        with self.state.lock:
            contact = self.find(key, request.query_params.get("idProperty"))
            if contact is None or contact.archived:
                return object_not_found(key)
            return JSONResponse(self.one(contact, request))

    async def create(self, request: Request) -> Response:
        body = await read_json(request)
        if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
            raise BadRequestError("Invalid input JSON: properties is required")
        with self.state.lock:
            values, problems = self.writes(None, body["properties"])
            if problems:
                return validation_error(problems_message(problems))
            existing = (
                self.state.id_for_email(values.get("email", "")) if values.get("email") else None
            )
            if existing is not None:
                return error(409, "CONFLICT", f"Contact already exists. Existing ID: {existing}")
            contact = self.state.new_contact(values, "INTEGRATION", self.state.clock.now())
            result = render(contact, selected(list(values)), self.state.properties)
        return JSONResponse(result, status_code=201)

    async def update(self, request: Request) -> Response:
        key = request.path_params["contactId"]
        body = await read_json(request)
        if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
            raise BadRequestError("Invalid input JSON: properties is required")
        with self.state.lock:
            contact = self.find(key, request.query_params.get("idProperty"))
            if contact is None or contact.archived:
                return object_not_found(key)
            values, problems = self.writes(contact, body["properties"])
            if problems:
                return validation_error(problems_message(problems))
            conflict = self._email_taken(values, contact.id)
            if conflict:
                return error(409, "CONFLICT", f"Contact already exists. Existing ID: {conflict}")
            self.state.write(contact, values, "INTEGRATION", self.state.clock.now())
            shown = selected(list(body["properties"]))
            return JSONResponse(render(contact, shown, self.state.properties))

    def _email_taken(self, values: dict[str, str], own_id: str) -> str | None:
        email = values.get("email")
        if not email:
            return None
        other = self.state.id_for_email(email)
        return other if other is not None and other != own_id else None

    async def search(self, request: Request) -> Response:
        body = await read_json(request)
        with self.state.lock:
            try:
                query = _search.parse(body, self.state.properties)
            except _search.SearchError as exc:
                raise BadRequestError(str(exc)) from exc
            page, total, after = _search.find(query, self.state)
            results = render_all(page, selected(query.properties), self.state.properties)
        answer: dict[str, Any] = {"total": total, "results": results}
        if after is not None:
            answer["paging"] = {"next": {"after": after}}
        return JSONResponse(answer)

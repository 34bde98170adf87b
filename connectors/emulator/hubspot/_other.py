"""Contact property definitions, the legacy e-mail events API, the account's details and
the admin routes.

Properties: `GET|POST /crm/v3/properties/contacts` (SDK `hubspot/crm/properties/api/core_api.py`,
spec `PublicApiSpecs/CRM/Properties/Rollouts/145899/v3/properties.json`). E-mail events:
`GET /email/public/v1/events` (legacy API, not in the SDK's generated clients: call it with
`client.api_request`). Account details: `GET /account-info/v3/details` (not in the SDK's
generated clients either; the answer's fields as the API reference lists them). Admin routes
under `/__emulator/hubspot/` wrap the state's methods.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from connectors.emulator.hubspot._contacts import BadRequestError, read_json
from connectors.emulator.hubspot._properties import FIELD_TYPES, TYPES, PropertyDef
from connectors.emulator.hubspot._shapes import error
from connectors.emulator.hubspot._validation import parse_instant
from connectors.emulator.hubspot.state import HubSpotState

EVENTS_MAX = 1000
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class OtherRoutes:
    def __init__(self, state: HubSpotState) -> None:
        self.state = state

    async def list_properties(self, request: Request) -> Response:
        with self.state.lock:
            results = [d.to_json(i) for i, d in enumerate(self.state.properties.values())]
        return JSONResponse({"results": results})

    async def create_property(self, request: Request) -> Response:
        body = await read_json(request)
        if not isinstance(body, dict):
            raise BadRequestError("Invalid input JSON: a property definition is required")
        missing = [
            k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)
        ]
        if missing:
            raise BadRequestError(f"Invalid input JSON: missing required fields {missing}")
        name = str(body["name"])
        if not _NAME.match(name):
            raise BadRequestError(f"Property name {name!r} must be lowercase letters, digits and _")
        if body["type"] not in TYPES or body["fieldType"] not in FIELD_TYPES:
            raise BadRequestError(
                f"type must be one of {list(TYPES)} and fieldType one of {list(FIELD_TYPES)}"
            )
        raw_options = body.get("options") or []
        if body["type"] in ("enumeration", "bool") and not raw_options:
            raise BadRequestError(f"Property {name} of type {body['type']} needs options")
        options = [(str(o["value"]), str(o.get("label", o["value"]))) for o in raw_options]
        with self.state.lock:
            if name in self.state.properties:
                return error(
                    409,
                    "OBJECT_ALREADY_EXISTS",
                    f"A property named '{name}' already exists.",
                    context={"name": [name]},
                )
            defn = PropertyDef(
                name,
                str(body["label"]),
                str(body["type"]),
                str(body["fieldType"]),
                group_name=str(body["groupName"]),
                options=options,
                hubspot_defined=False,
                description=str(body.get("description") or ""),
                created_at=self.state.clock.now(),
            )
            self.state.properties[name] = defn
            shown = defn.to_json(len(self.state.properties) - 1)
        return JSONResponse(shown, status_code=201)

    async def email_events(self, request: Request) -> Response:
        params = request.query_params
        limit_raw = params.get("limit", str(EVENTS_MAX))
        offset_raw = params.get("offset", "0")
        if not limit_raw.isdigit() or not 1 <= int(limit_raw) <= EVENTS_MAX:
            raise BadRequestError(f"limit must be between 1 and {EVENTS_MAX}, was {limit_raw}")
        if not offset_raw.isdigit():
            raise BadRequestError(f"Invalid offset {offset_raw!r}")
        start = _ms(params.get("startTimestamp"))
        end = _ms(params.get("endTimestamp"))
        kind = params.get("eventType")
        recipient = (params.get("recipient") or "").lower()
        campaign = params.get("campaignId")
        with self.state.lock:
            found = [
                e
                for e in self.state.events
                if (start is None or _epoch(e.created) >= start)
                and (end is None or _epoch(e.created) <= end)
                and (kind is None or e.type == kind)
                and (not recipient or e.recipient.lower() == recipient)
                and (campaign is None or str(e.campaign_id) == campaign)
            ]
        found.sort(key=lambda e: (_epoch(e.created), e.id), reverse=True)
        offset, limit = int(offset_raw), int(limit_raw)
        page = found[offset : offset + limit]
        more = offset + limit < len(found)
        return JSONResponse(
            {
                "hasMore": more,
                "offset": str(offset + len(page)),
                "events": [e.to_json(self.state.portal_id) for e in page],
            }
        )

    async def account_details(self, request: Request) -> Response:
        state = self.state
        return JSONResponse(
            {
                "portalId": state.portal_id,
                "accountType": "STANDARD",
                "timeZone": "UTC",
                "companyCurrency": "JPY",
                "additionalCurrencies": [],
                "utcOffset": "+00:00",
                "utcOffsetMilliseconds": 0,
                "uiDomain": state.ui_domain,
                "dataHostingLocation": "eu1" if "-eu1." in state.ui_domain else "na1",
            }
        )

    # -- admin --------------------------------------------------------------------------------

    async def admin_add_contact(self, request: Request) -> Response:
        body = await read_json(request)
        try:
            contact_id = self.state.add_contact(body.get("properties") or {}, at=_at(body))
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"id": contact_id}, status_code=201)

    async def admin_activity(self, request: Request) -> Response:
        contact_id = request.path_params["contactId"]
        kind = request.path_params["kind"]
        body = await read_json(request) or {}
        try:
            if kind == "form-submissions":
                self.state.add_form_submission(
                    contact_id, body["formName"], body.get("pageUrl", ""), _at(body)
                )
            elif kind == "page-views":
                self.state.add_page_view(contact_id, body["url"], _at(body))
            elif kind == "email-events":
                self.state.add_email_event(
                    contact_id, body["type"], body["campaign"], _at(body), body.get("url")
                )
            else:
                return JSONResponse({"error": f"unknown activity {kind!r}"}, status_code=404)
        except KeyError as exc:
            return JSONResponse({"error": f"missing or unknown {exc}"}, status_code=404)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(self.state.contact_view(contact_id), status_code=201)

    async def admin_contact(self, request: Request) -> Response:
        try:
            return JSONResponse(self.state.contact_view(request.path_params["contactId"]))
        except KeyError as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)


def _epoch(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


def _ms(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.isdigit():
        raise BadRequestError(f"Invalid timestamp {raw!r}: epoch milliseconds expected")
    return int(raw)


def _at(body: Any) -> datetime | None:
    raw = body.get("at") if isinstance(body, dict) else None
    return parse_instant(str(raw)) if raw else None

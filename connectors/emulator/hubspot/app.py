"""The HubSpot emulator app: routes, bearer-token auth and rate limits, in ControlMiddleware.

Every API route checks `Authorization: Bearer <token>` (401 INVALID_AUTHENTICATION), then
the rate limits (429 with the policy HubSpot names), then answers. Non-search answers carry
the `X-HubSpot-RateLimit-*` headers when limits are on; search answers do not (HubSpot's
search endpoints send none). The admin routes under `/__emulator/hubspot/` need no token
and are neither counted nor faulted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from connectors.emulator._control import Control
from connectors.emulator._http import ControlMiddleware
from connectors.emulator.hubspot._batch import BatchRoutes
from connectors.emulator.hubspot._contacts import BadRequestError, ContactRoutes
from connectors.emulator.hubspot._other import OtherRoutes
from connectors.emulator.hubspot._ratelimit import limit_message
from connectors.emulator.hubspot._shapes import (
    CORRELATION_HEADER,
    correlation_id,
    rate_limited,
    unauthorized,
    validation_error,
)
from connectors.emulator.hubspot.state import HubSpotState

Handler = Callable[[Request], Awaitable[Response]]
ADMIN = "/__emulator/hubspot"


def _guarded(state: HubSpotState, handler: Handler, *, search: bool = False) -> Handler:
    async def guarded(request: Request) -> Response:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or token.strip() not in state.tokens:
            return unauthorized()  # its header repeats the body's correlationId
        verdict = state.limiter.check(token.strip(), search=search)
        if not verdict.allowed:
            assert verdict.policy is not None
            response: Response = rate_limited(
                verdict.policy, limit_message(verdict.policy), verdict.headers
            )
        else:
            response = await _answer(handler, request)
        response.headers.update(verdict.headers)
        # error answers already name the correlationId of their body
        response.headers.setdefault(CORRELATION_HEADER, correlation_id())
        return response

    return guarded


async def _answer(handler: Handler, request: Request) -> Response:
    try:
        return await handler(request)
    except BadRequestError as exc:
        return validation_error(str(exc))


def _admin(handler: Handler) -> Handler:
    async def admin(request: Request) -> Response:
        return await _answer(handler, request)

    return admin


def build_hubspot_app(state: HubSpotState, control: Control) -> ASGIApp:
    """The emulator as one ASGI app, counted and faulted by `control`."""
    if state.clock is not control.clock:
        raise ValueError("HubSpotState and Control must share one Clock")
    contacts = ContactRoutes(state)
    batch = BatchRoutes(contacts)
    other = OtherRoutes(state)
    objects = "/crm/v3/objects/contacts"

    def api(path: str, handler: Handler, method: str, *, search: bool = False) -> Route:
        return Route(path, _guarded(state, handler, search=search), methods=[method])

    routes = [
        api(f"{objects}/search", contacts.search, "POST", search=True),
        api(f"{objects}/batch/read", batch.read, "POST"),
        api(f"{objects}/batch/update", batch.update, "POST"),
        api(f"{objects}/batch/upsert", batch.upsert, "POST"),
        api(objects, contacts.get_page, "GET"),
        api(objects, contacts.create, "POST"),
        api(f"{objects}/{{contactId}}", contacts.get_by_id, "GET"),
        api(f"{objects}/{{contactId}}", contacts.update, "PATCH"),
        api("/crm/v3/properties/contacts", other.list_properties, "GET"),
        api("/crm/v3/properties/contacts", other.create_property, "POST"),
        api("/email/public/v1/events", other.email_events, "GET"),
        api("/account-info/v3/details", other.account_details, "GET"),
        Route(f"{ADMIN}/contacts", _admin(other.admin_add_contact), methods=["POST"]),
        Route(f"{ADMIN}/contacts/{{contactId}}", _admin(other.admin_contact), methods=["GET"]),
        Route(
            f"{ADMIN}/contacts/{{contactId}}/{{kind}}",
            _admin(other.admin_activity),
            methods=["POST"],
        ),
    ]
    app = Starlette(routes=routes)
    return ControlMiddleware(app, routes=routes, counters=control.counters, faults=control.faults)

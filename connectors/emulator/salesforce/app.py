"""The Starlette app: REST data API, SOAP login and admin routes, wrapped in ControlMiddleware."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.emulator._control import Control
from connectors.emulator._http import ControlMiddleware
from connectors.emulator.salesforce import composite, rest, soap
from connectors.emulator.salesforce.admin import admin_routes
from connectors.emulator.salesforce.bulk import IngestJobs
from connectors.emulator.salesforce.http import Handler, api, not_found
from connectors.emulator.salesforce.state import SalesforceState

DATA = "/services/data/{version}"


def build_salesforce_app(state: SalesforceState, control: Control) -> ControlMiddleware:
    """The emulator as an ASGI app; `control` counts calls and injects faults."""

    def route(path: str, handler: Handler, *methods: str) -> list[Route]:
        endpoint = api(state, handler)
        full = DATA + path
        return [
            Route(full, endpoint, methods=list(methods)),
            Route(full + "/", endpoint, methods=list(methods)),
        ]

    jobs = IngestJobs()

    async def soap_login(request: Request) -> Response:
        return await soap.login(request, state)

    async def missing(request: Request) -> Response:
        return not_found()

    routes: list[Route] = [
        *route("/query", rest.query, "GET"),
        *route("/queryAll", rest.query, "GET"),
        *route("/query/{cursor}", rest.query_more, "GET"),
        *route("/queryAll/{cursor}", rest.query_more, "GET"),
        *route("/limits", rest.limits, "GET"),
        *route("/sobjects/{sobject}/describe", rest.describe, "GET"),
        *route("/sobjects/{sobject}", rest.create, "POST"),
        *route("/sobjects/{sobject}/{record_id}", rest.record, "GET", "PATCH", "DELETE"),
        *route(
            "/sobjects/{sobject}/{field}/{value}", rest.by_external_id, "GET", "PATCH", "DELETE"
        ),
        *route("/composite/sobjects", composite.create_many, "POST"),
        *route("/composite/sobjects", composite.update_many, "PATCH"),
        *route("/composite/sobjects/{sobject}/{field}", composite.upsert_many, "PATCH"),
        *route("/jobs/ingest", jobs.list_jobs, "GET"),
        *route("/jobs/ingest", jobs.create, "POST"),
        *route("/jobs/ingest/{job_id}", jobs.info, "GET"),
        *route("/jobs/ingest/{job_id}", jobs.change_state, "PATCH"),
        *route("/jobs/ingest/{job_id}", jobs.delete, "DELETE"),
        *route("/jobs/ingest/{job_id}/batches", jobs.upload, "PUT"),
        *route("/jobs/ingest/{job_id}/{results}", jobs.results, "GET"),
        Route("/services/Soap/u/{version}", soap_login, methods=["POST"]),
        *admin_routes(state),
    ]
    app = Starlette(routes=routes)
    app.add_exception_handler(404, _not_found_handler)
    return ControlMiddleware(app, routes=routes, counters=control.counters, faults=control.faults)


async def _not_found_handler(request: Request, exc: Exception) -> Response:
    return not_found()

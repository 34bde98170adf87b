"""The control half of the admin API, on a path the real services do not have.

    GET    /__emulator/clock               {"now": ISO}
    POST   /__emulator/clock               {"set": ISO, "frozen": bool} or {"advance_seconds": N}
    GET    /__emulator/{service}/counters  {"METHOD /route": calls, ...}
    DELETE /__emulator/{service}/counters  reset to zero
    POST   /__emulator/{service}/faults    a Fault as JSON (route, kind, status, body, ...)
    DELETE /__emulator/{service}/faults    clear every fault

`service` is `hubspot` or `salesforce`. Each emulator adds its own marketing or sales actions
under `/__emulator/{service}/...`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connectors.emulator._control import Clock, Control, Fault


def _bad(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=400)


def control_routes(clock: Clock, controls: dict[str, Control]) -> list[Route]:
    """Admin routes for the shared clock and each service's counters and faults."""

    async def get_clock(request: Request) -> Response:
        return JSONResponse({"now": clock.now().isoformat()})

    async def set_clock(request: Request) -> Response:
        body: dict[str, Any] = await request.json()
        if "advance_seconds" in body:
            clock.advance(timedelta(seconds=float(body["advance_seconds"])))
        elif "set" in body:
            try:
                instant = datetime.fromisoformat(str(body["set"]))
                clock.set(instant, frozen=bool(body.get("frozen", False)))
            except ValueError as error:
                return _bad(str(error))
        else:
            return _bad("give 'set' (ISO 8601 with offset) or 'advance_seconds'")
        return JSONResponse({"now": clock.now().isoformat()})

    def service(request: Request) -> Control | None:
        return controls.get(request.path_params["service"])

    async def counters(request: Request) -> Response:
        control = service(request)
        if control is None:
            return _bad(f"unknown service; known: {', '.join(controls)}")
        if request.method == "DELETE":
            control.counters.reset()
        return JSONResponse(control.counters.snapshot())

    async def faults(request: Request) -> Response:
        control = service(request)
        if control is None:
            return _bad(f"unknown service; known: {', '.join(controls)}")
        if request.method == "DELETE":
            control.faults.clear()
            return JSONResponse({"faults": 0})
        body = await request.json()
        try:
            fault = control.faults.add(Fault(**body))
        except (TypeError, ValueError) as error:
            return _bad(f"not a fault: {error}")
        return JSONResponse({"route": fault.route, "kind": fault.kind, "times": fault.times})

    return [
        Route("/__emulator/clock", get_clock, methods=["GET"]),
        Route("/__emulator/clock", set_clock, methods=["POST"]),
        Route("/__emulator/{service}/counters", counters, methods=["GET", "DELETE"]),
        Route("/__emulator/{service}/faults", faults, methods=["POST", "DELETE"]),
    ]

"""The control admin API: clock, counters and faults over HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from connectors.emulator._admin import control_routes
from connectors.emulator._control import Clock, Control
from connectors.emulator._http import ControlMiddleware, ServerThread


@pytest.fixture
def admin() -> Iterator[tuple[str, Control]]:
    clock = Clock(datetime(2026, 1, 9, 10, tzinfo=UTC), frozen=True)
    control = Control(clock)

    async def ping(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    routes = [Route("/ping", ping), *control_routes(clock, {"hubspot": control})]
    app = ControlMiddleware(
        Starlette(routes=routes), routes=routes, counters=control.counters, faults=control.faults
    )
    server = ServerThread(app)
    server.start()
    yield server.url, control
    server.stop()


def call(url: str, method: str = "GET", body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


class TestAdminApi:
    def test_clock_can_be_read_set_and_advanced(self, admin: tuple[str, Control]) -> None:
        """POST /__emulator/clock sets or advances the shared clock."""
        url, control = admin
        assert call(f"{url}/__emulator/clock") == (200, {"now": "2026-01-09T10:00:00+00:00"})
        call(f"{url}/__emulator/clock", "POST", {"advance_seconds": 86400})
        assert control.clock.now() == datetime(2026, 1, 10, 10, tzinfo=UTC)
        status, _ = call(f"{url}/__emulator/clock", "POST", {"set": "2026-02-01T09:00:00+09:00"})
        assert status == 200
        assert control.clock.now() >= datetime(2026, 2, 1, tzinfo=UTC)

    def test_counters_count_service_calls_but_not_admin_calls(
        self, admin: tuple[str, Control]
    ) -> None:
        """Counters show the service's calls; admin calls are not counted; DELETE resets."""
        url, _ = admin
        call(f"{url}/ping")
        call(f"{url}/ping")
        assert call(f"{url}/__emulator/hubspot/counters") == (200, {"GET /ping": 2})
        assert call(f"{url}/__emulator/hubspot/counters", "DELETE") == (200, {})

    def test_a_fault_posted_over_http_is_injected(self, admin: tuple[str, Control]) -> None:
        """A fault posted to the admin API answers the next matching call."""
        url, _ = admin
        fault = {"route": "GET /ping", "status": 429, "body": {"errorType": "RATE_LIMIT"}}
        assert call(f"{url}/__emulator/hubspot/faults", "POST", fault)[0] == 200
        assert call(f"{url}/ping") == (429, {"errorType": "RATE_LIMIT"})
        assert call(f"{url}/ping") == (200, {"ok": True})

    def test_bad_requests_say_what_is_wrong(self, admin: tuple[str, Control]) -> None:
        """An unknown service or a malformed fault is a 400 with the reason."""
        url, _ = admin
        status, body = call(f"{url}/__emulator/nowhere/counters")
        assert status == 400 and "known: hubspot" in body["error"]
        status, body = call(f"{url}/__emulator/hubspot/faults", "POST", {"colour": "red"})
        assert status == 400 and "not a fault" in body["error"]
        status, body = call(f"{url}/__emulator/clock", "POST", {})
        assert status == 400 and "advance_seconds" in body["error"]

"""The emulators' shared parts: clock, faults, counters, TLS and the server thread."""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from connectors.emulator._control import Clock, Control, Fault, Faults
from connectors.emulator._http import ControlMiddleware, ServerThread
from connectors.emulator._tls import TlsFiles, make_tls_files


class TestClock:
    def test_frozen_clock_moves_only_when_advanced(self) -> None:
        """A frozen clock stays put until advanced, then moves by exactly that much."""
        start = datetime(2026, 1, 9, 10, tzinfo=UTC)
        clock = Clock(start, frozen=True)
        assert clock.now() == start
        assert clock.advance(timedelta(days=3)) == start + timedelta(days=3)
        assert clock.now() == start + timedelta(days=3)

    def test_running_clock_keeps_running_after_a_jump(self) -> None:
        """A running clock set to an instant continues from it."""
        clock = Clock()
        clock.set(datetime(2030, 5, 1, tzinfo=UTC))
        assert (
            datetime(2030, 5, 1, tzinfo=UTC) <= clock.now() < datetime(2030, 5, 1, 0, 1, tzinfo=UTC)
        )

    def test_naive_instant_is_refused(self) -> None:
        """The clock only takes aware datetimes."""
        with pytest.raises(ValueError, match="aware"):
            Clock().set(datetime(2026, 1, 1))


class TestFaults:
    def test_a_fault_applies_the_given_number_of_times(self) -> None:
        """`times=2` answers two matching calls, then the route is healthy again."""
        faults = Faults()
        faults.add(Fault(route=r"^POST /crm/v3/objects/contacts/search$", times=2))
        route = "POST /crm/v3/objects/contacts/search"
        assert [faults.take(route) is not None for _ in range(3)] == [True, True, False]

    def test_only_matching_routes_fail(self) -> None:
        """A fault for one route leaves the others alone."""
        faults = Faults()
        faults.add(Fault(route="batch/update", times=None))
        assert faults.take("POST /crm/v3/objects/contacts/batch/read") is None
        assert faults.take("POST /crm/v3/objects/contacts/batch/update") is not None

    def test_probability_is_seeded_and_partial(self) -> None:
        """A 30% fault hits some calls but not all, the same ones for the same seed."""

        def hits(seed: int) -> list[bool]:
            faults = Faults(seed)
            faults.add(Fault(route="x", times=None, probability=0.3))
            return [faults.take("GET x") is not None for _ in range(200)]

        assert hits(1) == hits(1)
        assert 20 < sum(hits(1)) < 100


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def served(tls: TlsFiles) -> Iterator[tuple[ServerThread, Control]]:
    async def item(request: Request) -> JSONResponse:
        return JSONResponse({"id": request.path_params["item_id"]})

    routes = [Route("/items/{item_id}", item)]
    control = Control(Clock())
    app = ControlMiddleware(
        Starlette(routes=routes), routes=routes, counters=control.counters, faults=control.faults
    )
    server = ServerThread(app, certfile=tls.certfile, keyfile=tls.keyfile)
    server.start()
    yield server, control
    server.stop()


def get(url: str, ca: Path) -> tuple[int, bytes]:
    context = ssl.create_default_context(cafile=str(ca))
    try:
        with urllib.request.urlopen(url, context=context, timeout=5) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class TestServer:
    def test_serves_tls_trusted_through_the_ca_bundle(
        self, served: tuple[ServerThread, Control], tls: TlsFiles
    ) -> None:
        """A client that trusts only the generated CA bundle gets a verified answer."""
        server, _ = served
        assert server.url.startswith("https://127.0.0.1:")
        assert get(f"{server.url}/items/7", tls.ca_bundle) == (200, b'{"id":"7"}')

    def test_untrusting_client_is_refused(self, served: tuple[ServerThread, Control]) -> None:
        """Without the CA bundle the certificate does not verify: no silent insecurity."""
        server, _ = served
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            urllib.request.urlopen(f"{server.url}/items/1", timeout=5)

    def test_counts_calls_per_route_template(
        self, served: tuple[ServerThread, Control], tls: TlsFiles
    ) -> None:
        """Calls are counted by route template, not by concrete path."""
        server, control = served
        for n in range(3):
            get(f"{server.url}/items/{n}", tls.ca_bundle)
        assert control.counters.snapshot() == {"GET /items/{item_id}": 3}

    def test_status_fault_answers_with_its_body(
        self, served: tuple[ServerThread, Control], tls: TlsFiles
    ) -> None:
        """An injected status fault replaces the answer once, then the route recovers."""
        server, control = served
        control.faults.add(Fault(route="/items/", status=503, body={"message": "down"}))
        assert get(f"{server.url}/items/1", tls.ca_bundle) == (503, b'{"message": "down"}')
        assert get(f"{server.url}/items/1", tls.ca_bundle)[0] == 200

    def test_drop_fault_breaks_the_answer_mid_body(
        self, served: tuple[ServerThread, Control], tls: TlsFiles
    ) -> None:
        """A dropped connection reaches the client as an incomplete read."""
        server, control = served
        control.faults.add(Fault(route="/items/", kind="drop"))
        with pytest.raises(http.client.IncompleteRead):
            get(f"{server.url}/items/1", tls.ca_bundle)

    def test_latency_fault_delays_but_answers(
        self, served: tuple[ServerThread, Control], tls: TlsFiles
    ) -> None:
        """A latency fault answers normally after the delay."""
        server, control = served
        control.faults.add(Fault(route="/items/", kind="latency", seconds=0.3))
        began = datetime.now(UTC)
        status, body = get(f"{server.url}/items/4", tls.ca_bundle)
        assert (status, json.loads(body)) == (200, {"id": "4"})
        assert datetime.now(UTC) - began >= timedelta(seconds=0.3)

    def test_latency_fault_acts_on_a_request_whose_client_gave_up(self, tls: TlsFiles) -> None:
        """A write held back by a latency fault is still made after its client timed out,
        as a real service makes it: a client that retries may have written twice."""
        written: list[bytes] = []
        made = threading.Event()

        async def write(request: Request) -> JSONResponse:
            written.append(await request.body())
            made.set()
            return JSONResponse({"ok": True})

        routes = [Route("/items", write, methods=["POST"])]
        control = Control(Clock())
        app = ControlMiddleware(
            Starlette(routes=routes),
            routes=routes,
            counters=control.counters,
            faults=control.faults,
        )
        server = ServerThread(app, certfile=tls.certfile, keyfile=tls.keyfile)
        server.start()
        try:
            control.faults.add(Fault(route="/items", kind="latency", seconds=0.5))
            context = ssl.create_default_context(cafile=str(tls.ca_bundle))
            request = urllib.request.Request(f"{server.url}/items", data=b'{"n": 1}', method="POST")
            with pytest.raises((TimeoutError, urllib.error.URLError)):
                urllib.request.urlopen(request, context=context, timeout=0.1)
            assert made.wait(5)
        finally:
            server.stop()
        assert written == [b'{"n": 1}']

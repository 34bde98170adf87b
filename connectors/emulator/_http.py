"""The HTTP stack the emulators share: Starlette apps served by uvicorn in a thread.

`ControlMiddleware` counts every call by route template and injects the faults in force;
`ServerThread` serves one app on 127.0.0.1 (port 0 picks a free one), with TLS when asked.
Starlette and uvicorn: small, well kept, fast enough (an ASGI app on uvicorn answers
thousands of requests a second), and uvicorn serves TLS from a certificate file.
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import uvicorn
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connectors.emulator._control import Counters, Faults

LOOPBACK = "127.0.0.1"


def route_template(routes: list[Any], scope: Scope) -> str:
    """`METHOD /path/{template}` of the route a request matches, or its raw path."""
    method = scope.get("method", "GET")
    for route in routes:
        if isinstance(route, Route):
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return f"{method} {route.path}"
    return f"{method} {scope.get('path', '')}"


class ControlMiddleware:
    """Counts calls per route and applies injected faults before the real handler runs."""

    def __init__(
        self, app: ASGIApp, *, routes: list[Any], counters: Counters, faults: Faults
    ) -> None:
        self.app = app
        self.routes = routes
        self.counters = counters
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith("/__emulator"):
            await self.app(scope, receive, send)
            return
        route = route_template(self.routes, scope)
        self.counters.hit(route)
        fault = self.faults.take(route)
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.kind == "latency":
            # A slow service has the whole request before it is slow, and acts on it even if
            # the client gives up waiting meanwhile (a timeout, a process killed): read the
            # body now, so a client gone during the delay still gets its write made.
            receive = await _read_first(receive)
            await asyncio.sleep(fault.seconds)
            await self.app(scope, receive, send)
        elif fault.kind == "drop":
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", b"4096"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b'{"results": [', "more_body": True})
            raise ConnectionAbortedError("emulated dropped connection")
        else:
            body = fault.body if isinstance(fault.body, str) else json.dumps(fault.body)
            headers = [(b"content-type", b"application/json")]
            headers += [(k.lower().encode(), v.encode()) for k, v in fault.headers.items()]
            await send({"type": "http.response.start", "status": fault.status, "headers": headers})
            await send({"type": "http.response.body", "body": body.encode()})


async def _read_first(receive: Receive) -> Receive:
    """`receive` with the request body read in full now and handed over on the first call;
    a request whose client left before its body was in is handed over as a disconnect."""
    chunks: list[bytes] = []
    complete = False
    while not complete:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        complete = not message.get("more_body", False)
    first: Message = (
        {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        if complete
        else {"type": "http.disconnect"}
    )
    handed = False

    async def replay() -> Message:
        nonlocal handed
        if handed:
            return await receive()
        handed = True
        return first

    return replay


class ServerThread:
    """One ASGI app served by uvicorn on loopback in a daemon thread."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        port: int = 0,
        certfile: Path | None = None,
        keyfile: Path | None = None,
    ) -> None:
        config = uvicorn.Config(
            app,
            host=LOOPBACK,
            port=port,
            http="httptools",  # C parser: several times cheaper a request than h11
            loop="auto",  # uvloop where it is installed (a dependency except on Windows)
            log_level="critical",  # a dropped-connection fault is not a server error
            access_log=False,
            lifespan="off",
            ssl_certfile=str(certfile) if certfile else None,
            ssl_keyfile=str(keyfile) if keyfile else None,
            timeout_keep_alive=30,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="emulator", daemon=True)
        self._tls = certfile is not None

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        waited = 0.0
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the emulator server stopped while starting (port in use?)")
            if waited > timeout:
                raise RuntimeError("the emulator server did not start in time")
            threading.Event().wait(0.02)
            waited += 0.02

    @property
    def port(self) -> int:
        sockets = self._server.servers[0].sockets
        port: int = sockets[0].getsockname()[1]
        return port

    @property
    def url(self) -> str:
        scheme = "https" if self._tls else "http"
        return f"{scheme}://{LOOPBACK}:{self.port}"

    def stop(self, grace: float = 2.0) -> None:
        """Stop serving; connections still open after `grace` seconds are cut."""
        self._server.should_exit = True
        self._thread.join(timeout=grace)
        if self._thread.is_alive():  # an idle keep-alive connection holds the shutdown
            self._server.force_exit = True
            self._thread.join(timeout=10)

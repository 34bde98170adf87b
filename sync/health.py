"""`GET /healthz` and `GET /metrics` on a small HTTP listener beside the scheduler.

`assess` decides health from plain values (no I/O, tested as a table); `HealthServer` serves
it and `Metrics.render()` from a daemon thread with the standard library's
`ThreadingHTTPServer`. Requests are not logged: the daemon's logs are JSON lines.
"""

from __future__ import annotations

import json
import socketserver
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import structlog
from prometheus_client import CONTENT_TYPE_LATEST

from sync.metrics import Metrics

log = structlog.get_logger()

JSON_CONTENT_TYPE = "application/json"


@dataclass(frozen=True, slots=True)
class JobHealth:
    """One scheduled job as `/healthz` sees it."""

    last_run: datetime | None
    """When the job's latest successful run started (`RunQueries.last_success`), or None."""
    due_by: datetime
    """The job is late once `now` passes this without a newer successful run."""
    late: bool


@dataclass(frozen=True, slots=True)
class HealthReport:
    """The answer of `/healthz`: healthy only with a database and no late job."""

    healthy: bool
    database: bool
    jobs: Mapping[str, JobHealth]

    def to_json(self) -> dict[str, Any]:
        """The JSON body: times in ISO 8601, jobs by name."""
        return {
            "healthy": self.healthy,
            "database": self.database,
            "jobs": {
                name: {
                    "last_run": job.last_run.isoformat() if job.last_run else None,
                    "due_by": job.due_by.isoformat(),
                    "late": job.late,
                }
                for name, job in sorted(self.jobs.items())
            },
        }


def assess(
    now: datetime,
    intervals: Mapping[str, timedelta],
    last_runs: Mapping[str, datetime | None],
    started_at: datetime,
    database_ok: bool,
) -> HealthReport:
    """Healthy while the database answers and every job in `intervals` has succeeded recently.

    A job is late once twice its interval has passed since the later of its last success
    (`last_runs`, missing means never) and `started_at`: a daemon that has just started is
    given two intervals to complete a first cycle, whether the job never succeeded or last
    succeeded before a restart or an outage. Jobs only in `last_runs` are not judged.
    """
    jobs: dict[str, JobHealth] = {}
    for job, interval in intervals.items():
        if interval <= timedelta(0):
            raise ValueError(f"the interval of job {job!r} must be positive, got {interval}")
        last_run = last_runs.get(job)
        since = started_at if last_run is None else max(last_run, started_at)
        due_by = since + 2 * interval
        jobs[job] = JobHealth(last_run=last_run, due_by=due_by, late=now > due_by)
    healthy = database_ok and not any(job.late for job in jobs.values())
    return HealthReport(healthy=healthy, database=database_ok, jobs=jobs)


class _Server(ThreadingHTTPServer):
    """A `ThreadingHTTPServer` that carries what the handler serves and prints nothing."""

    daemon_threads = True  # a slow check must not hold up stop()

    def __init__(
        self,
        address: tuple[str, int],
        metrics: Metrics,
        check: Callable[[], HealthReport],
    ) -> None:
        self.metrics = metrics
        self.check = check
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind asks DNS for the host's full name (socket.getfqdn), which
        # can take seconds in a container without a resolver; the name is never used here.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The default prints a traceback to stderr; a client hanging up is not worth one.
        error = sys.exc_info()[1]
        log.warning("health.request_failed", error=type(error).__name__)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/metrics":
            self._send(HTTPStatus.OK, CONTENT_TYPE_LATEST, self.server.metrics.render())
        elif path == "/healthz":
            status, body = self._health()
            self._send(status, JSON_CONTENT_TYPE, json.dumps(body).encode())
        else:
            self._send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"not found\n")

    def _health(self) -> tuple[HTTPStatus, dict[str, Any]]:
        try:
            report = self.server.check()
        except Exception as error:
            # The type only: a message can hold a connection string with its password.
            log.warning("health.check_failed", error=type(error).__name__)
            return HTTPStatus.SERVICE_UNAVAILABLE, {
                "healthy": False,
                "error": type(error).__name__,
            }
        status = HTTPStatus.OK if report.healthy else HTTPStatus.SERVICE_UNAVAILABLE
        return status, report.to_json()

    def _send(self, status: HTTPStatus, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request lines http.server writes to stderr."""


class HealthServer:
    """`/healthz` and `/metrics` on `host`:`port`, served from a daemon thread.

    >>> with HealthServer("0.0.0.0", 9108, metrics, check) as server:  # doctest: +SKIP
    ...     scheduler.run_forever()

    Port 0 lets the system pick a free port; `.port` says which, once started.
    """

    def __init__(
        self, host: str, port: int, metrics: Metrics, check: Callable[[], HealthReport]
    ) -> None:
        self.host = host
        self._requested_port = port
        self._metrics = metrics
        self._check = check
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        """The port the listener is (or was last) bound to."""
        if self._port is None:
            raise RuntimeError("the health server has not been started; call start() first")
        return self._port

    def start(self) -> None:
        """Bind (an `OSError` here if the port is taken) and serve in a daemon thread."""
        if self._server is not None:
            raise RuntimeError("the health server is already running")
        server = _Server((self.host, self._requested_port), self._metrics, self._check)
        self._server = server
        self._port = server.server_port
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="leadloop-health",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and free the port; returns within about a second. Idempotent."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown()
        server.server_close()
        thread.join(timeout=1.0)
        self._server = self._thread = None

    def __enter__(self) -> HealthServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

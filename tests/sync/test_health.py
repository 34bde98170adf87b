"""`assess` as a table, and `/healthz` and `/metrics` over real HTTP on a port of its own."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families
from structlog.testing import capture_logs

from sync.health import HealthReport, HealthServer, JobHealth, assess
from sync.metrics import Metrics

STARTED = datetime(2026, 1, 9, 1, 0, tzinfo=UTC)
INTERVALS = {"ingest": timedelta(seconds=30), "alerts": timedelta(minutes=5)}
SECRET = "postgresql://leadloop:hunter2@db/leadloop"

# --- assess --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    now: datetime
    last_runs: Mapping[str, datetime | None]
    database_ok: bool = True
    late: frozenset[str] = frozenset()


CASES = {
    "fresh start inside the grace": Case(
        now=STARTED + timedelta(seconds=50), last_runs={"ingest": None, "alerts": None}
    ),
    "never succeeded past the grace": Case(
        now=STARTED + timedelta(seconds=61),
        last_runs={"ingest": None, "alerts": None},
        late=frozenset({"ingest"}),
    ),
    "a job missing from last_runs is one that never succeeded": Case(
        now=STARTED + timedelta(minutes=11), last_runs={}, late=frozenset({"ingest", "alerts"})
    ),
    "all fresh": Case(
        now=STARTED + timedelta(hours=1),
        last_runs={
            "ingest": STARTED + timedelta(minutes=59, seconds=40),
            "alerts": STARTED + timedelta(minutes=52),
        },
    ),
    "exactly twice the interval is not late yet": Case(
        now=STARTED + timedelta(hours=1),
        last_runs={
            "ingest": STARTED + timedelta(minutes=59),
            "alerts": STARTED + timedelta(minutes=50),
        },
    ),
    "a job late past twice its interval": Case(
        now=STARTED + timedelta(hours=1),
        last_runs={
            "ingest": STARTED + timedelta(minutes=59, seconds=59),
            "alerts": STARTED + timedelta(minutes=49, seconds=59),
        },
        late=frozenset({"alerts"}),
    ),
    "database down, jobs fresh": Case(
        now=STARTED + timedelta(seconds=10),
        last_runs={"ingest": STARTED, "alerts": STARTED},
        database_ok=False,
    ),
    "restart: a success before the start gets the grace too": Case(
        now=STARTED + timedelta(seconds=50),
        last_runs={"ingest": STARTED - timedelta(hours=3), "alerts": STARTED - timedelta(hours=3)},
    ),
    "restart: the grace ends": Case(
        now=STARTED + timedelta(seconds=61),
        last_runs={"ingest": STARTED - timedelta(hours=3), "alerts": STARTED - timedelta(hours=3)},
        late=frozenset({"ingest"}),
    ),
}


class TestAssess:
    @pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
    def test_table(self, case: Case) -> None:
        """Healthy exactly when the database answers and no job is late."""
        report = assess(case.now, INTERVALS, case.last_runs, STARTED, case.database_ok)
        assert {name for name, job in report.jobs.items() if job.late} == case.late
        assert report.database is case.database_ok
        assert report.healthy is (case.database_ok and not case.late)

    def test_due_by_counts_from_the_later_of_success_and_start(self) -> None:
        """due_by is twice the interval after the last success, or after the start if later."""
        last = STARTED + timedelta(minutes=3)
        report = assess(
            STARTED + timedelta(minutes=4), INTERVALS, {"ingest": last}, STARTED, database_ok=True
        )
        assert report.jobs == {
            "ingest": JobHealth(last_run=last, due_by=last + timedelta(minutes=1), late=False),
            "alerts": JobHealth(last_run=None, due_by=STARTED + timedelta(minutes=10), late=False),
        }

    def test_only_scheduled_jobs_are_judged(self) -> None:
        """A job in last_runs without an interval is ignored, however old."""
        report = assess(STARTED, {}, {"retired": STARTED - timedelta(days=30)}, STARTED, True)
        assert report == HealthReport(healthy=True, database=True, jobs={})

    def test_interval_must_be_positive(self) -> None:
        """A zero interval would make every job late at once; it is refused."""
        with pytest.raises(ValueError, match="'ingest'"):
            assess(STARTED, {"ingest": timedelta(0)}, {}, STARTED, True)


# --- the server ----------------------------------------------------------------------------


@dataclass
class Check:
    """A health check the test steers: a report to give, or an error to raise."""

    report: HealthReport = field(
        default_factory=lambda: assess(STARTED, INTERVALS, {}, STARTED, database_ok=True)
    )
    error: Exception | None = None
    calls: int = 0

    def __call__(self) -> HealthReport:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return self.report


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: bytes

    def json(self) -> dict[str, object]:
        decoded: dict[str, object] = json.loads(self.body)
        return decoded


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy


def get(server: HealthServer, path: str) -> Response:
    try:
        with _opener.open(f"http://127.0.0.1:{server.port}{path}", timeout=5) as answer:
            return Response(answer.status, answer.headers["Content-Type"], answer.read())
    except urllib.error.HTTPError as error:
        with error:
            return Response(error.code, error.headers["Content-Type"], error.read())


@pytest.fixture
def metrics() -> Metrics:
    return Metrics(jobs=INTERVALS)


@pytest.fixture
def check() -> Check:
    return Check()


@pytest.fixture
def server(metrics: Metrics, check: Check) -> Iterator[HealthServer]:
    """A started server on a free loopback port."""
    with HealthServer("127.0.0.1", 0, metrics, check) as running:
        yield running


class TestMetricsEndpoint:
    def test_serves_what_was_observed(self, server: HealthServer, metrics: Metrics) -> None:
        """/metrics answers the Prometheus text format with the values observed so far."""
        metrics.observe_run("ingest", 1.25, ok=True, finished_at=STARTED)
        metrics.add_records("mql", 3)
        metrics.set_quarantine(2)
        answer = get(server, "/metrics")
        assert answer.status == 200
        assert answer.content_type == CONTENT_TYPE_LATEST
        samples = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(answer.body.decode())
            for sample in family.samples
        }
        assert samples[("leadloop_job_duration_seconds_sum", (("job", "ingest"),))] == 1.25
        key = ("leadloop_job_runs_total", (("job", "ingest"), ("outcome", "ok")))
        assert samples[key] == 1
        assert samples[("leadloop_records_total", (("stage", "mql"),))] == 3
        assert samples[("leadloop_quarantine_size", ())] == 2

    def test_a_query_string_is_ignored(self, server: HealthServer) -> None:
        """A scraper's query parameters do not turn /metrics into a 404."""
        assert get(server, "/metrics?name[]=leadloop_records_total").status == 200


class TestHealthzEndpoint:
    def test_healthy_is_200_with_the_report(self, server: HealthServer) -> None:
        """A healthy report answers 200 and the report as JSON."""
        answer = get(server, "/healthz")
        assert (answer.status, answer.content_type) == (200, "application/json")
        assert answer.json() == {
            "healthy": True,
            "database": True,
            "jobs": {
                "alerts": {"last_run": None, "due_by": "2026-01-09T01:10:00+00:00", "late": False},
                "ingest": {"last_run": None, "due_by": "2026-01-09T01:01:00+00:00", "late": False},
            },
        }

    def test_unhealthy_is_503_with_the_report(self, server: HealthServer, check: Check) -> None:
        """An unhealthy report answers 503 and still says why."""
        check.report = assess(
            STARTED + timedelta(minutes=2), INTERVALS, {}, STARTED, database_ok=False
        )
        answer = get(server, "/healthz")
        assert answer.status == 503
        body = answer.json()
        assert body["healthy"] is False and body["database"] is False
        assert body["jobs"] == {
            "alerts": {"last_run": None, "due_by": "2026-01-09T01:10:00+00:00", "late": False},
            "ingest": {"last_run": None, "due_by": "2026-01-09T01:01:00+00:00", "late": True},
        }

    def test_each_request_runs_the_check(self, server: HealthServer, check: Check) -> None:
        """The answer is never cached: each request calls the check again."""
        get(server, "/healthz")
        get(server, "/healthz")
        assert check.calls == 2

    def test_a_raising_check_is_503_without_its_message(
        self, server: HealthServer, check: Check
    ) -> None:
        """An error in the check answers 503 with its type only, and the server keeps serving."""
        check.error = ConnectionRefusedError(f"could not connect to {SECRET}")
        with capture_logs() as logs:
            answer = get(server, "/healthz")
        assert answer.status == 503
        assert answer.json() == {"healthy": False, "error": "ConnectionRefusedError"}
        assert b"hunter2" not in answer.body
        assert logs == [
            {
                "event": "health.check_failed",
                "error": "ConnectionRefusedError",
                "log_level": "warning",
            }
        ]
        check.error = None
        assert get(server, "/healthz").status == 200


class TestServer:
    @pytest.mark.parametrize("path", ["/", "/health", "/healthz/", "/metrics/x", "/favicon.ico"])
    def test_other_paths_are_404(self, server: HealthServer, path: str) -> None:
        """Only /healthz and /metrics exist."""
        assert get(server, path).status == 404

    def test_requests_write_nothing_to_stderr(
        self, server: HealthServer, check: Check, capfd: pytest.CaptureFixture[str]
    ) -> None:
        """No access-log lines: the daemon's own logs are JSON lines."""
        get(server, "/metrics")
        get(server, "/nowhere")
        check.error = RuntimeError("boom")
        with capture_logs():
            get(server, "/healthz")
        assert capfd.readouterr().err == ""

    def test_port_zero_picks_a_free_port(self, server: HealthServer) -> None:
        """Asked for port 0, the server says which port it got."""
        assert server.port > 0

    def test_stop_frees_the_port_within_a_second(self, metrics: Metrics, check: Check) -> None:
        """After stop() nothing answers on the port and a new server can listen on it."""
        server = HealthServer("127.0.0.1", 0, metrics, check)
        server.start()
        assert get(server, "/healthz").status == 200
        began = time.monotonic()
        server.stop()
        assert time.monotonic() - began < 1.0
        with pytest.raises(urllib.error.URLError):
            get(server, "/healthz")
        with HealthServer("127.0.0.1", server.port, metrics, check) as again:
            assert get(again, "/healthz").status == 200

    def test_stop_is_idempotent_and_start_twice_is_refused(
        self, metrics: Metrics, check: Check
    ) -> None:
        """stop() may be called again; a running server cannot be started a second time."""
        server = HealthServer("127.0.0.1", 0, metrics, check)
        server.stop()
        with server, pytest.raises(RuntimeError, match="already running"):
            server.start()
        server.stop()

    def test_port_before_start_is_an_error(self, metrics: Metrics, check: Check) -> None:
        """There is no bound port to report before start()."""
        with pytest.raises(RuntimeError, match="start"):
            _ = HealthServer("127.0.0.1", 0, metrics, check).port

    def test_a_taken_port_fails_at_start(self, server: HealthServer, metrics: Metrics) -> None:
        """Binding happens in start(), so a taken port is an OSError there, not in a thread."""
        with pytest.raises(OSError):
            HealthServer("127.0.0.1", server.port, metrics, Check()).start()

"""`serve`: a stop request reaches the job in flight, no queued job starts after it, and the
lock is released; a lost lock stops the daemon with 1."""

from __future__ import annotations

import gc
import threading
import weakref
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

import sync.daemon as daemon_module
from state import RunRecord, Store
from state.lock import LOCK_NAME, InstanceLock
from sync.cli import main
from sync.config import Config
from sync.daemon import LockRenewer, instance_name, serve
from sync.ingest_types import FieldMaps
from sync.jobs.context import JobContext, JobCounts
from tests.sync.conftest import Crm

LEASE = timedelta(seconds=3)
WAIT = 15.0
"""Seconds any one step may take before the test gives up."""


@pytest.fixture
def ctx(crm: Crm, store: Store, shipped: Config, maps: FieldMaps) -> JobContext:
    return JobContext(store, crm.hubspot, crm.salesforce, shipped, maps, crm.now)


@dataclass
class Pipeline:
    """Stand-in jobs: `ingest` works in batches until told to stop; the others record
    that they ran."""

    working: threading.Event = field(default_factory=threading.Event)
    ran: list[str] = field(default_factory=list)

    def ingest(self, ctx: JobContext) -> JobCounts:
        counts: JobCounts = Counter()
        self.working.set()
        while True:
            ctx.stopping.wait(0.01)  # a batch of work
            counts["pages"] += 1
            ctx.stop_point(counts)

    def other(self, name: str) -> Callable[[JobContext], JobCounts]:
        def job(ctx: JobContext) -> JobCounts:
            self.ran.append(name)
            return Counter()

        return job


@pytest.fixture
def pipeline(monkeypatch: pytest.MonkeyPatch) -> Pipeline:
    jobs = Pipeline()
    stand_ins: list[tuple[str, Callable[[JobContext], JobCounts]]] = [("ingest", jobs.ingest)]
    stand_ins += [(name, jobs.other(name)) for name in ("score", "handoff", "alerts", "feedback")]
    monkeypatch.setattr(daemon_module, "PIPELINE", tuple(stand_ins))
    return jobs


class Serving:
    """`serve` on a thread of its own; `result` once it returned."""

    def __init__(self, ctx: JobContext, stop: threading.Event) -> None:
        self.result: int | None = None
        self._thread = threading.Thread(target=self._serve, args=(ctx, stop), daemon=True)
        self._thread.start()

    def _serve(self, ctx: JobContext, stop: threading.Event) -> None:
        self.result = serve(ctx, stop=stop, lease=LEASE)

    def join(self) -> int | None:
        self._thread.join(WAIT)
        return self.result


@pytest.fixture
def serving(ctx: JobContext) -> Iterator[Callable[[threading.Event], Serving]]:
    started: list[tuple[Serving, threading.Event]] = []

    def start(stop: threading.Event) -> Serving:
        started.append((Serving(ctx, stop), stop))
        return started[-1][0]

    yield start
    for running, stop in started:
        stop.set()
        running.join()


def runs(store: Store) -> list[RunRecord]:
    with store.transaction() as repo:
        return repo.recent_runs(20)


def test_a_stop_ends_the_job_in_flight_starts_no_other_and_frees_the_lock(
    ctx: JobContext, pipeline: Pipeline, serving: Callable[[threading.Event], Serving]
) -> None:
    """The first cycle's ingest stops at its next stop point; the jobs queued behind it
    never start; serve returns 0 and the lease row is gone."""
    stop = threading.Event()
    running = serving(stop)
    assert pipeline.working.wait(WAIT)

    stop.set()

    assert running.join() == 0
    assert pipeline.ran == []
    (ingest,) = runs(ctx.store)
    assert (ingest.job, ingest.status, ingest.counts["stopped"]) == ("ingest", "ok", 1)
    assert ingest.counts["pages"] >= 1
    with ctx.store.transaction() as repo:
        assert repo.lease_holder(LOCK_NAME) is None


def test_a_lost_lock_stops_the_job_and_the_daemon_with_1(
    ctx: JobContext, pipeline: Pipeline, serving: Callable[[threading.Event], Serving]
) -> None:
    """Another holder takes the lease: the renewal notices, the job stops, serve returns 1
    and leaves the other holder's lease alone."""
    running = serving(threading.Event())
    assert pipeline.working.wait(WAIT)
    thief = InstanceLock(ctx.store, "elsewhere:1", LEASE)
    with ctx.store.transaction() as repo:
        repo.drop_lease(LOCK_NAME, instance_name())
    assert thief.acquire()

    assert running.join() == 1
    assert ctx.stopping.is_set()
    (ingest,) = runs(ctx.store)
    assert (ingest.status, ingest.counts["stopped"]) == ("ok", 1)
    with ctx.store.transaction() as repo:
        assert repo.lease_holder(LOCK_NAME) == "elsewhere:1"


def test_a_standby_waits_and_a_stop_ends_its_wait(
    ctx: JobContext, pipeline: Pipeline, serving: Callable[[threading.Event], Serving]
) -> None:
    """While another instance holds the lock no job runs; a stop returns 0 at once."""
    other = InstanceLock(ctx.store, "elsewhere:1", LEASE)
    assert other.acquire()
    stop = threading.Event()
    running = serving(stop)

    stop.set()

    assert running.join() == 0
    assert not pipeline.working.is_set()
    assert runs(ctx.store) == []
    with ctx.store.transaction() as repo:
        assert repo.lease_holder(LOCK_NAME) == "elsewhere:1"


class TestLockRenewer:
    def test_renews_the_lease_until_stopped(self, store: Store) -> None:
        """The lease moves on while the renewer runs, so no standby takes it."""
        lock = InstanceLock(store, "host:1", LEASE)
        assert lock.acquire()
        renewer = LockRenewer(lock)
        renewer.start()
        standby = InstanceLock(store, "host:2", LEASE)
        try:
            assert not renewer.lost.wait(LEASE.total_seconds() + 0.5)  # past the first lease
            assert not standby.acquire()
        finally:
            renewer.stop()
            lock.release()
        assert standby.acquire()

    def test_reports_a_lock_taken_over(self, store: Store) -> None:
        """A lease another holder took is lost: `lost` is set and `on_lost` called."""
        lock = InstanceLock(store, "host:1", LEASE)
        assert lock.acquire()
        told = threading.Event()
        renewer = LockRenewer(lock, told.set)
        with store.transaction() as repo:
            repo.drop_lease(LOCK_NAME, "host:1")
        assert InstanceLock(store, "host:2", LEASE).acquire()
        renewer.start()
        try:
            assert told.wait(WAIT)
            assert renewer.lost.is_set()
        finally:
            renewer.stop()


class TestLeaseOption:
    @pytest.mark.parametrize("lease", ["1s", "2 business hours", "soon"])
    def test_refuses_a_lease_it_cannot_keep(
        self, lease: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Shorter than 3 s, business time or no duration at all: exit 2, saying why."""
        assert main(["run", "--lease", lease]) == 2
        assert "LEADLOOP_LOCK_LEASE" in capsys.readouterr().err


class TestFreezeStartupObjects:
    @pytest.fixture(autouse=True)
    def _unfreeze(self) -> Iterator[None]:
        yield
        gc.unfreeze()

    def test_what_start_up_built_is_out_of_later_collections(self) -> None:
        built_at_start_up = [{"n": n} for n in range(1000)]
        daemon_module.freeze_startup_objects()
        assert gc.get_freeze_count() >= len(built_at_start_up)
        tracked = {id(obj) for obj in gc.get_objects()}
        assert not any(id(obj) in tracked for obj in built_at_start_up)

    def test_garbage_made_later_is_still_collected(self) -> None:
        daemon_module.freeze_startup_objects()
        gone = weakref.ref(_Node())
        gc.collect()
        assert gone() is None


class _Node:
    """An object in a reference cycle, which only the garbage collector frees."""

    def __init__(self) -> None:
        self.me = self

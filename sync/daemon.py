"""`leadloop run`: the jobs on their intervals, one active instance, health and metrics.

`open_context` connects everything a job needs from the config and the environment (the
state store, migrated; both connectors; the mailer when `SMTP_URL` is set). `run_once`
runs every job once in pipeline order. `freeze_startup_objects` keeps what start-up built
out of the garbage collector's later work. `serve` is the daemon:

- it waits for the instance lock (`state.lock.InstanceLock`), so a second replica is a hot
  standby that takes over within one lease of the first one's death;
- APScheduler 3 runs each job every `schedule.<job>` with one worker thread, so jobs never
  overlap and share the connectors safely; `max_instances=1`, coalescing and
  `schedule.misfire_grace` keep a slow cycle from piling up runs; the first cycle runs
  at once, in pipeline order;
- the lock is renewed on a thread of its own, every third of the lease, until the last job
  has ended; a lost lock stops the daemon (exit 1);
- `/healthz` and `/metrics` are served on `health_port`;
- when `stop` is set (SIGTERM or SIGINT, see `sync.cli_daemon`), `ctx.stopping` is set: the
  job in flight stops at its next stop point, after the batch in flight has committed
  (`JobContext.stop_point`), no queued job starts, the lock is released and `serve`
  returns 0. A batch is bounded (a page, a 2,000-item drain), so this takes seconds,
  unless a CRM call of that batch is waiting out a rate limit.
"""

from __future__ import annotations

import gc
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta

import structlog
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import text

from connectors.hubspot import HubSpotConnector, HubSpotSettings
from connectors.salesforce import SalesforceConnector, SalesforceSettings
from state import Store, database_url, utc_now
from state.lock import InstanceLock
from sync.backfill import field_maps
from sync.config import Config
from sync.health import HealthReport, HealthServer, assess
from sync.jobs.context import Clock, Job, JobContext
from sync.jobs.runner import JOB_NAMES, PIPELINE, JobRun, Observer, run_job, run_pipeline
from sync.metrics import RECORD_STAGES, Metrics

LEASE = timedelta(seconds=30)
"""How long a dead instance's SQLite lease blocks its standby."""
log = structlog.get_logger()


@contextmanager
def open_context(
    config: Config, *, env: Mapping[str, str] = os.environ, clock: Clock = utc_now
) -> Iterator[JobContext]:
    """Everything the jobs need, connected; closed on exit. FatalError (a usage problem)
    when the environment lacks what a CRM needs."""
    from sync.mail import SmtpMailer, SmtpSettings

    maps = field_maps(config)
    hubspot_settings = HubSpotSettings.from_env(env)
    salesforce_settings = SalesforceSettings.from_env(env)
    mailer = None
    if config.alerts.enabled:
        if env.get("SMTP_URL"):
            mailer = SmtpMailer(SmtpSettings.from_env(env))
        else:
            log.warning("alerts.off", reason="SMTP_URL is not set; no alert e-mail is sent")
    with ExitStack() as stack:
        store = stack.enter_context(Store.connect(database_url(env), migrate=True, clock=clock))
        hubspot = stack.enter_context(HubSpotConnector(hubspot_settings))
        salesforce = stack.enter_context(SalesforceConnector(salesforce_settings))
        yield JobContext(store, hubspot, salesforce, config, maps, clock, mailer)


def freeze_startup_objects() -> None:
    """Keep the objects alive at start-up (the imported modules, the SDKs' models, the config,
    the connectors: some 130,000) out of every later garbage collection.

    They live as long as the process, and a full collection walks every object it tracks:
    without this, each of the few full collections a busy cycle triggers spends tens of
    milliseconds walking them again. Garbage made later is collected as before.
    """
    gc.collect()
    gc.freeze()


def instance_name() -> str:
    """This process as a lock holder: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def close_interrupted_runs(ctx: JobContext) -> None:
    """Runs an earlier holder of the lock left `running` when it died are failed runs."""
    with ctx.store.transaction() as repo:
        closed = repo.close_interrupted_runs(ctx.clock())
    if closed:
        log.warning("daemon.interrupted_runs", closed=closed)


def run_once(ctx: JobContext, metrics: Metrics | None = None) -> list[JobRun]:
    """Every job once, in pipeline order."""
    return run_pipeline(ctx, JOB_NAMES, _observer(ctx, metrics) if metrics else None)


def serve(
    ctx: JobContext,
    *,
    stop: threading.Event,
    health_port: int | None = None,
    health_host: str = "0.0.0.0",
    lease: timedelta = LEASE,
) -> int:
    """Run the daemon until `stop` is set (0) or the lock is lost (1)."""
    metrics = Metrics(JOB_NAMES)
    intervals = {name: ctx.config.schedule.interval(name) for name in JOB_NAMES}  # type: ignore[arg-type]
    started = ctx.clock()
    lock = InstanceLock(ctx.store, instance_name(), lease)
    with ExitStack() as stack:
        if health_port is not None:
            server = HealthServer(
                health_host, health_port, metrics, lambda: _health(ctx, intervals, started)
            )
            stack.enter_context(server)
            log.info("daemon.health", port=server.port)
        while not lock.acquire():
            log.info("daemon.standby", lock=lock.kind, holder=lock.holder_now())
            if stop.wait(min(lease.total_seconds() / 3, 10)):
                log.info("daemon.stopped", reason="signal", active=False)
                return 0
        log.info("daemon.active", lock=lock.kind, holder=lock.holder)
        close_interrupted_runs(ctx)
        renewer = LockRenewer(lock, ctx.stopping.set)
        lost = renewer.lost
        scheduler = _scheduler(ctx, metrics, intervals)
        renewer.start()
        try:
            scheduler.start()
            while not stop.wait(0.5) and not lost.is_set():
                pass
        finally:
            ctx.stopping.set()
            reason = "lock lost" if lost.is_set() else "signal"
            log.info("daemon.stopping", reason=reason)
            if scheduler.running:
                scheduler.shutdown(wait=True)  # the job in flight, to its next stop point
            renewer.stop()
            lock.release()
            log.info("daemon.stopped", reason=reason, active=True)
        return 1 if lost.is_set() else 0
    return 0


class LockRenewer(threading.Thread):
    """Renews `lock` every third of its lease until stopped; sets `lost` (and calls
    `on_lost`) when it is lost, or when renewing has failed (the database does not answer)
    for a whole lease."""

    def __init__(self, lock: InstanceLock, on_lost: Callable[[], None] = lambda: None) -> None:
        super().__init__(name="leadloop-lock", daemon=True)
        self.lost = threading.Event()
        self._lock = lock
        self._on_lost = on_lost
        self._done = threading.Event()

    def run(self) -> None:
        lease = self._lock.lease.total_seconds()
        renewed = time.monotonic()
        while not self._done.wait(max(lease / 3, 1)):
            try:
                held = self._lock.renew()
            except Exception as exc:  # a database error: the lease may still be ours
                log.warning("daemon.lock_renew_failed", error=type(exc).__name__)
                held = time.monotonic() - renewed < lease
            else:
                renewed = time.monotonic()
            if not held:
                log.error("daemon.lock_lost", lock=self._lock.kind, holder=self._holder())
                self.lost.set()
                self._on_lost()
                return

    def stop(self) -> None:
        """Stop renewing (the lock stays held until released)."""
        self._done.set()
        self.join()

    def _holder(self) -> str | None:
        try:
            return self._lock.holder_now()
        except Exception:  # the database does not answer: the holder is unknown
            return None


def _scheduler(
    ctx: JobContext, metrics: Metrics, intervals: Mapping[str, timedelta]
) -> BackgroundScheduler:
    grace = ctx.config.schedule.interval("misfire_grace")  # type: ignore[arg-type]
    scheduler = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(1)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": int(grace.total_seconds()),
        },
        timezone=UTC,
    )
    observe = _observer(ctx, metrics)
    first = datetime.now(UTC)
    for index, (name, job) in enumerate(PIPELINE):
        scheduler.add_job(
            _run_unless_stopping,
            IntervalTrigger(seconds=intervals[name].total_seconds(), timezone=UTC),
            args=(ctx, name, job, observe),
            id=name,
            name=name,
            next_run_time=first + timedelta(milliseconds=10 * index),
        )
    return scheduler


def _run_unless_stopping(ctx: JobContext, name: str, job: Job, observe: Observer) -> None:
    """A scheduled run: skipped when the daemon began stopping while it waited behind the
    job in flight (the worker's queue is drained on shutdown, not dropped)."""
    if ctx.stopping.is_set():
        log.debug("job.skipped", job=name, reason="stopping")
        return
    run_job(ctx, name, job, observe)


def _observer(ctx: JobContext, metrics: Metrics | None) -> Observer:
    def observe(run: JobRun) -> None:
        if metrics is None:
            return
        metrics.observe_run(run.job, run.seconds, run.ok, ctx.clock())
        for stage in RECORD_STAGES:  # the job counts of the same names
            if run.counts.get(stage):
                metrics.add_records(stage, run.counts[stage])
        for system, used in run.api.items():
            metrics.add_api_calls(system, used.calls, used.rate_limit_waits, used.waited_seconds)
        if run.job == "alerts" and "disabled" not in run.counts:
            metrics.set_breaches(
                run.counts.get("breaches_open", 0), run.counts.get("oldest_breach_seconds", 0)
            )
        with ctx.store.transaction() as repo:
            metrics.set_quarantine(repo.count_quarantined())

    return observe


def _health(ctx: JobContext, intervals: Mapping[str, timedelta], started: datetime) -> HealthReport:
    database_ok = True
    last: dict[str, datetime | None] = {}
    try:
        with ctx.store.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        with ctx.store.transaction() as repo:
            last = {name: repo.last_success(name) for name in intervals}
    except Exception as exc:  # the database does not answer: /healthz says so
        log.warning("daemon.database_unreachable", error=type(exc).__name__)
        database_ok = False
    return assess(ctx.clock(), intervals, last, started, database_ok)

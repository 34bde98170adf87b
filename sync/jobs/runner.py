"""Running a job: its run record, its log context, its API calls, and its failure.

`run_job` records a `runs` row (started, then finished `ok` or `failed` with the counts and
the error), binds `job` and `run_id` to every log line made meanwhile, adds the API calls
each CRM answered during the run (`calls.hubspot`, `calls.salesforce`, `rate_limit_waits`)
to the counts, and turns an exception into a failed run: the daemon goes on, the next run
of the job starts from what the store holds. A job that stops early because the daemon is
stopping (`JobStopped`, raised at a stop point between committed batches) is no failure:
its run is finished `ok` with the counts so far and `stopped: 1`, logged as `job.stopped`.
`run_pipeline` runs every job once, in order, and starts none once `ctx.stopping` is set.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from connectors.errors import ConnectorError, FatalError
from connectors.usage import ApiUsage, UsageSnapshot
from sync.jobs.alerts import run_alerts
from sync.jobs.context import Job, JobContext, JobCounts, JobStopped
from sync.jobs.feedback import run_feedback
from sync.jobs.handoff import run_handoff
from sync.jobs.ingest import run_ingest
from sync.jobs.score import run_score

PIPELINE: tuple[tuple[str, Job], ...] = (
    ("ingest", run_ingest),
    ("score", run_score),
    ("handoff", run_handoff),
    ("alerts", run_alerts),
    ("feedback", run_feedback),
)
"""Every job, in the order one cycle runs them."""
JOB_NAMES: tuple[str, ...] = tuple(name for name, _ in PIPELINE)
log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class JobRun:
    """How one run of one job went."""

    job: str
    run_id: str
    ok: bool
    counts: dict[str, int]
    seconds: float
    error: str | None = None
    api: dict[str, UsageSnapshot] = field(default_factory=dict)
    fatal: bool = False
    """The failure needs a person (credentials, permissions): retrying will not help."""
    stopped: bool = False
    """The job stopped early, at a stop point, because the daemon is stopping."""


Observer = Callable[[JobRun], None]


def run_job(ctx: JobContext, name: str, job: Job, observe: Observer | None = None) -> JobRun:
    """Run `job` once as `name`; never raises for a failure of the job itself."""
    with ctx.store.transaction() as repo:
        run_id = repo.start_run(name, ctx.clock())
    usages: dict[str, ApiUsage] = {"hubspot": ctx.hubspot.usage, "salesforce": ctx.salesforce.usage}
    before = {system: usage.snapshot() for system, usage in usages.items()}
    started = time.monotonic()
    error: str | None = None
    fatal = stopped = False
    counts: JobCounts
    with structlog.contextvars.bound_contextvars(job=name, run_id=run_id):
        log.debug("job.start")
        try:
            counts = job(ctx)
        except JobStopped as exc:
            counts, stopped = exc.counts, True
            counts["stopped"] = 1
        except ConnectorError as exc:
            counts = JobCounts()
            error, fatal = str(exc), isinstance(exc, FatalError)
            log.error("job.failed", error=error, fix=getattr(exc, "fix", None))
        except Exception as exc:
            counts = JobCounts()
            error = f"{type(exc).__name__}: {exc}"
            log.exception("job.failed", error=error)
        seconds = time.monotonic() - started
        api = {system: usage.snapshot().since(before[system]) for system, usage in usages.items()}
        totals: dict[str, int] = {k: int(v) for k, v in counts.items() if v}
        for system, used in api.items():
            if used.total_calls:
                totals[f"calls.{system}"] = used.total_calls
            if used.rate_limit_waits:
                totals[f"rate_limit_waits.{system}"] = used.rate_limit_waits
        totals["milliseconds"] = round(seconds * 1000)
        with ctx.store.transaction() as repo:
            repo.finish_run(run_id, ctx.clock(), "failed" if error else "ok", totals, error)
        outcome = JobRun(name, run_id, error is None, totals, seconds, error, api, fatal, stopped)
        if error is None:
            log.info("job.stopped" if stopped else "job.done", **_loggable(totals))
        if observe is not None:
            observe(outcome)
    return outcome


def run_pipeline(
    ctx: JobContext, jobs: Sequence[str] = JOB_NAMES, observe: Observer | None = None
) -> list[JobRun]:
    """Run the named jobs once each, in pipeline order, until `ctx.stopping` is set; how
    each that ran went."""
    runs: list[JobRun] = []
    for name, job in PIPELINE:
        if name in jobs and not ctx.stopping.is_set():
            runs.append(run_job(ctx, name, job, observe))
    return runs


def _loggable(totals: dict[str, int]) -> dict[str, Any]:
    return {name.replace(".", "_"): value for name, value in totals.items()}

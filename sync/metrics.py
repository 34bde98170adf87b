"""The daemon's Prometheus metrics: job runs, records per stage, API usage, backlog gauges.

Every `Metrics` owns its own `CollectorRegistry`, never the process-wide default one, so
tests and several instances in one process each count on their own. `render()` gives the
text exposition format that `/metrics` serves (see `sync.health`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Literal, get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from mappings.fieldmap import System

RecordStage = Literal[
    "read", "scored", "mql", "handed_off", "alerts_sent", "written_back", "quarantined"
]
"""What happened to the records a job counted; `leadloop_records_total{stage=...}`."""

RECORD_STAGES: tuple[RecordStage, ...] = get_args(RecordStage)
SYSTEMS: tuple[System, ...] = get_args(System)

RunOutcome = Literal["ok", "failed"]
RUN_OUTCOMES: tuple[RunOutcome, ...] = get_args(RunOutcome)

DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
"""Seconds: jobs run every 30 s to 5 min, a slow ingest or feedback pass takes minutes."""


def _check(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of: {', '.join(allowed)}")


def _check_not_negative(value: float, what: str) -> None:
    if value < 0:
        raise ValueError(f"{what} cannot be negative, got {value!r}")


class Metrics:
    """The metric families of one daemon, registered in a registry of their own.

    `jobs` names the scheduled jobs up front so their run counters are exported as 0 before
    the first run (a rate over a series that appears only at its first failure misses it).
    """

    def __init__(self, jobs: Iterable[str] = ()) -> None:
        self.registry = CollectorRegistry()
        """Where every family below is registered; pass it to exporters or tests."""
        registry = self.registry
        self._job_duration = Histogram(
            "leadloop_job_duration_seconds",
            "How long a job run took, successful or not.",
            ["job"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self._job_runs = Counter(
            "leadloop_job_runs_total", "Job runs by outcome.", ["job", "outcome"], registry=registry
        )
        self._job_last_success = Gauge(
            "leadloop_job_last_success_timestamp_seconds",
            "Unix time at which the job's latest successful run finished.",
            ["job"],
            registry=registry,
        )
        self._records = Counter(
            "leadloop_records_total",
            "Records counted by the jobs, per stage.",
            ["stage"],
            registry=registry,
        )
        self._api_calls = Counter(
            "leadloop_api_calls_total",
            "HTTP requests sent to a CRM, per operation.",
            ["system", "operation"],
            registry=registry,
        )
        self._rate_limit_waits = Counter(
            "leadloop_rate_limit_waits_total",
            "Times a rate limit made a connector wait.",
            ["system"],
            registry=registry,
        )
        self._rate_limit_wait_seconds = Counter(
            "leadloop_rate_limit_wait_seconds_total",
            "Seconds spent waiting for rate limits.",
            ["system"],
            registry=registry,
        )
        self._quarantine = Gauge(
            "leadloop_quarantine_size", "Records held in quarantine.", registry=registry
        )
        self._breaches_open = Gauge(
            "leadloop_sla_breaches_open",
            "Follow-up SLAs breached and not yet met.",
            registry=registry,
        )
        self._oldest_breach_age = Gauge(
            "leadloop_sla_oldest_breach_age_seconds",
            "Seconds since the deadline of the oldest open breach; 0 when none is open.",
            registry=registry,
        )
        for stage in RECORD_STAGES:
            self._records.labels(stage=stage)
        for system in SYSTEMS:
            self._rate_limit_waits.labels(system=system)
            self._rate_limit_wait_seconds.labels(system=system)
        for job in jobs:
            self._job_duration.labels(job=job)
            for outcome in RUN_OUTCOMES:
                self._job_runs.labels(job=job, outcome=outcome)

    def observe_run(self, job: str, seconds: float, ok: bool, finished_at: datetime) -> None:
        """One run of `job` ended after `seconds`; a successful one moves its last-success time.

        `finished_at` must be aware: a naive time would be read as the host's local time.
        """
        _check_not_negative(seconds, "a run's duration")
        if finished_at.tzinfo is None:
            raise ValueError(f"finished_at must be timezone-aware, got {finished_at!r}")
        outcome: RunOutcome = "ok" if ok else "failed"
        self._job_duration.labels(job=job).observe(seconds)
        self._job_runs.labels(job=job, outcome=outcome).inc()
        if ok:
            self._job_last_success.labels(job=job).set(finished_at.timestamp())

    def add_records(self, stage: str, count: int) -> None:
        """`count` more records reached `stage`; an unknown stage is a `ValueError`."""
        _check(stage, RECORD_STAGES, "record stage")
        _check_not_negative(count, "a record count")
        self._records.labels(stage=stage).inc(count)

    def add_api_calls(
        self, system: str, calls: Mapping[str, int], waits: int, waited_seconds: float
    ) -> None:
        """What one connector did in a run: calls per operation, rate-limit waits and seconds.

        Fits `UsageSnapshot.since(...)` of `connectors.usage`.
        """
        _check(system, SYSTEMS, "system")
        for operation, count in calls.items():
            _check_not_negative(count, f"the call count of {operation!r}")
        _check_not_negative(waits, "a wait count")
        _check_not_negative(waited_seconds, "seconds waited")
        for operation, count in calls.items():
            self._api_calls.labels(system=system, operation=operation).inc(count)
        self._rate_limit_waits.labels(system=system).inc(waits)
        self._rate_limit_wait_seconds.labels(system=system).inc(waited_seconds)

    def set_quarantine(self, size: int) -> None:
        """How many records are in quarantine now."""
        _check_not_negative(size, "the quarantine size")
        self._quarantine.set(size)

    def set_breaches(self, open_count: int, oldest_age_seconds: float) -> None:
        """How many SLA breaches are open now and how old the oldest is (0 when none)."""
        _check_not_negative(open_count, "the open breach count")
        _check_not_negative(oldest_age_seconds, "the oldest breach's age")
        self._breaches_open.set(open_count)
        self._oldest_breach_age.set(oldest_age_seconds if open_count else 0.0)

    def render(self) -> bytes:
        """Every family in the Prometheus text exposition format (`CONTENT_TYPE_LATEST`)."""
        return generate_latest(self.registry)

"""Job runs: when each job ran, how it ended and what it counted."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from sqlmodel import col, select

from state._base import Queries, as_literal
from state._types import require_aware
from state.exceptions import NotFoundError
from state.tables import RunRow

RunStatus = Literal["running", "ok", "failed"]
"""A run is `running` from `start_run` until `finish_run` says `ok` or `failed`."""

RUN_STATUSES: tuple[RunStatus, ...] = get_args(RunStatus)
INTERRUPTED = "interrupted: the process ended before the run finished (its batch is redone)"


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run of one job."""

    run_id: str
    job: str
    started_at: datetime
    finished_at: datetime | None
    status: RunStatus
    counts: Mapping[str, int]
    error: str | None


def _to_record(row: RunRow) -> RunRecord:
    return RunRecord(
        run_id=row.id,
        job=row.job,
        started_at=row.started_at,
        finished_at=row.finished_at,
        status=as_literal(row.status, RUN_STATUSES, "run status"),
        counts={str(name): int(count) for name, count in row.counts.items()},
        error=row.error,
    )


class RunQueries(Queries):
    """Recording job runs."""

    def start_run(self, job: str, at: datetime) -> str:
        """Record that `job` started at `at`; the new run's id (a UUID, also the logs' run_id)."""
        run_id = str(uuid.uuid4())
        self._session.add(
            RunRow(id=run_id, job=job, started_at=require_aware(at, "at"), status="running")
        )
        self._session.flush()
        return run_id

    def finish_run(
        self,
        run_id: str,
        at: datetime,
        status: RunStatus,
        counts: Mapping[str, int],
        error: str | None = None,
    ) -> None:
        """Record how a run ended, with its counts and, if it failed, the error."""
        if status == "running":
            raise ValueError("finish_run needs status 'ok' or 'failed', not 'running'")
        as_literal(status, RUN_STATUSES, "run status")
        row = self._session.get(RunRow, run_id)
        if row is None:
            raise NotFoundError("run", run_id)
        row.finished_at = require_aware(at, "at")
        row.status = status
        row.counts = dict(counts)
        row.error = error
        self._session.flush()

    def close_interrupted_runs(self, at: datetime) -> int:
        """Mark every run still `running` as failed at `at`: its process ended before it could
        say how it went (killed, or its machine lost). Only the instance holding the lock
        calls this, when it takes it, so no run of a live process is touched. How many."""
        statement = select(RunRow).where(col(RunRow.status) == "running")
        rows = list(self._session.exec(statement))
        for row in rows:
            row.status = "failed"
            row.finished_at = require_aware(at, "at")
            row.error = INTERRUPTED
        self._session.flush()
        return len(rows)

    def recent_runs(self, limit: int) -> list[RunRecord]:
        """The last `limit` runs of any job, newest first."""
        statement = (
            select(RunRow).order_by(col(RunRow.started_at).desc(), col(RunRow.id)).limit(limit)
        )
        return [_to_record(row) for row in self._session.exec(statement)]

    def last_success(self, job: str) -> datetime | None:
        """When the latest successful run of `job` started, or None if none succeeded.

        The start, not the end: whatever a run read, it read after it started.
        """
        statement = (
            select(RunRow.started_at)
            .where(col(RunRow.job) == job, col(RunRow.status) == "ok")
            .order_by(col(RunRow.started_at).desc())
            .limit(1)
        )
        return self._session.exec(statement).first()

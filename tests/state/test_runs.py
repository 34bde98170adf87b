"""Tests for job runs: start, finish, recent runs and the last success."""

from __future__ import annotations

import uuid

import pytest

from state import NotFoundError, Store
from tests.state.support import at


class TestRuns:
    def test_a_run_is_running_until_finished(self, store: Store) -> None:
        """start_run returns a UUID; the run is listed as running with no counts."""
        with store.transaction() as repo:
            run_id = repo.start_run("ingest", at(0))
            (run,) = repo.recent_runs(10)
        assert uuid.UUID(run_id).version == 4
        assert (run.run_id, run.job, run.started_at) == (run_id, "ingest", at(0))
        assert run.status == "running"
        assert (run.finished_at, dict(run.counts), run.error) == (None, {}, None)

    def test_finish_records_status_counts_and_error(self, store: Store) -> None:
        """finish_run stores the outcome, the counts and the error text."""
        with store.transaction() as repo:
            ok = repo.start_run("ingest", at(0))
            failed = repo.start_run("handoff", at(1))
            repo.finish_run(ok, at(2), "ok", {"contacts": 200, "activities": 1234})
            repo.finish_run(failed, at(3), "failed", {"sent": 0}, error="Salesforce down")
        with store.transaction() as repo:
            runs = {r.run_id: r for r in repo.recent_runs(10)}
        assert (runs[ok].status, dict(runs[ok].counts), runs[ok].finished_at) == (
            "ok",
            {"contacts": 200, "activities": 1234},
            at(2),
        )
        assert (runs[failed].status, runs[failed].error) == ("failed", "Salesforce down")

    def test_runs_left_running_by_a_dead_process_are_closed_as_failed(self, store: Store) -> None:
        """The instance that takes the lock closes what its dead predecessor left running;
        finished runs keep how they ended."""
        with store.transaction() as repo:
            done = repo.start_run("ingest", at(0))
            repo.finish_run(done, at(1), "ok", {"read": 3})
            left = repo.start_run("handoff", at(2))
        with store.transaction() as repo:
            assert repo.close_interrupted_runs(at(9)) == 1
            assert repo.close_interrupted_runs(at(10)) == 0
            runs = {r.run_id: r for r in repo.recent_runs(10)}
        assert (runs[done].status, runs[done].finished_at) == ("ok", at(1))
        assert (runs[left].status, runs[left].finished_at) == ("failed", at(9))
        assert (runs[left].error or "").startswith("interrupted")

    def test_recent_runs_are_newest_first_and_limited(self, store: Store) -> None:
        """The list starts with the latest start and holds at most `limit` runs."""
        with store.transaction() as repo:
            ids = [repo.start_run("score", at(n)) for n in range(5)]
            assert [r.run_id for r in repo.recent_runs(3)] == ids[:1:-1]

    def test_last_success_is_the_start_of_the_latest_ok_run(self, store: Store) -> None:
        """Failed and running runs and other jobs do not count."""
        with store.transaction() as repo:
            assert repo.last_success("ingest") is None
            first = repo.start_run("ingest", at(0))
            repo.finish_run(first, at(1), "ok", {})
            second = repo.start_run("ingest", at(10))
            repo.finish_run(second, at(11), "failed", {}, error="boom")
            repo.start_run("ingest", at(20))
            other = repo.start_run("alerts", at(30))
            repo.finish_run(other, at(31), "ok", {})
            assert repo.last_success("ingest") == at(0)

    def test_finishing_wrongly_is_refused(self, store: Store) -> None:
        """An unknown run id, or finishing as 'running', is an error."""
        with store.transaction() as repo:
            run_id = repo.start_run("ingest", at(0))
            with pytest.raises(NotFoundError, match="run"):
                repo.finish_run("no-such-run", at(1), "ok", {})
            with pytest.raises(ValueError, match="not 'running'"):
                repo.finish_run(run_id, at(1), "running", {})

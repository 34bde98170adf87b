"""Stopping early: a job stops at a stop point between committed batches once
`ctx.stopping` is set; its run is recorded `ok` with `stopped`, not failed; the next run
continues from what was committed, and nothing is done twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

import sync.jobs.handoff as handoff_module
import sync.jobs.runner as runner_module
import sync.jobs.score as score_module
from connectors.emulator.runtime import start_emulators
from state import Store
from sync.config import Config
from sync.ingest import CONTACTS, EMAIL_EVENTS, LEADS
from sync.ingest_types import FieldMaps, IngestOptions
from sync.jobs.alerts import run_alerts
from sync.jobs.context import JobContext, JobCounts, JobStopped
from sync.jobs.handoff import run_handoff
from sync.jobs.ingest import run_ingest
from sync.jobs.runner import run_job, run_pipeline
from sync.jobs.score import SCORE_CURSOR, run_score
from tests.conftest import WORLD_START
from tests.sync.conftest import Crm, crm_for

DEMO_LEADS = 450


@pytest.fixture
def ctx(crm: Crm, store: Store, shipped: Config, maps: FieldMaps) -> JobContext:
    """A context on the empty emulators and a fresh store."""
    return JobContext(store, crm.hubspot, crm.salesforce, shipped, maps, crm.now)


@pytest.fixture
def demo(tmp_path: Path, shipped: Config, maps: FieldMaps) -> Iterator[JobContext]:
    """A context on emulators seeded with the demo population, the HubSpot properties
    leadloop writes made, the emulators' clock frozen at WORLD_START."""
    with (
        start_emulators(seed="demo", leads=DEMO_LEADS, now=WORLD_START, frozen=True) as world,
        crm_for(world) as crm,
    ):
        for field in maps.hubspot.required_crm_fields():
            if field.custom is not None:
                crm.hubspot.create_property(field.custom.to_hubspot())
        with Store.connect(
            f"sqlite:///{tmp_path / 'state.db'}", migrate=True, clock=crm.now
        ) as store:
            yield JobContext(store, crm.hubspot, crm.salesforce, shipped, maps, crm.now)


def stored_hubspot_ids(ctx: JobContext) -> list[str]:
    with ctx.store.transaction() as repo:
        return [lead.hubspot_id for lead in repo.leads() if lead.hubspot_id]


def pending(ctx: JobContext, target: str) -> int:
    with ctx.store.transaction() as repo:
        return len(repo.pending_outbox(target, 100_000, ctx.clock()))  # type: ignore[arg-type]


def handed_twice(ctx: JobContext) -> list[str]:
    """HubSpot contact ids that more than one Salesforce lead carries."""
    soql = "SELECT HubSpot_Contact_Id__c FROM Lead"
    ids = Counter(r["HubSpot_Contact_Id__c"] for page in ctx.salesforce.query(soql) for r in page)
    return [contact for contact, n in ids.items() if contact and n > 1]


class TestStopPoint:
    def test_does_nothing_while_the_daemon_runs(self, ctx: JobContext) -> None:
        """Without `stopping` set, a stop point lets the job go on."""
        ctx.stop_point(Counter(read=3))

    def test_raises_with_the_counts_so_far_once_stopping(self, ctx: JobContext) -> None:
        """Once `stopping` is set, a stop point raises `JobStopped` carrying the counts."""
        ctx.stopping.set()
        with pytest.raises(JobStopped) as stopped:
            ctx.stop_point(Counter(read=3))
        assert stopped.value.counts == Counter(read=3)


class TestRunJob:
    def test_a_stopped_job_is_recorded_ok_with_its_counts_and_stopped(
        self, ctx: JobContext
    ) -> None:
        """The run row is `ok` with the counts so far and `stopped: 1`; logged job.stopped."""

        def job(ctx: JobContext) -> JobCounts:
            ctx.stop_point(Counter(pages=1))
            ctx.stopping.set()
            ctx.stop_point(Counter(pages=2, read=400))
            raise AssertionError("not reached")

        with capture_logs() as logs:
            outcome = run_job(ctx, "ingest", job)

        assert (outcome.ok, outcome.stopped, outcome.error) == (True, True, None)
        assert outcome.counts["pages"] == 2
        assert outcome.counts["stopped"] == 1
        with ctx.store.transaction() as repo:
            (record,) = repo.recent_runs(5)
        assert record.status == "ok"
        assert (record.counts["pages"], record.counts["read"], record.counts["stopped"]) == (
            2,
            400,
            1,
        )
        ends = [e["event"] for e in logs if e["event"] in ("job.done", "job.stopped", "job.failed")]
        assert ends == ["job.stopped"]

    def test_a_job_run_to_its_end_is_not_stopped(self, ctx: JobContext) -> None:
        """A job that returns is done, whatever `stopping` says afterwards."""
        outcome = run_job(ctx, "score", lambda ctx: Counter(scored=2))
        assert (outcome.ok, outcome.stopped, "stopped" in outcome.counts) == (True, False, False)


class TestRunPipeline:
    def test_starts_no_job_once_stopping(
        self, ctx: JobContext, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The job running when `stopping` is set ends; the ones after it never start."""
        ran: list[str] = []

        def first(ctx: JobContext) -> JobCounts:
            ran.append("ingest")
            ctx.stopping.set()
            return Counter(read=1)

        def second(ctx: JobContext) -> JobCounts:
            ran.append("score")
            return Counter()

        monkeypatch.setattr(runner_module, "PIPELINE", (("ingest", first), ("score", second)))

        outcomes = run_pipeline(ctx, ("ingest", "score"))

        assert ran == ["ingest"]
        assert [(o.job, o.ok, o.stopped) for o in outcomes] == [("ingest", True, False)]


class TestJobsStopBetweenBatches:
    def test_ingest_stops_after_a_stored_page_and_the_next_run_reads_on(
        self, demo: JobContext
    ) -> None:
        """Stopping from the start: one contacts page is stored with its cursor, no other
        stream read; the next run reads the rest, each contact once."""
        demo.stopping.set()

        stopped = run_job(demo, "ingest", run_ingest)

        page = IngestOptions().hubspot_page_size
        assert (stopped.ok, stopped.stopped) == (True, True)
        assert stopped.counts[f"{CONTACTS}.pages"] == 1
        assert len(stored_hubspot_ids(demo)) == stopped.counts["leads_created"] == page
        with demo.store.transaction() as repo:
            assert repo.get_cursor(CONTACTS).value is not None
            assert repo.get_cursor(EMAIL_EVENTS).value is None
            assert repo.get_cursor(LEADS).value is None

        demo.stopping.clear()
        resumed = run_job(demo, "ingest", run_ingest)

        assert (resumed.ok, resumed.stopped) == (True, False)
        after = stored_hubspot_ids(demo)
        assert len(after) == len(set(after)) == DEMO_LEADS
        assert resumed.counts["leads_created"] == DEMO_LEADS - page

    def test_score_stops_between_pages_and_keeps_its_cursor(
        self, demo: JobContext, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """One page is scored and committed; the cursor stays, so the next run scores all."""
        assert run_job(demo, "ingest", run_ingest).ok
        monkeypatch.setattr(score_module, "SCORE_PAGE", 100)
        with demo.store.transaction() as repo:
            leads = len(list(repo.leads()))
        demo.stopping.set()

        stopped = run_job(demo, "score", run_score)

        assert (stopped.ok, stopped.stopped) == (True, True)
        assert stopped.counts["scored"] == 100
        with demo.store.transaction() as repo:
            assert repo.get_cursor(SCORE_CURSOR).value is None
        demo.stopping.clear()
        resumed = run_job(demo, "score", run_score)
        assert (resumed.counts["scored"], resumed.counts["full_rescore"]) == (leads, 1)

    def test_handoff_stops_between_batches_and_the_next_run_sends_the_rest(
        self, demo: JobContext, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Stopping while a Salesforce batch is sent: that batch is confirmed and closed,
        the rest stays queued (HubSpot too); the next run sends it, none twice."""
        assert run_job(demo, "ingest", run_ingest).ok
        assert run_job(demo, "score", run_score).ok
        queued = pending(demo, "salesforce")
        assert queued > 5
        monkeypatch.setattr(handoff_module, "DRAIN_BATCH", 5)
        upsert = demo.salesforce.upsert

        def upsert_then_stop(*args: Any, **kwargs: Any) -> Any:
            demo.stopping.set()  # SIGTERM while the call is in flight
            return upsert(*args, **kwargs)

        monkeypatch.setattr(demo.salesforce, "upsert", upsert_then_stop)
        hubspot_queued = pending(demo, "hubspot")

        stopped = run_job(demo, "handoff", run_handoff)

        assert (stopped.ok, stopped.stopped) == (True, True)
        assert stopped.counts["salesforce_upserted"] == 5
        assert (pending(demo, "salesforce"), pending(demo, "hubspot")) == (
            queued - 5,
            hubspot_queued,
        )
        monkeypatch.setattr(demo.salesforce, "upsert", upsert)
        demo.stopping.clear()
        resumed = run_job(demo, "handoff", run_handoff)
        assert resumed.counts["salesforce_upserted"] == queued - 5
        assert (pending(demo, "salesforce"), pending(demo, "hubspot")) == (0, 0)
        assert handed_twice(demo) == []

    def test_alerts_stop_between_e_mails_and_the_next_run_sends_the_rest(
        self, demo: JobContext
    ) -> None:
        """Stopping while an alert is sent: that one is recorded sent, the others stay
        claimed; the next run sends them, each once."""
        for job, run in (("ingest", run_ingest), ("score", run_score), ("handoff", run_handoff)):
            assert run_job(demo, job, run).ok
        sent: list[EmailMessage] = []

        class StoppingMailer:
            def send(self, message: EmailMessage) -> None:
                if not sent:
                    demo.stopping.set()  # SIGTERM while the first e-mail is on its way
                sent.append(message)

        demo.mailer = StoppingMailer()
        demo.clock = lambda: WORLD_START + timedelta(days=7)  # every handoff overdue

        stopped = run_job(demo, "alerts", run_alerts)

        assert (stopped.ok, stopped.stopped) == (True, True)
        claimed = stopped.counts["alerts_claimed"]
        assert claimed > 1
        assert stopped.counts["alerts_sent"] == len(sent) == 1
        demo.stopping.clear()
        resumed = run_job(demo, "alerts", run_alerts)
        assert resumed.counts["alerts_sent"] == claimed - 1
        alert_ids = [m["Message-ID"] for m in sent if m["X-Leadloop-Digest"] is None]
        assert len(alert_ids) == len(set(alert_ids)) == claimed

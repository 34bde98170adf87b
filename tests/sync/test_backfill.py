"""`backfill` on the demo world (300 people): everything read, linked and scored, resumable,
duplicating nothing, at the batch minimum of calls."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.emulator._control import Fault
from connectors.emulator.runtime import Emulators
from connectors.errors import FatalError
from state import Store
from sync.backfill import BackfillReport, LogProgress, backfill
from sync.config import Config
from sync.ingest import CONTACTS, EMAIL_EVENTS, LEADS, IngestOptions, StreamCounts
from tests.sync.conftest import Crm, crm_for

SEARCH = "POST /crm/v3/objects/contacts/search"
HISTORY = "POST /crm/v3/objects/contacts/batch/read"
Snapshot = dict[str, Any]


@pytest.fixture
def demo(demo_world: Emulators, monkeypatch: pytest.MonkeyPatch) -> Iterator[Crm]:
    """Connectors on the shared demo world (read only: backfill writes to no CRM)."""
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    with crm_for(demo_world) as connected:
        yield connected


@pytest.fixture
def new_store(tmp_path: Path) -> Iterator[Any]:
    """Makes further fresh stores (to compare two runs)."""
    made: list[Store] = []

    def make(name: str) -> Store:
        made.append(Store.connect(f"sqlite:///{tmp_path / name}.db", migrate=True))
        return made[-1]

    yield make
    for store in made:
        store.dispose()


def run(crm: Crm, store: Store, config: Config, **kwargs: Any) -> BackfillReport:
    kwargs.setdefault("progress", lambda counts: None)
    return backfill(store, crm.hubspot, crm.salesforce, config, crm.now, **kwargs)


def snapshot(store: Store) -> Snapshot:
    """The store's content with each lead named by its CRM ids instead of its random key."""
    with store.transaction() as repo:
        leads = list(repo.leads())
        name = {lead.key: f"{lead.hubspot_id}/{lead.salesforce_id}" for lead in leads}
        keys = list(name)
        activities = repo.activities_for_many(keys)
        return {
            "leads": sorted(
                (name[lead.key], lead.email, lead.stage, lead.score, lead.times, lead.outcome)
                for lead in leads
            ),
            "activities": sorted(
                (name[key], a.kind, a.occurred_at, a.dedupe_key)
                for key, found in activities.items()
                for a in found
            ),
            "history": sorted(
                (name[key], c.from_stage, c.to_stage, c.at, c.reasons)
                for key in keys
                for c in repo.stage_history(key)
            ),
            "corrections": sorted(
                (name[c.lead_key], c.axis, c.observed) for c in repo.corrections()
            ),
            "outbox": sorted(
                (item.target, name[item.lead_key], item.operation)
                for target in ("hubspot", "salesforce")
                for item in repo.pending_outbox(target, 10_000, max_time())
            ),
            "cursors": {
                stream: repo.get_cursor(stream).value for stream in (CONTACTS, EMAIL_EVENTS, LEADS)
            },
        }


def max_time() -> Any:
    from datetime import UTC, datetime

    return datetime(2100, 1, 1, tzinfo=UTC)


class TestBackfill:
    def test_everything_is_read_linked_and_scored(
        self, demo: Crm, store: Store, shipped: Config
    ) -> None:
        """Every contact is a lead, every seeded Salesforce lead is linked to its contact, and
        every lead is scored; MQLs not in Salesforce are queued for handoff."""
        world = demo.world
        assert world.seeded is not None

        report = run(demo, store, shipped)

        contacts = len(world.hubspot.contacts)
        assert report.leads == contacts == 300  # the demo has no Salesforce-only lead
        assert report.score.linked == len(world.seeded.leads)
        with store.transaction() as repo:
            for email, lead_id in world.seeded.leads.items():
                lead = repo.find_lead(salesforce_id=lead_id)
                assert lead is not None and lead.hubspot_id == world.seeded.contacts[email]
                assert lead.times.mql_at is not None  # handed to sales before leadloop
            scored = [lead for lead in repo.leads() if lead.score.total]
            queued = repo.pending_outbox("salesforce", 10_000, max_time())
        assert len(scored) > 100
        assert report.score.mqls > 0
        assert 0 < len(queued) <= report.score.mqls  # not those linked to Salesforce already
        by_stream = {counts.stream: counts for counts in report.streams}
        assert by_stream[CONTACTS].leads_created == contacts
        assert by_stream[EMAIL_EVENTS].activities_added > 0
        assert by_stream[LEADS].leads_updated == len(world.seeded.leads)
        assert by_stream[LEADS].leads_created == 0
        with store.transaction() as repo:
            [last] = repo.recent_runs(1)
        assert (last.job, last.status, last.counts["leads"]) == ("backfill", "ok", 300)

    def test_hubspot_calls_are_the_batch_minimum(
        self, demo: Crm, store: Store, shipped: Config
    ) -> None:
        """ceil(N/200) searches and ceil(M/50) history reads, M the contacts with a form or a
        page view. A run once the re-read lag window holds no event costs one call per
        stream: one search, one e-mail events probe, one query per sObject."""
        world = demo.world
        with_activity = sum(
            1
            for contact in world.hubspot.contacts.values()
            if contact.properties.get("recent_conversion_date")
            or contact.properties.get("hs_analytics_last_url")
        )
        before = demo.routes()

        report = run(demo, store, shipped)

        hubspot = report.api_calls["hubspot"]
        assert hubspot["contacts.search"] == math.ceil(300 / 200)
        assert hubspot["contacts.batch_read_history"] == math.ceil(with_activity / 50)
        after = demo.routes()
        assert after[SEARCH] - before.get(SEARCH, 0) == hubspot["contacts.search"]

        later = demo.now() + timedelta(minutes=10)

        def run_later() -> BackfillReport:
            return backfill(store, demo.hubspot, demo.salesforce, shipped, lambda: later)

        run_later()  # re-reads the lag window: the events of the five minutes before `now`
        again = run_later()

        assert again.api_calls["hubspot"] == {"contacts.search": 1, "email.events": 1}
        assert again.api_calls["salesforce"] == {"query": 4}
        assert all(s.leads_created == s.activities_added == 0 for s in again.streams)

    def test_running_again_duplicates_nothing(
        self, demo: Crm, store: Store, shipped: Config
    ) -> None:
        """A second backfill leaves the store as the first left it."""
        run(demo, store, shipped)
        first = snapshot(store)

        run(demo, store, shipped)

        assert snapshot(store) == first

    def test_an_interrupted_backfill_continues_where_it_stopped(
        self, demo: Crm, new_store: Any, shipped: Config
    ) -> None:
        """A 401 on the third search page stops it; the next run goes on from the cursor and
        ends as an uninterrupted run does."""
        world, options = demo.world, IngestOptions(hubspot_page_size=50, store_batch=50)
        interrupted, whole = new_store("interrupted"), new_store("whole")
        pages: list[int] = []

        def fail_third_search(counts: StreamCounts) -> None:
            if counts.stream == CONTACTS:
                pages.append(counts.pages)
                if counts.pages == 2:
                    world.controls["hubspot"].faults.add(Fault(route=SEARCH, status=401))

        with pytest.raises(FatalError):
            run(demo, interrupted, shipped, options=options, progress=fail_third_search)
        with interrupted.transaction() as repo:
            stored = sum(1 for _ in repo.leads())
            [failed] = repo.recent_runs(1)
        assert 0 < stored < 300 and failed.status == "failed"

        resumed = run(demo, interrupted, shipped, options=options)
        run(demo, whole, shipped, options=options)

        contacts = next(c for c in resumed.streams if c.stream == CONTACTS)
        assert contacts.read < 300  # it went on from the cursor
        assert snapshot(interrupted) == snapshot(whole)

    def test_since_bounds_a_first_load(self, demo: Crm, store: Store, shipped: Config) -> None:
        """`since` reads only the contacts changed since then."""
        world = demo.world
        since = (
            demo.now()
            - (demo.now() - min(c.updated_at for c in world.hubspot.contacts.values())) / 2
        )
        changed = sum(1 for c in world.hubspot.contacts.values() if c.updated_at >= since)

        report = run(demo, store, shipped, since=since)

        contacts = next(c for c in report.streams if c.stream == CONTACTS)
        assert contacts.read == changed < 300


class TestProgress:
    def test_one_structured_line_per_page(self) -> None:
        """The log progress says the stream, the records read and the rate."""
        from structlog.testing import capture_logs

        ticks = iter([10.0, 12.0])
        progress = LogProgress(monotonic=lambda: next(ticks))
        counts = StreamCounts(CONTACTS, pages=1, read=200)
        with capture_logs() as logs:
            progress(counts)
            counts.read, counts.pages = 400, 2
            progress(counts)
        assert [(e["event"], e["read"], e["rate"]) for e in logs] == [
            ("backfill.progress", 200, 0.0),
            ("backfill.progress", 400, 200.0),
        ]


class TestCommand:
    def test_backfill_command_reports_streams_leads_and_calls(
        self, demo_world: Emulators, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """`leadloop backfill` reads the environment, runs, and prints the report (exit 0)."""
        import typer
        from typer.testing import CliRunner

        from sync.cli_backfill import backfill as command
        from tests.sync.builders import SHIPPED_PATH

        app = typer.Typer()
        app.command()(command)
        app.command("other")(lambda: None)  # two commands: `backfill` is named, as in leadloop
        env = {
            **demo_world.client_environment(),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        }
        for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
            monkeypatch.delenv(name, raising=False)

        result = CliRunner().invoke(
            app, ["backfill", "--config", str(SHIPPED_PATH), "--since", "2025-12-01"], env=env
        )

        assert result.exit_code == 0, result.output
        assert "leads 300: linked 78" in result.output
        assert "API calls, hubspot:" in result.output and "contacts.search 2" in result.output

    def test_missing_credentials_are_a_usage_error(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without HUBSPOT_ACCESS_TOKEN the command stops before touching anything."""
        from sync.cli import UsageError
        from sync.cli_backfill import backfill as command
        from tests.sync.builders import SHIPPED_PATH

        monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
        with pytest.raises(UsageError, match="HUBSPOT_ACCESS_TOKEN"):
            command(since=None, config=SHIPPED_PATH)
        assert not (tmp_path / "cli.db").exists()

    def test_the_progress_bars_show_every_stream(self) -> None:
        """The terminal display takes every stream's counts without error."""
        from sync.cli_backfill import _Bars

        with _Bars() as bars:
            bars(StreamCounts(CONTACTS, pages=1, read=200, api_calls={"contacts.search": 1}))
            bars(StreamCounts(CONTACTS, pages=2, read=400, api_calls={"contacts.search": 2}))
            bars(StreamCounts(LEADS, pages=1, read=78))
        assert set(bars._tasks) == {CONTACTS, LEADS}

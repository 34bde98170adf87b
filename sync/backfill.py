"""`leadloop backfill`: the first load of an installation, resumable.

Every ingest stream runs to its end (`sync.ingest.ingest_all`): every contact with its
activity from HubSpot, every Lead, Task, Event and Opportunity from Salesforce, linked
(external ID, then e-mail). Each page is stored with its cursor, so a backfill interrupted
anywhere continues on the next run where it stopped, duplicating nothing, and leaves the
cursors where the daemon continues. `since` only bounds a stream that has no cursor yet (or
an older one).

Then every lead is scored (`sync.leads.evaluate`), in pages of 500, in one transaction: the
first touch is taken from the stored sales activities, the score and its reasons saved, MQL
and SQL transitions written to the stage history (source `score`). A lead that becomes MQL
without a Salesforce lead gets the handoff outbox rows the score job writes
(`enqueue_handoff`); a lead already in Salesforce is linked, not handed again (unless it
qualifies again after a recycle: a new cycle). Scoring is
recomputed whole on every run, so an interrupted one is simply done again.

Nothing holds all the contacts: the streams go page by page and scoring iterates the store.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import structlog

from connectors.hubspot import HubSpotConnector
from connectors.salesforce import SalesforceConnector
from mappings.fieldmap import load_field_map
from mappings.model import Activity, Lead, StageChange
from state import Repository, Store
from sync.config import Config
from sync.definitions import LeadRules
from sync.ingest import ingest_all
from sync.ingest_types import (
    CallMeter,
    Clock,
    FieldMaps,
    IngestOptions,
    OnPage,
    StreamCounts,
    cursor_text,
)
from sync.leads import evaluate, record_touch

SCORE = "score"
SCORE_PAGE = 500
log = structlog.get_logger()


@dataclass(slots=True)
class ScoreCounts:
    """What the scoring pass found: leads scored, scores that changed, transitions made,
    handoffs queued, and the leads by stage and link afterwards."""

    scored: int = 0
    rescored: int = 0
    mqls: int = 0
    sqls: int = 0
    handoffs_queued: int = 0
    linked: int = 0
    hubspot_only: int = 0
    salesforce_only: int = 0
    stages: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class BackfillReport:
    """The whole backfill: each stream's counts, the scoring, and the calls per system."""

    streams: tuple[StreamCounts, ...]
    score: ScoreCounts
    api_calls: dict[str, dict[str, int]]
    seconds: float

    @property
    def leads(self) -> int:
        return self.score.scored

    def totals(self) -> dict[str, int]:
        """Flat counts for the run record."""
        counts: dict[str, int] = {}
        for stream in self.streams:
            for name, value in stream.totals().items():
                if not name.startswith("calls."):
                    counts[f"{stream.stream}.{name}"] = value
        score = self.score
        counts.update(
            leads=score.scored,
            linked=score.linked,
            mqls=score.mqls,
            sqls=score.sqls,
            handoffs_queued=score.handoffs_queued,
        )
        for system, calls in self.api_calls.items():
            counts[f"calls.{system}"] = sum(calls.values())
        return counts


Progress = Callable[[StreamCounts], None]
"""Told after every stored page (and every scored page, as stream `score`)."""


class LogProgress:
    """One structured log line per page: `backfill.progress` with the stream, the records
    read so far, and the rate since the stream started."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._started: dict[str, float] = {}

    def __call__(self, counts: StreamCounts) -> None:
        now = self._monotonic()
        started = self._started.setdefault(counts.stream, now)
        elapsed = now - started
        rate = counts.read / elapsed if elapsed > 0 else 0.0
        log.info(
            "backfill.progress",
            stream=counts.stream,
            pages=counts.pages,
            read=counts.read,
            rate=round(rate, 1),
            calls=sum(counts.api_calls.values()),
        )


def field_maps(config: Config) -> FieldMaps:
    """The field maps the config names (the shipped ones by default)."""
    paths = config.field_map_paths
    return FieldMaps(load_field_map(paths["hubspot"]), load_field_map(paths["salesforce"]))


def backfill(
    store: Store,
    hubspot: HubSpotConnector,
    salesforce: SalesforceConnector,
    config: Config,
    clock: Clock,
    *,
    since: datetime | None = None,
    progress: Progress | None = None,
    maps: FieldMaps | None = None,
    options: IngestOptions | None = None,
) -> BackfillReport:
    """Load everything (or what changed since `since`), link, score; the report.

    Raises what the connectors raise (a `FatalError` stops it); run it again to continue.
    """
    started = time.monotonic()
    maps = maps or field_maps(config)
    options = options or IngestOptions()
    if since is not None:
        options = dataclasses.replace(options, since=since)
    on_page: OnPage = progress or LogProgress()
    meters = {"hubspot": CallMeter(hubspot.usage), "salesforce": CallMeter(salesforce.usage)}
    with store.transaction() as repo:
        run_id = repo.start_run("backfill", clock())
    structlog.contextvars.bind_contextvars(job="backfill", run_id=run_id)
    try:
        streams = ingest_all(store, hubspot, salesforce, maps, clock, options, on_page)
        score = score_everyone(store, LeadRules(config), clock, on_page)
    except BaseException as exc:
        with store.transaction() as repo:
            repo.finish_run(run_id, clock(), "failed", {}, error=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        structlog.contextvars.unbind_contextvars("job", "run_id")
    report = BackfillReport(
        tuple(streams),
        score,
        {system: meter.calls() for system, meter in meters.items()},
        time.monotonic() - started,
    )
    with store.transaction() as repo:
        repo.finish_run(run_id, clock(), "ok", report.totals())
    log.info("backfill.done", run_id=run_id, seconds=round(report.seconds, 1), **report.totals())
    return report


def score_everyone(
    store: Store, rules: LeadRules, clock: Clock, on_page: OnPage | None = None
) -> ScoreCounts:
    """Rescore every stored lead and apply the MQL and SQL definitions; the counts."""
    counts = ScoreCounts()
    progress = StreamCounts(SCORE)
    with store.transaction() as repo:
        now = clock()
        page: list[Lead] = []
        for lead in repo.leads():
            page.append(lead)
            if len(page) == SCORE_PAGE:
                _score_page(repo, rules, page, now, counts, progress, on_page)
                page = []
        if page:
            _score_page(repo, rules, page, now, counts, progress, on_page)
    return counts


def _score_page(
    repo: Repository,
    rules: LeadRules,
    page: list[Lead],
    now: datetime,
    counts: ScoreCounts,
    progress: StreamCounts,
    on_page: OnPage | None,
) -> None:
    histories = repo.activities_for_many(lead.key for lead in page)
    changed: list[Lead] = []
    for lead in page:
        activities = histories[lead.key]
        touched = _first_touch(lead, activities, now)
        result = evaluate(rules, touched, activities, now)
        scored = result.lead
        for change in result.changes:
            repo.record_stage_change(change, SCORE)
            if change.to_stage == "mql":
                counts.mqls += 1
                counts.handoffs_queued += enqueue_handoff(repo, scored, change)
            elif change.to_stage == "sql":
                counts.sqls += 1
        if scored != lead:
            changed.append(scored)
        counts.rescored += int(result.score_changed)
        counts.scored += 1
        counts.stages[scored.stage] += 1
        if scored.hubspot_id and scored.salesforce_id:
            counts.linked += 1
        elif scored.hubspot_id:
            counts.hubspot_only += 1
        elif scored.salesforce_id:
            counts.salesforce_only += 1
    repo.save_leads(changed)
    progress.pages += 1
    progress.read += len(page)
    progress.leads_updated += len(changed)
    if on_page is not None:
        on_page(progress)


def _first_touch(lead: Lead, activities: list[Activity], now: datetime) -> Lead:
    """The lead with its first sales touch after handoff, from the stored activities (a
    meeting read before it took place counts once it has)."""
    if lead.times.handed_off_at is None or lead.times.first_touch_at is not None:
        return lead
    for activity in activities:
        if activity.occurred_at > now:
            break
        lead = record_touch(lead, activity)
    return lead


def enqueue_handoff(repo: Repository, lead: Lead, change: StageChange) -> int:
    """Queue the handoff of a lead that just became MQL, as the score job does: a Salesforce
    upsert (by external ID) and, for a HubSpot contact, its update. A lead already in
    Salesforce is not handed again, unless it comes back from recycling: that is a new
    cycle, and its Salesforce lead is updated. The key is the lead and the MQL instant, so
    running again queues nothing new. How many rows were queued."""
    if lead.salesforce_id is not None and change.from_stage != "recycled":
        return 0
    at = cursor_text(change.at)
    payload = {"event": "mql", "at": at, "reasons": list(change.reasons)}
    queued = int(
        repo.enqueue("salesforce", "upsert_lead", lead.key, f"{lead.key}:mql:{at}:sf", payload)
    )
    if lead.hubspot_id is not None:
        key = f"{lead.key}:mql:{at}:hs"
        queued += int(repo.enqueue("hubspot", "update_contact", lead.key, key, payload))
    return queued

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
(`handoff_writes`); a lead already in Salesforce is linked, not handed again (unless it
qualifies again after a recycle: a new cycle). Scoring is
recomputed whole on every run, so an interrupted one is simply done again.

Nothing holds all the contacts: the streams go page by page and scoring iterates the store.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import structlog

from connectors.hubspot import HubSpotConnector
from connectors.salesforce import SalesforceConnector
from mappings.fieldmap import load_field_map
from mappings.model import Lead
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
)
from sync.jobs.score import SCORE, SCORE_PAGE, ScoreCounts, score_page

log = structlog.get_logger()


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
        page: dict[str, Lead] = {}
        for lead in repo.leads():
            page[lead.key] = lead
            if len(page) == SCORE_PAGE:
                _score(repo, rules, page, now, counts, progress, on_page)
                page = {}
        if page:
            _score(repo, rules, page, now, counts, progress, on_page)
    return counts


def _score(
    repo: Repository,
    rules: LeadRules,
    page: dict[str, Lead],
    now: datetime,
    counts: ScoreCounts,
    progress: StreamCounts,
    on_page: OnPage | None,
) -> None:
    progress.leads_updated += score_page(repo, rules, page, now, counts)
    progress.pages += 1
    progress.read += len(page)
    if on_page is not None:
        on_page(progress)

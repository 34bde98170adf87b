"""The score job: rescore the leads touched since its last run and apply the definitions.

A lead is touched when its row changed or it gained an activity (ingest, feedback) since the
job's cursor `job.score`. Once a day (the first run after midnight in the config's time
zone) every lead is rescored instead, so time-bound rules (`within`, `half_life`) and MQL
windows move on without new activity. For each lead: the first sales touch after handoff is
taken from its activities, the score and its reasons recomputed, the MQL and SQL
definitions applied (`sync.leads.evaluate`); transitions go to the stage history (source
`score`) and a new MQL gets its handoff outbox rows, all in the page's transaction. The
cursor moves in the last page's transaction: a crash rescoring the same leads again changes
nothing twice (a lead already MQL does not become MQL again; outbox keys are unique). A
run stopped between pages (the daemon is stopping) leaves the cursor, so the next run
scores those leads again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import structlog

from mappings.model import Activity, Lead, StageChange
from state import Cursor, OutboxWrite, Repository
from sync.definitions import LeadRules
from sync.ingest_types import cursor_text, parse_instant
from sync.jobs.context import JobContext, JobCounts
from sync.leads import evaluate, record_touch

SCORE = "score"
SCORE_CURSOR = "job.score"
FULL_RESCORE_CURSOR = "job.score.full"
SCORE_PAGE = 2000
"""Leads scored in one transaction: a crash or a stop repeats at most these. Fewer, larger
pages commit less often, and each commit waits for the disk."""
log = structlog.get_logger()


@dataclass(slots=True)
class ScoreCounts:
    """What a scoring pass found: leads scored, scores that changed, transitions made,
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


def run_score(ctx: JobContext) -> JobCounts:
    """Rescore the touched leads (every lead once a day); the counts."""
    with ctx.store.transaction() as repo:
        cursor = repo.get_cursor(SCORE_CURSOR)
        full = repo.get_cursor(FULL_RESCORE_CURSOR)
        started = ctx.clock()
        today = started.astimezone(ctx.config.tz).date().isoformat()
        everyone = full.value != today
        since = None if everyone or cursor.value is None else parse_instant(cursor.value)
        keys = repo.leads_touched_since(since)
    counts = ScoreCounts()
    for start in range(0, len(keys), SCORE_PAGE):
        if start:  # the pages before are committed; the cursor waits for the last one
            ctx.stop_point(_job_counts(counts, everyone))
        with ctx.store.transaction() as repo:
            page = repo.leads_by_key(keys[start : start + SCORE_PAGE])
            score_page(repo, ctx.rules, page, ctx.clock(), counts)
    with ctx.store.transaction() as repo:
        # Leads this job saved were saved before now: they are not touched again.
        repo.save_cursor(Cursor(SCORE_CURSOR, cursor_text(ctx.clock())))
        if everyone:
            repo.save_cursor(Cursor(FULL_RESCORE_CURSOR, today))
    return _job_counts(counts, everyone)


def _job_counts(counts: ScoreCounts, everyone: bool) -> JobCounts:
    result: JobCounts = Counter(
        scored=counts.scored, rescored=counts.rescored, mql=counts.mqls, sql=counts.sqls
    )
    result["handoffs_queued"] = counts.handoffs_queued
    result["full_rescore"] = int(everyone)
    return result


def score_page(
    repo: Repository,
    rules: LeadRules,
    page: Mapping[str, Lead],
    now: datetime,
    counts: ScoreCounts,
) -> int:
    """Score one page of leads (by key, as `repo`'s transaction read them) in that
    transaction, adding to `counts`; how many leads changed."""
    histories = repo.activities_for_many(page)
    changed: list[Lead] = []
    changes: list[StageChange] = []
    handoffs: list[OutboxWrite] = []
    for lead in page.values():
        activities = histories[lead.key]
        touched = _first_touch(lead, activities, now)
        result = evaluate(rules, touched, activities, now)
        scored = result.lead
        changes.extend(result.changes)
        for change in result.changes:
            if change.to_stage == "mql":
                counts.mqls += 1
                handoffs.extend(handoff_writes(scored, change))
                log.info("score.mql", lead=lead.key, score=scored.score.total)
            elif change.to_stage == "sql":
                counts.sqls += 1
                log.info("score.sql", lead=lead.key, reasons=list(change.reasons))
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
    repo.record_stage_changes(changes, SCORE)
    counts.handoffs_queued += len(repo.enqueue_many(handoffs))
    repo.save_leads(changed, as_read=page)
    return len(changed)


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


def handoff_writes(lead: Lead, change: StageChange) -> list[OutboxWrite]:
    """The handoff of a lead that just became MQL: a Salesforce upsert (by external ID) and,
    for a HubSpot contact, its update. A lead already in Salesforce is not handed again,
    unless it comes back from recycling: that is a new cycle, and its Salesforce lead is
    updated. The key is the lead and the MQL instant, so running again queues nothing new."""
    if lead.salesforce_id is not None and change.from_stage != "recycled":
        return []
    at = cursor_text(change.at)
    payload = {"event": "mql", "at": at, "reasons": list(change.reasons)}
    writes = [
        OutboxWrite("salesforce", "upsert_lead", lead.key, f"{lead.key}:mql:{at}:sf", payload)
    ]
    if lead.hubspot_id is not None:
        key = f"{lead.key}:mql:{at}:hs"
        writes.append(OutboxWrite("hubspot", "update_contact", lead.key, key, payload))
    return writes

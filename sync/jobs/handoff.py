"""The handoff job: drain the outbox into both CRMs.

Salesforce first: each lead queued by the score job (`upsert_lead`) is upserted by its
external ID (the HubSpot contact id, the Salesforce map's `hubspot_id` field) with every
field the Salesforce map writes: name, company, score and its reasons, MQL date, campaign,
status. The Salesforce lead id comes back into the store and the SLA clock starts: the lead
is handed off when Salesforce confirms it, not when it was queued. Then HubSpot: each
contact queued (`update_contact`, by the score job at MQL and by the feedback job) gets the
values the HubSpot map writes back (`WRITE_BACK`), 100 a call, its lifecycle stage cleared
first where it moves back.

Items are read 2,000 at a time and marked done in the transaction that stores what the CRM
answered, so a crash repeats at most that batch, and the repeat is harmless (upserts by
external ID; updates of the same values). A record the CRM refuses is quarantined with the
CRM's own code and message and its item closed; `leadloop errors --replay` queues it
again. A failure of the call itself (the CRM down after the retries, a rate limit or API
budget spent) leaves the items pending for the next run, and so does a daemon stopping
between two batches.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from connectors.errors import RecordFailure
from mappings.fieldmap import FieldMap
from mappings.model import Lead
from state import OutboxItem, Repository
from sync.jobs.context import JobContext, JobCounts
from sync.leads import hand_off
from sync.lifecycle import moves_back

DRAIN_BATCH = 2000
WRITE_BACK = (
    "salesforce_id",
    "salesforce_url",
    "stage",
    "recycle_reason",
    "score.total",
    "score.reasons",
    "times.mql_at",
    "bant.budget",
    "bant.authority",
    "bant.need",
    "bant.timeline",
    "assessment.problem.observed",
    "assessment.solution.observed",
    "assessment.decision.observed",
    "assessment.timeline.observed",
)
"""Canonical fields written back to HubSpot: what leadloop and sales decided. Marketing's
own fields (name, company, ...) belong to HubSpot and are never overwritten from here."""
log = structlog.get_logger()


def run_handoff(ctx: JobContext) -> JobCounts:
    """Upsert the queued Salesforce leads, then update the queued HubSpot contacts."""
    counts: JobCounts = Counter()
    drain_salesforce(ctx, counts)
    drain_hubspot(ctx, counts)
    return counts


def drain_salesforce(ctx: JobContext, counts: JobCounts) -> None:
    """Upsert every due `upsert_lead` item, a batch at a time."""
    sf_map = ctx.maps.salesforce
    key_field = next(f.crm_field for f in sf_map.fields if f.canonical.name == "hubspot_id")
    while True:
        ctx.stop_point(counts)  # between batches: the one before is committed
        with ctx.store.transaction() as repo:
            items = repo.pending_outbox("salesforce", DRAIN_BATCH, ctx.clock())
            leads = repo.leads_by_key(item.lead_key for item in items)
        if not items:
            return
        records: dict[str, dict[str, Any]] = {}
        unkeyed: list[OutboxItem] = []
        for item in items:
            lead = leads.get(item.lead_key)
            if lead is None or lead.hubspot_id is None:
                unkeyed.append(item)
                continue
            records[lead.hubspot_id] = sf_map.from_lead(lead)
        outcome = ctx.salesforce.upsert(sf_map.object, key_field, list(records.values()))
        with ctx.store.transaction() as repo:
            now = ctx.clock()
            by_contact = {lead.hubspot_id: key for key, lead in leads.items() if lead.hubspot_id}
            keys = {w.salesforce_id: by_contact[w.key] for w in outcome.written}
            current = repo.leads_by_key(keys.values())
            holders = repo.find_leads(salesforce_ids=keys)
            confirmed = []
            for salesforce_id, key in keys.items():
                lead = current.get(key)
                holder = holders.lookup(salesforce_id=salesforce_id)
                if lead is not None:
                    confirmed += _confirm(repo, lead, salesforce_id, holder, now, counts)
            repo.save_leads(confirmed)
            _quarantine(
                repo,
                "salesforce",
                "handoff.upsert_lead",
                outcome.failed,
                by_contact,
                records,
                now,
                counts,
            )
            for item in unkeyed:
                _no_contact(repo, item, now, counts)
            repo.mark_done([item.id for item in items], now)
        counts["salesforce_upserted"] += len(outcome.written)
        if len(items) < DRAIN_BATCH:
            return


def _confirm(
    repo: Repository,
    lead: Lead,
    salesforce_id: str,
    holder: Lead | None,
    now: datetime,
    counts: JobCounts,
) -> list[Lead]:
    """Salesforce holds the lead: keep its id and, for an MQL not yet handed off in this
    cycle, start the SLA clock. The lead to save (none when `holder`, the stored lead with
    that Salesforce id, is another lead)."""
    if holder is not None and holder.key != lead.key:
        message = (
            f"Salesforce lead {salesforce_id} is linked to leadloop lead {holder.key} already;"
            f" merge the two leads in Salesforce or clear HubSpot_Contact_Id__c on one"
        )
        repo.quarantine("salesforce", "handoff.link", lead.key, {}, "link_conflict", message, now)
        counts["quarantined"] += 1
        return []
    updated = dataclasses.replace(lead, salesforce_id=lead.salesforce_id or salesforce_id)
    times = updated.times
    mql_at = times.mql_at
    new_cycle = times.handed_off_at is None or (mql_at is not None and times.handed_off_at < mql_at)
    if updated.stage == "mql" and new_cycle:
        if times.first_touch_at is not None:
            updated = dataclasses.replace(
                updated, times=dataclasses.replace(times, first_touch_at=None)
            )
        updated = hand_off(updated, now)
        counts["handed_off"] += 1
        log.info("handoff.confirmed", lead=lead.key, salesforce_id=salesforce_id)
    return [updated]


def _no_contact(repo: Repository, item: OutboxItem, now: datetime, counts: JobCounts) -> None:
    message = (
        "the lead has no HubSpot contact id, which is the upsert key in Salesforce;"
        " it cannot be handed off by leadloop"
    )
    repo.quarantine(
        "salesforce", "handoff.upsert_lead", item.lead_key, {}, "no_external_id", message, now
    )
    counts["quarantined"] += 1


@dataclass(frozen=True, slots=True)
class WriteBack:
    """What the write-back sets on one lead's HubSpot contact, worked out from the lead."""

    contact_id: str
    properties: dict[str, str]
    moves_back: bool

    @classmethod
    def of(cls, hs_map: FieldMap, lead: Lead) -> WriteBack | None:
        """The write-back of `lead`; None for a lead with no HubSpot contact."""
        if lead.hubspot_id is None:
            return None
        return cls(lead.hubspot_id, write_back_values(hs_map, lead), moves_back(lead))


def drain_hubspot(
    ctx: JobContext, counts: JobCounts, known: Mapping[str, WriteBack] | None = None
) -> None:
    """Write every due `update_contact` item back to HubSpot, a batch at a time; one write
    per contact however many items it has.

    `known`: write-backs, by lead key, that the calling job worked out from leads it read
    after their last change; those leads are not read again. Jobs run one at a time, so
    nothing changes a lead between that job's read and this drain."""
    hs_map = ctx.maps.hubspot
    known = known or {}
    while True:
        ctx.stop_point(counts)  # between batches: the one before is committed
        with ctx.store.transaction() as repo:
            items = repo.pending_outbox("hubspot", DRAIN_BATCH, ctx.clock())
            keys = list(dict.fromkeys(item.lead_key for item in items))
            leads = repo.leads_by_key(key for key in keys if key not in known)
        if not items:
            return
        writes: dict[str, WriteBack] = {}  # by lead key
        for key in keys:
            lead = leads.get(key)
            write = known.get(key) or (None if lead is None else WriteBack.of(hs_map, lead))
            if write is not None:
                writes[key] = write
        updates = {write.contact_id: write.properties for write in writes.values()}
        moving_back = [write.contact_id for write in writes.values() if write.moves_back]
        outcome = ctx.hubspot.update_contacts(updates, clear_lifecycle_first=moving_back)
        with ctx.store.transaction() as repo:
            now = ctx.clock()
            by_contact = {write.contact_id: key for key, write in writes.items()}
            _quarantine(
                repo,
                "hubspot",
                "writeback.update_contact",
                outcome.failed,
                by_contact,
                updates,
                now,
                counts,
            )
            repo.mark_done([item.id for item in items], now)
        counts["written_back"] += len(outcome.written)
        if len(items) < DRAIN_BATCH:
            return


def _quarantine(
    repo: Repository,
    system: str,
    operation: str,
    failures: Sequence[RecordFailure],
    by_contact: Mapping[str, str],
    payloads: Mapping[str, Mapping[str, Any]],
    now: datetime,
    counts: JobCounts,
) -> None:
    """Quarantine the records a CRM refused, each with its own error, under its lead
    (`by_contact`: lead keys by the HubSpot contact id the records are keyed by)."""
    for failure in failures:
        key = by_contact.get(failure.key, failure.key)
        payload = payloads.get(failure.key, {})
        repo.quarantine(system, operation, key, payload, failure.code, failure.message, now)
        counts["quarantined"] += 1


def write_back_values(hs_map: FieldMap, lead: Lead) -> dict[str, str]:
    """The HubSpot properties the write-back sets for `lead`, as HubSpot takes them."""
    values = hs_map.from_lead(lead, only=WRITE_BACK)
    return {name: hubspot_text(value) for name, value in values.items()}


def hubspot_text(value: object) -> str:
    """A value as HubSpot's property API takes it: text, `true`/`false`, '' to clear."""
    if type(value) is str:  # what the HubSpot map's values already are
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)

"""The Salesforce activity and deal streams: Tasks, Events and Opportunities.

Each reads its sObject from its cursor (`salesforce.Task`, `salesforce.Event`,
`salesforce.Opportunity`) with `ingest_soql.read_sobject`. The Leads stream, which links
the leads these point at, is `ingest_salesforce_leads`. Nothing is written to either CRM.

- Completed Tasks (Type Call, Email, Meeting) and Events whose `WhoId` is a known lead are
  sales activities (`call`, `sales_email`, `meeting`) keyed `salesforce:task:<Id>` /
  `salesforce:event:<Id>`, at the task's creation (when the call was logged) or the event's
  start; the first one after handoff, and not in the future, is the lead's first touch.
- Closed Opportunities are matched to leads through `Lead.ConvertedOpportunityId` (one
  extra query per 200 closed opportunities, outside the transaction) and close the lead won
  or lost (`sync.leads.close`) at the opportunity's last change, with its amount.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import structlog

from connectors.salesforce import SalesforceConnector
from connectors.salesforce.soql import in_list, select
from mappings.model import Activity, ActivityDetail, Lead, SalesActivityKind, StageChange
from state import Repository, Store
from sync.ingest_soql import Handler, Record, read_sobject
from sync.ingest_stages import follow_sales
from sync.ingest_types import (
    Clock,
    FieldMaps,
    IngestOptions,
    OnPage,
    StreamCounts,
    parse_instant,
)
from sync.leads import close, record_touch

TASKS = "salesforce.Task"
EVENTS = "salesforce.Event"
OPPORTUNITIES = "salesforce.Opportunity"
IDS_PER_QUERY = 200
TASK_KINDS: dict[str, SalesActivityKind] = {
    "Call": "call",
    "Email": "sales_email",
    "Meeting": "meeting",
}
log = structlog.get_logger()


def _touch_handler(
    prefix: str, what: Callable[[Record], tuple[SalesActivityKind, Any] | None]
) -> Handler:
    def handle(
        repo: Repository,
        records: list[Record],
        counts: StreamCounts,
        now: datetime,
        _: Mapping[str, str],
    ) -> None:
        index = repo.find_leads(salesforce_ids=[str(r["WhoId"]) for r in records if r.get("WhoId")])
        current: dict[str, Lead] = {}
        activities: list[Activity] = []
        for record in records:
            who = record.get("WhoId")
            lead = index.lookup(salesforce_id=str(who)) if who else None
            if lead is None:
                counts.unmatched += 1
                continue
            lead = current.get(lead.key, lead)
            touch = what(record)
            if touch is None:
                counts.skipped += 1
                continue
            kind, raw_at = touch
            try:
                at = parse_instant(raw_at)
            except (TypeError, ValueError) as exc:
                key = str(record["Id"])
                repo.quarantine(
                    "salesforce", f"ingest.{prefix}", key, record, "mapping", str(exc), now
                )
                counts.quarantined += 1
                continue
            activity = Activity(
                lead_key=lead.key,
                kind=kind,
                occurred_at=at,
                detail=ActivityDetail(name=record.get("Subject") or None),
                dedupe_key=f"salesforce:{prefix}:{record['Id']}",
            )
            activities.append(activity)
            if at <= now:
                touched = record_touch(lead, activity)
                if touched != lead:
                    current[lead.key] = touched
        counts.activities_added += repo.add_activities(activities)
        repo.save_leads(current.values())
        counts.leads_updated += len(current)

    return handle


def _task(record: Record) -> tuple[SalesActivityKind, Any] | None:
    kind = TASK_KINDS.get(str(record.get("Type") or ""))
    if kind is None or record.get("Status") != "Completed":
        return None
    return kind, record.get("CreatedDate")


def _event(record: Record) -> tuple[SalesActivityKind, Any] | None:
    return "meeting", record.get("ActivityDateTime") or record.get("CreatedDate")


def ingest_tasks(
    store: Store,
    salesforce: SalesforceConnector,
    maps: FieldMaps,
    clock: Clock,
    options: IngestOptions | None = None,
    on_page: OnPage | None = None,
) -> StreamCounts:
    """Read the Tasks changed since the cursor into sales activities; the counts."""
    fields = ("WhoId", "Type", "Status", "Subject", "CreatedDate")
    handle = _touch_handler("task", _task)
    return read_sobject(
        store, salesforce, TASKS, fields, clock, options or IngestOptions(), on_page, handle
    )


def ingest_events(
    store: Store,
    salesforce: SalesforceConnector,
    maps: FieldMaps,
    clock: Clock,
    options: IngestOptions | None = None,
    on_page: OnPage | None = None,
) -> StreamCounts:
    """Read the Events changed since the cursor into meetings; the counts."""
    fields = ("WhoId", "Subject", "ActivityDateTime", "CreatedDate")
    handle = _touch_handler("event", _event)
    return read_sobject(
        store, salesforce, EVENTS, fields, clock, options or IngestOptions(), on_page, handle
    )


# opportunities -----------------------------------------------------------------------------


def ingest_opportunities(
    store: Store,
    salesforce: SalesforceConnector,
    maps: FieldMaps,
    clock: Clock,
    options: IngestOptions | None = None,
    on_page: OnPage | None = None,
) -> StreamCounts:
    """Read the Opportunities changed since the cursor; closed ones close their lead."""
    fields = ("IsClosed", "IsWon", "Amount", "LastModifiedDate")

    def converted_from(records: list[Record]) -> dict[str, str]:
        closed = sorted({str(r["Id"]) for r in records if r.get("IsClosed")})
        found: dict[str, str] = {}
        for start in range(0, len(closed), IDS_PER_QUERY):
            chunk = closed[start : start + IDS_PER_QUERY]
            soql = select(
                "Lead",
                ("Id", "ConvertedOpportunityId"),
                where=f"ConvertedOpportunityId IN {in_list(chunk)}",
            )
            for page in salesforce.query(soql):
                for lead in page:
                    found[str(lead["ConvertedOpportunityId"])] = str(lead["Id"])
        return found

    return read_sobject(
        store,
        salesforce,
        OPPORTUNITIES,
        fields,
        clock,
        options or IngestOptions(),
        on_page,
        _close_leads,
        prepare=converted_from,
    )


def _close_leads(
    repo: Repository,
    records: list[Record],
    counts: StreamCounts,
    now: datetime,
    converted_from: Mapping[str, str],
) -> None:
    index = repo.find_leads(salesforce_ids=converted_from.values())
    current: dict[str, Lead] = {}
    changes: list[StageChange] = []
    for record in records:
        if not record.get("IsClosed"):
            counts.skipped += 1  # an open deal: the lead's conversion already said so
            continue
        sf_lead = converted_from.get(str(record["Id"]))
        lead = index.lookup(salesforce_id=sf_lead) if sf_lead else None
        if lead is None:
            counts.unmatched += 1
            continue
        lead = current.get(lead.key, lead)
        if lead.stage in ("won", "lost"):
            counts.skipped += 1
            continue
        try:
            at = parse_instant(record.get("LastModifiedDate") or record["SystemModstamp"])
            amount = None if record.get("Amount") is None else Decimal(str(record["Amount"]))
        except (ValueError, InvalidOperation) as exc:
            key = str(record["Id"])
            repo.quarantine(
                "salesforce", "ingest.opportunity", key, record, "mapping", str(exc), now
            )
            counts.quarantined += 1
            continue
        moved, steps = follow_sales(
            lead, "opportunity", None, handed_off_at=at, changed_at=at, record=str(sf_lead)
        )
        if moved.stage not in ("sql", "opportunity"):
            counts.skipped += 1
            continue
        closed, closing = close(moved, bool(record.get("IsWon")), amount, at)
        changes.extend([*steps, *closing])
        current[lead.key] = closed
    repo.save_leads(current.values())
    for change in changes:
        repo.record_stage_change(change, "salesforce")
    counts.stage_changes += len(changes)
    counts.leads_updated += len(current)

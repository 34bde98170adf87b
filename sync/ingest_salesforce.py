"""The Salesforce streams: Leads, Tasks, Events and Opportunities changed since their cursors.

Each stream reads its sObject by `SystemModstamp` (SOQL, 2,000 a page, oldest first) from
its cursor (`salesforce.Lead`, `salesforce.Task`, `salesforce.Event`,
`salesforce.Opportunity`: the highest SystemModstamp read and the Ids read at it, see
`state.cursors`); each page is stored, and the cursor moved over it, in one transaction.
Nothing is written to either CRM here.

- Leads (queryAll, so deleted and merged-away leads come too) are read with the Salesforce
  map and linked to a stored lead by `HubSpot_Contact_Id__c` (the map's `hubspot_id`), then
  the Salesforce Id, then the e-mail address (only a lead not linked to another Salesforce
  lead); a lead found nowhere is a new, Salesforce-only lead. Values are merged by
  `ingest_merge`; sales' observations on the four axes go through `sync.leads.observe`
  (corrections recorded); the stage follows the Salesforce lead (`ingest_stages`). A lead
  whose `HubSpot_Contact_Id__c` names a lead linked to another Salesforce lead is
  quarantined (`link_conflict`) for a person to sort out.
- A deleted lead is unlinked: the stored lead keeps its history and loses its Salesforce
  Id. A lead merged into another moves its link to the surviving lead when no stored lead
  holds that one yet; otherwise it is unlinked too.
- Completed Tasks (Type Call, Email, Meeting) and Events whose `WhoId` is a known lead are
  sales activities (`call`, `sales_email`, `meeting`) keyed `salesforce:task:<Id>` /
  `salesforce:event:<Id>`, at the task's creation (when the call was logged) or the event's
  start; the first one after handoff, and not in the future, is the lead's first touch.
- Closed Opportunities are matched to leads through `Lead.ConvertedOpportunityId` (one
  extra query per 200 closed opportunities) and close the lead won or lost
  (`sync.leads.close`) at the opportunity's last change, with its amount.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, get_args

import structlog

from connectors.salesforce import SalesforceConnector
from connectors.salesforce.soql import in_list, select
from mappings.exceptions import RecordMappingError
from mappings.model import (
    AXES,
    Activity,
    ActivityDetail,
    Axis,
    Lead,
    LeadTimes,
    SalesActivityKind,
    Stage,
    StageChange,
)
from state import Repository, Store, advance, is_new
from sync.ingest_hubspot import new_lead_key
from sync.ingest_merge import ASSESSMENT_OBSERVED, merge
from sync.ingest_stages import follow_sales
from sync.ingest_types import (
    CallMeter,
    Clock,
    FieldMaps,
    IngestOptions,
    LeadLookup,
    OnPage,
    StreamCounts,
    cursor_text,
    parse_instant,
    start_from,
)
from sync.leads import close, observe, record_touch

LEADS = "salesforce.Lead"
TASKS = "salesforce.Task"
EVENTS = "salesforce.Event"
OPPORTUNITIES = "salesforce.Opportunity"
IDS_PER_QUERY = 200
TASK_KINDS: dict[str, SalesActivityKind] = {
    "Call": "call",
    "Email": "sales_email",
    "Meeting": "meeting",
}
Record = dict[str, Any]
Handler = Callable[[Repository, list[Record], StreamCounts, datetime, dict[str, str]], None]
log = structlog.get_logger()


def _stream(
    store: Store,
    salesforce: SalesforceConnector,
    stream: str,
    fields: Iterable[str],
    clock: Clock,
    options: IngestOptions,
    on_page: OnPage | None,
    handle: Handler,
    *,
    include_deleted: bool = False,
    prepare: Callable[[list[Record]], dict[str, str]] | None = None,
) -> StreamCounts:
    """Read one sObject from its cursor, page by page, each page stored with its cursor."""
    sobject = stream.partition(".")[2]
    with store.transaction() as repo:
        cursor = repo.get_cursor(stream)
    start = start_from(cursor.value, timedelta(0), options.since)
    counts = StreamCounts(stream)
    meter = CallMeter(salesforce.usage)
    pages = salesforce.changed(
        sobject, list(dict.fromkeys(fields)), start, include_deleted=include_deleted
    )
    for page in pages:
        counts.read += len(page)
        stamps = [(str(r["Id"]), cursor_text(parse_instant(r["SystemModstamp"]))) for r in page]
        fresh = [r for r, (i, v) in zip(page, stamps, strict=True) if is_new(cursor, i, v)]
        counts.skipped += len(page) - len(fresh)
        context = prepare(fresh) if prepare is not None and fresh else {}
        with store.transaction() as repo:
            if fresh:
                handle(repo, fresh, counts, clock(), context)
            cursor = advance(cursor, stamps)
            repo.save_cursor(cursor)
        counts.pages += 1
        counts.api_calls = meter.calls()
        if on_page is not None:
            on_page(counts)
    counts.api_calls = meter.calls()
    log.info("ingest.stream_done", stream=stream, **counts.totals())
    return counts


# leads -------------------------------------------------------------------------------------


def ingest_leads(
    store: Store,
    salesforce: SalesforceConnector,
    maps: FieldMaps,
    clock: Clock,
    options: IngestOptions | None = None,
    on_page: OnPage | None = None,
) -> StreamCounts:
    """Read the Leads changed since the cursor (deleted and merged ones too); the counts."""
    extra = ("CreatedDate", "LastModifiedDate", "ConvertedOpportunityId", "MasterRecordId")
    fields = [*maps.salesforce.read_fields, *extra]

    def handle(
        repo: Repository, records: list[Record], counts: StreamCounts, now: datetime, _: Any
    ) -> None:
        _LeadPage(repo, maps, counts, now).store(records)

    return _stream(
        store,
        salesforce,
        LEADS,
        fields,
        clock,
        options or IngestOptions(),
        on_page,
        handle,
        include_deleted=True,
    )


class _LeadPage:
    def __init__(
        self, repo: Repository, maps: FieldMaps, counts: StreamCounts, now: datetime
    ) -> None:
        self.repo = repo
        self.maps = maps
        self.counts = counts
        self.now = now
        self.current: dict[str, Lead] = {}
        self.changes: list[StageChange] = []

    def store(self, records: list[Record]) -> None:
        live: list[tuple[Record, dict[str, Any]]] = []
        gone = [r for r in records if r.get("IsDeleted")]
        for record in records:
            if record.get("IsDeleted"):
                continue
            try:
                live.append((record, self.maps.salesforce.to_values(record)))
            except RecordMappingError as exc:
                self._quarantine(record, "mapping", str(exc))
        masters = [str(r["MasterRecordId"]) for r in gone if r.get("MasterRecordId")]
        index = self.repo.find_leads(
            hubspot_ids=[str(v["hubspot_id"]) for _, v in live if v.get("hubspot_id")],
            salesforce_ids=[*(str(r["Id"]) for r in records), *masters],
            emails=[str(v["email"]) for _, v in live if v.get("email")],
        )
        for record, values in live:
            self._live(index, record, values)
        for record in gone:
            self._gone(index, record)
        self.repo.save_leads(self.current.values())
        for change in self.changes:
            self.repo.record_stage_change(change, "salesforce")
        self.counts.stage_changes += len(self.changes)

    def _latest(self, lead: Lead | None) -> Lead | None:
        return None if lead is None else self.current.get(lead.key, lead)

    def _match(self, index: LeadLookup, sf_id: str, values: Mapping[str, Any]) -> Lead | None:
        hubspot_id = values.get("hubspot_id")
        if hubspot_id:
            lead = self._latest(index.lookup(hubspot_id=str(hubspot_id)))
            if lead is not None:
                if lead.salesforce_id not in (None, sf_id):
                    raise _LinkConflictError(
                        f"HubSpot contact {hubspot_id} is linked to Salesforce lead"
                        f" {lead.salesforce_id} already (leadloop lead {lead.key}); merge the"
                        f" two Salesforce leads or clear HubSpot_Contact_Id__c on one"
                    )
                return lead
        lead = self._latest(index.lookup(salesforce_id=sf_id))
        if lead is not None:
            return lead
        email = values.get("email")
        lead = self._latest(index.lookup(email=str(email))) if email else None
        if (
            lead is not None
            and lead.salesforce_id is None
            and (not hubspot_id or lead.hubspot_id in (None, str(hubspot_id)))
        ):
            return lead
        return None

    def _live(self, index: LeadLookup, record: Record, values: dict[str, Any]) -> None:
        sf_id = str(record["Id"])
        try:
            found = self._match(index, sf_id, values)
            created = parse_instant(record["CreatedDate"])
            changed = parse_instant(record.get("LastModifiedDate") or record["SystemModstamp"])
        except _LinkConflictError as exc:
            self._quarantine(record, "link_conflict", str(exc))
            return
        except (KeyError, ValueError) as exc:
            self._quarantine(record, "mapping", f"CreatedDate/LastModifiedDate: {exc}")
            return
        base = found or Lead(key=new_lead_key(), times=LeadTimes(first_seen=created))
        hubspot_id = base.hubspot_id
        if hubspot_id is None and values.get("hubspot_id"):
            holder = index.lookup(hubspot_id=str(values["hubspot_id"]))
            hubspot_id = str(values["hubspot_id"]) if holder is None else None
        lead = merge(base, values, "salesforce", self.maps, skip=ASSESSMENT_OBSERVED)
        lead = dataclasses.replace(
            lead, salesforce_id=base.salesforce_id or sf_id, hubspot_id=hubspot_id
        )
        observed: dict[Axis, str] = {}
        for axis in AXES:
            value = values.get(f"assessment.{axis}.observed")
            if value is not None:
                observed[axis] = str(value)
        lead, corrections = observe(lead, observed, changed, source="salesforce")
        for correction in corrections:
            self.repo.record_correction(correction)
        stage = values.get("stage")
        lead, changes = follow_sales(
            lead,
            _stage(stage),
            values.get("recycle_reason"),
            handed_off_at=created,
            changed_at=changed,
            record=sf_id,
        )
        self.changes.extend(changes)
        if found is None:
            self.counts.leads_created += 1
        elif lead != found:
            self.counts.leads_updated += 1
        self.current[lead.key] = lead
        index.add(lead)

    def _gone(self, index: LeadLookup, record: Record) -> None:
        sf_id = str(record["Id"])
        lead = self._latest(index.lookup(salesforce_id=sf_id))
        if lead is None or lead.salesforce_id != sf_id:
            self.counts.skipped += 1
            return
        master = record.get("MasterRecordId")
        holder = self._latest(index.lookup(salesforce_id=str(master))) if master else None
        link = str(master) if master and (holder is None or holder.key == lead.key) else None
        moved = dataclasses.replace(lead, salesforce_id=link)
        self.current[lead.key] = moved
        if link is None:
            self.counts.unlinked += 1
        else:
            self.counts.leads_updated += 1
        log.info(
            "ingest.salesforce_lead_gone",
            lead=lead.key,
            record=sf_id,
            merged_into=master,
            linked_to=link,
        )

    def _quarantine(self, record: Record, code: str, message: str) -> None:
        key = str(record.get("Id") or "")
        self.repo.quarantine("salesforce", "ingest.lead", key, record, code, message, self.now)
        self.counts.quarantined += 1
        log.warning("ingest.quarantined", stream=LEADS, record=key, error=message)


class _LinkConflictError(Exception):
    """A Salesforce lead names a HubSpot contact whose lead is linked elsewhere."""


def _stage(value: Any) -> Stage | None:
    stages: tuple[Stage, ...] = get_args(Stage)
    return next((s for s in stages if s == value), None)


# tasks and events --------------------------------------------------------------------------


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
    return _stream(
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
    return _stream(
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

    return _stream(
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

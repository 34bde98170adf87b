"""The Salesforce Leads stream (cursor `salesforce.Lead`): linking, merging, following sales.

Leads are read with queryAll, so deleted and merged-away leads come too.

- A lead is read with the Salesforce map and linked to a stored lead by
  `HubSpot_Contact_Id__c` (the map's `hubspot_id`), then the Salesforce Id, then the e-mail
  address (only a lead not linked to another Salesforce lead); a lead found nowhere is a
  new, Salesforce-only lead. Values are merged by `ingest_merge`; sales' observations on
  the four axes go through `sync.leads.observe` (corrections recorded); the stage follows
  the Salesforce lead (`ingest_stages`). A lead whose `HubSpot_Contact_Id__c` names a lead
  linked to another Salesforce lead is quarantined (`link_conflict`) for a person to sort
  out.
- A deleted lead is unlinked: the stored lead keeps its history and loses its Salesforce
  Id. A lead merged into another moves its link to the surviving lead when no stored lead
  holds that one yet; otherwise it is unlinked too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any, get_args

import structlog

from connectors.salesforce import SalesforceConnector
from mappings.exceptions import RecordMappingError
from mappings.model import AXES, Axis, Lead, LeadTimes, Stage, StageChange
from state import Repository, Store
from sync.ingest_merge import ASSESSMENT_OBSERVED, merge
from sync.ingest_soql import Record, read_sobject
from sync.ingest_stages import follow_sales
from sync.ingest_types import (
    Clock,
    FieldMaps,
    IngestOptions,
    LeadLookup,
    OnPage,
    StreamCounts,
    new_lead_key,
    parse_instant,
)
from sync.leads import observe

LEADS = "salesforce.Lead"
log = structlog.get_logger()


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

    return read_sobject(
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
    """One page of Salesforce leads, stored in the page's transaction."""

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

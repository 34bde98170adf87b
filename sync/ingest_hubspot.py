"""The HubSpot contacts stream: contacts with their form and page activity (e-mail events:
`sync.ingest_email`).

## Contacts (cursor `hubspot.contacts`)

Contacts changed since the cursor minus the lag are searched 200 a page, oldest first. For
each page, in order:

1. a short read transaction looks the page up (HubSpot id, then e-mail) and decides which
   contacts have activity not stored yet: the form of the current `recent_conversion_*`
   values is not among the stored dedupe keys, or `hs_analytics_last_url` is not the URL of
   the lead's latest stored page view, or the lead is new and has either;
2. outside any transaction, the property history of those contacts is read, 50 a call.
   Contacts waiting for history are pooled across pages, so M contacts with new activity
   cost ceil(M/50) calls however they fall on pages; a page waits (unstored) until its
   contacts' history is in;
3. one write transaction stores the pages read, `IngestOptions.store_batch` (1,000)
   contacts or more at a time, as each commit waits for the disk: leads created or updated
   (`ingest_merge`), activities added (de-duplicated by key), unreadable records
   quarantined with the map's error (the batch goes on), the write-back queued again for a
   contact that lost the lifecycle stage leadloop moved back (`_lifecycle_lost`), and the
   cursor moved over the last of those pages.

The cursor's value is the highest `lastmodifieddate` read; its boundary keys are the
`<id>:<epoch ms>` of the records read within the lag window below it (at most
`IngestOptions.window_keys`), so the lag re-read skips them without any work. Past that cap,
or after the window, a re-read record is simply processed again: its activity is found
stored, so it costs no history call, and its lead is unchanged.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog

from connectors.hubspot import HubSpotConnector
from connectors.hubspot.contacts import modified_ms
from connectors.hubspot.writes import LIFECYCLE
from mappings.activities import ActivityClassifier
from mappings.exceptions import RecordMappingError
from mappings.model import Activity, Lead
from state import Cursor, Repository, Store
from sync.ingest_merge import merge
from sync.ingest_types import (
    EPOCH,
    CallMeter,
    Clock,
    FieldMaps,
    IngestOptions,
    LeadLookup,
    OnPage,
    StreamCounts,
    cursor_text,
    new_lead_key,
    parse_instant,
    start_from,
)
from sync.lifecycle import first_seen, moves_back

CONTACTS = "hubspot.contacts"
HISTORY_BATCH = 50
Record = dict[str, Any]
History = dict[str, list[dict[str, Any]]]
LIFECYCLE_LOST = {"event": "lifecycle_lost"}
"""The payload of a write-back queued again because HubSpot lost the lifecycle stage."""
log = structlog.get_logger()


@dataclass
class _Window:
    """The `<id>:<ms>` keys read within the lag window, and the highest modification read.

    Keeps the keys no older than `lag_ms` before the highest modification, at most `limit`
    of them: the latest by time, then key. A heap orders them for eviction, so a page
    costs its own keys, not the whole window."""

    lag_ms: int
    limit: int
    top: int | None = None
    seen: dict[str, int] = field(default_factory=dict)
    _oldest_first: list[tuple[int, str]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._oldest_first = [(ms, key) for key, ms in self.seen.items()]
        heapq.heapify(self._oldest_first)
        self._evict()

    @classmethod
    def of(cls, cursor: Cursor, options: IngestOptions) -> _Window:
        lag_ms = int(options.lag.total_seconds() * 1000)
        top = None if cursor.value is None else _ms(parse_instant(cursor.value))
        seen = {}
        for key in cursor.boundary_keys:
            _, _, ms = key.rpartition(":")
            if ms.isdigit():
                seen[key] = int(ms)
        return cls(lag_ms, options.window_keys, top, seen)

    def is_new(self, key: str) -> bool:
        return key not in self.seen

    def add(self, keys: Iterable[tuple[str, int]]) -> None:
        for key, ms in keys:
            if key not in self.seen:
                self.seen[key] = ms
                heapq.heappush(self._oldest_first, (ms, key))
            if self.top is None or ms > self.top:
                self.top = ms
        self._evict()

    def _evict(self) -> None:
        if self.top is None:
            return
        floor = self.top - self.lag_ms
        heap, seen = self._oldest_first, self.seen
        while heap and (heap[0][0] < floor or len(seen) > self.limit):
            _, key = heapq.heappop(heap)
            del seen[key]

    def cursor(self) -> Cursor:
        if self.top is None:
            return Cursor(CONTACTS)
        value = cursor_text(EPOCH + timedelta(milliseconds=self.top))
        return Cursor(CONTACTS, value, frozenset(self.seen))


@dataclass
class _Page:
    records: list[Record]
    cursor: Cursor
    needs: set[str]


def ingest_contacts(
    store: Store,
    hubspot: HubSpotConnector,
    maps: FieldMaps,
    clock: Clock,
    options: IngestOptions | None = None,
    on_page: OnPage | None = None,
    stopping: Callable[[], bool] | None = None,
) -> StreamCounts:
    """Read the contacts changed since the cursor into leads and activities; the counts.
    Once `stopping` says so, the pages read are stored at once, without waiting for a
    whole `store_batch`, so that `on_page` can stop the run a page later at most."""
    options = options or IngestOptions()
    classifier = maps.hubspot.activities or ActivityClassifier()
    spec = classifier.spec
    history_properties = [spec.form_name_property, spec.form_date_property]
    if spec.page_view_property is not None:
        history_properties.append(spec.page_view_property)
    properties = list(dict.fromkeys([*maps.hubspot.read_fields, *history_properties, LIFECYCLE]))
    with store.transaction() as repo:
        cursor = repo.get_cursor(CONTACTS)
    window = _Window.of(cursor, options)
    start = start_from(cursor.value, options.lag, options.since)
    counts = StreamCounts(CONTACTS)
    meter = CallMeter(hubspot.usage)
    job = _ContactJob(
        store, hubspot, maps, classifier, clock, counts, history_properties, options.store_batch
    )

    def page_done() -> None:
        counts.api_calls = meter.calls()
        if on_page is not None:
            on_page(counts)

    pages = hubspot.changed_contacts(start, properties, page_size=options.hubspot_page_size)
    for page in pages:
        counts.read += len(page)
        keys = [(f"{record['id']}:{modified_ms(record)}", modified_ms(record)) for record in page]
        fresh = [record for record, (key, _) in zip(page, keys, strict=True) if window.is_new(key)]
        counts.skipped += len(page) - len(fresh)
        window.add(keys)
        job.queue(_Page(fresh, window.cursor(), set()))
        job.fetch(complete_only=True)
        job.flush(page_done, last=stopping is not None and stopping())
    job.fetch(complete_only=False)
    job.flush(page_done, last=True)
    counts.api_calls = meter.calls()
    log.info("ingest.stream_done", stream=CONTACTS, **counts.totals())
    return counts


class _ContactJob:
    """The pages read and not stored yet, and the contacts whose history they wait for."""

    def __init__(
        self,
        store: Store,
        hubspot: HubSpotConnector,
        maps: FieldMaps,
        classifier: ActivityClassifier,
        clock: Clock,
        counts: StreamCounts,
        history_properties: list[str],
        store_batch: int,
    ) -> None:
        self.store = store
        self.hubspot = hubspot
        self.maps = maps
        self.classifier = classifier
        self.clock = clock
        self.counts = counts
        self.history_properties = history_properties
        self.pending: deque[_Page] = deque()
        self.wanted: dict[str, None] = {}
        self.fetched: dict[str, History] = {}
        self.store_batch = store_batch

    def queue(self, page: _Page) -> None:
        if page.records:
            with self.store.transaction() as repo:
                page.needs = self._needing_history(repo, page.records)
        for contact_id in page.needs:
            if contact_id not in self.fetched:
                self.wanted[contact_id] = None
        self.pending.append(page)

    def fetch(self, *, complete_only: bool) -> None:
        """Read the history of the contacts waiting: full batches only, or all of them."""
        count = len(self.wanted)
        if complete_only:
            count -= count % HISTORY_BATCH
        if count <= 0:
            return
        ids = list(self.wanted)[:count]
        found = self.hubspot.property_history(ids, self.history_properties)
        self.counts.history_read += len(ids)
        for contact_id in ids:
            self.fetched[contact_id] = found.get(contact_id, {})
            del self.wanted[contact_id]

    def flush(self, page_done: Callable[[], None], *, last: bool = False) -> None:
        """Store the pages, in order, whose contacts' history is in, in transactions of
        `store_batch` contacts or more: fewer commits, each of which waits for the disk.
        The `last` flush stores what is left."""
        while True:
            ready: list[_Page] = []
            contacts = 0
            for page in self.pending:
                if contacts >= self.store_batch or not all(i in self.fetched for i in page.needs):
                    break
                ready.append(page)
                contacts += len(page.records)
            if not ready or (contacts < self.store_batch and not last):
                return
            self._store(ready)
            for _ in ready:
                self.pending.popleft()
            still_needed = set().union(*(p.needs for p in self.pending))
            for page in ready:
                for contact_id in page.needs - still_needed:
                    self.fetched.pop(contact_id, None)
            for _ in ready:
                self.counts.pages += 1
                page_done()

    def _needing_history(self, repo: Repository, records: list[Record]) -> set[str]:
        """The contacts whose form or page-view history must be read: those showing a form
        submission not stored yet, or a last page view other than the latest stored for
        their lead. A contact not linked to a lead yet needs it if it shows either."""
        spec = self.classifier.spec
        current_forms: dict[str, list[str]] = {}
        page_urls: dict[str, str] = {}
        broken: set[str] = set()
        for record in records:
            contact_id = str(record["id"])
            properties = record.get("properties") or {}
            try:
                now_form = self.classifier.contact_activities(
                    {"id": contact_id, "properties": properties}, ""
                )
            except RecordMappingError:
                now_form = []
                broken.add(contact_id)  # its history is read; still unreadable: quarantined
            current_forms[contact_id] = [a.dedupe_key for a in now_form]
            url = properties.get(spec.page_view_property) if spec.page_view_property else None
            if url:
                page_urls[contact_id] = str(url)
        known = repo.known_dedupe_keys(k for keys in current_forms.values() for k in keys)
        latest_url = repo.latest_page_views(page_urls)
        needs: set[str] = set(broken)
        for contact_id, forms in current_forms.items():
            url = page_urls.get(contact_id)
            if any(k not in known for k in forms) or (url and latest_url[contact_id] != url):
                needs.add(contact_id)
        return needs

    def _store(self, pages: list[_Page]) -> None:
        """Store `pages` in one transaction that moves the cursor over the last of them."""
        counts, maps = self.counts, self.maps
        records = [record for page in pages for record in page.records]
        needs = set().union(*(page.needs for page in pages))
        with self.store.transaction() as repo:
            now = self.clock()
            index = _lookup(repo, records)
            as_read = index.by_key()
            current: dict[str, Lead] = {}
            activities: list[Activity] = []
            for record in records:
                contact_id = str(record["id"])
                properties = record.get("properties") or {}
                try:
                    values = maps.hubspot.to_values(record)
                    created_at = record.get("createdAt")
                    created = parse_instant(created_at) if created_at else now
                    found = _match(index, contact_id, properties.get("email"))
                    if found is not None:
                        found = current.get(found.key, found)
                    lead = found or Lead(key=new_lead_key())
                    contact: Record = {"id": contact_id, "properties": properties}
                    if contact_id in needs:
                        contact["propertiesWithHistory"] = self.fetched.get(contact_id, {})
                        activities.extend(self.classifier.contact_activities(contact, lead.key))
                except (RecordMappingError, ValueError) as exc:
                    repo.quarantine(
                        "hubspot", "ingest.contact", contact_id, record, "mapping", str(exc), now
                    )
                    counts.quarantined += 1
                    log.warning(
                        "ingest.quarantined", stream=CONTACTS, record=contact_id, error=str(exc)
                    )
                    continue
                updated = merge(lead, values, "hubspot", maps, skip=frozenset())
                times = first_seen(updated.times, created)
                if updated.hubspot_id != contact_id or times is not updated.times:
                    updated = dataclasses.replace(updated, hubspot_id=contact_id, times=times)
                if found is None:
                    counts.leads_created += 1
                elif updated != found:
                    counts.leads_updated += 1
                if found is not None and _lifecycle_lost(maps, updated, properties):
                    key = f"{updated.key}:lifecycle:{modified_ms(record)}"
                    repo.enqueue("hubspot", "update_contact", updated.key, key, LIFECYCLE_LOST)
                    log.info("ingest.lifecycle_lost", lead=updated.key, record=contact_id)
                current[updated.key] = updated
                index.add(updated)
            repo.save_leads(current.values(), as_read=as_read)
            counts.activities_added += repo.add_activities(activities)
            repo.save_cursor(pages[-1].cursor)


def _lifecycle_lost(maps: FieldMaps, lead: Lead, properties: dict[str, Any]) -> bool:
    """Whether HubSpot shows no lifecycle stage for a lead whose stage leadloop moves back
    there in two writes (clear, then set: `update_contacts(clear_lifecycle_first=...)`).

    The clearing write can take effect after the setting one: a first attempt that timed out
    is retried, and HubSpot may still apply the original after the second write. The
    contact is then left with no stage; reading it here queues its write-back again."""
    if not moves_back(lead) or lead.hubspot_id is None or properties.get(LIFECYCLE):
        return False
    return bool(maps.hubspot.from_lead(lead, only=["stage"]).get(LIFECYCLE))


def _lookup(repo: Repository, records: list[Record]) -> LeadLookup:
    """The leads of a page of contacts: by HubSpot id, then by e-mail for the contacts not
    linked yet (the e-mail of a linked contact is never used to find its lead)."""
    ids = [str(record["id"]) for record in records]
    index = repo.find_leads(hubspot_ids=ids)
    emails = [
        str(email)
        for contact_id, record in zip(ids, records, strict=True)
        if index.lookup(hubspot_id=contact_id) is None
        and (email := (record.get("properties") or {}).get("email"))
    ]
    if emails:
        for lead in repo.find_leads(emails=emails).by_key().values():
            index.add(lead)
    return index


def _match(index: LeadLookup, contact_id: str, email: Any) -> Lead | None:
    """The lead of a contact: by HubSpot id, else by e-mail if that lead is not another
    contact's."""
    lead = index.lookup(hubspot_id=contact_id)
    if lead is not None:
        return lead
    if email:
        lead = index.lookup(email=str(email))
        if lead is not None and lead.hubspot_id in (None, contact_id):
            return lead
    return None


def _ms(instant: datetime) -> int:
    return (instant - EPOCH) // timedelta(milliseconds=1)

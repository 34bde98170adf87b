"""The emulated HubSpot account: contacts with property history, definitions, e-mail events.

Thread-safe: every read and mutation holds one lock (the server answers from its own
thread while tests and the seed poke the state from theirs). Every timestamp comes from
the emulator clock, or from the `at` a seeding call passes for something that happened
in the (emulated) past.

Sized for 100,000 contacts with their history in a few hundred MB: contacts, history
entries and e-mail events use `__slots__`, and each contact keeps one log of its writes
rather than a list per property. Search reads `SortedIndex`es of lastmodifieddate and
createdate, kept up to date by `write`, instead of sorting every contact for every page.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, insort
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any, Literal

from connectors.emulator._control import Clock
from connectors.emulator.hubspot._properties import PropertyDef, iso, standard_properties
from connectors.emulator.hubspot._ratelimit import RateLimiter
from connectors.emulator.hubspot._validation import check_writes, epoch_ms

SourceType = str  # INTEGRATION (API writes), IMPORT, FORM, ANALYTICS, EMAIL, CALCULATED
EMAIL_EVENT_TYPES = (
    "SENT",
    "DROPPED",
    "PROCESSED",
    "DELIVERED",
    "DEFERRED",
    "BOUNCE",
    "OPEN",
    "CLICK",
    "PRINT",
    "FORWARD",
    "STATUSCHANGE",
    "SPAMREPORT",
)
BatchErrors = Literal["atomic", "partial"]
DEFAULT_TOKEN = "pat-na1-emulator-token"
INDEXED = ("lastmodifieddate", "createdate")  # datetime properties search can read in order
_CALCULATED = frozenset({"hs_object_id", "lastmodifieddate"})  # never written from values


@dataclass(slots=True)
class HistoryEntry:
    """One write of one property value."""

    name: str
    value: str
    timestamp: datetime
    source_type: SourceType

    def to_json(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "timestamp": iso(self.timestamp),
            "sourceType": self.source_type,
        }


class Contact:
    """One contact: its current `properties`, and the history of every value it stored.

    The history is one flat list per contact (`_log`: name, value, timestamp, source type,
    then the next write's four), not an object per write: 32 bytes a write rather than 72,
    which is most of what 100,000 contacts with their history cost. A lastmodifieddate
    write keeps None as its value, which is always `iso(timestamp)`. `history` and
    `history_of` give the writes as `HistoryEntry`s. Setting `archived` keeps the account's
    set of archived ids (which search consults) up to date.
    """

    __slots__ = (
        "_archived",
        "_archived_ids",
        "_log",
        "created_at",
        "created_iso",
        "id",
        "properties",
        "updated_at",
    )

    def __init__(
        self,
        id: str,
        created_at: datetime,
        updated_at: datetime,
        *,
        archived_ids: set[str] | None = None,
    ) -> None:
        self.id = id
        self.created_at = created_at
        self.created_iso = iso(created_at)
        self.updated_at = updated_at
        self.properties: dict[str, str] = {}
        self._log: list[Any] = []
        self._archived = False
        self._archived_ids = archived_ids

    @property
    def archived(self) -> bool:
        return self._archived

    @archived.setter
    def archived(self, value: bool) -> None:
        self._archived = value
        if self._archived_ids is not None:
            if value:
                self._archived_ids.add(self.id)
            else:
                self._archived_ids.discard(self.id)

    @property
    def updated_iso(self) -> str:
        """`updated_at` as the API writes it (the lastmodifieddate value `write` stored)."""
        return self.properties.get("lastmodifieddate") or iso(self.updated_at)

    def record(self, name: str, value: str | None, timestamp: datetime, source: str) -> None:
        """Add one write to the history (value None: lastmodifieddate, iso(timestamp))."""
        self._log += (name, value, timestamp, source)

    def entries(self) -> Iterator[HistoryEntry]:
        """Every write, oldest first."""
        log = self._log
        for i in range(0, len(log), 4):
            name, value, timestamp, source = log[i : i + 4]
            yield HistoryEntry(name, iso(timestamp) if value is None else value, timestamp, source)

    def entry_count(self) -> int:
        return len(self._log) // 4

    @property
    def history(self) -> dict[str, list[HistoryEntry]]:
        """The writes of each property, oldest first, properties in order of first write."""
        grouped: dict[str, list[HistoryEntry]] = {}
        for entry in self.entries():
            grouped.setdefault(entry.name, []).append(entry)
        return grouped

    def history_of(self, name: str) -> list[HistoryEntry]:
        """The writes of one property, oldest first."""
        return [entry for entry in self.entries() if entry.name == name]


_ID_BITS = 32
_ID_MASK = (1 << _ID_BITS) - 1


class SortedKeys:
    """Distinct ints in ascending order, kept in blocks of at most `2 * LOAD` keys.

    Adding or removing a key bisects the block maxima, then one block: O(log n + LOAD),
    where one flat list would move O(n) pointers on every removal. Positions (`rank`,
    `between`) walk the block lengths, a few hundred at 100,000 keys.
    """

    LOAD = 512

    def __init__(self) -> None:
        self._blocks: list[list[int]] = []
        self._maxes: list[int] = []
        self._len = 0

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[int]:
        for block in self._blocks:
            yield from block

    def add(self, key: int) -> None:
        blocks, maxes = self._blocks, self._maxes
        self._len += 1
        if not blocks:
            blocks.append([key])
            maxes.append(key)
            return
        b = bisect_left(maxes, key)
        if b == len(maxes):
            b -= 1
            blocks[b].append(key)
            maxes[b] = key
        else:
            insort(blocks[b], key)
        if len(blocks[b]) > 2 * self.LOAD:
            self._split(b)

    def remove(self, key: int) -> None:
        """Remove `key`; KeyError if it is not there."""
        blocks, maxes = self._blocks, self._maxes
        b = bisect_left(maxes, key)
        block = blocks[b] if b < len(blocks) else []
        i = bisect_left(block, key)
        if i == len(block) or block[i] != key:
            raise KeyError(key)
        del block[i]
        self._len -= 1
        if not block:
            del blocks[b], maxes[b]
            return
        maxes[b] = block[-1]
        if len(block) < self.LOAD // 4 and len(blocks) > 1:
            a = b - 1 if b > 0 else b
            merged = blocks[a] + blocks[a + 1]
            blocks[a : a + 2] = [merged]
            maxes[a : a + 2] = [merged[-1]]
            if len(merged) > 2 * self.LOAD:
                self._split(a)

    def _split(self, b: int) -> None:
        block = self._blocks[b]
        half = len(block) // 2
        self._blocks[b : b + 1] = [block[:half], block[half:]]
        self._maxes[b : b + 1] = [block[half - 1], block[-1]]

    def rank(self, key: int) -> int:
        """How many keys are smaller than `key`."""
        b = bisect_left(self._maxes, key)
        if b == len(self._maxes):
            return self._len
        return sum(map(len, islice(self._blocks, b))) + bisect_left(self._blocks[b], key)

    def between(self, start: int, stop: int, *, reverse: bool = False) -> Iterator[int]:
        """The keys at positions `start` (inclusive) to `stop` (exclusive), either way."""
        start, stop = max(start, 0), min(stop, self._len)
        if start >= stop:
            return
        blocks = self._blocks
        b, offset = 0, stop - 1 if reverse else start
        while offset >= len(blocks[b]):
            offset -= len(blocks[b])
            b += 1
        left = stop - start
        if not reverse:
            while left > 0:
                chunk = blocks[b][offset : offset + left]
                yield from chunk
                left -= len(chunk)
                b, offset = b + 1, 0
        else:
            while left > 0:
                low = max(0, offset + 1 - left)
                chunk = blocks[b][low : offset + 1]
                yield from reversed(chunk)
                left -= len(chunk)
                b -= 1
                offset = len(blocks[b]) - 1 if b >= 0 else 0


class SortedIndex:
    """The contacts in the order of one datetime property (then id), for search.

    Each entry is `epoch ms << 32 | id` (the ms as search compares them, `epoch_ms` of the
    stored value), so the order is the scan's (value, then id), and positions answer
    "how many contacts have a value below x". Contacts without a value are not in it.
    """

    def __init__(self) -> None:
        self.keys = SortedKeys()
        self._key_of: dict[str, int] = {}
        self._last: tuple[str, int | None] = ("", None)  # a batch writes one stamp 100 times

    def __len__(self) -> int:
        return len(self.keys)

    def set(self, contact_id: str, value: str) -> None:
        """Record the contact's new value ("" or unparseable: no entry)."""
        old = self._key_of.pop(contact_id, None)
        if old is not None:
            self.keys.remove(old)
        last, ms = self._last
        if value is not last:
            ms = epoch_ms(value) if value else None
            self._last = (value, ms)
        if ms is not None:
            key = (ms << _ID_BITS) | int(contact_id)
            self.keys.add(key)
            self._key_of[contact_id] = key

    def position(self, value: int) -> int:
        """How many contacts have a value (epoch ms) below `value`."""
        return self.keys.rank(value << _ID_BITS)

    def ids(self, start: int, stop: int, *, reverse: bool = False) -> Iterator[str]:
        """The ids of the contacts at positions `start` to `stop` (exclusive)."""
        for key in self.keys.between(start, stop, reverse=reverse):
            yield str(key & _ID_MASK)


class IdOrder:
    """The contacts in id order, for search sorted by hs_object_id: ids are handed out
    1, 2, 3... and never removed, so the contact at position p has id p + 1."""

    def __init__(self, contacts: dict[str, Contact]) -> None:
        self._contacts = contacts

    def __len__(self) -> int:
        return len(self._contacts)

    def position(self, value: int) -> int:
        """How many contacts have an id below `value`."""
        return min(max(value - 1, 0), len(self._contacts))

    def ids(self, start: int, stop: int, *, reverse: bool = False) -> Iterator[str]:
        start, stop = max(start, 0), min(stop, len(self._contacts))
        numbers = range(stop - 1, start - 1, -1) if reverse else range(start, stop)
        for n in numbers:
            yield str(n + 1)


@dataclass(slots=True)
class EmailEvent:
    """One event of the legacy e-mail events API (`/email/public/v1/events`)."""

    number: int
    created: datetime
    type: str
    recipient: str
    campaign_id: int
    contact_id: str
    url: str | None = None

    @property
    def id(self) -> str:
        return f"{self.number:08x}-emul-{self.campaign_id}"

    def to_json(self, portal_id: int) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "created": int(self.created.timestamp() * 1000),
            "type": self.type,
            "recipient": self.recipient,
            "emailCampaignId": self.campaign_id,
            "portalId": portal_id,
            "appId": 113,
            "appName": "BatchEmail",
            "sentBy": {"id": f"sent-{self.campaign_id}", "created": 0},
        }
        if self.type == "CLICK":
            body["url"] = self.url or ""
        if self.type == "STATUSCHANGE":
            body["source"] = "SOURCE_RECIPIENT"
            body["subscriptions"] = [{"id": self.campaign_id, "status": "UNSUBSCRIBED"}]
        return body


class HubSpotState:
    """One HubSpot account as the emulator keeps it in memory.

    `clock` must be the clock of the `Control` the app is built with. `rate_limits` turns on
    the private-app limits (`ten_secondly_max` calls per rolling 10 s, `search_per_second`
    search calls per second, `daily_max` a day, all per token). `batch_errors`: "atomic"
    fails a whole batch on one invalid input (as HubSpot does); "partial" answers 207.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        tokens: tuple[str, ...] = (DEFAULT_TOKEN,),
        portal_id: int = 62515,
        rate_limits: bool = False,
        ten_secondly_max: int = 100,
        search_per_second: int = 5,
        daily_max: int = 250_000,
        batch_errors: BatchErrors = "atomic",
    ) -> None:
        self.clock = clock
        self.tokens = set(tokens)
        self.portal_id = portal_id
        self.ui_domain = "app.hubspot.com"
        """The web app's host named in the account details (`app-eu1.hubspot.com` in the EU)."""
        self.batch_errors: BatchErrors = batch_errors
        self.lock = threading.RLock()
        self.limiter = RateLimiter(
            clock,
            enabled=rate_limits,
            ten_secondly_max=ten_secondly_max,
            search_per_second=search_per_second,
            daily_max=daily_max,
        )
        self.properties: dict[str, PropertyDef] = standard_properties()
        self.contacts: dict[str, Contact] = {}
        self.archived_ids: set[str] = set()
        self.indexes: dict[str, SortedIndex] = {name: SortedIndex() for name in INDEXED}
        self.events: list[EmailEvent] = []
        self._forms: dict[str, list[tuple[str, str, datetime]]] = {}
        self._by_email: dict[str, str] = {}
        self._campaigns: dict[str, int] = {}
        self._next_id = 1
        self._next_event = 1
        self._stamp: tuple[datetime | None, str] = (None, "")

    def order_for(self, name: str) -> SortedIndex | IdOrder | None:
        """The contacts in the order of property `name`, if one is kept (search uses it)."""
        if name == "hs_object_id":
            # ids run 1..n without gaps (contacts are never removed): check, to be safe
            return IdOrder(self.contacts) if len(self.contacts) == self._next_id - 1 else None
        return self.indexes.get(name)

    @property
    def form_submissions(self) -> dict[str, list[dict[str, Any]]]:
        """Form submissions by contact id: formName, pageUrl and timestamp."""
        with self.lock:
            return {
                contact_id: [
                    {"formName": form, "pageUrl": page, "timestamp": iso(when)}
                    for form, page, when in forms
                ]
                for contact_id, forms in self._forms.items()
            }

    # -- writes -------------------------------------------------------------------------------

    def write(
        self, contact: Contact, values: dict[str, str], source: SourceType, at: datetime
    ) -> bool:
        """Store changed values with their history; lastmodifieddate moves if any changed."""
        with self.lock:
            properties, indexes, log = contact.properties, self.indexes, contact._log
            changed = False
            for name, value in values.items():
                if name in _CALCULATED or properties.get(name) == value:
                    continue
                if name == "email":
                    self._reindex_email(contact, value)
                properties[name] = value
                if name in indexes:
                    indexes[name].set(contact.id, value)
                log += (name, value, at, source)  # Contact.record, inlined: the hot loop
                changed = True
            if changed:
                moved = max(at, contact.updated_at)
                last, stamp = self._stamp
                if moved is not last:  # a batch's writes share one instant: format it once
                    stamp = iso(moved)
                    self._stamp = (moved, stamp)
                contact.updated_at = moved
                properties["lastmodifieddate"] = stamp
                indexes["lastmodifieddate"].set(contact.id, stamp)
                log += ("lastmodifieddate", None, moved, "CALCULATED")
            return changed

    def _reindex_email(self, contact: Contact, email: str) -> None:
        old = contact.properties.get("email", "")
        if old and self._by_email.get(old.lower()) == contact.id:
            del self._by_email[old.lower()]
        if email:
            lowered = email.lower()
            self._by_email[email if lowered == email else lowered] = contact.id

    def new_contact(self, values: dict[str, str], source: SourceType, at: datetime) -> Contact:
        """A new contact with `values` (already validated; the e-mail must be free)."""
        with self.lock:
            contact_id = str(self._next_id)
            self._next_id += 1
            created = at
            if values.get("createdate"):
                created = datetime.fromisoformat(values["createdate"].replace("Z", "+00:00"))
            contact = Contact(contact_id, created, created, archived_ids=self.archived_ids)
            contact.properties["hs_object_id"] = contact_id
            contact.record("hs_object_id", contact_id, created, "CALCULATED")
            self.contacts[contact_id] = contact
            self.write(contact, {"createdate": contact.created_iso, **values}, source, at)
            return contact

    def id_for_email(self, email: str) -> str | None:
        with self.lock:
            return self._by_email.get(email.lower())

    # -- what the seed and the admin routes call ----------------------------------------------

    def add_contact(self, properties: dict[str, Any], *, at: datetime | None = None) -> str:
        """A contact as an import would create it (read-only properties allowed)."""
        with self.lock:
            values, problems, _ = check_writes(
                self.properties, {}, properties, allow_read_only=True
            )
            if problems:
                raise ValueError(f"invalid contact properties: {problems}")
            email = values.get("email", "")
            if email and self.id_for_email(email) is not None:
                raise ValueError(f"a contact with e-mail {email!r} already exists")
            return self.new_contact(values, "IMPORT", at or self.clock.now()).id

    def _contact(self, contact_id: str) -> Contact:
        contact = self.contacts.get(contact_id)
        if contact is None:
            raise KeyError(f"no contact {contact_id!r}")
        return contact

    def add_form_submission(
        self, contact_id: str, form_name: str, page_url: str, at: datetime | None = None
    ) -> None:
        """A form submission: recent conversion (and first conversion, if still empty)."""
        with self.lock:
            contact = self._contact(contact_id)
            when = at or self.clock.now()
            values = {
                "recent_conversion_event_name": form_name,
                "recent_conversion_date": iso(when),
            }
            if not contact.properties.get("first_conversion_event_name"):
                values["first_conversion_event_name"] = form_name
                values["first_conversion_date"] = iso(when)
            self.write(contact, values, "FORM", when)
            self._forms.setdefault(contact.id, []).append((form_name, page_url, when))

    def add_page_view(self, contact_id: str, url: str, at: datetime | None = None) -> None:
        """A page view: the last page seen."""
        with self.lock:
            when = at or self.clock.now()
            self.write(self._contact(contact_id), {"hs_analytics_last_url": url}, "ANALYTICS", when)

    def add_email_event(
        self,
        contact_id: str,
        type: str,
        campaign: int | str,
        at: datetime | None = None,
        url: str | None = None,
    ) -> str:
        """An e-mail event for the contact's address. `UNSUBSCRIBED` is an alias of the legacy
        API's `STATUSCHANGE` (a subscription change to unsubscribed)."""
        kind = "STATUSCHANGE" if type.upper() == "UNSUBSCRIBED" else type.upper()
        if kind not in EMAIL_EVENT_TYPES:
            raise ValueError(f"unknown e-mail event type {type!r}; use one of {EMAIL_EVENT_TYPES}")
        with self.lock:
            contact = self._contact(contact_id)
            when = at or self.clock.now()
            if isinstance(campaign, int):
                campaign_id = campaign
            else:
                campaign_id = self._campaigns.setdefault(campaign, 1000 + len(self._campaigns))
            event = EmailEvent(
                number=self._next_event,
                created=when,
                type=kind,
                recipient=contact.properties.get("email", ""),
                campaign_id=campaign_id,
                contact_id=contact.id,
                url=url,
            )
            self._next_event += 1
            self.events.append(event)
            effect = {
                "OPEN": {"hs_email_last_open_date": iso(when)},
                "CLICK": {"hs_email_last_click_date": iso(when)},
                "STATUSCHANGE": {"hs_email_optout": "true"},
            }.get(kind, {})
            if effect:
                self.write(contact, effect, "EMAIL", when)
            return event.id

    def contact_view(self, contact_id: str) -> dict[str, Any]:
        """Everything about one contact, for assertions: values, history, forms, events."""
        with self.lock:
            contact = self._contact(contact_id)
            return {
                "id": contact.id,
                "createdAt": contact.created_iso,
                "updatedAt": contact.updated_iso,
                "archived": contact.archived,
                "properties": dict(contact.properties),
                "propertiesWithHistory": {
                    name: [e.to_json() for e in reversed(entries)]
                    for name, entries in contact.history.items()
                },
                "formSubmissions": [
                    {"formName": form, "pageUrl": page, "timestamp": iso(when)}
                    for form, page, when in self._forms.get(contact.id, [])
                ],
                "emailEvents": [
                    e.to_json(self.portal_id) for e in self.events if e.contact_id == contact_id
                ],
            }

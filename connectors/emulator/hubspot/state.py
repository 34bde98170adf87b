"""The emulated HubSpot account: contacts with property history, definitions, e-mail events.

Thread-safe: every read and mutation holds one lock (the server answers from its own
thread while tests and the seed poke the state from theirs). Every timestamp comes from
the emulator clock, or from the `at` a seeding call passes for something that happened
in the (emulated) past.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from connectors.emulator._control import Clock
from connectors.emulator.hubspot._properties import PropertyDef, iso, standard_properties
from connectors.emulator.hubspot._ratelimit import RateLimiter
from connectors.emulator.hubspot._validation import check_writes

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


@dataclass
class HistoryEntry:
    """One write of one property value."""

    value: str
    timestamp: datetime
    source_type: SourceType

    def to_json(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "timestamp": iso(self.timestamp),
            "sourceType": self.source_type,
        }


@dataclass
class Contact:
    id: str
    created_at: datetime
    updated_at: datetime
    properties: dict[str, str] = field(default_factory=dict)
    history: dict[str, list[HistoryEntry]] = field(default_factory=dict)  # oldest first
    archived: bool = False


@dataclass
class EmailEvent:
    """One event of the legacy e-mail events API (`/email/public/v1/events`)."""

    id: str
    created: datetime
    type: str
    recipient: str
    campaign_id: int
    contact_id: str
    url: str | None = None

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
        self.events: list[EmailEvent] = []
        self.form_submissions: dict[str, list[dict[str, Any]]] = {}
        self._by_email: dict[str, str] = {}
        self._campaigns: dict[str, int] = {}
        self._next_id = 1
        self._next_event = 1

    # -- writes -------------------------------------------------------------------------------

    def write(
        self, contact: Contact, values: dict[str, str], source: SourceType, at: datetime
    ) -> bool:
        """Store changed values with their history; lastmodifieddate moves if any changed."""
        with self.lock:
            changed = False
            for name, value in values.items():
                if name in ("hs_object_id", "lastmodifieddate"):
                    continue
                if contact.properties.get(name, "") == value and name in contact.properties:
                    continue
                if name == "email":
                    self._reindex_email(contact, value)
                contact.properties[name] = value
                entry = HistoryEntry(value, at, source)
                contact.history.setdefault(name, []).append(entry)
                changed = True
            if changed:
                moved = max(at, contact.updated_at)
                contact.updated_at = moved
                contact.properties["lastmodifieddate"] = iso(moved)
                entry = HistoryEntry(iso(moved), moved, "CALCULATED")
                contact.history.setdefault("lastmodifieddate", []).append(entry)
            return changed

    def _reindex_email(self, contact: Contact, email: str) -> None:
        old = contact.properties.get("email", "")
        if old and self._by_email.get(old.lower()) == contact.id:
            del self._by_email[old.lower()]
        if email:
            self._by_email[email.lower()] = contact.id

    def new_contact(self, values: dict[str, str], source: SourceType, at: datetime) -> Contact:
        """A new contact with `values` (already validated; the e-mail must be free)."""
        with self.lock:
            contact_id = str(self._next_id)
            self._next_id += 1
            created = at
            if values.get("createdate"):
                created = datetime.fromisoformat(values["createdate"].replace("Z", "+00:00"))
            contact = Contact(contact_id, created_at=created, updated_at=created)
            contact.properties["hs_object_id"] = contact_id
            contact.history["hs_object_id"] = [HistoryEntry(contact_id, created, "CALCULATED")]
            self.contacts[contact_id] = contact
            self.write(contact, {"createdate": iso(created), **values}, source, at)
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
            submission = {"formName": form_name, "pageUrl": page_url, "timestamp": iso(when)}
            self.form_submissions.setdefault(contact_id, []).append(submission)

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
                id=f"{self._next_event:08x}-emul-{campaign_id}",
                created=when,
                type=kind,
                recipient=contact.properties.get("email", ""),
                campaign_id=campaign_id,
                contact_id=contact_id,
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
                "createdAt": iso(contact.created_at),
                "updatedAt": iso(contact.updated_at),
                "archived": contact.archived,
                "properties": dict(contact.properties),
                "propertiesWithHistory": {
                    name: [e.to_json() for e in reversed(entries)]
                    for name, entries in contact.history.items()
                },
                "formSubmissions": list(self.form_submissions.get(contact_id, [])),
                "emailEvents": [
                    e.to_json(self.portal_id) for e in self.events if e.contact_id == contact_id
                ],
            }

"""`HubSpotConnector`: everything leadloop reads from and writes to HubSpot, as raw records.

Records are dicts keyed by HubSpot's own names (`{"id", "properties", "createdAt",
"updatedAt", "archived"}`, property names as in the account). The connector knows nothing
about leads, scores or SLAs. Every HTTP call is counted in `usage` by operation:
`contacts.search`, `contacts.batch_read_history`, `contacts.batch_update`,
`contacts.batch_upsert`, `email.events`, `properties.list`, `properties.create`,
`account.details`.

    with HubSpotConnector(HubSpotSettings.from_env()) as hubspot:
        for page in hubspot.changed_contacts(cursor - lag, ["email", "lifecyclestage"]):
            ...
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, cast

from connectors.hubspot._transport import Transport
from connectors.hubspot.account import HubSpotPortal, PortalLookup
from connectors.hubspot.contacts import SEARCH_PAGE_MAX, ContactReader
from connectors.hubspot.events import DEFAULT_EVENT_TYPES, EmailEventReader
from connectors.hubspot.ratelimit import Pacer
from connectors.hubspot.settings import HubSpotSettings
from connectors.hubspot.writes import ContactWriter, WriteOutcome
from connectors.retry import Retry
from connectors.usage import ApiUsage

OBJECT_TYPE = "contacts"


class HubSpotConnector:
    """HubSpot's contacts, contact properties and e-mail events through the official SDK.

    `usage` counts calls (shared with `retry` when both are given); `retry` decides how hard
    to try (default: `Retry(usage)` sleeping with the pacer's sleep); `pacer` keeps calls
    inside the account's limits (default: from `settings`, on the real clock).
    """

    def __init__(
        self,
        settings: HubSpotSettings,
        *,
        usage: ApiUsage | None = None,
        retry: Retry | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        if usage is not None and retry is not None and retry.usage is not usage:
            raise ValueError("retry must count into the same ApiUsage as the connector")
        self.settings = settings
        self.pacer = pacer or Pacer.for_settings(settings)
        self.usage: ApiUsage = usage or (retry.usage if retry else ApiUsage())
        self.retry = retry or Retry(self.usage, sleep=self.pacer.sleep)
        self._transport = Transport(settings, usage=self.usage, retry=self.retry, pacer=self.pacer)
        self._contacts = ContactReader(self._transport)
        self._events = EmailEventReader(self._transport)
        self._writer = ContactWriter(self._transport)
        self._portal = PortalLookup(self._transport, settings.portal_id)

    def changed_contacts(
        self,
        since: datetime | None,
        properties: Sequence[str],
        *,
        page_size: int = SEARCH_PAGE_MAX,
    ) -> Iterator[list[dict[str, Any]]]:
        """Pages of contacts whose `lastmodifieddate` is at or after `since`, oldest first.

        `since=None` reads every contact. `lastmodifieddate` is always among the properties.
        Each contact comes once per `lastmodifieddate`: one modified again during the read
        comes again, later, with its new timestamp. HubSpot's search index lags writes by
        seconds, so the caller re-reads a lag window (passes `since` a few minutes before
        its cursor) and de-duplicates by `(id, lastmodifieddate)`. Paging re-anchors on
        every page and reads a crowded instant by id: see `connectors.hubspot.contacts`.
        """
        return self._contacts.changed(since, properties, page_size=page_size)

    def property_history(
        self, contact_ids: Sequence[str], properties: Sequence[str]
    ) -> dict[str, dict[str, list[dict[str, Any]]]]:
        """id -> property -> history entries (`value`, `timestamp`, `sourceType`, and
        `sourceId` where HubSpot has one), newest first as HubSpot gives them.

        Batch reads of 50 ids (HubSpot's limit with `propertiesWithHistory`); ids HubSpot
        does not know are left out (and logged).
        """
        return self._contacts.history(contact_ids, properties)

    def email_events(
        self,
        start: datetime,
        end: datetime,
        *,
        event_types: Sequence[str] = DEFAULT_EVENT_TYPES,
    ) -> Iterator[dict[str, Any]]:
        """Raw marketing e-mail events created in [start, end], one type after another,
        each newest first (see `connectors.hubspot.events`)."""
        return self._events.events(start, end, event_types)

    def update_contacts(
        self,
        updates: Mapping[str, Mapping[str, str]],
        *,
        clear_lifecycle_first: Collection[str] = (),
    ) -> WriteOutcome:
        """Update contacts by id, 100 a call; refused records are in `failed`.

        HubSpot silently keeps a later lifecycle stage when asked for an earlier one; for
        ids in `clear_lifecycle_first` the stage is cleared first (with their other values)
        and set in a second call. If that second call refuses the stage, the contact is
        left with none, and is listed in `failed`.
        """
        return self._writer.update(updates, clear_lifecycle_first)

    def upsert_contacts_by_email(self, values: Mapping[str, Mapping[str, str]]) -> WriteOutcome:
        """Create or update contacts keyed by e-mail, 100 a call (`ids` maps e-mail -> id)."""
        return self._writer.upsert_by_email(values)

    def contact_properties(self) -> list[dict[str, Any]]:
        """Every contact property definition (name, label, type, fieldType, options,
        groupName, ...) as HubSpot describes it."""
        api = self._transport.properties_api
        options = self._transport.options
        answer = self._transport.call(
            "properties.list", lambda: api.get_all(OBJECT_TYPE, archived=False, **options)
        )
        return cast(list[dict[str, Any]], answer.body.get("results") or [])

    def create_property(self, definition: Mapping[str, Any]) -> dict[str, Any]:
        """Create a contact property from HubSpot's JSON definition; the created property."""
        api = self._transport.properties_api
        options = self._transport.options
        body = dict(definition)
        answer = self._transport.call(
            "properties.create", lambda: api.create(OBJECT_TYPE, body, **options)
        )
        return cast(dict[str, Any], answer.body)

    def portal(self) -> HubSpotPortal | None:
        """The account's portal id and web-app domain, for links to its records.

        `settings.portal_id` when set; otherwise asked of HubSpot once (`account.details`)
        and kept. None when HubSpot will not say: a HubSpot failure is logged once (see
        `connectors.hubspot.account`), never raised."""
        return self._portal.portal()

    def close(self) -> None:
        """Close the SDK's connection pools."""
        self._transport.close()

    def __enter__(self) -> HubSpotConnector:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

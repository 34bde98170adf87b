"""Marketing e-mail events from the legacy e-mail events API (`GET /email/public/v1/events`).

The SDK has no generated client for it (its `marketing.events` package is about marketing
events such as webinars, not e-mail opens and clicks), so the request goes through the
contacts `ApiClient` (see `Transport.get`).

One stream per event type, `limit` at the API's maximum of 1000, `offset`/`hasMore` paging:
the API filters by one `eventType` at a time, and an unfiltered stream would also carry
every SENT, PROCESSED and DELIVERED event (several per e-mail sent, many times the opens
and clicks), so for any real send volume per-type streams cost fewer pages. Before reading
several types, one unfiltered call of `limit=1` asks whether the window holds any event at
all: a quiet window (the usual case for a 30-second cycle) costs that one call, not one per
type. `endTimestamp` pins the result set, so events arriving while it is paged (newest
first) cannot shift it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from functools import partial
from typing import Any

import structlog

from connectors.hubspot._transport import Transport
from connectors.hubspot.contacts import epoch_ms

EVENTS_PATH = "/email/public/v1/events"
EVENTS_PAGE_MAX = 1000
DEFAULT_EVENT_TYPES = ("OPEN", "CLICK", "STATUSCHANGE")
log = structlog.get_logger()


class EmailEventReader:
    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def events(
        self, start: datetime, end: datetime, event_types: Sequence[str]
    ) -> Iterator[dict[str, Any]]:
        if end < start:
            raise ValueError("end must not be before start")
        window = [("startTimestamp", epoch_ms(start)), ("endTimestamp", epoch_ms(end))]
        types = list(dict.fromkeys(event_types))
        if len(types) > 1 and not self._any_event(window):
            return
        for event_type in types:
            yield from self._stream([*window, ("eventType", event_type)])

    def _any_event(self, window: list[tuple[str, Any]]) -> bool:
        params = [*window, ("limit", 1)]
        answer = self.transport.call(
            "email.events", partial(self.transport.get, EVENTS_PATH, params)
        )
        return bool((answer.body or {}).get("events"))

    def _stream(self, query: list[tuple[str, Any]]) -> Iterator[dict[str, Any]]:
        offset: str | None = None
        while True:
            params = [*query, ("limit", EVENTS_PAGE_MAX)]
            if offset is not None:
                params.append(("offset", offset))
            answer = self.transport.call(
                "email.events", partial(self.transport.get, EVENTS_PATH, params)
            )
            body = answer.body or {}
            yield from body.get("events") or []
            following = body.get("offset")
            if not body.get("hasMore"):
                return
            if following in (None, "", offset):
                log.warning("hubspot.email_events.stuck_offset", offset=following)
                return
            offset = str(following)

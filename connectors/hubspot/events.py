"""Marketing e-mail events from the legacy e-mail events API (`GET /email/public/v1/events`).

The SDK has no generated client for it (its `marketing.events` package is about marketing
events such as webinars, not e-mail opens and clicks), so the request goes through the
contacts `ApiClient` (see `Transport.get`).

The window is first read unfiltered, one page of `limit` 1000 (the API's maximum): a quiet
window (the usual case for a 30-second cycle) and a window of fewer than 1,000 events of any
type both cost that one call, the wanted types picked from it. A busier window is read as
one stream per event type, `offset`/`hasMore` paging: the API filters by one `eventType` at
a time, and an unfiltered stream also carries every SENT, PROCESSED and DELIVERED event
(several per e-mail sent, many times the opens and clicks), so for any real send volume
per-type streams cost fewer pages. `endTimestamp` pins the result set, so events arriving
while it is paged (newest first) cannot shift it.
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
        if len(types) > 1:
            first = self._first_page(window)
            if not first.get("hasMore"):
                wanted = set(types)
                yield from (e for e in first.get("events") or [] if e.get("type") in wanted)
                return
        for event_type in types:
            yield from self._stream([*window, ("eventType", event_type)])

    def _first_page(self, window: list[tuple[str, Any]]) -> dict[str, Any]:
        """One unfiltered page of the window: all of it when `hasMore` is false."""
        params = [*window, ("limit", EVENTS_PAGE_MAX)]
        answer = self.transport.call(
            "email.events", partial(self.transport.get, EVENTS_PATH, params)
        )
        body = answer.body or {}
        return body if isinstance(body, dict) else {}

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

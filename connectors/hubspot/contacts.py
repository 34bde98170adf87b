"""Contacts read from HubSpot: those changed since an instant, and their property history.

## Paging the search: re-anchor on every page

The CRM search answers at most 200 records a page and refuses to page past its 10,000th
result. Its `after` token is an offset into a result set that moves while it is read: a
contact modified during the pull jumps to the end of a `lastmodifieddate` ordering and every
record behind it shifts one place forward, so offset paging silently skips one record per
such change. So instead of `after`, every page is a fresh search anchored on the highest
`lastmodifieddate` of the page before (GTE, sorted ascending); records at exactly that
instant that were already yielded are dropped. Nothing is skipped (a modified record
reappears later with its new timestamp), the 10,000 cap is never reached, and the cost is
re-reading the records of the page's last instant, usually one: 25,000 records with
distinct timestamps take 126 calls instead of 125.

## Many records at one instant

A full page whose records all share one `lastmodifieddate` cannot move the anchor. HubSpot
sorts on one property only and its order among equal timestamps is not guaranteed, so that
instant is then read by itself: `lastmodifieddate` GTE and LTE that instant, sorted by
`hs_object_id`, re-anchored on `hs_object_id` GT the last id (a total order, so no
duplicates), dropping ids already yielded at that instant. When it is exhausted the pull
goes on from GT that instant. Each page either moves an anchor forward or switches to that
mode, so the pull always ends.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

import structlog

from connectors.hubspot._transport import Transport

SEARCH_PAGE_MAX = 200
HISTORY_BATCH_MAX = 50
MODIFIED = "lastmodifieddate"
OBJECT_ID = "hs_object_id"
Record = dict[str, Any]
log = structlog.get_logger()


def epoch_ms(instant: datetime) -> int:
    if instant.tzinfo is None:
        raise ValueError("an aware datetime is needed (HubSpot compares instants, not clocks)")
    return int(instant.timestamp() * 1000)


def modified_ms(record: Record) -> int:
    """A search result's `lastmodifieddate` (ISO 8601 or epoch ms) in epoch milliseconds."""
    raw = str((record.get("properties") or {}).get(MODIFIED) or record.get("updatedAt") or "")
    if raw.isdigit():
        return int(raw)
    return epoch_ms(datetime.fromisoformat(raw.replace("Z", "+00:00")))


@dataclass
class _Anchor:
    """Where the next page starts: after `ms` (inclusive or not), or inside one instant."""

    ms: int | None
    inclusive: bool = True
    seen: set[str] = field(default_factory=set)  # ids already yielded at `ms`
    tie_after_id: int | None = None  # set while reading the instant `ms` by id

    def filters(self) -> list[dict[str, str]]:
        if self.ms is None:
            return []
        value = str(self.ms)
        if self.tie_after_id is not None:
            return [
                {"propertyName": MODIFIED, "operator": "GTE", "value": value},
                {"propertyName": MODIFIED, "operator": "LTE", "value": value},
                {"propertyName": OBJECT_ID, "operator": "GT", "value": str(self.tie_after_id)},
            ]
        operator = "GTE" if self.inclusive else "GT"
        return [{"propertyName": MODIFIED, "operator": operator, "value": value}]

    def sort(self) -> str:
        return OBJECT_ID if self.tie_after_id is not None else MODIFIED


class ContactReader:
    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def changed(
        self, since: datetime | None, properties: Sequence[str], *, page_size: int
    ) -> Iterator[list[Record]]:
        if not 1 <= page_size <= SEARCH_PAGE_MAX:
            raise ValueError(f"page_size must be between 1 and {SEARCH_PAGE_MAX}")
        names = list(dict.fromkeys([*properties, MODIFIED]))
        anchor = _Anchor(None if since is None else epoch_ms(since))
        while True:
            page, more = self._search(anchor, names, page_size)
            fresh = [r for r in page if not self._seen(anchor, r)]
            if fresh:
                yield fresh
            if not more or not page:
                if anchor.tie_after_id is None:
                    return
                log.info("hubspot.search.instant_done", instant_ms=anchor.ms)
                anchor = _Anchor(anchor.ms, inclusive=False)
                continue
            anchor = self._next(anchor, page)

    def _search(self, anchor: _Anchor, names: list[str], limit: int) -> tuple[list[Record], bool]:
        body: dict[str, Any] = {
            "sorts": [{"propertyName": anchor.sort(), "direction": "ASCENDING"}],
            "properties": names,
            "limit": limit,
        }
        filters = anchor.filters()
        if filters:
            body["filterGroups"] = [{"filters": filters}]
        api = self.transport.search_api
        options = self.transport.options
        answer = self.transport.call(
            "contacts.search", lambda: api.do_search(body, **options), search=True
        )
        results = list(answer.body.get("results") or [])
        more = bool((answer.body.get("paging") or {}).get("next"))
        return results, more

    @staticmethod
    def _seen(anchor: _Anchor, record: Record) -> bool:
        return str(record["id"]) in anchor.seen and modified_ms(record) == anchor.ms

    @staticmethod
    def _next(anchor: _Anchor, page: list[Record]) -> _Anchor:
        last = page[-1]
        if anchor.tie_after_id is not None:
            anchor.tie_after_id = int(last["id"])  # ids ascend: GT the last one repeats none
            return anchor
        last_ms = modified_ms(last)
        at_last = {str(r["id"]) for r in page if modified_ms(r) == last_ms}
        if modified_ms(page[0]) == last_ms:
            # A full page of one instant: the timestamp cannot move; read it by id.
            seen = (anchor.seen if anchor.ms == last_ms else set()) | at_last
            log.info("hubspot.search.instant_by_id", instant_ms=last_ms, seen=len(seen))
            return _Anchor(last_ms, seen=seen, tie_after_id=0)
        return _Anchor(last_ms, seen=at_last)

    def history(
        self, contact_ids: Sequence[str], properties: Sequence[str]
    ) -> dict[str, dict[str, list[dict[str, Any]]]]:
        ids = list(dict.fromkeys(str(i) for i in contact_ids))
        names = list(dict.fromkeys(properties))
        found: dict[str, dict[str, list[dict[str, Any]]]] = {}
        if not ids or not names:
            return found
        api = self.transport.batch_api
        options = self.transport.options
        for start in range(0, len(ids), HISTORY_BATCH_MAX):
            chunk = ids[start : start + HISTORY_BATCH_MAX]
            body = {
                "inputs": [{"id": i} for i in chunk],
                "properties": [OBJECT_ID],
                "propertiesWithHistory": names,
            }
            answer = self.transport.call(
                "contacts.batch_read_history", partial(api.read, body, **options)
            )
            for result in answer.body.get("results") or []:
                found[str(result["id"])] = dict(result.get("propertiesWithHistory") or {})
            for error in answer.body.get("errors") or []:
                log.warning(
                    "hubspot.history.missing",
                    category=error.get("category"),
                    message=error.get("message"),
                    ids=(error.get("context") or {}).get("ids"),
                )
        return found

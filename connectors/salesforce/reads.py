"""Reads: SOQL pages (2,000 records, `nextRecordsUrl`), changed and deleted records, users,
and describe. Records come back as plain dicts keyed by Salesforce field names, without the
`attributes` entries (relationship dicts such as `Owner: {"Email": ...}` are kept)."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from typing import Any

from simple_salesforce.api import Salesforce

from connectors.salesforce.session import SalesforceSession
from connectors.salesforce.soql import datetime_literal, in_list, name, select

Record = dict[str, Any]
USERS_PER_QUERY = 200
"""Ids per `IN (...)` list: 200 quoted Ids keep the GET URL well under its 16,384 bytes."""
DESCRIBED = (
    "name",
    "label",
    "type",
    "length",
    "picklistValues",
    "restrictedPicklist",
    "externalId",
    "unique",
    "nillable",
    "createable",
    "updateable",
    "defaultedOnCreate",
    "relationshipName",
    "referenceTo",
)
"""The describe keys kept per field: enough to check a field map against the org."""


def plain(value: Any) -> Any:
    """A record (or any JSON value) as plain dicts and lists, `attributes` removed."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k != "attributes"}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _with(fields: Sequence[str], *extra: str) -> list[str]:
    """`fields` plus any of `extra` it lacks (compared case-insensitively)."""
    have = {f.lower() for f in fields}
    return [*fields, *(e for e in extra if e.lower() not in have)]


class Reader:
    """The read side of the connector; every page is one counted, retried call."""

    def __init__(self, session: SalesforceSession) -> None:
        self._session = session

    def query(self, soql: str, *, include_deleted: bool = False) -> Iterator[list[Record]]:
        """Pages of records for `soql` (queryAll when `include_deleted`), as `query_all_iter`
        walks them: the first page, then each `nextRecordsUrl` until `done`."""

        def first(sf: Salesforce) -> Any:
            return sf.query(soql, include_deleted=include_deleted)

        result = self._session.call("query", first)
        while True:
            yield [plain(r) for r in result.get("records", [])]
            if result.get("done", True):
                return
            next_url = str(result["nextRecordsUrl"])

            def more(sf: Salesforce, url: str = next_url) -> Any:
                return sf.query_more(url, identifier_is_url=True)

            result = self._session.call("query_more", more)

    def changed(
        self,
        sobject: str,
        fields: Sequence[str],
        since: datetime | None,
        *,
        include_deleted: bool = False,
    ) -> Iterator[list[Record]]:
        """Pages of `sobject` records with SystemModstamp >= `since` (all when None), oldest
        first (ties by Id). Id and SystemModstamp are always selected, IsDeleted with
        `include_deleted` (queryAll: deleted and merged-away records too)."""
        extra = ("Id", "SystemModstamp", *(("IsDeleted",) if include_deleted else ()))
        soql = select(
            sobject,
            _with(fields, *extra),
            where=None if since is None else f"SystemModstamp >= {datetime_literal(since)}",
            order_by=("SystemModstamp", "Id"),
        )
        yield from self.query(soql, include_deleted=include_deleted)

    def deleted_leads(self, since: datetime | None) -> Iterator[list[Record]]:
        """Pages of deleted Leads (MasterRecordId set when merged into another)."""
        where = "IsDeleted = true"
        if since is not None:
            where += f" AND SystemModstamp >= {datetime_literal(since)}"
        soql = select(
            "Lead",
            ("Id", "IsDeleted", "MasterRecordId", "SystemModstamp"),
            where=where,
            order_by=("SystemModstamp", "Id"),
        )
        yield from self.query(soql, include_deleted=True)

    def users(self, ids: Collection[str]) -> dict[str, Record]:
        """Id, Name and Email of the given users, by Id (unknown Ids are left out)."""
        wanted = sorted({i for i in ids if i})
        found: dict[str, Record] = {}
        for start in range(0, len(wanted), USERS_PER_QUERY):
            chunk = wanted[start : start + USERS_PER_QUERY]
            soql = select("User", ("Id", "Name", "Email"), where=f"Id IN {in_list(chunk)}")
            for page in self.query(soql):
                found.update((str(r["Id"]), r) for r in page)
        return found

    def describe(self, sobject: str) -> dict[str, Any]:
        """`{"name", "label", "fields": [{key: value for key in DESCRIBED}]}` from the
        sObject describe."""
        path = f"sobjects/{name(sobject)}/describe"
        raw = self._session.call("describe", lambda sf: sf.restful(path))
        body = plain(raw) if isinstance(raw, dict) else {}
        return {
            "name": body.get("name", sobject),
            "label": body.get("label"),
            "fields": [{key: f.get(key) for key in DESCRIBED} for f in body.get("fields", [])],
        }

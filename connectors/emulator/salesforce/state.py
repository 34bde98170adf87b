"""The emulated org: records of Lead, Task, Event, Opportunity, User and LeadStatus.

Every mutation happens under one lock; every timestamp written (CreatedDate, LastModifiedDate,
SystemModstamp) comes from the injected clock. Deleted and merged-away records stay with
IsDeleted = true and are visible only to queryAll. The sales-action methods (log_call,
convert_lead, ...) are what a salesperson does in the UI; the admin routes call them.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any

from connectors.emulator._control import Clock
from connectors.emulator.salesforce.records import (
    ORG_ID,
    RecordError,
    RequestError,
    check_values,
    make_id,
    missing_required,
    resolve_fields,
)
from connectors.emulator.salesforce.schema import (
    CONVERTED_STATUS,
    KEY_PREFIXES,
    LEAD_STATUSES,
    OBJECTS,
    ObjectDef,
)

Record = dict[str, Any]
_PREFIX_TYPES = {prefix: name for name, prefix in KEY_PREFIXES.items()}


class SalesforceState:
    """One in-memory org. Thread-safe; shared by the HTTP handlers and the test code."""

    def __init__(
        self,
        clock: Clock,
        *,
        daily_api_limit: int = 100_000,
        username: str = "integration@leadloop.example",
        password: str = "emulator-password",
        security_token: str = "emulatortoken",
    ) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.records: dict[str, dict[str, Record]] = {name: {} for name in OBJECTS}
        self._seq = 0
        self._undo: list[tuple[str, str, Record | None]] | None = None
        self.username, self.password, self.security_token = username, password, security_token
        self.credentials = {username: password + security_token}
        self.sessions: set[str] = set()
        self.daily_api_limit = daily_api_limit
        self.api_used = 0
        self._api_day: date | None = None
        self.cursors: dict[str, tuple[list[Record], str]] = {}
        # (type, field) -> lower-cased value -> ids, for unique and external ID fields
        self._index: dict[tuple[str, str], dict[str, set[str]]] = {
            (o.name, f.name): {}
            for o in OBJECTS.values()
            for f in o.fields.values()
            if f.unique or f.external_id
        }
        self.default_user_id = self.add_user("Integration User", username)
        for order, status in enumerate(LEAD_STATUSES, start=1):
            self._insert(
                "LeadStatus",
                {
                    "MasterLabel": status,
                    "ApiName": status,
                    "SortOrder": order,
                    "IsConverted": status == CONVERTED_STATUS,
                    "IsDefault": order == 1,
                },
            )

    # sessions and limits ------------------------------------------------------------------
    def new_session(self) -> str:
        token = f"{ORG_ID[:15]}!AQ{secrets.token_urlsafe(48)}"
        with self.lock:
            self.sessions.add(token)
        return token

    def login(self, username: str, password_and_token: str) -> str | None:
        """A new session id for valid credentials, None otherwise (INVALID_LOGIN)."""
        with self.lock:
            if self.credentials.get(username) != password_and_token:
                return None
        return self.new_session()

    def session_valid(self, token: str) -> bool:
        with self.lock:
            return token in self.sessions

    def expire_sessions(self) -> None:
        with self.lock:
            self.sessions.clear()

    def charge_api(self) -> bool:
        """Count one API request; False once the daily allowance is spent."""
        with self.lock:
            today = self.clock.now().date()
            if today != self._api_day:
                self._api_day, self.api_used = today, 0
            if self.api_used >= self.daily_api_limit:
                return False
            self.api_used += 1
            return True

    def api_usage(self) -> tuple[int, int]:
        with self.lock:
            return self.api_used, self.daily_api_limit

    # reading ------------------------------------------------------------------------------
    def type_of(self, record_id: str) -> str | None:
        return _PREFIX_TYPES.get(record_id[:3])

    def find(self, record_id: str) -> Record | None:
        """A record (deleted ones too) by 15- or 18-character Id."""
        kind = self.type_of(record_id)
        if kind is None:
            return None
        table = self.records[kind]
        if len(record_id) == 18:
            return table.get(record_id)
        if len(record_id) == 15:
            return next((r for k, r in table.items() if k[:15] == record_id), None)
        return None

    def rows(self, kind: str, *, include_deleted: bool = False) -> list[Record]:
        """The records of `kind` (live ones unless `include_deleted`); do not mutate them."""
        with self.lock:
            return [r for r in self.records[kind].values() if include_deleted or not r["IsDeleted"]]

    def get(self, kind: str, record_id: str) -> Record:
        """A live record or RequestError 404 (NOT_FOUND / ENTITY_IS_DELETED)."""
        with self.lock:
            record = self.find(record_id)
            if record is None or self.type_of(record_id) != kind:
                raise RequestError(404, "NOT_FOUND", "The requested resource does not exist")
            if record["IsDeleted"]:
                raise RequestError(404, "ENTITY_IS_DELETED", "entity is deleted")
            return dict(record)

    def by_external_id(self, kind: str, field: str, value: str) -> list[Record]:
        lowered = value.lower()
        with self.lock:
            index = self._index.get((kind, field))
            if index is not None:
                return [dict(self.records[kind][i]) for i in sorted(index.get(lowered, ()))]
            return [
                dict(r)
                for r in self.records[kind].values()
                if not r["IsDeleted"] and str(r.get(field) or "").lower() == lowered
            ]

    # writing ------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[list[tuple[str, str, Record | None]]]:
        """Collect undo entries; the caller calls `rollback` with them to undo everything."""
        with self.lock:
            outer = self._undo
            self._undo = []
            try:
                yield self._undo
            finally:
                inner, self._undo = self._undo, outer
                if outer is not None and inner is not None:
                    outer.extend(inner)

    def rollback(self, undo: list[tuple[str, str, Record | None]]) -> None:
        with self.lock:
            for kind, record_id, before in reversed(undo):
                current = self.records[kind].get(record_id)
                self._reindex(kind, current, before)
                if before is None:
                    self.records[kind].pop(record_id, None)
                else:
                    self.records[kind][record_id] = before
            undo.clear()

    def _reindex(self, kind: str, before: Record | None, after: Record | None) -> None:
        for (index_kind, name), index in self._index.items():
            if index_kind != kind:
                continue
            for record, add in ((before, False), (after, True)):
                value = record.get(name) if record and not record["IsDeleted"] else None
                if value in (None, ""):
                    continue
                ids = index.setdefault(str(value).lower(), set())
                if add:
                    ids.add(record["Id"])  # type: ignore[index]
                else:
                    ids.discard(record["Id"])  # type: ignore[index]

    def force_value(self, kind: str, record_id: str, field: str, value: Any) -> None:
        """Set a value bypassing validation (data loaded before a rule existed)."""
        with self.lock:
            self._change(kind, record_id, {field: value})

    def _journal(self, kind: str, record_id: str) -> None:
        if self._undo is not None:
            before = self.records[kind].get(record_id)
            self._undo.append((kind, record_id, dict(before) if before else None))

    def _insert(self, kind: str, values: Record) -> str:
        obj = OBJECTS[kind]
        self._seq += 1
        record_id = make_id(obj.key_prefix, self._seq)
        now = self.clock.now()
        record: Record = {name: None for name in obj.fields}
        for fdef in obj.fields.values():
            if fdef.type == "boolean":
                record[fdef.name] = False
        record.update(Id=record_id, CreatedDate=now, LastModifiedDate=now, SystemModstamp=now)
        if "OwnerId" in obj.fields:
            record["OwnerId"] = self.default_user_id if kind != "User" else None
        if kind == "Lead":
            record["Status"] = LEAD_STATUSES[0]
        record.update(values)
        self._derive(kind, record)
        self._journal(kind, record_id)
        self.records[kind][record_id] = record
        self._reindex(kind, None, record)
        return record_id

    def _change(self, kind: str, record_id: str, values: Record) -> None:
        self._journal(kind, record_id)
        record = self.records[kind][record_id]
        before = dict(record)
        record.update(values)
        now = self.clock.now()
        record["LastModifiedDate"] = record["SystemModstamp"] = now
        self._derive(kind, record)
        self._reindex(kind, before, record)

    @staticmethod
    def _derive(kind: str, record: Record) -> None:
        if kind == "Lead":
            record["Name"] = " ".join(p for p in (record["FirstName"], record["LastName"]) if p)
        if kind == "Opportunity":
            stage = record.get("StageName") or ""
            record["IsClosed"] = stage.startswith("Closed")
            record["IsWon"] = stage == "Closed Won"

    def _check_unique(self, obj: ObjectDef, values: Record, record_id: str | None) -> None:
        for name, value in values.items():
            fdef = obj.fields[name]
            if not fdef.unique or value in (None, ""):
                continue
            for other in self.by_external_id(obj.name, name, str(value)):
                if other["Id"] != record_id:
                    raise RecordError(
                        "DUPLICATE_VALUE",
                        f"duplicate value found: {name} duplicates value on record with id: "
                        f"{other['Id']}",
                    )

    def create(self, kind: str, body: Record) -> str:
        """Validate and insert one record; RecordError / RequestError as the real API."""
        obj = OBJECTS[kind]
        with self.lock:
            values = resolve_fields(obj, body, creating=True)
            values.pop("Id", None)
            missing_required(obj, values)
            check_values(obj, values)
            self._check_unique(obj, values, None)
            return self._insert(kind, values)

    def update(self, kind: str, record_id: str, body: Record) -> None:
        obj = OBJECTS[kind]
        with self.lock:
            current = self.find(record_id)
            if current is None or self.type_of(record_id) != kind or current["IsDeleted"]:
                raise RecordError(
                    "ENTITY_IS_DELETED" if current else "INVALID_CROSS_REFERENCE_KEY",
                    "entity is deleted" if current else "invalid cross reference id",
                )
            values = resolve_fields(obj, body, creating=False)
            values.pop("Id", None)
            if kind == "Lead" and current["IsConverted"]:
                raise RecordError("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
            missing_required(obj, {**current, **values})
            check_values(obj, values)
            self._check_unique(obj, values, current["Id"])
            self._change(kind, current["Id"], values)

    def upsert(self, kind: str, field: str, value: str, body: Record) -> tuple[str, bool]:
        """(id, created) for an upsert by external ID; RequestError 300 on several matches."""
        with self.lock:
            matches = self.by_external_id(kind, field, value)
            if len(matches) > 1:
                raise RequestError(300, "MULTIPLE_CHOICES", ",".join(r["Id"] for r in matches))
            if matches:
                self.update(kind, matches[0]["Id"], body)
                return matches[0]["Id"], False
            return self.create(kind, {**body, field: value}), True

    def delete(self, kind: str, record_id: str) -> None:
        with self.lock:
            record = self.get(kind, record_id)
            self._change(kind, record["Id"], {"IsDeleted": True})

    # sales actions (the admin API) ----------------------------------------------------------
    def add_user(self, name: str, email: str) -> str:
        with self.lock:
            return self._insert("User", {"Name": name, "Email": email, "IsActive": True})

    def log_call(self, lead_id: str, at: datetime, subject: str = "Call") -> str:
        with self.lock:
            lead = self.get("Lead", lead_id)
            return self._insert(
                "Task",
                {
                    "WhoId": lead["Id"],
                    "Subject": subject,
                    "Type": "Call",
                    "Status": "Completed",
                    "ActivityDate": at.date(),
                    "OwnerId": lead["OwnerId"],
                },
            )

    def log_meeting(self, lead_id: str, at: datetime, subject: str = "Meeting") -> str:
        with self.lock:
            lead = self.get("Lead", lead_id)
            return self._insert(
                "Event",
                {
                    "WhoId": lead["Id"],
                    "Subject": subject,
                    "Type": "Meeting",
                    "ActivityDateTime": at,
                    "OwnerId": lead["OwnerId"],
                },
            )

    def set_fields(self, lead_id: str, fields: Record) -> None:
        self.update("Lead", lead_id, fields)

    def convert_lead(self, lead_id: str, at: datetime) -> str:
        with self.lock:
            lead = self.get("Lead", lead_id)
            if lead["IsConverted"]:
                raise RecordError("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
            opp_id = self._insert(
                "Opportunity",
                {
                    "Name": f"{lead['Company']}-",
                    "StageName": "Prospecting",
                    "CloseDate": (at + timedelta(days=30)).date(),
                    "OwnerId": lead["OwnerId"],
                },
            )
            self._change(
                "Lead",
                lead["Id"],
                {
                    "IsConverted": True,
                    "ConvertedDate": at.date(),
                    "ConvertedOpportunityId": opp_id,
                    "Status": CONVERTED_STATUS,
                },
            )
            return opp_id

    def close_opportunity(self, opp_id: str, won: bool, amount: float | None, at: datetime) -> None:
        with self.lock:
            opp = self.get("Opportunity", opp_id)
            self._change(
                "Opportunity",
                opp["Id"],
                {
                    "StageName": "Closed Won" if won else "Closed Lost",
                    "Amount": amount,
                    "CloseDate": at.date(),
                },
            )

    def delete_lead(self, lead_id: str) -> None:
        self.delete("Lead", lead_id)

    def merge_leads(self, master_id: str, duplicate_id: str) -> None:
        """The duplicate goes to the recycle bin with MasterRecordId pointing at the master."""
        with self.lock:
            master = self.get("Lead", master_id)
            duplicate = self.get("Lead", duplicate_id)
            for kind in ("Task", "Event"):
                for activity in self.records[kind].values():
                    if activity["WhoId"] == duplicate["Id"]:
                        self._change(kind, activity["Id"], {"WhoId": master["Id"]})
            self._change(
                "Lead", duplicate["Id"], {"IsDeleted": True, "MasterRecordId": master["Id"]}
            )
            self._change("Lead", master["Id"], {})

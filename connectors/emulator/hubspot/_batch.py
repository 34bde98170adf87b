"""The contacts batch routes: read, update and upsert.

Limits: 100 inputs a call, 50 for a read that asks for `propertiesWithHistory`. Inputs that
name no contact come back as a 207 with `errors` (`BatchResponseSimplePublicObjectWithErrors`);
invalid values fail the whole batch with 400 (HubSpot's behaviour) unless the state's
`batch_errors` is "partial", which answers 207 for them too.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from connectors.emulator.hubspot._contacts import BadRequestError, ContactRoutes, read_json
from connectors.emulator.hubspot._shapes import (
    batch,
    render_all,
    selected,
    standard_error,
    validation_error,
)
from connectors.emulator.hubspot._validation import problems_message
from connectors.emulator.hubspot.state import Contact

BATCH_MAX = 100
HISTORY_BATCH_MAX = 50
NOT_FOUND = (
    "Could not get some CONTACT objects, they may be deleted or not exist. "
    "Check that ids are valid."
)


def _inputs(body: Any, limit: int = BATCH_MAX) -> list[dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise BadRequestError("Invalid input JSON: inputs is required")
    inputs: list[dict[str, Any]] = body["inputs"]
    if len(inputs) > limit:
        raise BadRequestError(f"Batch input is limited to {limit} inputs, got {len(inputs)}")
    if not all(isinstance(i, dict) and i.get("id") not in (None, "") for i in inputs):
        raise BadRequestError("Invalid input JSON: every input needs an id")
    return inputs


def _no_duplicates(inputs: list[dict[str, Any]]) -> None:
    seen = Counter(str(i["id"]) for i in inputs)
    twice = sorted(key for key, n in seen.items() if n > 1)
    if twice:
        raise BadRequestError(f"Duplicate IDs found in batch input: {twice}. IDs must be unique")


class BatchRoutes:
    def __init__(self, contacts: ContactRoutes) -> None:
        self.contacts = contacts
        self.state = contacts.state

    async def read(self, request: Request) -> Response:
        body = await read_json(request)
        history = body.get("propertiesWithHistory") or [] if isinstance(body, dict) else []
        inputs = _inputs(body, HISTORY_BATCH_MAX if history else BATCH_MAX)
        started = self.state.clock.now()
        with self.state.lock:
            id_property = body.get("idProperty")
            props = selected(body.get("properties"))
            found, missing = [], []
            for item in inputs:
                contact = self.contacts.find(str(item["id"]), id_property)
                if contact is None or contact.archived:
                    missing.append(str(item["id"]))
                    continue
                found.append(contact)
            results = render_all(found, props, self.state.properties, history)
        errors = (
            [standard_error("OBJECT_NOT_FOUND", NOT_FOUND, {"ids": missing})] if missing else []
        )
        return batch(results, errors, started, self.state.clock.now())

    def _problems(
        self, planned: list[tuple[dict[str, Any], Contact | None]]
    ) -> tuple[list[tuple[dict[str, Any], Contact | None, dict[str, str]]], list[dict[str, Any]]]:
        """Validated writes, and the errors of the inputs that failed (400 if atomic)."""
        good: list[tuple[dict[str, Any], Contact | None, dict[str, str]]] = []
        errors: list[dict[str, Any]] = []
        for item, contact in planned:
            values, problems = self.contacts.writes(contact, item.get("properties"))
            if problems:
                context = {"ids": [str(item["id"])]}
                errors.append(
                    standard_error("VALIDATION_ERROR", problems_message(problems), context)
                )
            else:
                good.append((item, contact, values))
        return good, errors

    def _write(
        self,
        planned: list[tuple[dict[str, Any], Contact | None]],
        missing: list[str],
        started: datetime,
        *,
        upsert: bool,
    ) -> Response:
        """Validate and apply planned writes (the caller holds the lock); the batch answer.

        For an upsert, an input without a contact creates one keyed by its e-mail `id`, and
        each result says whether it is `new`.
        """
        good, errors = self._problems(planned)
        if errors and self.state.batch_errors == "atomic":
            return validation_error(" ".join(e["message"] for e in errors))
        now = self.state.clock.now()
        results = []
        shown: dict[tuple[str, ...], list[str]] = {}  # the inputs mostly set the same names
        for item, contact, values in good:
            new = contact is None
            if contact is None:
                contact = self.state.new_contact(
                    {**values, "email": str(item["id"])}, "INTEGRATION", now
                )
            else:
                self.state.write(contact, values, "INTEGRATION", now)
            names = tuple(item.get("properties") or {})
            if names not in shown:
                shown[names] = selected(names)
            (result,) = render_all([contact], shown[names], self.state.properties)
            if upsert:
                result["new"] = new
            results.append(result)
        if missing:
            errors.append(standard_error("OBJECT_NOT_FOUND", NOT_FOUND, {"ids": missing}))
        return batch(results, errors, started, self.state.clock.now())

    async def update(self, request: Request) -> Response:
        body = await read_json(request)
        inputs = _inputs(body)
        _no_duplicates(inputs)
        started = self.state.clock.now()
        with self.state.lock:
            planned: list[tuple[dict[str, Any], Contact | None]] = []
            missing: list[str] = []
            for item in inputs:
                contact = self.contacts.find(str(item["id"]), item.get("idProperty"))
                if contact is None or contact.archived:
                    missing.append(str(item["id"]))
                else:
                    planned.append((item, contact))
            return self._write(planned, missing, started, upsert=False)

    async def upsert(self, request: Request) -> Response:
        body = await read_json(request)
        inputs = _inputs(body)
        _no_duplicates(inputs)
        started = self.state.clock.now()
        with self.state.lock:
            planned: list[tuple[dict[str, Any], Contact | None]] = []
            missing: list[str] = []
            for item in inputs:
                id_property = item.get("idProperty")
                if id_property not in (None, "", "hs_object_id", "email"):
                    raise BadRequestError(f"{id_property} is not a unique identifier property")
                contact = self.contacts.find(str(item["id"]), id_property)
                if contact is None and id_property != "email":
                    missing.append(str(item["id"]))
                else:
                    planned.append((item, contact))
            return self._write(planned, missing, started, upsert=True)

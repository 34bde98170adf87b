"""Batch writes to contacts (update by id, upsert by e-mail) that never lose a good record.

100 inputs a call, HubSpot's batch maximum. A refused record is quarantined with HubSpot's
own words (the message and error code HubSpot gave for that record's invalid values, e.g.
INVALID_OPTION; or the whole error's message and category when it lists none) and the rest
of its batch is written:

- a 207 answer lists `errors`, each naming its inputs in `context.ids`: those fail, the
  results are written;
- a 400 for the whole batch (HubSpot's usual answer to one invalid value) may name the
  inputs (`context.ids`): those fail and the rest is sent again. Otherwise it lists the
  invalid properties. An input is certainly guilty when a problem is value-independent
  (PROPERTY_DOESNT_EXIST, READ_ONLY_VALUE) and it sets that property, or when it is the
  only input setting the property: it fails with that problem's message and the rest is
  resent (one extra call). Inputs that merely might be guilty (several set a property with
  a value-dependent problem) are split off from the clean ones and bisected; with no clue
  at all the batch is bisected. One bad record in 100 costs 2 calls when the property names
  it, about 15 when nothing does.

Every round either removes an input or halves a batch, so the recursion ends.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from connectors.errors import RecordError, RecordFailure
from connectors.hubspot._transport import Transport
from connectors.hubspot.errors import (
    HubSpotRecordError,
    PropertyProblem,
    context_ids,
    problems_in,
)

BATCH_MAX = 100
LIFECYCLE = "lifecyclestage"
_VALUE_INDEPENDENT = frozenset({"PROPERTY_DOESNT_EXIST", "READ_ONLY_VALUE"})
log = structlog.get_logger()


@dataclass
class WriteOutcome:
    """What a batch write did: the HubSpot ids written and the records refused.

    `failed` is keyed by what the caller sent (a contact id, or an e-mail for an upsert);
    `ids` maps each written key to its HubSpot id; `created` lists the ids an upsert made.
    """

    written: list[str] = field(default_factory=list)
    failed: list[RecordFailure] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Input:
    key: str
    properties: dict[str, str]


class BatchWriter:
    """One kind of batch write: how to send it, shape an input and recognise a result."""

    def __init__(
        self,
        transport: Transport,
        operation: str,
        send: Callable[[dict[str, Any]], Any],
        shape: Callable[[_Input], dict[str, Any]],
        key_of: Callable[[dict[str, Any]], str | None],
        normalize: Callable[[str], str] = str,
    ) -> None:
        self.transport = transport
        self.operation = operation
        self.send = send
        self.shape = shape
        self.key_of = key_of
        self.normalize = normalize

    def write(self, inputs: Sequence[_Input]) -> WriteOutcome:
        outcome = WriteOutcome()
        for start in range(0, len(inputs), BATCH_MAX):
            self._send(list(inputs[start : start + BATCH_MAX]), outcome)
        return outcome

    def _send(self, batch: list[_Input], outcome: WriteOutcome) -> None:
        if not batch:
            return
        body = {"inputs": [self.shape(i) for i in batch]}
        try:
            answer = self.transport.call(self.operation, lambda: self.send(body))
        except RecordError as refusal:
            self._narrow(batch, refusal, outcome)
            return
        pending = {self.normalize(i.key): i for i in batch}
        for result in answer.body.get("results") or []:
            found = pending.pop(self.normalize(self.key_of(result) or ""), None)
            hubspot_id = str(result["id"])
            outcome.written.append(hubspot_id)
            if found is not None:
                outcome.ids[found.key] = hubspot_id
            if result.get("new"):
                outcome.created.append(hubspot_id)
        for error in answer.body.get("errors") or []:
            problems = problems_in(error)
            for name in context_ids(error):
                refused = pending.pop(self.normalize(name), None)
                if refused is not None:
                    code = str(error.get("category") or "ERROR")
                    self._fail(outcome, refused, code, str(error.get("message") or ""), problems)
        for unconfirmed in pending.values():
            message = "HubSpot's answer neither confirmed nor refused this record"
            self._fail(outcome, unconfirmed, "UNCONFIRMED", message, ())

    def _narrow(self, batch: list[_Input], error: RecordError, outcome: WriteOutcome) -> None:
        """A whole batch was refused: fail the guilty inputs, write the rest."""
        ids = error.ids if isinstance(error, HubSpotRecordError) else ()
        problems = error.problems if isinstance(error, HubSpotRecordError) else ()
        code = error.code or "VALIDATION_ERROR"
        if len(batch) == 1:
            self._fail(outcome, batch[0], code, error.message, problems)
            return
        named = {self.normalize(i) for i in ids}
        if named & {self.normalize(i.key) for i in batch}:
            for item in batch:
                if self.normalize(item.key) in named:
                    self._fail(outcome, item, code, error.message, problems)
            self._send([i for i in batch if self.normalize(i.key) not in named], outcome)
            return
        guilty: dict[str, list[PropertyProblem]] = {}
        suspects: set[str] = set()
        for problem in problems:
            setters = [i.key for i in batch if problem.name in i.properties]
            if problem.error in _VALUE_INDEPENDENT or len(setters) == 1:
                for key in setters:
                    guilty.setdefault(key, []).append(problem)
            else:
                suspects.update(setters)
        if guilty:
            for item in batch:
                if item.key in guilty:
                    self._fail(outcome, item, code, error.message, guilty[item.key])
            self._send([i for i in batch if i.key not in guilty], outcome)
            return
        if suspects and len(suspects) < len(batch):
            self._send([i for i in batch if i.key not in suspects], outcome)
            self._bisect([i for i in batch if i.key in suspects], outcome)
            return
        self._bisect(batch, outcome)

    def _bisect(self, batch: list[_Input], outcome: WriteOutcome) -> None:
        middle = len(batch) // 2
        log.info("hubspot.batch.bisect", operation=self.operation, size=len(batch))
        self._send(batch[:middle], outcome)
        self._send(batch[middle:], outcome)

    def _fail(
        self,
        outcome: WriteOutcome,
        item: _Input,
        code: str,
        message: str,
        problems: Sequence[PropertyProblem],
    ) -> None:
        own = [p for p in problems if p.name in item.properties]
        if own:  # HubSpot's words for this record's own values, not the whole batch's
            code, message = own[0].error, "; ".join(dict.fromkeys(p.message for p in own))
        fields = tuple(dict.fromkeys(p.name for p in own))
        log.warning(
            "hubspot.record_refused",
            operation=self.operation,
            key=item.key,
            code=code,
            message=message,
        )
        outcome.failed.append(RecordFailure(item.key, code, message, fields))


class ContactWriter:
    """`update` by contact id and `upsert_by_email`, each through a BatchWriter."""

    def __init__(self, transport: Transport) -> None:
        api = transport.batch_api
        options = transport.options
        self.updates = BatchWriter(
            transport,
            "contacts.batch_update",
            lambda body: api.update(body, **options),
            lambda i: {"id": i.key, "properties": i.properties},
            lambda result: str(result.get("id") or ""),
        )
        self.upserts = BatchWriter(
            transport,
            "contacts.batch_upsert",
            lambda body: api.upsert(body, **options),
            lambda i: {"id": i.key, "idProperty": "email", "properties": i.properties},
            lambda result: str((result.get("properties") or {}).get("email") or ""),
            normalize=str.lower,
        )

    def update(
        self, updates: Mapping[str, Mapping[str, str]], clear_lifecycle_first: Collection[str]
    ) -> WriteOutcome:
        """Clear-first ids get every other value and `lifecyclestage: ""` in the first pass
        (so an invalid value is refused before the stage is touched), their stage in a second."""
        clear = {str(k) for k in clear_lifecycle_first} & {str(k) for k in updates}
        first = [
            _Input(str(key), {**values, LIFECYCLE: ""} if str(key) in clear else dict(values))
            for key, values in updates.items()
        ]
        outcome = self.updates.write(first)
        second = [
            _Input(str(key), {LIFECYCLE: values[LIFECYCLE]})
            for key, values in updates.items()
            if str(key) in clear and str(key) in outcome.ids and values.get(LIFECYCLE)
        ]
        if second:
            then = self.updates.write(second)
            refused = {f.key for f in then.failed}
            outcome.written = [i for i in outcome.written if i not in refused]
            for key in refused:
                outcome.ids.pop(key, None)
            outcome.failed += then.failed
        return outcome

    def upsert_by_email(self, values: Mapping[str, Mapping[str, str]]) -> WriteOutcome:
        inputs = [_Input(email, {"email": email, **props}) for email, props in values.items()]
        return self.upserts.write(inputs)

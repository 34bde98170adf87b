"""Leads: the `leads` table to and from canonical `Lead` values, and the lead queries."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import fields
from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    Row,
    Select,
    Text,
    cast,
    func,
    insert,
)
from sqlalchemy import select as select_rows
from sqlmodel import col, select

from mappings.model import (
    AXES,
    STAGES,
    Assessment,
    AxisAssessment,
    Bant,
    Fit,
    Lead,
    LeadTimes,
    Outcome,
    Score,
    ScoreReason,
    Stage,
    normalize_email,
)
from state._base import BATCH_SIZE, Queries, as_literal, chunks, core_table
from state._types import require_aware, require_aware_columns
from state.tables import ActivityRow, LeadRow

# Column names follow the model's field names; reading a row fails if the model gained a
# field without a column, and tests/state check that every field has one.
_FIT_FIELDS = tuple(f.name for f in fields(Fit))
_TIME_FIELDS = tuple(f.name for f in fields(LeadTimes))
_BANT_FIELDS = tuple(f.name for f in fields(Bant))
# Leads are read and written as plain rows (SQLAlchemy Core), not as ORM objects: the
# session then tracks no lead row, which makes a page of leads several times cheaper.
_LEADS = core_table(LeadRow)
# A row of `select(_LEADS)` is read as a tuple, by column position (reading a Row's
# attributes one by one cost more than building the Lead). The groups follow the order of
# the model's fields.
_COLUMN = {column.name: position for position, column in enumerate(_LEADS.columns)}


def _columns(*names: str) -> Any:
    return itemgetter(*(_COLUMN[name] for name in names))


_read_scalars = _columns(
    "key",
    "email",
    "first_name",
    "last_name",
    "hubspot_id",
    "salesforce_id",
    "stage",
    "stage_reason",
    "score_total",
    "score_behaviour",
    "score_fit",
    "score_reasons",
    "outcome_won",
    "outcome_amount",
)
_read_fit = _columns(*_FIT_FIELDS)
_read_times = _columns(*_TIME_FIELDS)
_read_bant = _columns(*(f"bant_{name}" for name in _BANT_FIELDS))
_read_axes = _columns(
    *(
        f"{axis}_{part}"
        for axis in ("problem", "solution", "decision", "timeline")
        for part in ("hypothesis", "observed")
    )
)


def _reason_rows(reasons: tuple[ScoreReason, ...]) -> list[dict[str, Any]]:
    """Score reasons as the `score_reasons` column stores them."""
    return [{"rule": r.rule, "points": r.points, "count": r.count} for r in reasons]


def lead_columns(lead: Lead) -> dict[str, Any]:
    """Every column of a lead's row except the bookkeeping times, from the canonical value."""
    columns: dict[str, Any] = {
        "key": lead.key,
        "email": normalize_email(lead.email) if lead.email is not None else None,
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "hubspot_id": lead.hubspot_id,
        "salesforce_id": lead.salesforce_id,
        "stage": lead.stage,
        "stage_reason": lead.stage_reason,
        "score_total": lead.score.total,
        "score_behaviour": lead.score.behaviour,
        "score_fit": lead.score.fit,
        "score_reasons": _reason_rows(lead.score.reasons),
        "outcome_won": None if lead.outcome is None else lead.outcome.won,
        "outcome_amount": None if lead.outcome is None else lead.outcome.amount,
    }
    columns.update({name: getattr(lead.fit, name) for name in _FIT_FIELDS})
    columns.update({name: getattr(lead.times, name) for name in _TIME_FIELDS})
    columns.update({f"bant_{name}": getattr(lead.bant, name) for name in _BANT_FIELDS})
    for axis in AXES:
        columns[f"{axis}_hypothesis"] = lead.assessment.axis(axis).hypothesis
        columns[f"{axis}_observed"] = lead.assessment.axis(axis).observed
    return columns


_PLAIN = ("key", "first_name", "last_name", "hubspot_id", "salesforce_id", "stage", "stage_reason")
_PARTS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("fit", _FIT_FIELDS, ""),
    ("times", _TIME_FIELDS, ""),
    ("bant", _BANT_FIELDS, "bant_"),
)


def changed_columns(before: Lead, after: Lead) -> dict[str, Any]:
    """The columns of `lead_columns(after)` that differ from `lead_columns(before)`, found
    without building either: a nested value the change left alone (the same object, or an
    equal one) is not looked into."""
    changed: dict[str, Any] = {}
    if after is before:
        return changed
    for name in _PLAIN:
        value = getattr(after, name)
        if value != getattr(before, name):
            changed[name] = value
    if after.email != before.email:
        email = None if after.email is None else normalize_email(after.email)
        if email != (None if before.email is None else normalize_email(before.email)):
            changed["email"] = email
    score, was = after.score, before.score
    if score is not was and score != was:
        for name in ("total", "behaviour", "fit"):
            if getattr(score, name) != getattr(was, name):
                changed[f"score_{name}"] = getattr(score, name)
        if score.reasons != was.reasons:
            changed["score_reasons"] = _reason_rows(score.reasons)
    if after.outcome != before.outcome:
        for name in ("won", "amount"):
            value = getattr(after.outcome, name, None)
            if value != getattr(before.outcome, name, None):
                changed[f"outcome_{name}"] = value
    for part, names, prefix in _PARTS:
        now, then = getattr(after, part), getattr(before, part)
        if now is then:
            continue
        for name in names:
            value = getattr(now, name)
            if value != getattr(then, name):
                changed[prefix + name] = value
    if after.assessment is not before.assessment:
        for axis in AXES:
            now, then = after.assessment.axis(axis), before.assessment.axis(axis)
            if now.hypothesis != then.hypothesis:
                changed[f"{axis}_hypothesis"] = now.hypothesis
            if now.observed != then.observed:
                changed[f"{axis}_observed"] = now.observed
    return changed


def _select_leads() -> Select[Any]:
    """SELECT every column of `leads`, in order, the score reasons as their JSON text (cast
    to text, which PostgreSQL's driver would otherwise decode): `to_lead` reads them through
    a cache, as many leads share the same reasons."""
    return select_rows(
        *(
            cast(column, Text).label(column.name) if column.name == "score_reasons" else column
            for column in _LEADS.columns
        )
    )


@lru_cache(maxsize=4096)
def _reasons_from_text(text: str) -> tuple[ScoreReason, ...]:
    return _reasons(json.loads(text))


# The parts of a lead that many leads share, built once a value: the model's values are
# immutable, so leads read may share them (and `changed_columns` skips a part that is the
# same object). Fit and times are left out: they are rarely the same from lead to lead.
@lru_cache(maxsize=4096)
def _score(total: int, behaviour: int, fit: int, reasons: str) -> Score:
    return Score(total=total, behaviour=behaviour, fit=fit, reasons=_reasons_from_text(reasons))


_bant = lru_cache(maxsize=128)(Bant)


@lru_cache(maxsize=1024)
def _assessment(*columns: str | None) -> Assessment:
    """The assessment in its columns: each axis's hypothesis then observation, in order."""
    problem, solution, decision, timeline = (
        AxisAssessment(hypothesis, observed)
        for hypothesis, observed in zip(columns[::2], columns[1::2], strict=True)
    )
    return Assessment(problem=problem, solution=solution, decision=decision, timeline=timeline)


def _reasons(stored: list[dict[str, Any]]) -> tuple[ScoreReason, ...]:
    return tuple(
        ScoreReason(rule=str(r["rule"]), points=int(r["points"]), count=int(r["count"]))
        for r in stored
    )


def to_lead(row: Row[Any]) -> Lead:
    """The canonical `Lead` stored in a row of `_select_leads()`."""
    values = tuple(row)
    (
        key,
        email,
        first_name,
        last_name,
        hubspot_id,
        salesforce_id,
        stage,
        stage_reason,
        score_total,
        score_behaviour,
        score_fit,
        score_reasons,
        outcome_won,
        outcome_amount,
    ) = _read_scalars(values)
    return Lead(
        key=key,
        email=email,
        first_name=first_name,
        last_name=last_name,
        hubspot_id=hubspot_id,
        salesforce_id=salesforce_id,
        fit=Fit(*_read_fit(values)),
        stage=as_literal(stage, STAGES, "stage"),
        stage_reason=stage_reason,
        score=_score(score_total, score_behaviour, score_fit, score_reasons),
        times=LeadTimes(*_read_times(values)),
        bant=_bant(*_read_bant(values)),
        assessment=_assessment(*_read_axes(values)),
        outcome=None if outcome_won is None else Outcome(won=outcome_won, amount=outcome_amount),
    )


class LeadIndex:
    """Leads found by identity; `lookup` tries HubSpot id, Salesforce id, then e-mail."""

    def __init__(self) -> None:
        self._by_key: dict[str, Lead] = {}
        self._by_hubspot: dict[str, Lead] = {}
        self._by_salesforce: dict[str, Lead] = {}
        self._by_email: dict[str, Lead] = {}

    def add(self, lead: Lead) -> None:
        """Index `lead` (a later lead with the same e-mail does not replace an earlier one)."""
        self._by_key[lead.key] = lead
        if lead.hubspot_id:
            self._by_hubspot[lead.hubspot_id] = lead
        if lead.salesforce_id:
            self._by_salesforce[lead.salesforce_id] = lead
        if lead.email:
            self._by_email.setdefault(normalize_email(lead.email), lead)

    def by_key(self) -> dict[str, Lead]:
        """Every lead indexed, by key (the last one added for a key)."""
        return dict(self._by_key)

    def lookup(
        self,
        *,
        hubspot_id: str | None = None,
        salesforce_id: str | None = None,
        email: str | None = None,
    ) -> Lead | None:
        if hubspot_id and hubspot_id in self._by_hubspot:
            return self._by_hubspot[hubspot_id]
        if salesforce_id and salesforce_id in self._by_salesforce:
            return self._by_salesforce[salesforce_id]
        if email:
            return self._by_email.get(normalize_email(email))
        return None


class LeadQueries(Queries):
    """Reading and writing leads."""

    def get_lead(self, key: str) -> Lead | None:
        """The lead with this key, or None."""
        row = self._rows(_select_leads().where(_LEADS.c.key == key)).first()
        return None if row is None else to_lead(row)

    def find_lead(
        self,
        *,
        email: str | None = None,
        hubspot_id: str | None = None,
        salesforce_id: str | None = None,
    ) -> Lead | None:
        """The lead matching the first identity given that matches, or None.

        Tried in order: HubSpot id, Salesforce id (both unique), then the e-mail address
        (normalized; not unique, so the earliest stored lead with it wins).
        """
        if email is None and hubspot_id is None and salesforce_id is None:
            raise ValueError("find_lead needs an email, a hubspot_id or a salesforce_id")
        columns = _LEADS.c
        candidates = []
        if hubspot_id is not None:
            candidates.append(_select_leads().where(columns.hubspot_id == hubspot_id))
        if salesforce_id is not None:
            candidates.append(_select_leads().where(columns.salesforce_id == salesforce_id))
        if email is not None:
            candidates.append(
                _select_leads()
                .where(columns.email == normalize_email(email))
                .order_by(columns.created_at, columns.key)
                .limit(1)
            )
        for statement in candidates:
            row = self._rows(statement).first()
            if row is not None:
                return to_lead(row)
        return None

    def find_leads(
        self,
        *,
        emails: Iterable[str] = (),
        hubspot_ids: Iterable[str] = (),
        salesforce_ids: Iterable[str] = (),
    ) -> LeadIndex:
        """The stored leads holding any of these identities, one query per kind and 500 values.

        The batch form of `find_lead`, for a page of CRM records: look each record up in the
        returned index by HubSpot id, then Salesforce id, then e-mail.
        """
        index = LeadIndex()
        columns = _LEADS.c
        lookups: list[tuple[Any, list[str]]] = [
            (columns.hubspot_id, sorted(set(hubspot_ids))),
            (columns.salesforce_id, sorted(set(salesforce_ids))),
            (columns.email, sorted({normalize_email(e) for e in emails})),
        ]
        read: dict[str, Lead] = {}  # a row found by several identities is converted once
        for column, values in lookups:
            for batch in chunks(values):
                statement = (
                    _select_leads()
                    .where(self._among(column, batch))
                    .order_by(columns.created_at, columns.key)
                )
                for row in self._rows(statement).all():
                    lead = read.get(row.key)
                    if lead is None:
                        lead = read[row.key] = to_lead(row)
                    index.add(lead)
        return index

    def save_lead(self, lead: Lead) -> None:
        """Insert the lead, or update every field of the stored lead with the same key."""
        self.save_leads([lead])

    def save_leads(
        self, leads: Iterable[Lead], *, as_read: Mapping[str, Lead] | None = None
    ) -> None:
        """`save_lead` for many leads, with one SELECT per batch; the last of a key wins.
        Only the columns that changed are written (and `updated_at`).

        `as_read`: leads this same transaction read, by key, as they were read. A lead whose
        key is there is compared with that value instead of its row being read again: its
        row is updated if they differ and left alone if not.

        A HubSpot or Salesforce id already held by another lead raises the driver's
        IntegrityError here (the transaction is then lost): look leads up with
        `find_lead` before giving them a new key.
        """
        as_read = as_read or {}
        latest: dict[str, Lead] = {lead.key: lead for lead in leads}
        now = self._clock()
        updates: dict[frozenset[str], list[dict[str, Any]]] = {}
        inserts: list[dict[str, Any]] = []
        unread: list[str] = []

        def update_if(key: str, changed: dict[str, Any]) -> None:
            if changed:
                require_aware_columns(changed, "leads")
                changed["updated_at"] = now
                updates.setdefault(frozenset(changed), []).append({"key": key, **changed})

        for key, lead in latest.items():
            before = as_read.get(key)
            if before is None:
                unread.append(key)
            else:
                update_if(key, changed_columns(before, lead))
        for keys in chunks(unread):
            statement = select_rows(_LEADS).where(self._among(_LEADS.c.key, keys))
            stored = {row.key: row._mapping for row in self._rows(statement).all()}
            for key in keys:
                columns = lead_columns(latest[key])
                row = stored.get(key)
                if row is None:
                    require_aware_columns(columns, "leads")
                    inserts.append({**columns, "created_at": now, "updated_at": now})
                else:
                    update_if(
                        key, {name: value for name, value in columns.items() if row[name] != value}
                    )
        # Like the ORM's flush: updates first, in key order, then inserts in order. Rows
        # with the same changed columns share one UPDATE statement.
        for rows in updates.values():
            for batch in chunks(sorted(rows, key=itemgetter("key"))):
                self._update_rows(_LEADS, "key", batch)
        for batch in chunks(inserts):
            self._rows(insert(_LEADS), list(batch))

    def leads_by_key(self, keys: Iterable[str]) -> dict[str, Lead]:
        """The stored leads with these keys (missing keys are left out), 500 a query."""
        found: dict[str, Lead] = {}
        for batch in chunks(sorted(set(keys))):
            statement = _select_leads().where(self._among(_LEADS.c.key, batch))
            for row in self._rows(statement).all():
                found[row.key] = to_lead(row)
        return found

    def leads_changed_since(self, since: datetime | None) -> list[str]:
        """Keys of the leads whose row changed after `since` (every lead for None)."""
        statement = select(LeadRow.key)
        if since is not None:
            statement = statement.where(col(LeadRow.updated_at) > require_aware(since, "since"))
        return sorted(self._session.exec(statement))

    def leads_touched_since(self, since: datetime | None) -> list[str]:
        """Keys of the leads whose row changed, or that gained an activity, after `since`."""
        keys = set(self.leads_changed_since(since))
        statement = select(ActivityRow.lead_key).distinct()
        if since is not None:
            statement = statement.where(col(ActivityRow.stored_at) > require_aware(since, "since"))
        keys.update(self._session.exec(statement))
        return sorted(keys)

    def leads(self, stage: Stage | None = None) -> Iterator[Lead]:
        """All leads, or those at one stage, by key; read in pages, so safe to write while
        iterating (within the same transaction)."""
        after: str | None = None
        while True:
            statement = _select_leads().order_by(_LEADS.c.key).limit(BATCH_SIZE)
            if stage is not None:
                statement = statement.where(_LEADS.c.stage == stage)
            if after is not None:
                statement = statement.where(_LEADS.c.key > after)
            page = self._rows(statement).all()
            for row in page:
                yield to_lead(row)
            if len(page) < BATCH_SIZE:
                return
            after = page[-1].key

    def count_by_stage(self) -> dict[str, int]:
        """How many leads are at each stage; every stage is present, zero if none."""
        counts: dict[str, int] = {stage: 0 for stage in STAGES}
        statement = select(col(LeadRow.stage), func.count()).group_by(col(LeadRow.stage))
        for stage, count in self._session.exec(statement):
            counts[stage] = count
        return counts

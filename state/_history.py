"""What happened to leads: activities, stage changes and sales corrections."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from datetime import UTC
from functools import lru_cache
from typing import Any

from sqlalchemy import Row, func, insert
from sqlalchemy import select as select_rows
from sqlmodel import col, select

from mappings.model import (
    ACTIVITY_KINDS,
    AXES,
    STAGES,
    Activity,
    ActivityDetail,
    Axis,
    Correction,
    StageChange,
)
from state._base import Queries, as_literal, chunks, core_table
from state._types import require_aware, require_aware_columns
from state.tables import ActivityRow, CorrectionRow, LeadRow, StageChangeRow

_ACTIVITIES = core_table(ActivityRow)
_LEADS = core_table(LeadRow)
_STAGE_HISTORY = core_table(StageChangeRow)
ACTIVITY_COLUMNS = (
    *("id", "lead_key", "kind", "occurred_at", "url", "name", "campaign", "dedupe_key"),
    "stored_at",
)
"""The columns of `activities` in table order, as `_to_activity` unpacks a row (tested)."""


def dedupe_key(activity: Activity) -> str:
    """The activity's `dedupe_key`, or, when it has none, one derived from its content.

    The derived key is stable across re-reads of the same record, like a source id would
    be; two activities identical in every field count as one.
    """
    if activity.dedupe_key:
        return activity.dedupe_key
    occurred = require_aware(activity.occurred_at, "Activity.occurred_at").astimezone(UTC)
    detail = activity.detail
    parts = (activity.lead_key, activity.kind, occurred.isoformat(), detail.url, detail.name)
    text = "\x1f".join("" if part is None else part for part in (*parts, detail.campaign))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _activity_columns(activity: Activity) -> dict[str, Any]:
    columns = {
        "lead_key": activity.lead_key,
        "kind": activity.kind,
        "occurred_at": activity.occurred_at,
        "url": activity.detail.url,
        "name": activity.detail.name,
        "campaign": activity.detail.campaign,
        "dedupe_key": dedupe_key(activity),
    }
    return require_aware_columns(columns, "activities")


# Details repeat (the same pages and forms, campaign after campaign) and are immutable:
# activities read share them.
_detail = lru_cache(maxsize=4096)(ActivityDetail)


def _to_activity(row: Row[Any]) -> Activity:
    """The activity in a row of `select(_ACTIVITIES)` (every column, in table order)."""
    _, lead_key, kind, occurred_at, url, name, campaign, key, _ = tuple(row)
    return Activity(
        lead_key=lead_key,
        kind=as_literal(kind, ACTIVITY_KINDS, "activity kind"),
        occurred_at=occurred_at,
        detail=_detail(url, name, campaign),
        dedupe_key=key,
    )


def _to_change(row: StageChangeRow) -> StageChange:
    return StageChange(
        lead_key=row.lead_key,
        from_stage=as_literal(row.from_stage, STAGES, "stage"),
        to_stage=as_literal(row.to_stage, STAGES, "stage"),
        at=row.at,
        reasons=tuple(row.reasons),
    )


class HistoryQueries(Queries):
    """Activities, stage history and corrections."""

    def add_activities(self, activities: Iterable[Activity]) -> int:
        """Store the activities not stored yet (by dedupe key); how many were new.

        Duplicates, within the call or with rows already stored, are skipped without an
        error and without harming the transaction.
        """
        rows: dict[str, dict[str, Any]] = {}
        stored_at = self._clock()
        for activity in activities:
            columns = {**_activity_columns(activity), "stored_at": stored_at}
            rows.setdefault(columns["dedupe_key"], columns)
        return sum(
            self._insert_ignoring_conflicts(ActivityRow, batch, ["dedupe_key"])
            for batch in chunks(list(rows.values()))
        )

    def known_dedupe_keys(self, keys: Iterable[str]) -> set[str]:
        """Which of these activity dedupe keys are already stored."""
        found: set[str] = set()
        column = _ACTIVITIES.c.dedupe_key
        for batch in chunks(sorted(set(keys))):
            statement = select_rows(column).where(self._among(column, batch))
            found.update(self._rows(statement).scalars().all())
        return found

    def activities_for(self, lead_key: str) -> list[Activity]:
        """A lead's activities, oldest first."""
        return self.activities_for_many([lead_key])[lead_key]

    def activities_for_many(
        self, lead_keys: Iterable[str], *, kinds: Collection[str] | None = None
    ) -> dict[str, list[Activity]]:
        """The activities of many leads, oldest first, in one query per 500 keys; with
        `kinds`, only the activities of those kinds.

        Every key asked for is in the result, with an empty list if it has no activity.
        """
        found: dict[str, list[Activity]] = {key: [] for key in lead_keys}
        columns = _ACTIVITIES.c
        for batch in chunks(list(found)):
            statement = (
                select_rows(_ACTIVITIES)
                .where(self._among(columns.lead_key, batch))
                .order_by(columns.occurred_at, columns.id)
            )
            if kinds is not None:
                statement = statement.where(columns.kind.in_(sorted(kinds)))
            for row in self._rows(statement).all():
                found[row.lead_key].append(_to_activity(row))
        return found

    def latest_page_views(self, hubspot_ids: Iterable[str]) -> dict[str, str | None]:
        """The URL of the latest page view of the lead linked to each HubSpot contact id (None
        for a contact with no linked lead or no page view), in one query per 500 ids."""
        found: dict[str, str | None] = {contact: None for contact in hubspot_ids}
        activities, leads = _ACTIVITIES.c, _LEADS.c
        # One row a lead: its latest page view is found through the (lead_key, occurred_at)
        # index, instead of every page view of the lead being sent and sorted.
        latest = (
            select_rows(activities.url)
            .where(activities.lead_key == leads.key, activities.kind == "page_view")
            .order_by(activities.occurred_at.desc(), activities.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        for batch in chunks(list(found)):
            statement = select_rows(leads.hubspot_id, latest).where(
                self._among(leads.hubspot_id, batch)
            )
            for contact, url in self._rows(statement).all():
                found[contact] = url
        return found

    def record_stage_change(self, change: StageChange, source: str) -> None:
        """Append a stage change to the lead's history; `source` says which job or system."""
        self.record_stage_changes([change], source)

    def record_stage_changes(self, changes: Iterable[StageChange], source: str) -> None:
        """Append stage changes, in order, to their leads' histories (one statement)."""
        rows = [
            {
                "lead_key": change.lead_key,
                "from_stage": change.from_stage,
                "to_stage": change.to_stage,
                "at": require_aware(change.at, "StageChange.at"),
                "reasons": list(change.reasons),
                "source": source,
            }
            for change in changes
        ]
        if rows:
            self._rows(insert(_STAGE_HISTORY), rows)

    def stage_history(self, lead_key: str) -> list[StageChange]:
        """A lead's stage changes, oldest first."""
        statement = (
            select(StageChangeRow)
            .where(col(StageChangeRow.lead_key) == lead_key)
            .order_by(col(StageChangeRow.at), col(StageChangeRow.id))
        )
        return [_to_change(row) for row in self._session.exec(statement)]

    def stage_changes_after(self, after_id: int = 0) -> list[tuple[int, StageChange]]:
        """Every lead's stage changes recorded after the change numbered `after_id`, in the
        order recorded, each with its number (to ask for the ones after it next time)."""
        statement = (
            select(StageChangeRow)
            .where(col(StageChangeRow.id) > after_id)
            .order_by(col(StageChangeRow.id))
        )
        return [(int(row.id or 0), _to_change(row)) for row in self._session.exec(statement)]

    def record_correction(self, correction: Correction) -> None:
        """Append a sales correction on one axis."""
        self._session.add(
            CorrectionRow(
                lead_key=correction.lead_key,
                axis=correction.axis,
                hypothesis=correction.hypothesis,
                observed=correction.observed,
                at=require_aware(correction.at, "Correction.at"),
                source=correction.source,
            )
        )
        self._session.flush()

    def corrections(self, lead_key: str | None = None) -> list[Correction]:
        """The corrections of one lead, or of all leads, oldest first."""
        statement = select(CorrectionRow).order_by(col(CorrectionRow.at), col(CorrectionRow.id))
        if lead_key is not None:
            statement = statement.where(col(CorrectionRow.lead_key) == lead_key)
        return [
            Correction(
                lead_key=row.lead_key,
                axis=as_literal(row.axis, AXES, "axis"),
                hypothesis=row.hypothesis,
                observed=row.observed,
                at=row.at,
                source=row.source,
            )
            for row in self._session.exec(statement)
        ]

    def correction_counts(self) -> dict[tuple[Axis, str | None, str], int]:
        """How often each (axis, hypothesis, observed) correction was recorded."""
        axis, hypothesis, observed = (
            col(CorrectionRow.axis),
            col(CorrectionRow.hypothesis),
            col(CorrectionRow.observed),
        )
        statement = select(axis, hypothesis, observed, func.count()).group_by(
            axis, hypothesis, observed
        )
        rows = self._session.exec(statement)
        return {(as_literal(a, AXES, "axis"), h, o): n for a, h, o, n in rows}

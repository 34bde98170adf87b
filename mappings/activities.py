"""Marketing activity from HubSpot data, as canonical `Activity` values.

Three sources, each named in the HubSpot map's `activities:` section:
- form submissions: the history of `recent_conversion_date` (one entry per submission), each
  with the `recent_conversion_event_name` in effect at that moment. The form or asset name
  decides the kind: the first `form_names` entry with a part of the name wins, top to bottom
  (case-insensitive); no match is `otherwise` (form_submit).
- page views: the history of `hs_analytics_last_url`. HubSpot records a change only, so
  looking at the same page again is not a new entry.
- e-mail events of the legacy e-mail events API: OPEN, CLICK, and STATUSCHANGE when it
  unsubscribes (other status changes, and types not listed, are no activity).

Every activity has a `dedupe_key` built from the source record alone, so reading the same
data again yields the same keys: `hubspot:form:<contact id>:<epoch ms>:<form name>`,
`hubspot:page:<contact id>:<epoch ms>`, `hubspot:email:<event id>`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from mappings._schema import ActivitiesSpec, FormKind
from mappings._times import parse_instant
from mappings.exceptions import RecordMappingError, ValueProblem
from mappings.model import Activity, ActivityDetail, MarketingActivityKind

_EARLIEST = datetime.min.replace(tzinfo=UTC)
Entry = tuple[datetime, str]


class ActivityClassifier:
    """Turns HubSpot contacts and e-mail events into activities, by one map's rules."""

    def __init__(self, spec: ActivitiesSpec | None = None) -> None:
        self.spec = spec if spec is not None else ActivitiesSpec()
        self._rules: list[tuple[FormKind, tuple[str, ...]]] = [
            (kind, tuple(part.casefold() for part in parts))
            for kind, parts in self.spec.form_names.items()
        ]

    def form_kind(self, name: str | None) -> FormKind:
        """The kind of a form or asset name: the first rule with a part of it wins."""
        folded = (name or "").casefold()
        for kind, parts in self._rules:
            if any(part in folded for part in parts):
                return kind
        return self.spec.otherwise

    def contact_activities(self, contact: Mapping[str, Any], lead_key: str) -> list[Activity]:
        """Form submissions and page views in a v3 contact, oldest first.

        The contact should be read with `propertiesWithHistory` for the form and page
        properties; without history only the latest submission (from `properties`) is seen.
        """
        contact_id = str(contact.get("id", ""))
        if not contact_id:
            raise _problem("id", contact.get("id"), "a HubSpot contact needs its id")
        history = contact.get("propertiesWithHistory") or {}
        properties = contact.get("properties") or {}
        found = self._forms(contact_id, lead_key, history, properties)
        page = self.spec.page_view_property
        if page is not None:
            for at, url in _entries(history, {}, page):
                found.append(
                    Activity(
                        lead_key=lead_key,
                        kind="page_view",
                        occurred_at=at,
                        detail=ActivityDetail(url=url),
                        dedupe_key=f"hubspot:page:{contact_id}:{_ms(at)}",
                    )
                )
        unique = {activity.dedupe_key: activity for activity in found}
        return sorted(unique.values(), key=lambda activity: (activity.occurred_at, activity.kind))

    def _forms(
        self,
        contact_id: str,
        lead_key: str,
        history: Mapping[str, Any],
        properties: Mapping[str, Any],
    ) -> list[Activity]:
        names = _entries(history, properties, self.spec.form_name_property)
        dates = _entries(history, properties, self.spec.form_date_property)
        submissions: list[tuple[datetime, str | None]] = []
        if dates:
            for written, value in dates:
                if written == _EARLIEST:  # no history: the current name goes with it
                    name = names[-1][1] if names else None
                else:
                    name = next((n for at, n in reversed(names) if at <= written), None)
                submissions.append((_instant(value, self.spec.form_date_property), name))
        else:
            submissions = [(at, name) for at, name in names if at != _EARLIEST]
        return [
            Activity(
                lead_key=lead_key,
                kind=self.form_kind(name),
                occurred_at=at,
                detail=ActivityDetail(name=name),
                dedupe_key=f"hubspot:form:{contact_id}:{_ms(at)}:{name or ''}",
            )
            for at, name in submissions
        ]

    def email_activity(self, event: Mapping[str, Any], lead_key: str) -> Activity | None:
        """The activity an e-mail event is, or None for events that are no activity."""
        event_type = str(event.get("type", ""))
        kind: MarketingActivityKind | None = next(
            (kind for name, kind in self.spec.email_events.items() if name == event_type), None
        )
        if kind is None:
            return None
        if event_type == "STATUSCHANGE" and not _unsubscribes(event):
            return None
        if self.spec.skip_filtered_email_events and event.get("filteredEvent") is True:
            return None
        event_id = event.get("id")
        if not event_id:
            raise _problem("id", event_id, "an e-mail event needs its id")
        campaign = event.get("emailCampaignId")
        return Activity(
            lead_key=lead_key,
            kind=kind,
            occurred_at=_instant(event.get("created"), "created"),
            detail=ActivityDetail(
                url=event.get("url") or None,
                name=event.get("subject") or None,
                campaign=str(campaign) if campaign is not None else None,
            ),
            dedupe_key=f"hubspot:email:{event_id}",
        )


def _unsubscribes(event: Mapping[str, Any]) -> bool:
    if event.get("portalSubscriptionStatus") == "UNSUBSCRIBED":
        return True
    subscriptions = event.get("subscriptions") or []
    return any(
        isinstance(item, Mapping) and item.get("status") == "UNSUBSCRIBED" for item in subscriptions
    )


def _entries(history: Mapping[str, Any], properties: Mapping[str, Any], name: str) -> list[Entry]:
    """(written at, value) of a property, oldest first; without history, the current value
    (written at an unknown, earliest time). Empty values (a cleared property) are left out."""
    entries = history.get(name)
    if isinstance(entries, list) and entries:
        found = [
            (_instant(entry.get("timestamp"), f"{name} timestamp"), str(entry.get("value")))
            for entry in entries
            if isinstance(entry, Mapping) and entry.get("value") not in (None, "")
        ]
        return sorted(found, key=lambda entry: entry[0])
    value = properties.get(name)
    return [] if value in (None, "") else [(_EARLIEST, str(value))]


def _instant(value: Any, field: str) -> datetime:
    if value in (None, ""):
        raise _problem(field, value, "a time is missing")
    try:
        return parse_instant(value, UTC)
    except ValueError as exc:
        raise _problem(field, value, str(exc)) from None


def _problem(field: str, value: Any, message: str) -> RecordMappingError:
    return RecordMappingError([ValueProblem("activity", field, value, message)])


def _ms(at: datetime) -> int:
    return round(at.timestamp() * 1000)

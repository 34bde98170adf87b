"""How a record read from one CRM changes a stored lead: the conflict rule on ingest.

For each canonical value a record brings (`FieldMap.to_values`):

- identity (`hubspot_id`, `salesforce_id`) is never overwritten here: the streams link a
  lead to a CRM record only when the lead has no id of that system yet (see the streams);
- `stage` and the recycle reason are sales' lifecycle judgement: the Salesforce stream
  moves the lead through `sync.lifecycle` instead of setting them (`ingest_stages`);
- a field that only the reading CRM's map reads takes the record's value;
- a field that both maps read, on a lead linked to the other CRM too, is resolved by the
  HubSpot map's conflict rule (`FieldMap.resolve`: the value HubSpot is meant to show, so
  the one both sides agree on), with the stored value standing for the other CRM's. With
  the shipped maps: names, company, title, industry, employees and country keep Salesforce's
  value unless it is blank (sales corrects what a form collected); the e-mail address keeps
  HubSpot's (`never`: the contact's identity there);
- a field both maps read, on a lead not linked to the other CRM, takes the record's value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from mappings._canonical import CANONICAL_FIELDS, apply_values
from mappings.model import Lead
from sync.ingest_types import FieldMaps

IDENTITY = frozenset({"hubspot_id", "salesforce_id"})
LIFECYCLE = frozenset({"stage", "stage_reason", "recycle_reason"})
ASSESSMENT_OBSERVED = frozenset(
    f"assessment.{axis}.observed" for axis in ("problem", "solution", "decision", "timeline")
)
Source = Literal["hubspot", "salesforce"]


def merge(
    lead: Lead, values: Mapping[str, Any], source: Source, maps: FieldMaps, *, skip: frozenset[str]
) -> Lead:
    """`lead` with the values read from `source` applied by the rule above; names in `skip`
    (and identity and lifecycle names) are left to the caller."""
    other: Source = "salesforce" if source == "hubspot" else "hubspot"
    linked = (lead.salesforce_id if source == "hubspot" else lead.hubspot_id) is not None
    shared = maps.reads(other)
    kept: dict[str, Any] = {}
    for name, value in values.items():
        if name in IDENTITY or name in LIFECYCLE or name in skip:
            continue
        if linked and name in shared:
            current = CANONICAL_FIELDS[name].get(lead)
            if source == "hubspot":
                value = maps.hubspot.resolve(name, ma_value=value, sfa_value=current)
            else:
                value = maps.hubspot.resolve(name, ma_value=current, sfa_value=value)
        kept[name] = value
    return apply_values(lead, kept)

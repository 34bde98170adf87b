"""The shape of a field-map YAML file, validated with pydantic (unknown keys are refused)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    model_validator,
)

from mappings._canonical import CANONICAL_FIELDS
from mappings._transforms import TransformStep
from mappings.model import MarketingActivityKind

System = Literal["hubspot", "salesforce"]
Direction = Literal["read", "write", "both"]
"""`read`: CRM -> leadloop only; `write`: leadloop -> CRM only; `both`: either way."""

ConflictRule = Literal["ma_wins", "sfa_wins", "sfa_unless_blank", "newest_wins", "never"]
"""What a field holds when HubSpot (ma) and Salesforce (sfa) disagree; see `resolve`."""

FormKind = Literal[
    "content_download",
    "webinar_attended",
    "inquiry",
    "demo_request",
    "quote_request",
    "form_submit",
]
"""The activity kinds a form submission can be."""

EmailEventType = Literal[
    "SENT",
    "DROPPED",
    "PROCESSED",
    "DELIVERED",
    "DEFERRED",
    "BOUNCE",
    "OPEN",
    "CLICK",
    "PRINT",
    "FORWARD",
    "STATUSCHANGE",
    "SPAMREPORT",
]
"""Event types of HubSpot's (legacy) e-mail events API."""

HubSpotType = Literal["string", "number", "date", "datetime", "enumeration", "bool"]
HubSpotFieldType = Literal[
    "text", "textarea", "number", "date", "select", "radio", "checkbox", "booleancheckbox"
]
_FIELD_TYPES: dict[str, tuple[str, ...]] = {
    "string": ("text", "textarea"),
    "number": ("number",),
    "date": ("date",),
    "datetime": ("date",),
    "enumeration": ("select", "radio", "checkbox"),
    "bool": ("booleancheckbox",),
}


def _check_canonical(name: str) -> str:
    if name not in CANONICAL_FIELDS:
        raise ValueError(
            f"unknown canonical field {name!r}; allowed: {', '.join(CANONICAL_FIELDS)}"
        )
    return name


def _check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown timezone {name!r}; use an IANA name such as Asia/Tokyo or UTC"
        ) from None
    return name


CanonicalName = Annotated[str, AfterValidator(_check_canonical)]
TimezoneName = Annotated[str, AfterValidator(_check_timezone)]
Text = Annotated[str, Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class FieldSpec(_Strict):
    """How one canonical field lives in the CRM."""

    field: Text
    """The CRM's own field name; a Salesforce read may follow a relationship: `Owner.Email`."""
    direction: Direction = "both"
    conflict: ConflictRule = "sfa_unless_blank"
    transform: list[TransformStep] = []


def _entry_shape(value: Any) -> str:
    return "List" if isinstance(value, list) else "Single"


FieldEntry = Annotated[
    Annotated[FieldSpec, Tag("Single")] | Annotated[list[FieldSpec], Tag("List")],
    Discriminator(_entry_shape),
]
"""One spec, or a list of specs when one canonical field goes to several CRM fields."""


class ActivitiesSpec(_Strict):
    """Which HubSpot data carries which marketing activity (HubSpot maps only)."""

    form_names: dict[FormKind, list[Text]] = {}
    """Kind -> parts of a form or asset name, case-insensitive; the first kind that matches
    (top to bottom) wins."""
    otherwise: FormKind = "form_submit"
    form_name_property: Text = "recent_conversion_event_name"
    form_date_property: Text = "recent_conversion_date"
    page_view_property: Text | None = "hs_analytics_last_url"
    email_events: dict[EmailEventType, MarketingActivityKind] = {
        "OPEN": "email_open",
        "CLICK": "email_click",
        "STATUSCHANGE": "unsubscribe",
    }
    """E-mail event type -> activity; a STATUSCHANGE counts only when it unsubscribes."""
    skip_filtered_email_events: bool = True
    """Leave out events HubSpot itself filters from reporting (`filteredEvent`, e.g. bots)."""


class CustomPropertySpec(_Strict):
    """A HubSpot contact property leadloop owns; `leadloop check --connect --fix` creates it."""

    label: Text
    type: HubSpotType
    field_type: HubSpotFieldType
    group: Text = "contactinformation"
    description: str = ""
    options: dict[str | bool, str] = {}
    """Value -> label (enumeration and bool only)."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        allowed = _FIELD_TYPES[self.type]
        if self.field_type not in allowed:
            raise ValueError(
                f"field_type {self.field_type!r} does not go with type {self.type!r};"
                f" allowed: {', '.join(allowed)}"
            )
        needs_options = self.type in ("enumeration", "bool")
        if needs_options and not self.options:
            raise ValueError(f"{self.type} properties need options (value: label)")
        if self.options and not needs_options:
            raise ValueError(f"options are for enumeration and bool properties, not {self.type}")
        return self


class FieldMapFile(_Strict):
    """The whole of a field-map file (`mappings/hubspot.yaml`, `mappings/salesforce.yaml`)."""

    system: System
    object: Text
    timezone: TimezoneName = "UTC"
    """Where a date has its midnight, and the zone of times written without an offset."""
    fields: dict[CanonicalName, FieldEntry]
    activities: ActivitiesSpec | None = None
    custom_properties: dict[Text, CustomPropertySpec] = {}

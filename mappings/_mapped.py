"""One mapped field at run time: a canonical field, its CRM field and its compiled steps."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from mappings._canonical import CanonicalField, Kind
from mappings._schema import FieldSpec, System
from mappings._steps import (
    Bands,
    Default,
    Join,
    Step,
    Template,
    Trim,
    Truncate,
    ValueMap,
    as_text,
)
from mappings._times import DateStep, DatetimeStep
from mappings._transforms import TransformStep
from mappings.model import normalize_email

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class MappedField:
    """A canonical field as one CRM field holds it; `path` is where the file says so."""

    canonical: CanonicalField
    spec: FieldSpec
    steps: tuple[Step, ...]
    path: KeyPath
    system: System

    @property
    def crm_field(self) -> str:
        return self.spec.field

    @property
    def reads(self) -> bool:
        return self.spec.direction in ("read", "both")

    @property
    def writes(self) -> bool:
        return self.spec.direction in ("write", "both")

    def to_crm(self, value: Any) -> Any:
        """The CRM value for a canonical value: the steps top to bottom, then the CRM's form."""
        for step in self.steps:
            value = step.write(value)
        return _hubspot_form(value) if self.system == "hubspot" else _salesforce_form(value)

    def from_crm(self, value: Any) -> Any:
        """The canonical value for a CRM value: the steps bottom to top, then the kind's type.

        Raises `ValueError` saying why a value cannot be read, and `IgnoredValueError` for a value
        that says nothing about this field."""
        for step in reversed(self.steps):
            value = step.read(value)
        return _canonical_form(self.canonical, value)


_STEPS: dict[str, type[Step]] = {
    "trim": Trim,
    "truncate": Truncate,
    "default": Default,
    "placeholder": Default,
    "date": DateStep,
    "datetime": DatetimeStep,
    "join": Join,
    "bands": Bands,
    "template": Template,
}


def compile_step(spec: TransformStep, timezone: tzinfo, kind: Kind) -> Step:
    """The runnable form of a validated step for a field of `kind`."""
    if spec.name == "value_map":
        return ValueMap(spec, timezone, strict=kind in ("choice", "bool"))
    return _STEPS[spec.name](spec, timezone)


def lookup(system: System, record: Mapping[str, Any], name: str) -> tuple[bool, Any]:
    """Whether `record` has the CRM field `name`, and its value.

    HubSpot records are v3 objects (`{"id", "properties": {...}, ...}`); names are looked up
    in `properties`. Salesforce records are SOQL rows; `Owner.Email` follows the nested
    relationship dict, and a relationship that is null makes the field present and empty."""
    if system == "hubspot":
        properties = hubspot_properties(record)
        return (name in properties, properties.get(name))
    node: Any = record
    for part in name.split("."):
        if node is None:
            return True, None
        if not isinstance(node, Mapping):
            return False, None
        key = part if part in node else _case_insensitive(node, part)
        if key is None:
            return False, None
        node = node[key]
    return True, node


def hubspot_properties(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """A HubSpot v3 object's properties, where `lookup` finds its fields."""
    properties = record.get("properties")
    if type(properties) is dict or isinstance(properties, Mapping):
        return properties
    raise TypeError("a HubSpot record needs its 'properties' (a v3 object, not a list)")


def _case_insensitive(node: Mapping[str, Any], name: str) -> str | None:
    lowered = name.lower()
    return next((key for key in node if isinstance(key, str) and key.lower() == lowered), None)


def _hubspot_form(value: Any) -> str:
    """HubSpot takes every property value as text; "" clears a property."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return as_text(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _salesforce_form(value: Any) -> Any:
    """Salesforce takes JSON types; a Decimal goes as a number."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _canonical_form(field: CanonicalField, value: Any) -> Any:
    kind = field.kind
    if kind == "reasons":
        return tuple(value or ())
    if value is None or (isinstance(value, str) and value == ""):
        return None
    if kind == "text":
        text = as_text(value)
        return normalize_email(text) if field.name == "email" else text
    if kind == "int":
        return _whole(value)
    if kind == "decimal":
        return _decimal(value)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise ValueError(f"{value!r} is not true or false")
    if kind == "datetime":
        if not isinstance(value, datetime):
            raise ValueError(f"{value!r} is not a date and time")
        return value
    if value not in field.choices:
        raise ValueError(f"{value!r} is not one of {', '.join(map(str, field.choices))}")
    return value


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a number")
    return number


def _whole(value: Any) -> int:
    number = _decimal(value)
    if number != number.to_integral_value():
        raise ValueError(f"{value!r} is not a whole number")
    return int(number)

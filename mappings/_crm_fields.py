"""The CRM fields a map needs, as the online check compares them with the CRM's metadata."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mappings._check import written_values
from mappings._mapped import MappedField
from mappings._schema import CustomPropertySpec, Direction, FieldMapFile, System
from mappings._steps import as_text
from mappings._transforms import FlowKind

_SALESFORCE_TYPES: dict[str, tuple[str, ...]] = {
    "text": ("string", "textarea", "email", "phone", "url", "picklist", "id", "reference"),
    "text_read": (
        *("string", "textarea", "email", "phone", "url", "picklist", "id", "reference"),
        *("int", "double"),
    ),
    "choice": ("picklist", "string"),
    "scalar": ("picklist", "string", "boolean", "int", "double"),
    "int": ("int", "double", "currency", "percent"),
    "decimal": ("double", "currency", "percent"),
    "bool": ("boolean",),
    "date": ("date",),
    "datetime": ("datetime",),
    "reasons": ("textarea", "string"),
    "bands": ("picklist", "string"),
}
_HUBSPOT_TYPES: dict[str, tuple[str, ...]] = {
    "text": ("string", "enumeration"),
    "text_read": ("string", "enumeration", "number"),
    "choice": ("enumeration", "string"),
    "scalar": ("enumeration", "string", "bool", "number"),
    "int": ("number",),
    "decimal": ("number",),
    "bool": ("bool", "enumeration"),
    "date": ("date",),
    "datetime": ("datetime",),
    "reasons": ("string",),
    "bands": ("enumeration", "string"),
}


@dataclass(frozen=True, slots=True)
class CustomProperty:
    """A HubSpot contact property leadloop owns, as `--fix` creates it."""

    name: str
    label: str
    type: str
    field_type: str
    group: str
    description: str = ""
    options: tuple[tuple[str, str], ...] = ()
    """(value, label) pairs for enumeration and bool properties."""

    def to_hubspot(self) -> dict[str, Any]:
        """The body of `POST /crm/v3/properties/contacts` that creates this property."""
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "groupName": self.group,
            "description": self.description,
            "options": [
                {"label": label, "value": value, "displayOrder": order, "hidden": False}
                for order, (value, label) in enumerate(self.options)
            ],
        }


@dataclass(frozen=True, slots=True)
class CrmField:
    """One CRM field a map uses, with what the CRM must offer for the map to work.

    `types` are the CRM's own type names that can hold the values (Salesforce describe
    `type`, HubSpot property `type`); `length` is the most characters leadloop writes (its
    `truncate`), so the CRM field must be at least that long; `values` are the picklist or
    enumeration values leadloop writes, all of which a restricted picklist must offer. A
    dotted Salesforce name (`Owner.Email`) is a field of a related record.
    """

    name: str
    canonical: tuple[str, ...]
    direction: Direction
    types: tuple[str, ...]
    length: int | None = None
    values: tuple[str, ...] = ()
    custom: CustomProperty | None = None


def custom_property(name: str, spec: CustomPropertySpec) -> CustomProperty:
    return CustomProperty(
        name=name,
        label=spec.label,
        type=spec.type,
        field_type=spec.field_type,
        group=spec.group,
        description=spec.description,
        options=tuple((as_text(value), label) for value, label in spec.options.items()),
    )


def required_crm_fields(file: FieldMapFile, mapped: Sequence[MappedField]) -> tuple[CrmField, ...]:
    """Every CRM field the map reads or writes, once each, in the order the file names them."""
    grouped: dict[str, list[MappedField]] = {}
    for field in mapped:
        grouped.setdefault(field.crm_field, []).append(field)
    found = []
    for name, fields in grouped.items():
        reads = any(field.reads for field in fields)
        writes = any(field.writes for field in fields)
        direction: Direction = "both" if reads and writes else "read" if reads else "write"
        types: list[str] = []
        for field in fields:
            types += [t for t in _types(file.system, field) if t not in types]
        limits = [step.spec.truncate for f in fields for step in f.steps if step.spec.truncate]
        values = [
            value
            for field in fields
            if field.writes and {"picklist", "enumeration"} & set(_types(file.system, field))
            for value in written_values(field)
        ]
        spec = file.custom_properties.get(name) if file.system == "hubspot" else None
        found.append(
            CrmField(
                name=name,
                canonical=tuple(field.canonical.name for field in fields),
                direction=direction,
                types=tuple(types),
                length=min(limits) if limits else None,
                values=tuple(dict.fromkeys(values)),
                custom=custom_property(name, spec) if spec is not None else None,
            )
        )
    return tuple(found)


def _types(system: System, field: MappedField) -> tuple[str, ...]:
    kind: FlowKind | str = field.canonical.kind
    for step in field.steps:
        if step.spec.bands is not None:
            kind = "bands"
        elif step.name in ("date", "datetime", "join"):
            kind = {"date": "date", "datetime": "datetime", "join": "reasons"}[step.name]
        elif step.name == "value_map":
            mapped_to = step.output("text")
            kind = "choice" if mapped_to == "text" and kind in ("choice", "bool") else mapped_to
    if kind == "text" and not field.writes:
        kind = "text_read"  # any value reads as text, a number (such as an id) included
    table = _HUBSPOT_TYPES if system == "hubspot" else _SALESFORCE_TYPES
    return table.get(kind, ())

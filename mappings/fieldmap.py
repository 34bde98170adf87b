"""Field maps: how each CRM holds the canonical lead, applied both ways.

A field-map file (`mappings/hubspot.yaml`, `mappings/salesforce.yaml`) names, for each
canonical field (a dotted path into `Lead`, see `CANONICAL_FIELDS`), the CRM field that
holds it, the direction it travels, the conflict rule when both CRMs hold a value, and the
transform steps between the two forms (the vocabulary is in `mappings._transforms`, the
conflict rules in `mappings._conflicts`). `load_field_map(path)` validates a file and raises
`FieldMapError` naming every problem as `file:line: key.path: message`.

Records go in as the connectors emit them: a HubSpot v3 object `{"id", "properties": {...}}`
(names are looked up in `properties`), a Salesforce SOQL row (dotted names such as
`Owner.Email` follow nested relationship records). Values come out in each CRM's form:
HubSpot takes text for every property ("" clears one), Salesforce takes JSON types (None
clears a field).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from mappings._canonical import CANONICAL_FIELDS, apply_values
from mappings._check import check_map
from mappings._conflicts import is_blank, resolve_conflict
from mappings._crm_fields import CrmField, CustomProperty, required_crm_fields
from mappings._mapped import KeyPath, MappedField, compile_step, hubspot_properties, lookup
from mappings._schema import ConflictRule, Direction, FieldMapFile, FieldSpec, System
from mappings._steps import IgnoredValueError
from mappings.activities import ActivityClassifier
from mappings.exceptions import (
    FieldMapError,
    MapProblem,
    RecordMappingError,
    ValueProblem,
)
from mappings.model import Lead
from mappings.pydantic_errors import file_problems
from mappings.yaml_lines import YamlError, load_yaml_with_lines

DEFAULT_MAPS: dict[System, Path] = {
    "hubspot": Path(__file__).with_name("hubspot.yaml"),
    "salesforce": Path(__file__).with_name("salesforce.yaml"),
}
"""The maps shipped with leadloop (package data), used unless the user gives their own."""


READ_CACHE_SIZE = 1024
"""Raw values remembered per read field, with the canonical value each one reads as."""
_PLAIN = (str, int, float, bool)
WRITE_CACHE_SIZE = 1024
"""Canonical values remembered per written field, with the CRM value each one writes as."""
_CACHED_WRITES = (*_PLAIN, tuple)  # a tuple: the score reasons, immutable values


class FieldMap:
    """One CRM's field map: validated, compiled, ready to translate records and leads."""

    def __init__(self, spec: FieldMapFile, *, lines: Mapping[KeyPath, int] | None = None) -> None:
        self.spec = spec
        self.system: System = spec.system
        self.object = spec.object
        self.timezone = ZoneInfo(spec.timezone)
        self._lines = dict(lines or {})
        self.fields: tuple[MappedField, ...] = tuple(self._compile())
        self._reading = tuple(
            (field, lru_cache(maxsize=READ_CACHE_SIZE, typed=True)(field.from_crm))
            for field in self.fields
            if field.reads
        )
        self.read_names = frozenset(field.canonical.name for field, _ in self._reading)
        """The canonical fields this map reads."""
        self._written = tuple(
            (field, lru_cache(maxsize=WRITE_CACHE_SIZE, typed=True)(field.to_crm))
            for field in self.fields
            if field.writes
        )
        self._writing: dict[
            frozenset[str] | None, tuple[tuple[MappedField, Callable[[Any], Any]], ...]
        ] = {}
        self.activities: ActivityClassifier | None = (
            ActivityClassifier(spec.activities) if spec.activities is not None else None
        )

    def _compile(self) -> list[MappedField]:
        found = []
        for name, entry in self.spec.fields.items():
            canonical = CANONICAL_FIELDS[name]
            specs: list[tuple[KeyPath, FieldSpec]] = (
                [(("fields", name, index), spec) for index, spec in enumerate(entry)]
                if isinstance(entry, list)
                else [(("fields", name), entry)]
            )
            for path, spec in specs:
                steps = tuple(
                    compile_step(step, self.timezone, canonical.kind) for step in spec.transform
                )
                found.append(MappedField(canonical, spec, steps, path, self.system))
        return found

    def check(self) -> list[MapProblem]:
        """Problems beyond the file's shape: steps that do not fit a field's type, value maps
        that miss values, fields read or written twice, bad formats; in line order."""
        return check_map(self.spec, self.fields, self._lines)

    @property
    def read_fields(self) -> tuple[str, ...]:
        """The CRM fields to ask for when reading (SOQL SELECT list, HubSpot `properties`)."""
        return tuple(dict.fromkeys(field.crm_field for field in self.fields if field.reads))

    def to_values(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Canonical field -> canonical value, for each read field the record holds.

        A field absent from the record is left out; a field present and empty is None; a
        value that `read_extra` maps to null says nothing and is left out. Values that
        cannot be read raise `RecordMappingError` listing every one of them.
        """
        values: dict[str, Any] = {}
        problems: list[ValueProblem] = []
        properties = hubspot_properties(record) if self.system == "hubspot" else None
        for field, cached in self._reading:
            if properties is not None:  # one lookup of the record's properties, not one a field
                name = field.crm_field
                present, raw = name in properties, properties.get(name)
            else:
                present, raw = lookup(self.system, record, field.crm_field)
            if not present:
                continue
            try:
                # Reading is a pure function of the raw value: plain values (most of them
                # repeat across records: industries, sources, stages) go through a cache.
                read = cached if raw is None or type(raw) in _PLAIN else field.from_crm
                values[field.canonical.name] = read(raw)
            except IgnoredValueError:
                continue
            except ValueError as exc:
                problems.append(ValueProblem(field.canonical.name, field.crm_field, raw, str(exc)))
        if problems:
            raise RecordMappingError(problems)
        return values

    def to_lead(self, record: Mapping[str, Any], base: Lead) -> Lead:
        """`base` with the record's read values applied (`recycle_reason` sets stage_reason).

        No lifecycle judgement happens here: the caller decides whether a stage read from
        the CRM is a move the lead may make."""
        return apply_values(base, self.to_values(record))

    def from_lead(self, lead: Lead, *, only: Collection[str] | None = None) -> dict[str, Any]:
        """CRM field -> CRM value for every written field (or only the canonical fields in
        `only`), steps applied. A lead's missing value clears the CRM field unless a
        `default` or `placeholder` step fills it."""
        chosen = None if only is None else frozenset(only)
        writing = self._writing.get(chosen)
        if writing is None:
            if chosen is not None:
                unknown = sorted(chosen - set(CANONICAL_FIELDS))
                if unknown:
                    raise ValueError(f"unknown canonical fields: {', '.join(unknown)}")
            writing = self._writing[chosen] = tuple(
                (field, cached)
                for field, cached in self._written
                if chosen is None or field.canonical.name in chosen
            )
        values: dict[str, Any] = {}
        for field, cached in writing:
            value = field.canonical.get(lead)
            # Like reading: plain values (stages, scores, their reasons) repeat from lead to
            # lead, and writing one is a pure function of it.
            write = cached if value is None or type(value) in _CACHED_WRITES else field.to_crm
            values[field.crm_field] = write(value)
        return values

    def conflict_rule(self, canonical_field: str) -> ConflictRule:
        """The conflict rule this map sets for a canonical field (its first spec's)."""
        for field in self.fields:
            if field.canonical.name == canonical_field:
                return field.spec.conflict
        raise ValueError(f"{canonical_field!r} is not in the {self.system} map")

    def resolve(
        self,
        canonical_field: str,
        ma_value: Any,
        sfa_value: Any,
        ma_changed_at: datetime | None = None,
        sfa_changed_at: datetime | None = None,
    ) -> Any:
        """The value this map's CRM should hold when HubSpot (`ma_value`) and Salesforce
        (`sfa_value`) disagree, by the field's conflict rule:

        - `ma_wins` / `sfa_wins`: HubSpot's / Salesforce's value, even when blank;
        - `sfa_unless_blank`: Salesforce's value unless it is blank, then HubSpot's;
        - `newest_wins`: the value changed last (unknown times count as oldest; a tie goes
          to Salesforce);
        - `never`: never overwrite an existing value in this map's CRM; only fill a blank.
        """
        return resolve_conflict(
            self.conflict_rule(canonical_field),
            own=self.system,
            ma_value=ma_value,
            sfa_value=sfa_value,
            ma_changed_at=ma_changed_at,
            sfa_changed_at=sfa_changed_at,
        )

    def required_crm_fields(self) -> tuple[CrmField, ...]:
        """The CRM fields this map uses, with the types, lengths and picklist values the CRM
        must offer; HubSpot properties leadloop owns carry the definition `--fix` creates."""
        return required_crm_fields(self.spec, self.fields)


def load_field_map(path: Path) -> FieldMap:
    """Read, validate and check a field-map file; raise `FieldMapError` naming every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FieldMapError(path, [MapProblem(None, "", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FieldMapError(path, [MapProblem(None, "", f"cannot read: {exc}")]) from None
    try:
        data, lines = load_yaml_with_lines(text)
    except YamlError as exc:
        raise FieldMapError(path, [MapProblem(exc.line, exc.key_path, exc.reason)]) from None
    if not isinstance(data, dict):
        raise FieldMapError(path, [MapProblem(1, "", "the file must be a mapping of keys")])
    try:
        spec = FieldMapFile.model_validate(data)
    except ValidationError as exc:
        raise FieldMapError(path, file_problems(FieldMapFile, exc, data, lines)) from None
    field_map = FieldMap(spec, lines=lines)
    problems = field_map.check()
    if problems:
        raise FieldMapError(path, problems)
    return field_map


def load_default_field_map(system: System) -> FieldMap:
    """The field map shipped with leadloop for `system`."""
    return load_field_map(DEFAULT_MAPS[system])


__all__ = [
    "CANONICAL_FIELDS",
    "DEFAULT_MAPS",
    "ActivityClassifier",
    "ConflictRule",
    "CrmField",
    "CustomProperty",
    "Direction",
    "FieldMap",
    "FieldMapError",
    "FieldMapFile",
    "MapProblem",
    "RecordMappingError",
    "System",
    "ValueProblem",
    "is_blank",
    "load_default_field_map",
    "load_field_map",
]

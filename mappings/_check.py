"""What a field map must satisfy beyond its shape: steps that fit the field's type, value maps
that cover every value, one reader per canonical field, one writer per CRM field."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mappings._mapped import KeyPath, MappedField
from mappings._schema import FieldMapFile
from mappings._steps import Default, ValueMap, as_text, parse_band
from mappings._transforms import DATE_FORMATS, DATETIME_FORMATS, FlowKind
from mappings.exceptions import MapProblem

_KIND_NAMES: dict[str, str] = {
    "text": "a text",
    "int": "a whole-number",
    "decimal": "an amount",
    "bool": "a true/false",
    "datetime": "a date-and-time",
    "choice": "a choice",
    "reasons": "a score-reasons",
    "scalar": "a mapped",
}
_HUBSPOT_NAME = re.compile(r"[a-z][a-z0-9_]*")
_SALESFORCE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*")


class _Problems:
    def __init__(self, lines: Mapping[KeyPath, int]) -> None:
        self.lines = lines
        self.found: list[MapProblem] = []

    def add(self, path: KeyPath, message: str) -> None:
        line = next(
            (self.lines[path[:end]] for end in range(len(path), 0, -1) if path[:end] in self.lines),
            None,
        )
        self.found.append(MapProblem(line, ".".join(str(part) for part in path), message))


def check_map(
    file: FieldMapFile, mapped: Sequence[MappedField], lines: Mapping[KeyPath, int]
) -> list[MapProblem]:
    """Every problem with a validated map, in line order."""
    problems = _Problems(lines)
    if file.system == "hubspot" and file.object != "contacts":
        problems.add(("object",), f"a HubSpot map is for contacts, not {file.object!r}")
    if file.system != "hubspot":
        if file.activities is not None:
            problems.add(("activities",), "activities are read from HubSpot; remove this section")
        if file.custom_properties:
            problems.add(
                ("custom_properties",),
                "custom_properties are HubSpot properties leadloop creates; Salesforce fields"
                " are created by an administrator in Setup",
            )
    for field in mapped:
        _check_name(problems, file, field)
        _check_steps(problems, field)
    _check_readers_and_writers(problems, mapped)
    _check_custom_properties(problems, file, mapped)
    return sorted(problems.found, key=lambda problem: problem.line or 0)


def _check_name(problems: _Problems, file: FieldMapFile, field: MappedField) -> None:
    name, where = field.crm_field, (*field.path, "field")
    if file.system == "hubspot" and not _HUBSPOT_NAME.fullmatch(name):
        problems.add(where, f"{name!r} is not a HubSpot property name (lower case, digits, _)")
    if file.system == "salesforce":
        if not _SALESFORCE_NAME.fullmatch(name):
            problems.add(where, f"{name!r} is not a Salesforce field name (Email, Owner.Email)")
        elif "." in name and field.writes:
            problems.add(
                (*field.path, "direction"),
                f"{name} follows a relationship, which can only be read; set direction: read",
            )
    canonical = field.canonical
    if canonical.write_only and field.reads:
        problems.add(
            (*field.path, "direction"),
            f"{canonical.name} is a link leadloop builds; it can only be written"
            " (direction: write)",
        )
    if canonical.write_only and not any(step.name == "template" for step in field.steps):
        problems.add(
            field.path,
            f"{canonical.name} needs a template step that builds the link from the record id,"
            ' e.g. `- template: "https://example.my.salesforce.com/{}"`',
        )


def _check_steps(problems: _Problems, field: MappedField) -> None:
    canonical = field.canonical
    kind: FlowKind = canonical.kind
    for index, step in enumerate(field.steps):
        where = (*field.path, "transform", index)
        if kind not in step.accepts:
            fits = " or ".join(sorted(_KIND_NAMES[k].split(" ", 1)[1] for k in step.accepts))
            problems.add(
                (*where, step.name),
                f"{step.name} does not fit {_KIND_NAMES[kind]} value ({canonical.name} at this"
                f" step); it applies to {fits} values",
            )
            return
        _check_step(problems, field, step, kind, (*where, step.name))
        kind = step.output(kind)
    if kind == "datetime":
        problems.add(
            field.path,
            f"{canonical.name} is a date and time: add a `datetime:` or `date:` step saying the"
            f" CRM's format ({', '.join(DATETIME_FORMATS)} or a pattern)",
        )
    if kind == "reasons":
        problems.add(field.path, f"{canonical.name} needs a `join:` step, e.g. `- join: lines`")


def _check_step(
    problems: _Problems, field: MappedField, step: Any, kind: FlowKind, where: KeyPath
) -> None:
    spec = step.spec
    if isinstance(step, ValueMap):
        _check_value_map(problems, field, step, kind, where)
    elif isinstance(step, Default):
        _check_fill(problems, field, step.fill, kind, where)
    elif spec.bands is not None:
        _check_bands(problems, spec.bands, where)
    elif spec.template is not None and spec.template.count("{}") != 1:
        problems.add(where, "a template needs exactly one {} where the value goes")
    elif field.system == "salesforce" and "epoch_ms" in (spec.date_format, spec.datetime_format):
        named = DATE_FORMATS if spec.date_format else DATETIME_FORMATS
        allowed = ", ".join(name for name in named if name != "epoch_ms")
        problems.add(where, f"Salesforce takes ISO 8601, not epoch milliseconds; use {allowed}")


def _check_value_map(
    problems: _Problems, field: MappedField, step: ValueMap, kind: FlowKind, where: KeyPath
) -> None:
    canonical = field.canonical
    if kind not in ("choice", "bool"):
        return
    values = [as_text(value) for value in canonical.choices]
    listed = ", ".join(values)
    given = [as_text(key) for key in step.mapping]
    missing = [value for value in values if value not in given]
    if missing:
        problems.add(
            where,
            f"does not cover {', '.join(missing)}; every value of {canonical.name} needs a CRM"
            f" value ({listed})",
        )
    for key in given:
        if key not in values:
            problems.add((*where, key), f"{key!r} is not a value of {canonical.name} ({listed})")
    extra_where = (*where[:-1], "read_extra")
    for crm, value in step.extra.items():
        if value is not None and as_text(value) not in values:
            problems.add(
                (*extra_where, crm),
                f"{value!r} is not a value of {canonical.name} ({listed}); use null to ignore",
            )
    if not field.reads:
        return
    for crm, sources in step.inverse.items():
        if len(sources) > 1 and crm not in step.extra:
            problems.add(
                where,
                f"{crm!r} is written for {', '.join(as_text(s) for s in sources)}; say under"
                f" read_extra which one it reads as (or null to ignore it on read)",
            )


def _check_fill(
    problems: _Problems, field: MappedField, fill: Any, kind: FlowKind, where: KeyPath
) -> None:
    fits = {
        "text": isinstance(fill, str),
        "int": isinstance(fill, int) and not isinstance(fill, bool),
        "decimal": isinstance(fill, int | float) and not isinstance(fill, bool),
        "bool": isinstance(fill, bool),
        "choice": as_text(fill) in {as_text(c) for c in field.canonical.choices},
        "scalar": True,
    }
    if not fits.get(kind, False):
        problems.add(where, f"{fill!r} does not fit {_KIND_NAMES[kind]} value here")


def _check_bands(problems: _Problems, bands: Iterable[str], where: KeyPath) -> None:
    lows: list[int] = []
    for index, label in enumerate(bands):
        try:
            lows.append(parse_band(label)[0])
        except ValueError as exc:
            problems.add((*where, index), str(exc))
    if lows != sorted(set(lows)):
        problems.add(where, "bands must go from the smallest to the largest, each once")


def _check_readers_and_writers(problems: _Problems, mapped: Sequence[MappedField]) -> None:
    readers: dict[str, MappedField] = {}
    writers: dict[str, MappedField] = {}
    for field in mapped:
        if field.reads:
            name = field.canonical.name
            target = "stage_reason" if name == "recycle_reason" else name
            first = readers.get(target)
            if first is not None:
                via = "" if name == target else f" ({name} reads into it)"
                problems.add(
                    (*field.path, "direction"),
                    f"{target}{via} is already read from {first.crm_field} (line"
                    f" {_line(problems, first)}); read it from one CRM field and set"
                    " direction: write here",
                )
            readers.setdefault(target, field)
        if field.writes:
            key = field.crm_field.lower()
            first = writers.get(key)
            if first is not None:
                problems.add(
                    (*field.path, "field"),
                    f"{field.crm_field} is already written from {first.canonical.name} (line"
                    f" {_line(problems, first)}); a CRM field takes one canonical field",
                )
            writers.setdefault(key, field)


def _line(problems: _Problems, field: MappedField) -> int | None:
    return problems.lines.get(field.path)


def _check_custom_properties(
    problems: _Problems, file: FieldMapFile, mapped: Sequence[MappedField]
) -> None:
    if file.system != "hubspot":
        return
    for field in mapped:
        name = field.crm_field
        prop = file.custom_properties.get(name)
        if prop is None:
            if name.startswith("leadloop_"):
                problems.add(
                    (*field.path, "field"),
                    f"{name} is leadloop's own property; define it under custom_properties so"
                    " `leadloop check --connect --fix` can create it",
                )
            continue
        if not field.writes or prop.type not in ("enumeration", "bool"):
            continue
        written = written_values(field)
        options = {as_text(value) for value in prop.options}
        missing = [value for value in written if value not in options]
        if missing:
            problems.add(
                ("custom_properties", name, "options"),
                f"lacks {', '.join(missing)}, which leadloop writes from {field.canonical.name}",
            )


def written_values(field: MappedField) -> list[str]:
    """The CRM values a field can write when they form a closed set (else empty)."""
    canonical = field.canonical
    values: list[Any] = list(canonical.choices) if canonical.kind in ("choice", "bool") else []
    for step in field.steps:
        if isinstance(step, ValueMap) and values:
            values = [step.forward.get(as_text(value), value) for value in values]
        elif step.spec.bands is not None:
            values = list(step.spec.bands)
    return list(dict.fromkeys(as_text(value) for value in values))

"""`leadloop check`: whether a deployment can work, from the field maps up to the CRMs.

Offline, both field maps are loaded and checked (`load_field_map`). With `connect`, each
map's `required_crm_fields()` is compared with what its CRM offers: HubSpot's contact
property definitions, Salesforce's describe of the map's object (and of related objects for
names such as `Owner.Email`). Each problem is one `Finding`: the map's file, line and key,
what is wrong, and the fix. With `fix`, the HubSpot properties the map defines under
`custom_properties` and HubSpot lacks are created; Salesforce metadata is never changed
(the finding says what to do in Setup).

Salesforce is described through `SalesforceConnector.session.call` rather than
`SalesforceConnector.describe`, which keeps only eight keys per field; the check also needs
`restrictedPicklist`, `unique`, `defaultedOnCreate`, `relationshipName` and `referenceTo`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.errors import ConnectorError, FatalError, RateLimitedError
from connectors.hubspot import HubSpotConnector, HubSpotSettings
from connectors.retry import Retry
from connectors.salesforce import SalesforceConnector, SalesforceSettings
from connectors.usage import ApiUsage
from mappings.exceptions import FieldMapError, MapProblem
from mappings.fieldmap import CrmField, FieldMap, System, load_field_map
from mappings.yaml_lines import YamlError, load_yaml_with_lines

KeyPath = tuple[str | int, ...]
_TEXT_TYPES = ("string", "textarea", "email", "phone", "url", "picklist")
_SOBJECT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_HUBSPOT_SETTINGS = "HubSpot Settings > Properties"
_URL_VARIABLES = {
    "HubSpot": "HUBSPOT_BASE_URL (default https://api.hubapi.com)",
    "Salesforce": "SALESFORCE_INSTANCE_URL (or https://SALESFORCE_DOMAIN.salesforce.com)",
}
_SETUP_TYPES = {
    "string": "Text",
    "textarea": "Text Area (Long)",
    "picklist": "Picklist",
    "int": "Number",
    "double": "Number",
    "currency": "Currency",
    "percent": "Percent",
    "boolean": "Checkbox",
    "date": "Date",
    "datetime": "Date/Time",
    "email": "Email",
    "phone": "Phone",
    "url": "URL",
}
"""Salesforce describe types by the names Setup gives them when a field is created."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing wrong: where (a map's file and line, or nothing for a connection), what, fix."""

    file: Path | None
    problem: MapProblem
    fix: str = ""

    def render(self) -> str:
        text = self.problem.render(self.file) if self.file else self.problem.message
        return f"{text}; fix: {self.fix}" if self.fix else text


@dataclass
class Report:
    """What `check_deployment` found: what passed or was done (one line each, in order), the
    HubSpot properties it created, and the problems."""

    lines: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


@dataclass(frozen=True, slots=True)
class _Map:
    """A loaded field map with the line of each key, to point findings at the file."""

    path: Path
    field_map: FieldMap
    lines: Mapping[KeyPath, int]

    def finding(self, key: KeyPath, message: str, fix: str) -> Finding:
        line = next(
            (self.lines[key[:n]] for n in range(len(key), 0, -1) if key[:n] in self.lines), None
        )
        return Finding(self.path, MapProblem(line, ".".join(map(str, key)), message), fix)

    def key(self, crm: CrmField, *tail: str) -> KeyPath:
        """Where the map first names `crm` (its `field:` key, or `tail` beside it)."""
        path = next(f.path for f in self.field_map.fields if f.crm_field == crm.name)
        return (*path, *(tail or ("field",)))

    def truncate_key(self, crm: CrmField) -> KeyPath:
        for mapped in self.field_map.fields:
            for index, step in enumerate(mapped.spec.transform):
                if mapped.crm_field == crm.name and step.truncate == crm.length:
                    return (*mapped.path, "transform", index)
        return self.key(crm)

    def value_key(self, crm: CrmField, value: str) -> KeyPath:
        """Where the map makes `crm` take `value`: its value_map entry or its bands."""
        for mapped in self.field_map.fields:
            if mapped.crm_field != crm.name or not mapped.writes:
                continue
            for index, step in enumerate(mapped.spec.transform):
                here = (*mapped.path, "transform", index)
                if step.bands is not None and value in step.bands:
                    return (*here, "bands")
                for source, target in (step.value_map or {}).items():
                    if _text(target) == value:
                        return (*here, "value_map", _text(source))
        return self.key(crm)


def check_deployment(
    paths: Mapping[System, Path],
    *,
    connect: bool = False,
    fix: bool = False,
    env: Mapping[str, str] = os.environ,
) -> Report:
    """Check the field maps at `paths`; with `connect` (implied by `fix`) against the CRMs."""
    report = Report()
    maps = {system: _load(system, path, report) for system, path in paths.items()}
    if not (connect or fix):
        return report
    hubspot, salesforce = maps.get("hubspot"), maps.get("salesforce")
    if hubspot is not None:
        _check_hubspot(hubspot, report, fix=fix, env=env)
    if salesforce is not None:
        _check_salesforce(salesforce, report, env=env)
    return report


def _load(system: System, path: Path, report: Report) -> _Map | None:
    try:
        field_map = load_field_map(path)
        _, lines = load_yaml_with_lines(path.read_text(encoding="utf-8"))
    except FieldMapError as exc:
        report.problems += [Finding(exc.file, problem) for problem in exc.problems]
        return None
    except (OSError, YamlError) as exc:  # changed since it was loaded a moment ago
        report.problems.append(Finding(path, MapProblem(None, "", f"cannot read: {exc}")))
        return None
    loaded = _Map(path, field_map, lines)
    if field_map.system != system:
        report.problems.append(
            loaded.finding(
                ("system",),
                f"this is the {field_map.system} map, given as the {system} map",
                f"name a {system} map under field_maps.{system} in leadloop.yaml",
            )
        )
        return None
    count = len(field_map.fields)
    report.lines.append(f"{path}: ok ({count} fields of {system} {field_map.object})")
    return loaded


def _retry() -> Retry:
    """A person is waiting: a few quick retries, not the daemon's patience."""
    return Retry(ApiUsage(), attempts=3, max_backoff=2.0, max_total=20.0)


def _unreachable(exc: ConnectorError) -> Finding:
    parts = " ".join(p for p in (str(exc.status) if exc.status else None, exc.code) if p)
    where = f" ({parts})" if parts else ""
    if isinstance(exc, FatalError):
        fix = exc.fix
    elif isinstance(exc, RateLimitedError):
        fix = f"{exc.system}'s rate limit is spent for now; run the check again later"
    else:
        fix = (
            f"check that {exc.system} can be reached at {_URL_VARIABLES.get(exc.system, 'its URL')}"
            " (network, proxy, the service's status), then run the check again"
        )
    return Finding(None, MapProblem(None, "", f"{exc.system}{where}: {exc.message}"), fix)


# HubSpot -------------------------------------------------------------------------------------


def _check_hubspot(loaded: _Map, report: Report, *, fix: bool, env: Mapping[str, str]) -> None:
    before = len(report.problems)
    needs = loaded.field_map.required_crm_fields()
    try:
        with HubSpotConnector(HubSpotSettings.from_env(env), retry=_retry()) as hubspot:
            found = {prop["name"]: prop for prop in hubspot.contact_properties()}
            for crm in needs:
                prop = found.get(crm.name)
                if prop is None and fix and crm.custom is not None:
                    _create(hubspot, loaded, crm, report)
                elif prop is None:
                    report.problems.append(_missing_property(loaded, crm))
                else:
                    report.problems += _compare_property(loaded, crm, prop)
    except ConnectorError as exc:
        report.problems.append(_unreachable(exc))
        return
    if len(report.problems) == before:
        report.lines.append(f"HubSpot: ok ({len(needs)} contact properties of {loaded.path})")


def _create(hubspot: HubSpotConnector, loaded: _Map, crm: CrmField, report: Report) -> None:
    assert crm.custom is not None
    try:
        hubspot.create_property(crm.custom.to_hubspot())
    except FatalError:
        raise
    except ConnectorError as exc:
        report.problems.append(
            loaded.finding(
                ("custom_properties", crm.name),
                f"HubSpot refused to create the property {crm.name}: {exc.message}",
                f"correct its definition here, or create it in {_HUBSPOT_SETTINGS}",
            )
        )
        return
    report.created.append(crm.name)
    kind = f"{crm.custom.type}, {crm.custom.field_type}"
    report.lines.append(f"HubSpot: created the contact property {crm.name} ({kind})")


def _missing_property(loaded: _Map, crm: CrmField) -> Finding:
    message = f"HubSpot has no contact property {crm.name}"
    if crm.custom is not None:
        fix = (
            f"create the HubSpot property {crm.name} ({crm.custom.type}) — run"
            " `leadloop check --connect --fix`"
        )
    else:
        fix = (
            f"set field: to the internal name of an existing property, or define {crm.name}"
            f" under custom_properties (type {' or '.join(crm.types)}) and run"
            " `leadloop check --connect --fix`"
        )
    return loaded.finding(loaded.key(crm), message, fix)


def _compare_property(loaded: _Map, crm: CrmField, prop: Mapping[str, Any]) -> Iterator[Finding]:
    kind = prop.get("type")
    label = f"{prop.get('label') or crm.name} ({crm.name})"
    if kind not in crm.types:
        yield loaded.finding(
            loaded.key(crm),
            f"HubSpot property {crm.name} is of type {kind}; {', '.join(crm.canonical)} needs"
            f" {' or '.join(crm.types)}",
            f"map a property of type {' or '.join(crm.types)}"
            + (f", or delete {crm.name} in HubSpot and run --fix" if crm.custom else ""),
        )
        return
    meta = prop.get("modificationMetadata") or {}
    if crm.direction != "read" and (meta.get("readOnlyValue") or prop.get("calculated")):
        yield loaded.finding(
            loaded.key(crm, "direction"),
            f"HubSpot sets the property {crm.name} itself; leadloop cannot write it",
            "set direction: read, or map a property leadloop may write",
        )
    if kind in ("enumeration", "bool"):
        options = [str(option.get("value")) for option in prop.get("options") or []]
        for value in crm.values:
            if value not in options:
                yield loaded.finding(
                    loaded.value_key(crm, value),
                    f"HubSpot property {crm.name} has no option {value!r}"
                    f" (it has: {', '.join(options) or 'none'})",
                    f"add the option {value!r} to {label} in {_HUBSPOT_SETTINGS}, or map to"
                    " an option it has",
                )


# Salesforce ----------------------------------------------------------------------------------


class _Org:
    """Salesforce describes, fetched once per sObject, fields keyed by lower-case name."""

    def __init__(self, salesforce: SalesforceConnector) -> None:
        self._salesforce = salesforce
        self._described: dict[str, dict[str, dict[str, Any]]] = {}

    def fields(self, sobject: str) -> dict[str, dict[str, Any]]:
        if sobject not in self._described:
            if not _SOBJECT_NAME.fullmatch(sobject):
                raise ValueError(f"{sobject!r} is not an sObject name")
            path = f"sobjects/{sobject}/describe"
            body = self._salesforce.session.call("describe", lambda sf: sf.restful(path))
            fields = body.get("fields", []) if isinstance(body, dict) else []
            self._described[sobject] = {str(f["name"]).lower(): f for f in fields}
        return self._described[sobject]

    def resolve(self, sobject: str, name: str) -> dict[str, Any] | None:
        """The described field `name` of `sobject`, following `Owner.Email`-style names."""
        *relations, last = name.lower().split(".")
        objects = [sobject]
        for relation in relations:
            matches = [
                f
                for obj in objects
                for f in self.fields(obj).values()
                if str(f.get("relationshipName") or "").lower() == relation
            ]
            objects = [str(target) for f in matches for target in f.get("referenceTo") or []]
        return next((self.fields(obj)[last] for obj in objects if last in self.fields(obj)), None)


def _check_salesforce(loaded: _Map, report: Report, *, env: Mapping[str, str]) -> None:
    before = len(report.problems)
    sobject = loaded.field_map.object
    needs = loaded.field_map.required_crm_fields()
    try:
        with SalesforceConnector(SalesforceSettings.from_env(env), retry=_retry()) as salesforce:
            org = _Org(salesforce)
            try:
                org.fields(sobject)
            except (ValueError, ConnectorError) as exc:
                if isinstance(exc, FatalError):
                    raise
                report.problems.append(
                    loaded.finding(
                        ("object",),
                        f"Salesforce cannot describe {sobject}: {exc}",
                        "set object: to the API name of an sObject this user can read (Lead)",
                    )
                )
                return
            for crm in needs:
                described = org.resolve(sobject, crm.name)
                if described is None:
                    report.problems.append(_missing_field(loaded, sobject, crm))
                else:
                    report.problems += _compare_field(loaded, sobject, crm, described)
            report.problems += _required_fields(loaded, sobject, needs, org.fields(sobject))
    except ConnectorError as exc:
        report.problems.append(_unreachable(exc))
        return
    if len(report.problems) == before:
        report.lines.append(f"Salesforce: ok ({len(needs)} {sobject} fields of {loaded.path})")


def _missing_field(loaded: _Map, sobject: str, crm: CrmField) -> Finding:
    if crm.name.endswith("__c") and "." not in crm.name:
        kind = _SETUP_TYPES.get(crm.types[0], crm.types[0]) if crm.types else "Text"
        size = f", length {crm.length}" if crm.length and crm.types[0] in _TEXT_TYPES else ""
        fix = (
            f"create the field {crm.name} ({kind}{size}) on {sobject} in Salesforce Setup"
            f" (Object Manager > {sobject} > Fields & Relationships), or set field: to an"
            " existing one"
        )
    else:
        fix = (
            "set field: to the API name of an existing field (Setup > Object Manager >"
            f" {sobject} > Fields & Relationships)"
        )
    return loaded.finding(loaded.key(crm), f"Salesforce {sobject} has no field {crm.name}", fix)


def _compare_field(
    loaded: _Map, sobject: str, crm: CrmField, described: Mapping[str, Any]
) -> Iterator[Finding]:
    name, kind = f"{sobject}.{crm.name}", described.get("type")
    label = described.get("label") or crm.name
    setup = f"in Salesforce Setup (Object Manager > {sobject} > Fields & Relationships > {label})"
    if kind not in crm.types:
        yield loaded.finding(
            loaded.key(crm),
            f"Salesforce {name} is a {kind} field; {', '.join(crm.canonical)} needs one of"
            f" {', '.join(crm.types)}",
            "set field: to a field of one of those types, or change the transform",
        )
        return
    length = described.get("length") or 0
    if crm.length and kind in _TEXT_TYPES and 0 < length < crm.length:
        yield loaded.finding(
            loaded.truncate_key(crm),
            f"Salesforce {name} holds {length} characters; the map keeps {crm.length}",
            f"set truncate: {length}, or lengthen {name} to {crm.length} {setup}",
        )
    if kind == "picklist":
        allowed = [
            str(p["value"]) for p in described.get("picklistValues") or [] if p.get("active", True)
        ]
        how = "a restricted picklist" if described.get("restrictedPicklist") else "its picklist"
        for value in crm.values:
            if value not in allowed:
                yield loaded.finding(
                    loaded.value_key(crm, value),
                    f"Salesforce {name} does not allow {value!r} ({how}: {', '.join(allowed)})",
                    f"add the value {value!r} to the {sobject} {label} picklist {setup}, or map"
                    " to a value it allows",
                )
    if "hubspot_id" in crm.canonical and not (
        described.get("externalId") and described.get("unique")
    ):
        yield loaded.finding(
            loaded.key(crm),
            f"Salesforce {name} is leadloop's upsert key but is not a unique External ID",
            f"tick External ID and Unique for {name} {setup}",
        )
    if crm.direction != "read":
        cannot = [what for what in ("createable", "updateable") if not described.get(what, False)]
        if cannot:
            yield loaded.finding(
                loaded.key(crm, "direction"),
                f"Salesforce {name} is not {' or '.join(cannot)} for this user; leadloop writes it",
                "give the integration user edit access to the field (field-level security),"
                " or set direction: read",
            )


def _required_fields(
    loaded: _Map,
    sobject: str,
    needs: tuple[CrmField, ...],
    described: Mapping[str, Mapping[str, Any]],
) -> Iterator[Finding]:
    """Fields Salesforce requires on create that the map writes nothing to."""
    written = {crm.name.lower() for crm in needs if crm.direction != "read"}
    for key, found in described.items():
        required = found.get("createable") and not found.get("nillable", True)
        if required and not found.get("defaultedOnCreate") and key not in written:
            yield loaded.finding(
                ("fields",),
                f"Salesforce requires {sobject}.{found['name']} on create; the map writes"
                " nothing to it",
                f"map a field to {found['name']} with a placeholder step, or make it optional"
                " in Salesforce Setup",
            )


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

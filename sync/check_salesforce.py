"""`leadloop check --connect` for the Salesforce map: each field it names, compared with
the describe of its sObject (type, length, picklist values, upsert key, field-level access,
fields required on create), `Owner.Email`-style names followed through their lookups.
Salesforce metadata is never changed: each finding says what to do in Setup."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from connectors.errors import ConnectorError, FatalError
from connectors.salesforce import SalesforceConnector, SalesforceSettings
from mappings.fieldmap import CrmField
from sync.check_findings import Finding, LoadedMap, Report, quick_retry, unreachable

_TEXT_TYPES = ("string", "textarea", "email", "phone", "url", "picklist")
_SOBJECT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
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


class _Org:
    """Salesforce describes, fetched once per sObject, fields keyed by lower-case name."""

    def __init__(self, salesforce: SalesforceConnector) -> None:
        self._salesforce = salesforce
        self._described: dict[str, dict[str, dict[str, Any]]] = {}

    def fields(self, sobject: str) -> dict[str, dict[str, Any]]:
        if sobject not in self._described:
            if not _SOBJECT_NAME.fullmatch(sobject):
                raise ValueError(f"{sobject!r} is not an sObject name")
            fields = self._salesforce.describe(sobject)["fields"]
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


def check_salesforce(loaded: LoadedMap, report: Report, *, env: Mapping[str, str]) -> None:
    before = len(report.problems)
    sobject = loaded.field_map.object
    needs = loaded.field_map.required_crm_fields()
    try:
        with SalesforceConnector(
            SalesforceSettings.from_env(env), retry=quick_retry()
        ) as salesforce:
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
        report.problems.append(unreachable(exc))
        return
    if len(report.problems) == before:
        report.lines.append(f"Salesforce: ok ({len(needs)} {sobject} fields of {loaded.path})")


def _missing_field(loaded: LoadedMap, sobject: str, crm: CrmField) -> Finding:
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
    loaded: LoadedMap, sobject: str, crm: CrmField, described: Mapping[str, Any]
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
    loaded: LoadedMap,
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

"""`leadloop check --connect` for the HubSpot map: each contact property it names, compared
with HubSpot's property definitions (type, options, who may write it); with `fix`, the
properties the map defines under `custom_properties` created."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from connectors.errors import ConnectorError, FatalError
from connectors.hubspot import HubSpotConnector, HubSpotSettings
from mappings.fieldmap import CrmField
from sync.check_findings import Finding, LoadedMap, Report, quick_retry, unreachable

_HUBSPOT_SETTINGS = "HubSpot Settings > Properties"


def check_hubspot(loaded: LoadedMap, report: Report, *, fix: bool, env: Mapping[str, str]) -> None:
    before = len(report.problems)
    needs = loaded.field_map.required_crm_fields()
    try:
        with HubSpotConnector(HubSpotSettings.from_env(env), retry=quick_retry()) as hubspot:
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
        report.problems.append(unreachable(exc))
        return
    if len(report.problems) == before:
        report.lines.append(f"HubSpot: ok ({len(needs)} contact properties of {loaded.path})")


def _create(hubspot: HubSpotConnector, loaded: LoadedMap, crm: CrmField, report: Report) -> None:
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


def _missing_property(loaded: LoadedMap, crm: CrmField) -> Finding:
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


def _compare_property(
    loaded: LoadedMap, crm: CrmField, prop: Mapping[str, Any]
) -> Iterator[Finding]:
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

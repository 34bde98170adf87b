"""Checking property writes against the definitions, as the CRM v3 API does.

A failed value is described the way HubSpot describes it inside the VALIDATION_ERROR
message: `Property values were not valid: [{"isValid":false,"message":...,"error":...,
"name":...,"localizedErrorMessage":...}]` (the list is JSON inside the message string).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from connectors.emulator.hubspot._properties import LIFECYCLE_STAGES, PropertyDef, iso

_EPOCH_MS = re.compile(r"^-?\d{1,15}$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


def problem(name: str, error: str, message: str) -> dict[str, Any]:
    """One invalid property value, in HubSpot's shape."""
    return {
        "isValid": False,
        "message": message,
        "error": error,
        "name": name,
        "localizedErrorMessage": message,
    }


def problems_message(problems: list[dict[str, Any]]) -> str:
    """The VALIDATION_ERROR message: the list of problems as compact JSON."""
    return "Property values were not valid: " + json.dumps(problems, separators=(",", ":"))


def parse_instant(raw: str) -> datetime | None:
    """Epoch milliseconds or ISO 8601 (date or date-time) as an aware UTC datetime."""
    text = raw.strip()
    if _EPOCH_MS.match(text):
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def epoch_ms(raw: str) -> int | None:
    """Epoch milliseconds of a date value, in integers: an epoch-ms value is itself, an ISO
    one is floored to its millisecond (`int(timestamp() * 1000)` was a float, and could be
    one millisecond off)."""
    if len(raw) == 24 and raw[10] == "T" and raw[23] == "Z":  # as stored: the fast way
        try:
            return (datetime.fromisoformat(raw) - _EPOCH) // _ONE_MS
        except ValueError:
            pass
    text = raw.strip()
    if _EPOCH_MS.match(text):
        return int(text)
    instant = parse_instant(text)
    return None if instant is None else (instant - _EPOCH) // _ONE_MS


def _options_text(defn: PropertyDef) -> str:
    return ", ".join(f'label: "{label}" value: "{value}"' for value, label in defn.options)


def normalize(defn: PropertyDef, raw: Any) -> tuple[str | None, dict[str, Any] | None]:
    """The stored form of `raw` for `defn`, or the problem with it. "" clears a value."""
    if raw is None or raw == "":
        return "", None
    if not isinstance(raw, str):
        raw = json.dumps(raw) if not isinstance(raw, bool) else str(raw).lower()
        raw = raw.strip('"')
    name = defn.name
    if defn.type in ("enumeration", "bool"):
        value = raw.lower() if defn.type == "bool" else raw
        for option, _ in defn.options:
            if option == value:
                return option, None  # the option's own string: one copy for every contact
        message = f"{raw} was not one of the allowed options: [{_options_text(defn)}]"
        return None, problem(name, "INVALID_OPTION", message)
    if defn.type == "number":
        try:
            float(raw)
        except ValueError:
            return None, problem(name, "INVALID_DOUBLE", f"{raw} was not a valid number.")
        return raw, None
    if defn.type == "datetime":
        instant = parse_instant(raw)
        if instant is None:
            return None, problem(name, "INVALID_LONG", f"{raw} was not a valid long.")
        return iso(instant), None
    if defn.type == "date":
        instant = parse_instant(raw)
        if instant is None or (instant.hour, instant.minute, instant.second) != (0, 0, 0):
            message = f"{raw} is not a valid date: expected midnight UTC."
            return None, problem(name, "INVALID_DATE", message)
        return date(instant.year, instant.month, instant.day).isoformat(), None
    return raw, None


def check_writes(
    defs: dict[str, PropertyDef],
    current: dict[str, str],
    properties: Any,
    *,
    allow_read_only: bool = False,
) -> tuple[dict[str, str], list[dict[str, Any]], bool]:
    """Validated values to write, the problems found, and whether a lifecycle move backwards
    was asked for (HubSpot keeps the old stage: clear it first, then set the earlier one)."""
    if not isinstance(properties, dict):
        return {}, [problem("properties", "INVALID_INPUT", "properties must be an object")], False
    values: dict[str, str] = {}
    problems: list[dict[str, Any]] = []
    backwards = False
    for name, raw in properties.items():
        defn = defs.get(name)
        if defn is None:
            message = f'Property "{name}" does not exist'
            problems.append(problem(name, "PROPERTY_DOESNT_EXIST", message))
            continue
        if defn.read_only and not allow_read_only:
            message = f'"{name}" is a read only property; its value cannot be set.'
            problems.append(problem(name, "READ_ONLY_VALUE", message))
            continue
        value, trouble = normalize(defn, raw)
        if trouble is not None:
            problems.append(trouble)
            continue
        assert value is not None
        if name == "lifecyclestage" and is_backwards(current.get(name, ""), value):
            backwards = True
            continue
        values[name] = value
    return values, problems, backwards


def is_backwards(old: str, new: str) -> bool:
    """Whether a lifecycle stage write moves to an earlier stage than the current one."""
    if not old or not new or old not in LIFECYCLE_STAGES or new not in LIFECYCLE_STAGES:
        return False
    return LIFECYCLE_STAGES.index(new) < LIFECYCLE_STAGES.index(old)

"""Record values: Ids, coercion of JSON input to field types, validation errors, JSON output.

Error codes and messages follow what the real REST API answers for the same mistakes
(REST API Developer Guide, "Status Codes and Error Responses"; observed message formats).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from connectors.emulator.salesforce.schema import FieldDef, ObjectDef

_ID_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
ORG_ID = "00D5g0000012345EAA"


def make_id(prefix: str, number: int) -> str:
    """An 18-character Id: key prefix, a counter, and the case-safe checksum suffix."""
    base = f"{prefix}5g{number:010d}"
    suffix = ""
    for chunk in range(3):
        bits = sum(1 << i for i, ch in enumerate(base[chunk * 5 : chunk * 5 + 5]) if ch.isupper())
        suffix += _ID_SUFFIX[bits]
    return base + suffix


def format_datetime(value: datetime) -> str:
    """The REST API's datetime format: 2026-01-05T10:00:00.000+0000."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def to_json(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


@dataclass
class RecordError(Exception):
    """One record's failure: the `errors` item of a save result."""

    status_code: str
    message: str
    fields: list[str] = field(default_factory=list)

    def as_result(self) -> dict[str, Any]:
        return {"statusCode": self.status_code, "message": self.message, "fields": self.fields}

    def as_rest(self) -> dict[str, Any]:
        return {"message": self.message, "errorCode": self.status_code, "fields": self.fields}


class RequestError(Exception):
    """A whole request refused: HTTP `status` with `[{"message", "errorCode"}]`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> list[dict[str, Any]]:
        return [{"message": self.message, "errorCode": self.code}]


def parse_datetime(text: str) -> datetime:
    fixed = text.strip().replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", fixed):
        fixed = fixed[:-2] + ":" + fixed[-2:]
    parsed = datetime.fromisoformat(fixed)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _json_error(kind: str, value: Any) -> RequestError:
    token = "VALUE_STRING" if isinstance(value, str) else "VALUE_NUMBER_INT"
    if isinstance(value, bool):
        token = "VALUE_TRUE" if value else "VALUE_FALSE"
    return RequestError(
        400,
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {kind} from {token} value {value} or request may be "
        "missing a required field",
    )


def coerce(fdef: FieldDef, value: Any) -> Any:
    """The stored form of a JSON `value` for `fdef`, or JSON_PARSER_ERROR like the real API."""
    if value is None:
        return None
    kind = fdef.type
    if kind in ("string", "email", "phone", "picklist", "textarea", "id", "reference"):
        if isinstance(value, bool | dict | list):
            raise _json_error("string", value)
        return str(value)
    if kind in ("double", "currency", "int"):
        if isinstance(value, bool):
            raise _json_error(kind, value)
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise _json_error(kind, value) from None
        return int(number) if kind == "int" else number
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise _json_error("boolean", value)
    try:
        if kind == "datetime":
            return parse_datetime(str(value))
        if kind == "date":
            return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise _json_error(kind, value) from None
    raise _json_error(kind, value)


def parse_values(obj: ObjectDef, body: dict[str, Any]) -> None:
    """Deserialise `body` as the real API reads a request before acting on any of it: every
    value of a known field must fit the field's type (JSON_PARSER_ERROR otherwise, for the
    whole request). Unknown and read-only fields are left to `resolve_fields`, which reports
    them per record."""
    for key, value in body.items():
        if key == "attributes" or value is None:
            continue
        fdef = obj.field(key)
        if fdef is not None:
            coerce(fdef, value)


def check_values(obj: ObjectDef, values: dict[str, Any]) -> None:
    """Length, e-mail and restricted-picklist checks on already coerced `values`."""
    for name, value in values.items():
        fdef = obj.fields[name]
        if value is None or not isinstance(value, str):
            continue
        label = fdef.describe()["label"]
        if fdef.length and len(value) > fdef.length and fdef.type != "picklist":
            raise RecordError(
                "STRING_TOO_LONG",
                f"{label}: data value too large: {value} (max length={fdef.length})",
                [name],
            )
        if fdef.type == "email" and value and not _EMAIL.match(value):
            raise RecordError(
                "INVALID_EMAIL_ADDRESS", f"{label}: invalid email address: {value}", [name]
            )
        if fdef.restricted and value not in {p.value for p in fdef.picklist}:
            raise RecordError(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{label}: bad value for restricted picklist field: {value}",
                [name],
            )


def resolve_fields(obj: ObjectDef, body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """Map the body's keys to field names and coerce values; unknown or read-only -> errors."""
    out: dict[str, Any] = {}
    readonly: list[str] = []
    for key, value in body.items():
        if key == "attributes":
            continue
        fdef = obj.field(key)
        if fdef is None:
            raise RecordError(
                "INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}"
            )
        allowed = fdef.createable if creating else fdef.updateable
        if not allowed and fdef.name != "Id":
            readonly.append(fdef.name)
            continue
        out[fdef.name] = coerce(fdef, value)
    if readonly:
        raise RecordError(
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {', '.join(readonly)}. Please check the security "
            "settings of this field and verify that it is read/write for your profile or "
            "permission set.",
            readonly,
        )
    return out


def missing_required(obj: ObjectDef, record: dict[str, Any]) -> None:
    missing = [
        f.name
        for f in obj.fields.values()
        if not f.nillable
        and f.createable
        and not f.defaulted_on_create
        and record.get(f.name) in (None, "")
    ]
    if missing:
        raise RecordError(
            "REQUIRED_FIELD_MISSING",
            f"Required fields are missing: [{', '.join(missing)}]",
            missing,
        )

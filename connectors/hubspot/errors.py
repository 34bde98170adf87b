"""The one place that decides what a HubSpot failure means: `classify(exc)`.

Every generated API package of `hubspot-api-client` (contacts, properties, ...) has its own
`ApiException` class, but they share one shape: `status`, `reason`, `body` (HubSpot's JSON
error as text) and `headers`. The transport under them is urllib3, whose errors mean the
request or its answer never made it. `classify` sorts both by what the caller should do:

| what happened                                   | becomes                               |
|-------------------------------------------------|---------------------------------------|
| 5xx, 408, timeout, refused or dropped connection| `RetriableError`                      |
| 429 (`policyName` SECONDLY, TEN_SECONDLY_ROLLING, DAILY) | `RateLimitedError` with `retry_after` |
| 400 (VALIDATION_ERROR ...), 409 CONFLICT, other 4xx | `HubSpotRecordError` (a `RecordError`) |
| 404 with an `OBJECT_NOT_FOUND` body naming an object | `HubSpotRecordError`             |
| 404 otherwise (no such route)                   | `FatalError`: check HUBSPOT_BASE_URL  |
| 401, 403                                        | `FatalError` with the fix             |

Messages are HubSpot's own `message` texts; no token, header or request ever goes into one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any

from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import MaxRetryError, SSLError

from connectors.errors import (
    ConnectorError,
    FatalError,
    RateLimitedError,
    RecordError,
    RetriableError,
)
from connectors.hubspot.settings import BASE_URL_VARIABLE, DEFAULT_BASE_URL, SCOPES, TOKEN_FIX

SYSTEM = "HubSpot"
SECONDLY = "SECONDLY"
TEN_SECONDLY = "TEN_SECONDLY_ROLLING"
DAILY = "DAILY"
_POLICY_SECONDS = {SECONDLY: 1.0, TEN_SECONDLY: 10.0}
_PROBLEMS_PREFIX = "Property values were not valid: "


@dataclass(frozen=True, slots=True)
class PropertyProblem:
    """One refused property value, as HubSpot lists it inside a VALIDATION_ERROR."""

    name: str
    error: str
    message: str


class HubSpotRecordError(RecordError):
    """HubSpot refused a record, or a whole batch because of some of its records.

    `ids` are the inputs the answer names (`context.ids`); `problems` the property values
    it lists as invalid. Either may be empty: HubSpot's 400 for a batch often names the
    properties but not the inputs, and the batch writer narrows it down from there.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None,
        code: str | None,
        ids: tuple[str, ...] = (),
        problems: tuple[PropertyProblem, ...] = (),
    ) -> None:
        self.ids = ids
        self.problems = problems
        super().__init__(SYSTEM, message, status=status, code=code)


def classify(
    exc: BaseException, *, now: datetime | None = None, timezone: tzinfo = UTC
) -> ConnectorError | None:
    """What `exc` means for the caller; None when it is not a HubSpot failure but a bug.

    `now` and `timezone` place a DAILY limit's reset (midnight in the account's zone).
    """
    if isinstance(exc, ConnectorError):
        return exc
    status = getattr(exc, "status", None)
    if isinstance(status, int) and hasattr(exc, "body") and hasattr(exc, "headers"):
        return _from_answer(exc, status, now or datetime.now(UTC), timezone)
    if isinstance(exc, Urllib3Error | ConnectionError | TimeoutError):
        return _from_transport(exc)
    return None


def parse_error_body(raw: object) -> dict[str, Any]:
    """HubSpot's JSON error body as a dict ({} when it is empty or not JSON)."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    if not isinstance(raw, str) or not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def problems_in(body: Mapping[str, Any]) -> tuple[PropertyProblem, ...]:
    """The invalid property values a VALIDATION_ERROR lists, from its message or `errors`."""
    found: list[PropertyProblem] = []
    message = str(body.get("message") or "")
    decoder = json.JSONDecoder()
    for match in re.finditer(re.escape(_PROBLEMS_PREFIX), message):
        try:
            listed, _ = decoder.raw_decode(message, match.end())
        except ValueError:
            continue
        for item in listed if isinstance(listed, list) else []:
            if isinstance(item, dict) and item.get("name"):
                found.append(
                    PropertyProblem(
                        str(item["name"]),
                        str(item.get("error") or "INVALID_VALUE"),
                        str(item.get("message") or item.get("localizedErrorMessage") or ""),
                    )
                )
    for detail in body.get("errors") or []:
        if not isinstance(detail, dict):
            continue
        context = detail.get("context") if isinstance(detail.get("context"), dict) else {}
        for name in _strings((context or {}).get("propertyName")):
            code = str(detail.get("code") or "INVALID_VALUE")
            found.append(PropertyProblem(name, code, str(detail.get("message") or "")))
    return tuple(dict.fromkeys(found))


def context_ids(body: Mapping[str, Any]) -> tuple[str, ...]:
    """The inputs an error names in its `context` (`ids`, or `id` for a single object)."""
    context = body.get("context")
    if not isinstance(context, dict):
        return ()
    return tuple(dict.fromkeys([*_strings(context.get("ids")), *_strings(context.get("id"))]))


def _strings(value: object) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v not in (None, "")]
    return [str(value)] if value not in (None, "") else []


def _header(headers: object, name: str) -> str | None:
    if not isinstance(headers, Mapping):
        return None
    for key, value in headers.items():
        if str(key).lower() == name.lower():
            return str(value)
    return None


def _seconds(raw: str | None, scale: float = 1.0) -> float | None:
    try:
        return float(raw) * scale if raw is not None else None
    except ValueError:
        return None


def _from_answer(exc: BaseException, status: int, now: datetime, zone: tzinfo) -> ConnectorError:
    body = parse_error_body(getattr(exc, "body", None))
    headers = getattr(exc, "headers", None)
    category = str(body.get("category") or body.get("errorType") or "") or None
    message = str(body.get("message") or getattr(exc, "reason", None) or f"HTTP {status}")
    if status == 0:  # the SDK's own wrapper for an SSL failure
        if "CERTIFICATE_VERIFY_FAILED" in message:
            fix = f"check {BASE_URL_VARIABLE} and the CA certificates HubSpot's TLS relies on"
            return FatalError(SYSTEM, "TLS certificate refused", fix=fix)
        return RetriableError(SYSTEM, "TLS connection failed")
    if status == 429:
        return _rate_limited(body, headers, message, now, zone)
    if status >= 500 or status == 408:
        return RetriableError(SYSTEM, message, status=status, code=category)
    if status == 401:
        return FatalError(SYSTEM, message, fix=TOKEN_FIX, status=status, code=category)
    if status == 403:
        return FatalError(SYSTEM, message, fix=_scope_fix(body), status=status, code=category)
    if status == 404 and not (category == "OBJECT_NOT_FOUND" and context_ids(body)):
        fix = (
            f"check {BASE_URL_VARIABLE} (HubSpot's API lives at {DEFAULT_BASE_URL}); "
            "the route the connector called does not exist there"
        )
        return FatalError(SYSTEM, message, fix=fix, status=status, code=category)
    return HubSpotRecordError(
        message,
        status=status,
        code=category,
        ids=context_ids(body),
        problems=problems_in(body),
    )


def _scope_fix(body: Mapping[str, Any]) -> str:
    required: list[str] = []
    for detail in body.get("errors") or []:
        context = detail.get("context") if isinstance(detail, dict) else None
        if isinstance(context, dict):
            required += _strings(context.get("requiredGranularScopes"))
    needed = ", ".join(dict.fromkeys(required)) or ", ".join(SCOPES)
    return f"grant the private app the scopes {needed}, then set HUBSPOT_ACCESS_TOKEN to its token"


def _rate_limited(
    body: Mapping[str, Any], headers: object, message: str, now: datetime, zone: tzinfo
) -> RateLimitedError:
    policy = str(body.get("policyName") or "") or None
    retry_after = _seconds(_header(headers, "Retry-After"))
    if policy == DAILY:
        local = now.astimezone(zone)
        midnight = datetime.combine(local.date() + timedelta(days=1), time(), tzinfo=zone)
        retry_after = max(retry_after or 0.0, (midnight - local).total_seconds())
        message = (
            f"{message} The daily quota resets at midnight in the account's time zone "
            f"({zone}), in {retry_after / 3600:.1f} h."
        )
    elif retry_after is None and policy in _POLICY_SECONDS:
        interval = _header(headers, "X-HubSpot-RateLimit-Interval-Milliseconds")
        window = _seconds(interval, 0.001) if policy == TEN_SECONDLY else None
        retry_after = window or _POLICY_SECONDS[policy]
    return RateLimitedError(
        SYSTEM, message, retry_after=retry_after, policy=policy, status=429, code="RATE_LIMIT"
    )


def _from_transport(exc: BaseException) -> ConnectorError:
    reason = exc.reason if isinstance(exc, MaxRetryError) and exc.reason is not None else exc
    if isinstance(reason, SSLError) and "CERTIFICATE_VERIFY_FAILED" in str(reason):
        fix = f"check {BASE_URL_VARIABLE} and the CA certificates HubSpot's TLS relies on"
        return FatalError(SYSTEM, "TLS certificate refused", fix=fix)
    return RetriableError(SYSTEM, f"connection failed ({type(reason).__name__})")

"""`classify`: what simple-salesforce (or requests under it) raised, as a ConnectorError.

The REST API answers errors as `[{"message": ..., "errorCode": ..., "fields": [...]}]`
(REST API Developer Guide, "Status Codes and Error Responses"); simple-salesforce raises one
exception class per HTTP status with that body as `content`. The class says little on its
own (a 403 is a missing permission or the spent daily allowance), so the errorCode decides:

| answer                                   | becomes                                       |
| ---------------------------------------- | --------------------------------------------- |
| 5xx, UNABLE_TO_LOCK_ROW, QUERY_TIMEOUT,  | RetriableError                                |
| dropped connection, timeout              |                                               |
| 403 REQUEST_LIMIT_EXCEEDED               | RateLimitedError: the daily allowance with    |
|                                          | retry_after an hour (more than Retry's whole  |
|                                          | budget, so the caller gets it at once), the   |
|                                          | concurrent-request limits with the backoff    |
| 400 on one record's values, 404          | RecordError (quarantine that record)          |
| ENTITY_IS_DELETED, 300 (several matches) |                                               |
| 401 INVALID_SESSION_ID                   | SessionExpiredError (FatalError; the client   |
|                                          | logs in again when its mode can)              |
| bad query or field names, permissions,   | FatalError with what to fix                   |
| login refused, TLS verification          |                                               |

Messages carry Salesforce's own text, never the session id or credentials.
"""

from __future__ import annotations

from typing import Any

import requests
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceMoreThanOneRecord,
    SalesforceOperationError,
)

from connectors.errors import (
    ConnectorError,
    FatalError,
    RateLimitedError,
    RecordError,
    RetriableError,
)

SYSTEM = "Salesforce"
DAILY_LIMIT_WAIT = 3600.0
"""`retry_after` when the org's daily API allowance is spent. Salesforce counts requests over
a rolling 24 hours and names no reset time, so an hour later some have freed. Longer than
Retry's budget: the call is not slept on but raised for the job to try again later."""

# Whole-request errors that are about the values of the one record sent.
RECORD_CODES = frozenset(
    {
        "CANNOT_UPDATE_CONVERTED_LEAD",
        "DUPLICATE_EXTERNAL_ID",
        "DUPLICATE_VALUE",
        "DUPLICATES_DETECTED",
        "ENTITY_IS_DELETED",
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "FIELD_FILTER_VALIDATION_EXCEPTION",
        "FIELD_INTEGRITY_EXCEPTION",
        "INVALID_CROSS_REFERENCE_KEY",
        "INVALID_EMAIL_ADDRESS",
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        "JSON_PARSER_ERROR",
        "MALFORMED_ID",
        "MISSING_ARGUMENT",
        "NUMBER_OUTSIDE_VALID_RANGE",
        "REQUIRED_FIELD_MISSING",
        "STRING_TOO_LONG",
    }
)
TRANSIENT_CODES = frozenset(
    {"QUERY_TIMEOUT", "REQUEST_RUNNING_TOO_LONG", "SERVER_UNAVAILABLE", "UNABLE_TO_LOCK_ROW"}
)
_NAMES_FIX = (
    "check the sObject and field names the request uses (the Salesforce field map) against "
    "the org's describe, and that the integration user can see them"
)
_PERMISSION_FIX = (
    "give the integration user's profile or permission set 'API Enabled' and read/edit access "
    "to the objects and fields leadloop uses"
)
_FIXES = {
    "API_CURRENTLY_DISABLED": _PERMISSION_FIX,
    "API_DISABLED_FOR_ORG": "use an edition with API access (Enterprise or above, or the API "
    "add-on) and give the integration user 'API Enabled'",
    "INSUFFICIENT_ACCESS": _PERMISSION_FIX,
    "INSUFFICIENT_ACCESS_OR_READONLY": _PERMISSION_FIX,
    "INVALID_FIELD": _NAMES_FIX,
    "INVALID_TYPE": _NAMES_FIX,
    "MALFORMED_QUERY": _NAMES_FIX,
    "NOT_FOUND": _NAMES_FIX + "; SALESFORCE_INSTANCE_URL and the API version must be right",
    "INVALID_QUERY_LOCATOR": "run the job again: the read restarts from its stored cursor "
    "(a query cursor expires after 15 idle minutes)",
}
SESSION_FIX = (
    "set a fresh SALESFORCE_SESSION_ID, or set the password or JWT variables so leadloop logs "
    "in again by itself"
)
LOGIN_FIX = (
    "check the credentials of the auth mode in use: SALESFORCE_USERNAME, and "
    "SALESFORCE_PASSWORD with SALESFORCE_SECURITY_TOKEN (a password change resets the token: "
    "Settings > Reset My Security Token), or SALESFORCE_CONSUMER_KEY with a connected app "
    "that holds the certificate of SALESFORCE_PRIVATE_KEY_FILE and pre-authorizes the user; "
    "and SALESFORCE_DOMAIN (test for a sandbox, or the My Domain)"
)


class SessionExpiredError(FatalError):
    """401 INVALID_SESSION_ID: fatal unless the client can log in again (password, JWT)."""


def error_items(content: Any) -> list[tuple[str, str, tuple[str, ...]]]:
    """(errorCode, message, fields) of each error in a REST error body, best effort."""
    items = content if isinstance(content, list) else [content]
    out: list[tuple[str, str, tuple[str, ...]]] = []
    for item in items:
        if isinstance(item, dict):
            code = str(item.get("errorCode") or item.get("error") or "")
            message = str(item.get("message") or item.get("error_description") or "")
            fields = item.get("fields")
            names = tuple(str(f) for f in fields) if isinstance(fields, list) else ()
            out.append((code, message, names))
        elif isinstance(item, bytes | str) and item:
            text = item.decode(errors="replace") if isinstance(item, bytes) else item
            out.append(("", text.strip()[:300], ()))
    return out


def classify(exc: BaseException) -> ConnectorError | None:
    """The ConnectorError for an exception simple-salesforce or requests raised; None for
    anything else (a bug, raised as it is)."""
    if isinstance(exc, ConnectorError):
        return exc
    if isinstance(exc, SalesforceAuthenticationFailed):
        return _login_failed(exc)
    if isinstance(exc, SalesforceError):
        return _rest_error(exc)
    if isinstance(exc, SalesforceOperationError):  # Bulk API 2.0 job
        text = str(exc)
        if "Job timeout" in text:
            return RetriableError(SYSTEM, text)
        return FatalError(
            SYSTEM,
            text,
            fix="the Bulk API 2.0 job failed as a whole: check its errorMessage (Setup > Bulk "
            "Data Load Jobs); an unknown column is a field name the org does not have",
        )
    if isinstance(exc, requests.exceptions.SSLError):
        return FatalError(
            SYSTEM,
            f"TLS verification failed: {type(exc).__name__}",
            fix="set SALESFORCE_CA_BUNDLE to a PEM file with the CA that signed the server's "
            "(or the TLS-inspecting proxy's) certificate",
        )
    if isinstance(
        exc,
        requests.exceptions.ConnectionError
        | requests.exceptions.Timeout
        | requests.exceptions.ChunkedEncodingError,
    ):
        return RetriableError(SYSTEM, f"{type(exc).__name__}: the connection failed")
    return None


def _rest_error(exc: SalesforceError) -> ConnectorError:
    status = exc.status
    items = error_items(exc.content)
    code, message, _ = items[0] if items else ("", "", ())
    message = message or f"HTTP {status} from {exc.resource_name or 'the REST API'}"
    if isinstance(exc, SalesforceExpiredSession) or code == "INVALID_SESSION_ID":
        return SessionExpiredError(SYSTEM, message, fix=SESSION_FIX, status=status, code=code)
    if isinstance(exc, SalesforceMoreThanOneRecord):
        urls: list[Any] = exc.content if isinstance(exc.content, list) else []
        return RecordError(
            SYSTEM,
            f"the external ID matches {len(urls)} records: {', '.join(map(str, urls))}",
            status=status,
            code="MULTIPLE_CHOICES",
        )
    if code == "REQUEST_LIMIT_EXCEEDED":
        return _limit(message, status)
    if status >= 500 or status in (408, 429) or code in TRANSIENT_CODES:
        return RetriableError(SYSTEM, message, status=status, code=code or None)
    if code in RECORD_CODES:
        return RecordError(SYSTEM, message, status=status, code=code)
    fix = _FIXES.get(code) or (
        _PERMISSION_FIX if status == 403 else _NAMES_FIX if status in (400, 404) else ""
    )
    return FatalError(
        SYSTEM,
        message,
        fix=fix or "see Salesforce's message; the request was refused as a whole",
        status=status,
        code=code or None,
    )


def _limit(message: str, status: int) -> RateLimitedError:
    if "TotalRequests" in message:
        return RateLimitedError(
            SYSTEM,
            f"{message} The org's daily API request allowance is spent; Salesforce frees "
            "requests as its rolling 24-hour window moves on: try again in about "
            f"{DAILY_LIMIT_WAIT / 3600:.0f} h",
            retry_after=DAILY_LIMIT_WAIT,
            policy="DailyApiRequests",
            status=status,
            code="REQUEST_LIMIT_EXCEEDED",
        )
    # ConcurrentRequests / ConcurrentPerOrgLongTxn: too many requests in flight right now.
    return RateLimitedError(
        SYSTEM,
        message,
        retry_after=None,
        policy="ConcurrentRequests",
        status=status,
        code="REQUEST_LIMIT_EXCEEDED",
    )


def _login_failed(exc: SalesforceAuthenticationFailed) -> ConnectorError:
    code = exc.code
    if isinstance(code, int) and (code >= 500 or code in (408, 429)):
        return RetriableError(SYSTEM, f"login answered HTTP {code}", status=code)
    text = str(code or "")
    message = exc.auth_message or "login refused"
    if text in TRANSIENT_CODES or text == "UNKNOWN_EXCEPTION":
        # The SOAP login answers every fault with HTTP 500, so the code tells a refused
        # login from Salesforce failing to answer it (UNKNOWN_EXCEPTION: an internal error).
        return RetriableError(SYSTEM, message, code=text)
    if code is None:
        # No Salesforce fault at all: a page from something in front of Salesforce (an
        # outage or maintenance page, a proxy), not a verdict on the credentials.
        return RetriableError(SYSTEM, f"login answered no Salesforce fault: {message[:200]}")
    return FatalError(SYSTEM, f"login refused: {message}", fix=LOGIN_FIX, code=text)

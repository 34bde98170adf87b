"""classify: status + Salesforce's error body -> what the caller does, one row per answer.

Bodies are the REST API's `[{"message", "errorCode"}]` with codes from the REST API
Developer Guide's error list and messages as real orgs answer them. Each answer goes through
the real simple-salesforce client (served by `responses`), so the table also pins which SDK
exception each status becomes.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
import responses
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceBulkV2LoadError,
    SalesforceOperationError,
)

from connectors.errors import (
    ConnectorError,
    FatalError,
    RateLimitedError,
    RecordError,
    RetriableError,
)
from connectors.salesforce.errors import DAILY_LIMIT_WAIT, SessionExpiredError, classify

INSTANCE = "acme.my.salesforce.com"
QUERY_URL = f"https://{INSTANCE}/services/data/v59.0/query/"
SESSION = "00D5g0000012345!AQsecretSessionValue"


def err(code: str, message: str, fields: list[str] | None = None) -> list[dict[str, Any]]:
    body: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        body["fields"] = fields
    return [body]


ROWS: list[tuple[str, int, Any, type[ConnectorError], str | None]] = [
    (
        "malformed query",
        400,
        err(
            "MALFORMED_QUERY",
            "\nSELECT Id FROM Lead WHERE\n                         ^\nERROR at Row:1:Column:26\n"
            "unexpected token: <EOF>",
        ),
        FatalError,
        "MALFORMED_QUERY",
    ),
    (
        "unknown column",
        400,
        err(
            "INVALID_FIELD",
            "\nSELECT Nme FROM Lead\n       ^\nERROR at Row:1:Column:8\nNo such column 'Nme' on "
            "entity 'Lead'. If you are attempting to use a custom field, be sure to append the "
            "'__c' after the custom field name. Please reference your WSDL or the describe call "
            "for the appropriate names.",
        ),
        FatalError,
        "INVALID_FIELD",
    ),
    (
        "unknown sObject",
        400,
        err("INVALID_TYPE", "sObject type 'Leads' is not supported."),
        FatalError,
        "INVALID_TYPE",
    ),
    (
        "expired query cursor",
        400,
        err("INVALID_QUERY_LOCATOR", "invalid query locator"),
        FatalError,
        "INVALID_QUERY_LOCATOR",
    ),
    (
        "too many records in a collection call",
        400,
        err(
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
        ),
        FatalError,
        "EXCEEDED_ID_LIMIT",
    ),
    (
        "text in a number field",
        400,
        err(
            "JSON_PARSER_ERROR",
            "Cannot deserialize instance of double from VALUE_STRING value high or request may "
            "be missing a required field at [line:1, column:30]",
        ),
        RecordError,
        "JSON_PARSER_ERROR",
    ),
    (
        "value too long",
        400,
        err("STRING_TOO_LONG", "Company: data value too large: xxx (max length=255)", ["Company"]),
        RecordError,
        "STRING_TOO_LONG",
    ),
    (
        "bad restricted picklist value",
        400,
        err(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "Status: bad value for restricted picklist field: Hot",
            ["Status"],
        ),
        RecordError,
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
    ),
    (
        "record locked",
        400,
        err(
            "UNABLE_TO_LOCK_ROW",
            "unable to obtain exclusive access to this record or 1 records: 00Q5g00000ABCDEFGH",
        ),
        RetriableError,
        "UNABLE_TO_LOCK_ROW",
    ),
    (
        "slow query",
        400,
        err("QUERY_TIMEOUT", "Your query request was running for too long."),
        RetriableError,
        "QUERY_TIMEOUT",
    ),
    (
        "expired session",
        401,
        err("INVALID_SESSION_ID", "Session expired or invalid"),
        SessionExpiredError,
        "INVALID_SESSION_ID",
    ),
    (
        "session not for the REST API",
        401,
        err("INVALID_SESSION_ID", "This session is not valid for use with the REST API"),
        SessionExpiredError,
        "INVALID_SESSION_ID",
    ),
    (
        "daily allowance spent",
        403,
        err("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
        RateLimitedError,
        "REQUEST_LIMIT_EXCEEDED",
    ),
    (
        "too many concurrent requests",
        403,
        err(
            "REQUEST_LIMIT_EXCEEDED", "ConcurrentRequests (Concurrent API Requests) Limit exceeded."
        ),
        RateLimitedError,
        "REQUEST_LIMIT_EXCEEDED",
    ),
    (
        "no API in this edition",
        403,
        err("API_DISABLED_FOR_ORG", "The REST API is not enabled for this Organization."),
        FatalError,
        "API_DISABLED_FOR_ORG",
    ),
    (
        "no access to the record",
        403,
        err("INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id"),
        FatalError,
        "INSUFFICIENT_ACCESS_OR_READONLY",
    ),
    (
        "wrong path or version",
        404,
        err("NOT_FOUND", "The requested resource does not exist"),
        FatalError,
        "NOT_FOUND",
    ),
    (
        "record deleted",
        404,
        err("ENTITY_IS_DELETED", "entity is deleted"),
        RecordError,
        "ENTITY_IS_DELETED",
    ),
    (
        "external ID matches two records",
        300,
        [
            "/services/data/v59.0/sobjects/Lead/00Q5g0000000001AAA",
            "/services/data/v59.0/sobjects/Lead/00Q5g0000000002AAA",
        ],
        RecordError,
        "MULTIPLE_CHOICES",
    ),
    (
        "internal error",
        500,
        err(
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact support: "
            "1452464078-314667 (-1173371248)",
        ),
        RetriableError,
        "UNKNOWN_EXCEPTION",
    ),
    (
        "maintenance",
        503,
        err("SERVER_UNAVAILABLE", "Server temporarily unavailable. Please try again later."),
        RetriableError,
        "SERVER_UNAVAILABLE",
    ),
    ("gateway page", 502, "<html><body>Bad Gateway</body></html>", RetriableError, None),
]


@pytest.mark.parametrize(
    ("status", "body", "kind", "code"),
    [row[1:] for row in ROWS],
    ids=[row[0] for row in ROWS],
)
def test_rest_answers(status: int, body: Any, kind: type[ConnectorError], code: str | None) -> None:
    """Each answer becomes the class the caller acts on, with Salesforce's code and status."""
    sf = Salesforce(instance=INSTANCE, session_id=SESSION, session=requests.Session())
    with responses.RequestsMock() as mock:
        if isinstance(body, str):
            mock.get(QUERY_URL, body=body, status=status, content_type="text/html")
        else:
            mock.get(QUERY_URL, json=body, status=status)
        with pytest.raises(Exception) as raised:
            sf.query("SELECT Id FROM Lead")
    error = classify(raised.value)
    assert type(error) is kind
    assert error is not None and (error.status, error.code) == (status, code)
    assert SESSION not in str(error)
    if isinstance(error, FatalError):
        assert error.fix


def test_daily_limit_waits_long_and_says_why() -> None:
    """The spent daily allowance waits an hour (rolling 24 h window); concurrency: backoff."""
    daily = _classified(403, err("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."))
    assert isinstance(daily, RateLimitedError)
    assert (daily.retry_after, daily.policy) == (DAILY_LIMIT_WAIT, "DailyApiRequests")
    assert "rolling 24-hour window" in daily.message
    busy = _classified(
        403, err("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.")
    )
    assert isinstance(busy, RateLimitedError) and busy.retry_after is None


def _classified(status: int, body: Any) -> ConnectorError | None:
    sf = Salesforce(instance=INSTANCE, session_id=SESSION, session=requests.Session())
    with responses.RequestsMock() as mock:
        mock.get(QUERY_URL, json=body, status=status)
        with pytest.raises(Exception) as raised:
            sf.query("SELECT Id FROM Lead")
    return classify(raised.value)


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (requests.exceptions.ConnectionError("reset by peer"), RetriableError),
        (requests.exceptions.ReadTimeout("read timed out"), RetriableError),
        (requests.exceptions.ChunkedEncodingError("IncompleteRead"), RetriableError),
        (requests.exceptions.SSLError("CERTIFICATE_VERIFY_FAILED"), FatalError),
        (
            SalesforceAuthenticationFailed(
                "INVALID_LOGIN", "Invalid username, password, security token; or user locked out."
            ),
            FatalError,
        ),
        (
            SalesforceAuthenticationFailed("invalid_grant", "user hasn't approved this consumer"),
            FatalError,
        ),
        (SalesforceAuthenticationFailed(503, "<html>Service Unavailable</html>"), RetriableError),
        (
            SalesforceAuthenticationFailed("UNKNOWN_EXCEPTION", "An unexpected error occurred."),
            RetriableError,
        ),
        (
            SalesforceAuthenticationFailed(
                None, "<html><body>503 Service Unavailable</body></html>"
            ),
            RetriableError,
        ),
        (
            SalesforceOperationError(
                "Job failure. Response content: InvalidBatch : Field name not found : Nope__c"
            ),
            FatalError,
        ),
        (SalesforceBulkV2LoadError("Job timeout. Job status: InProgress"), RetriableError),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else v.__name__,
)
def test_transport_login_and_bulk_failures(exc: BaseException, kind: type[ConnectorError]) -> None:
    """Dropped connections retry; TLS, refused logins and failed bulk jobs need a person."""
    error = classify(exc)
    assert type(error) is kind
    if isinstance(error, FatalError):
        assert "SALESFORCE_" in error.fix or "Bulk" in error.fix


def test_bugs_are_not_classified() -> None:
    """Exceptions that are not CRM failures stay bugs."""
    assert classify(KeyError("records")) is None

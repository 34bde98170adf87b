"""`classify`: every status and body HubSpot answers, sorted by what the caller should do.

The bodies are HubSpot's documented error shapes, with the texts HubSpot sends (as quoted in
its changelog, error guide and public issue threads); correlation ids are made up.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hubspot.crm.contacts import ApiException as ContactsApiException
from hubspot.crm.properties import ApiException as PropertiesApiException
from urllib3.exceptions import (
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from connectors.errors import (
    ConnectorError,
    FatalError,
    RateLimitedError,
    RecordError,
    RetriableError,
)
from connectors.hubspot.errors import HubSpotRecordError, PropertyProblem, classify

NOW = datetime(2026, 1, 9, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
CORRELATION = "8b4ab2a4-1d53-4fd4-9b9b-3c21c9b3a0c2"


def problems_body(*problems: dict[str, Any]) -> dict[str, Any]:
    listed = json.dumps(list(problems), separators=(",", ":"))
    return {
        "status": "error",
        "message": f"Property values were not valid: {listed}",
        "correlationId": CORRELATION,
        "category": "VALIDATION_ERROR",
    }


def problem(name: str, error: str, message: str) -> dict[str, Any]:
    return {
        "isValid": False,
        "message": message,
        "error": error,
        "name": name,
        "localizedErrorMessage": message,
    }


def limit_body(policy: str) -> dict[str, Any]:
    return {
        "status": "error",
        "message": f"You have reached your {policy.lower()} limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": CORRELATION,
        "policyName": policy,
        "groupName": "publicapi:private-app:62515",
    }


AUTH = {
    "status": "error",
    "message": (
        "Authentication credentials not found. This API supports OAuth 2.0 authentication and "
        "you can find more details at https://developers.hubspot.com/docs/methods/auth/"
        "oauth-overview"
    ),
    "correlationId": CORRELATION,
    "category": "INVALID_AUTHENTICATION",
}
EXPIRED = {
    "status": "error",
    "message": "The OAuth token used to make this call expired 2 hour(s) ago.",
    "correlationId": CORRELATION,
    "category": "EXPIRED_AUTHENTICATION",
}
SCOPES = {
    "status": "error",
    "message": (
        "This app hasn't been granted all required scopes to make this call. Read more about "
        "required scopes here: https://developers.hubspot.com/scopes."
    ),
    "correlationId": CORRELATION,
    "errors": [
        {
            "message": "One or more of the following scopes are required.",
            "context": {"requiredGranularScopes": ["crm.objects.contacts.write"]},
        }
    ],
    "links": {"scopes": "https://developers.hubspot.com/scopes"},
    "category": "MISSING_SCOPES",
}
MISSING_PROPERTY = problems_body(
    problem(
        "favorite_color",
        "PROPERTY_DOESNT_EXIST",
        'Property "favorite_color" does not exist',
    )
)
BAD_OPTION = problems_body(
    problem(
        "lifecyclestage",
        "INVALID_OPTION",
        'qualified was not one of the allowed options: [label: "Lead" value: "lead", '
        'label: "Marketing Qualified Lead" value: "marketingqualifiedlead"]',
    )
)
WHITESPACE = problems_body(
    problem(
        "hs_lead_status",
        "LEADING_TRAILING_WHITESPACE",
        '"OPEN " includes leading or trailing whitespace.',
    )
)
BAD_JSON = {
    "status": "error",
    "message": "Invalid input JSON on line 1, column 2: Unexpected character ('x' (code 120))",
    "correlationId": CORRELATION,
    "category": "VALIDATION_ERROR",
}
CONFLICT = {
    "status": "error",
    "message": "Contact already exists. Existing ID: 51",
    "correlationId": CORRELATION,
    "category": "CONFLICT",
}
NOT_FOUND_OBJECT = {
    "status": "error",
    "message": "Object not found.  objectId are usually numeric.",
    "correlationId": CORRELATION,
    "context": {"id": ["jane@example.com"]},
    "category": "OBJECT_NOT_FOUND",
}
INTERNAL = {
    "status": "error",
    "message": "internal error",
    "correlationId": CORRELATION,
    "category": "INTERNAL_ERROR",
}
LIMIT_HEADERS = {
    "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
    "X-HubSpot-RateLimit-Max": "100",
    "X-HubSpot-RateLimit-Remaining": "0",
}


@dataclass
class Case:
    status: int
    body: dict[str, Any] | str
    kind: type[ConnectorError]
    code: str | None = None
    retry_after: float | None = None
    policy: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    fix_names: str | None = None
    problems: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()


CASES = {
    "property does not exist": Case(
        400, MISSING_PROPERTY, RecordError, "VALIDATION_ERROR", problems=("favorite_color",)
    ),
    "invalid option": Case(
        400, BAD_OPTION, RecordError, "VALIDATION_ERROR", problems=("lifecyclestage",)
    ),
    "leading whitespace": Case(
        400, WHITESPACE, RecordError, "VALIDATION_ERROR", problems=("hs_lead_status",)
    ),
    "invalid JSON": Case(400, BAD_JSON, RecordError, "VALIDATION_ERROR"),
    "conflict": Case(409, CONFLICT, RecordError, "CONFLICT"),
    "object not found": Case(
        404, NOT_FOUND_OBJECT, RecordError, "OBJECT_NOT_FOUND", ids=("jane@example.com",)
    ),
    "ten-secondly limit": Case(
        429,
        limit_body("TEN_SECONDLY_ROLLING"),
        RateLimitedError,
        "RATE_LIMIT",
        10.0,
        "TEN_SECONDLY_ROLLING",
        LIMIT_HEADERS,
    ),
    "secondly search limit": Case(
        429, limit_body("SECONDLY"), RateLimitedError, "RATE_LIMIT", 1.0, "SECONDLY"
    ),
    "Retry-After wins": Case(
        429,
        limit_body("TEN_SECONDLY_ROLLING"),
        RateLimitedError,
        "RATE_LIMIT",
        3.0,
        "TEN_SECONDLY_ROLLING",
        {**LIMIT_HEADERS, "Retry-After": "3"},
    ),
    "daily quota": Case(
        429, limit_body("DAILY"), RateLimitedError, "RATE_LIMIT", 23 * 3600.0, "DAILY"
    ),
    "429 without a policy": Case(429, "", RateLimitedError, "RATE_LIMIT"),
    "invalid token": Case(
        401, AUTH, FatalError, "INVALID_AUTHENTICATION", fix_names="HUBSPOT_ACCESS_TOKEN"
    ),
    "expired token": Case(
        401, EXPIRED, FatalError, "EXPIRED_AUTHENTICATION", fix_names="HUBSPOT_ACCESS_TOKEN"
    ),
    "missing scopes": Case(
        403, SCOPES, FatalError, "MISSING_SCOPES", fix_names="crm.objects.contacts.write"
    ),
    "no such route": Case(404, "Not Found", FatalError, fix_names="HUBSPOT_BASE_URL"),
    "empty 404": Case(404, "", FatalError, fix_names="HUBSPOT_BASE_URL"),
    "internal error": Case(500, INTERNAL, RetriableError, "INTERNAL_ERROR"),
    "bad gateway page": Case(502, "<html><body>502 Bad Gateway</body></html>", RetriableError),
    "unavailable": Case(503, "", RetriableError),
    "gateway timeout": Case(504, "", RetriableError),
    "request timeout": Case(408, "", RetriableError),
}


@dataclass
class Recorded:
    """An HTTP answer as the SDK's REST layer hands it to ApiException."""

    status: int
    data: bytes
    headers: dict[str, str]
    reason: str = "reason"

    def getheaders(self) -> dict[str, str]:
        return self.headers


def answered(
    status: int,
    body: dict[str, Any] | str,
    headers: dict[str, str],
    kind: Any = ContactsApiException,
) -> Exception:
    """The ApiException the SDK raises for this answer."""
    text = body if isinstance(body, str) else json.dumps(body)
    exc: Exception = kind(http_resp=Recorded(status, text.encode(), headers))
    return exc


class TestAnswers:
    @pytest.mark.parametrize("name", list(CASES))
    def test_status_and_body_decide_the_class(self, name: str) -> None:
        """Each recorded answer is sorted into the class the table names, with its code."""
        case = CASES[name]
        error = classify(answered(case.status, case.body, case.headers), now=NOW)
        assert isinstance(error, case.kind)
        assert error.status == case.status
        assert error.code == case.code
        if isinstance(error, RateLimitedError):
            assert (error.retry_after, error.policy) == (case.retry_after, case.policy)
        if isinstance(error, FatalError):
            assert case.fix_names is not None and case.fix_names in error.fix
        if isinstance(error, HubSpotRecordError):
            assert tuple(p.name for p in error.problems) == case.problems
            assert error.ids == case.ids

    def test_every_generated_package_is_classified_alike(self) -> None:
        """The properties API's ApiException is classified like the contacts one."""
        error = classify(answered(401, AUTH, {}, PropertiesApiException), now=NOW)
        assert isinstance(error, FatalError)

    def test_messages_are_hubspots_own(self) -> None:
        """The error keeps HubSpot's message verbatim, and each problem its own text."""
        error = classify(answered(400, BAD_OPTION, {}), now=NOW)
        assert isinstance(error, HubSpotRecordError)
        assert error.message == BAD_OPTION["message"]
        assert error.problems[0] == PropertyProblem(
            "lifecyclestage",
            "INVALID_OPTION",
            json.loads(BAD_OPTION["message"].split(": ", 1)[1])[0]["message"],
        )

    def test_daily_limit_runs_to_midnight_in_the_accounts_zone(self) -> None:
        """DAILY waits until midnight where the account lives, and says so."""
        exc = answered(429, limit_body("DAILY"), {})
        error = classify(exc, now=NOW, timezone=ZoneInfo("Asia/Tokyo"))
        assert isinstance(error, RateLimitedError)
        assert error.retry_after == 14 * 3600.0
        assert "midnight in the account's time zone (Asia/Tokyo)" in error.message


NO_POOL: Any = None
SEARCH = "/crm/v3/objects/contacts/search"


class TestTransport:
    @pytest.mark.parametrize(
        "exc",
        [
            MaxRetryError(NO_POOL, SEARCH, NewConnectionError(NO_POOL, "refused")),
            ProtocolError("Connection broken: IncompleteRead(13 bytes read, 4083 more expected)"),
            ReadTimeoutError(NO_POOL, SEARCH, "Read timed out."),
            ConnectionResetError(104, "Connection reset by peer"),
            TimeoutError("timed out"),
        ],
        ids=["refused", "dropped", "read timeout", "reset", "timeout"],
    )
    def test_lost_connections_are_retriable(self, exc: Exception) -> None:
        """A request or answer that never made it is worth another try."""
        assert isinstance(classify(exc), RetriableError)

    def test_bugs_are_not_classified(self) -> None:
        """Anything else is a bug, and classify says None so it is raised as it is."""
        assert classify(KeyError("id")) is None

    def test_connector_errors_pass_through(self) -> None:
        """An error already classified stays what it is."""
        error = RecordError("HubSpot", "bad", code="VALIDATION_ERROR")
        assert classify(error) is error

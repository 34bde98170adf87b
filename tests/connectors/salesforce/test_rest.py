"""The REST calls' shapes, logins and the API budget, against `responses` (no network)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from structlog.testing import capture_logs

from connectors.errors import FatalError, RateLimitedError
from connectors.retry import Retry
from connectors.salesforce import BudgetSpentError, SalesforceConnector, SalesforceSettings
from connectors.salesforce.errors import SessionExpiredError
from connectors.usage import ApiUsage

INSTANCE = "https://acme.my.salesforce.com"
DATA = f"{INSTANCE}/services/data/v59.0"
UPSERT_URL = f"{DATA}/composite/sobjects/Lead/HubSpot_Contact_Id__c"
QUERY_URL = f"{DATA}/query/"
SOAP_URL = "https://login.salesforce.com/services/Soap/u/59.0"
TOKEN_URL = "https://login.salesforce.com/services/oauth2/token"
HS = "HubSpot_Contact_Id__c"
PASSWORD_ENV = {
    "SALESFORCE_USERNAME": "integration@acme.example",
    "SALESFORCE_PASSWORD": "pw",
    "SALESFORCE_SECURITY_TOKEN": "tok",
}
SESSION_ENV = {"SALESFORCE_SESSION_ID": "00Dxx!AQfirst", "SALESFORCE_INSTANCE_URL": INSTANCE}


def soap_ok(session_id: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result>'
        f"<serverUrl>{INSTANCE}/services/Soap/u/59.0/00D5g0000012345</serverUrl>"
        f"<sessionId>{session_id}</sessionId></result></loginResponse></soapenv:Body>"
        "</soapenv:Envelope>"
    )


def page(records: list[dict[str, Any]], usage: str = "10/1000") -> dict[str, Any]:
    return {
        "json": {"totalSize": len(records), "done": True, "records": records},
        "headers": {"Sforce-Limit-Info": f"api-usage={usage}"},
    }


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as rsps:
        yield rsps


@pytest.fixture
def slept() -> list[float]:
    return []


def connector(env: dict[str, str], slept: list[float], **options: Any) -> SalesforceConnector:
    retry = Retry(ApiUsage(), sleep=slept.append)
    return SalesforceConnector(SalesforceSettings.from_env(env), retry=retry, **options)


def body_of(request: Any) -> Any:
    raw = request.body
    return json.loads(raw if isinstance(raw, bytes | str) else b"null")


def leads(count: int) -> list[dict[str, Any]]:
    return [{HS: f"hs-{n}", "LastName": f"L{n}", "Company": "Acme KK"} for n in range(count)]


class TestCompositeUpsert:
    def test_request_body_and_batches(
        self, mock: responses.RequestsMock, slept: list[float]
    ) -> None:
        """450 records: 3 PATCH calls of 200/200/50, allOrNone false, typed, JSON values."""

        def answer(request: Any) -> tuple[int, dict[str, str], str]:
            body = json.loads(request.body)
            results = [
                {"id": f"00Q{n:015d}", "success": True, "errors": [], "created": n % 2 == 0}
                for n, _ in enumerate(body["records"])
            ]
            return 200, {"Sforce-Limit-Info": "api-usage=3/1000"}, json.dumps(results)

        mock.add_callback(responses.PATCH, UPSERT_URL, callback=answer)
        sf = connector(SESSION_ENV, slept)
        records = leads(450)
        records[0]["MQL_Date__c"] = datetime(2026, 1, 9, 10, 0, tzinfo=UTC)
        outcome = sf.upsert("Lead", HS, records)
        bodies = [body_of(call.request) for call in mock.calls]
        assert [len(b["records"]) for b in bodies] == [200, 200, 50]
        assert all(b["allOrNone"] is False for b in bodies)
        first = bodies[0]["records"][0]
        assert first == {
            "attributes": {"type": "Lead"},
            HS: "hs-0",
            "LastName": "L0",
            "Company": "Acme KK",
            "MQL_Date__c": "2026-01-09T10:00:00.000Z",
        }
        assert [w.key for w in outcome.written] == [f"hs-{n}" for n in range(450)]
        assert sf.usage.snapshot().calls == {"composite.upsert": 3}

    def test_per_record_results(self, mock: responses.RequestsMock, slept: list[float]) -> None:
        """Created, updated and refused records, with Salesforce's code, message and fields."""
        results = [
            {"id": "00Q000000000001AAA", "success": True, "errors": [], "created": True},
            {"id": "00Q000000000002AAA", "success": True, "errors": [], "created": False},
            {
                "success": False,
                "errors": [
                    {
                        "statusCode": "INVALID_EMAIL_ADDRESS",
                        "message": "Email: invalid email address: nope",
                        "fields": ["Email"],
                    }
                ],
            },
        ]
        mock.patch(UPSERT_URL, json=results)
        outcome = connector(SESSION_ENV, slept).upsert("Lead", HS, leads(3))
        assert [tuple(w) for w in outcome.written] == [
            ("hs-0", "00Q000000000001AAA", True),
            ("hs-1", "00Q000000000002AAA", False),
        ]
        (failure,) = outcome.failed
        assert (failure.key, failure.code, failure.message, failure.fields) == (
            "hs-2",
            "INVALID_EMAIL_ADDRESS",
            "Email: invalid email address: nope",
            ("Email",),
        )

    def test_a_request_refused_whole_is_halved_down_to_the_bad_record(
        self, mock: responses.RequestsMock, slept: list[float]
    ) -> None:
        """Text in a number field fails the whole call (400 JSON_PARSER_ERROR): the batch is
        halved until that record stands alone; the other 199 are written."""
        refused = [
            {
                "message": "Cannot deserialize instance of double from VALUE_STRING value high "
                "or request may be missing a required field at [line:1, column:95]",
                "errorCode": "JSON_PARSER_ERROR",
            }
        ]

        def answer(request: Any) -> tuple[int, dict[str, str], str]:
            records = json.loads(request.body)["records"]
            if any(r.get("Lead_Score__c") == "high" for r in records):
                return 400, {}, json.dumps(refused)
            ok = [{"id": "00Q1", "success": True, "errors": [], "created": True}]
            return 200, {}, json.dumps(ok * len(records))

        mock.add_callback(responses.PATCH, UPSERT_URL, callback=answer)
        records = leads(200)
        records[0]["Lead_Score__c"] = "high"
        sf = connector(SESSION_ENV, slept)
        outcome = sf.upsert("Lead", HS, records)
        (failure,) = outcome.failed
        assert (failure.key, failure.code) == ("hs-0", "JSON_PARSER_ERROR")
        assert failure.message == refused[0]["message"]
        assert [w.key for w in outcome.written] == [f"hs-{n}" for n in range(1, 200)]
        # 200 -> 100 -> 50 -> 25 -> 12 -> 6 -> 3 -> 1: seven halvings of two calls each
        assert sf.usage.snapshot().calls == {"composite.upsert": 15}
        assert slept == []


class TestLogin:
    def test_jwt_bearer(
        self, mock: responses.RequestsMock, slept: list[float], tmp_path: Path
    ) -> None:
        """JWT: a signed assertion (iss, sub, aud) to the token endpoint, then the instance."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        key_file = tmp_path / "server.key"
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        mock.post(
            TOKEN_URL,
            json={"access_token": "00Dxx!AQjwt", "instance_url": INSTANCE, "token_type": "Bearer"},
        )
        mock.get(QUERY_URL, **page([{"attributes": {"type": "User"}, "Id": "005A"}]))
        env = {
            "SALESFORCE_USERNAME": "integration@acme.example",
            "SALESFORCE_CONSUMER_KEY": "3MVG9-consumer",
            "SALESFORCE_PRIVATE_KEY_FILE": str(key_file),
        }
        sf = connector(env, slept)
        assert list(sf.query("SELECT Id FROM User")) == [[{"Id": "005A"}]]
        form = parse_qs(str(mock.calls[0].request.body))
        assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
        claims = jwt.decode(
            form["assertion"][0],
            key.public_key(),
            algorithms=["RS256"],
            audience="https://login.salesforce.com",
        )
        assert (claims["iss"], claims["sub"]) == ("3MVG9-consumer", "integration@acme.example")
        assert mock.calls[1].request.headers["Authorization"] == "Bearer 00Dxx!AQjwt"
        assert sf.usage.snapshot().calls == {"login": 1, "query": 1}

    def test_password_flow_logs_in_again_once(
        self, mock: responses.RequestsMock, slept: list[float]
    ) -> None:
        """INVALID_SESSION_ID: one SOAP login more, then the same call with the new session."""
        mock.post(SOAP_URL, body=soap_ok("00Dxx!AQone"), content_type="text/xml")
        mock.post(SOAP_URL, body=soap_ok("00Dxx!AQtwo"), content_type="text/xml")
        expired = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
        mock.get(QUERY_URL, json=expired, status=401)
        mock.get(QUERY_URL, **page([{"Id": "005A"}]))
        sf = connector(PASSWORD_ENV, slept)
        with capture_logs() as logs:
            assert list(sf.query("SELECT Id FROM User")) == [[{"Id": "005A"}]]
        tokens = [c.request.headers.get("Authorization") for c in mock.calls]
        assert tokens == [None, "Bearer 00Dxx!AQone", None, "Bearer 00Dxx!AQtwo"]
        assert sf.usage.snapshot().calls == {"login": 2, "query": 2}
        assert [e["event"] for e in logs].count("salesforce.session_expired") == 1
        assert not any("00Dxx!AQ" in repr(e) for e in logs)

    def test_refused_again_after_login_is_fatal(
        self, mock: responses.RequestsMock, slept: list[float]
    ) -> None:
        """A session refused right after a fresh login stops with what to check."""
        mock.post(SOAP_URL, body=soap_ok("00Dxx!AQone"), content_type="text/xml")
        mock.post(SOAP_URL, body=soap_ok("00Dxx!AQtwo"), content_type="text/xml")
        expired = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
        mock.get(QUERY_URL, json=expired, status=401)
        mock.get(QUERY_URL, json=expired, status=401)
        with pytest.raises(FatalError, match="API Enabled"):
            list(connector(PASSWORD_ENV, slept).query("SELECT Id FROM User"))

    def test_session_mode_cannot_log_in_again(
        self, mock: responses.RequestsMock, slept: list[float]
    ) -> None:
        """A given session id that expires is fatal, with the fix naming the variables."""
        expired = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
        mock.get(QUERY_URL, json=expired, status=401)
        with pytest.raises(SessionExpiredError) as info:
            list(connector(SESSION_ENV, slept).query("SELECT Id FROM User"))
        assert "SALESFORCE_SESSION_ID" in info.value.fix
        assert "00Dxx!AQfirst" not in str(info.value)

    def test_wrong_password(self, mock: responses.RequestsMock, slept: list[float]) -> None:
        """INVALID_LOGIN is fatal at once (not retried), naming the variables to check."""
        fault = (
            '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
            'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault>'
            "<faultcode>sf:INVALID_LOGIN</faultcode><detail><sf:LoginFault>"
            "<sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode><sf:exceptionMessage>Invalid "
            "username, password, security token; or user locked out.</sf:exceptionMessage>"
            "</sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
        )
        mock.post(SOAP_URL, body=fault, status=500, content_type="text/xml")
        with pytest.raises(FatalError) as info:
            list(connector(PASSWORD_ENV, slept).query("SELECT Id FROM User"))
        assert info.value.code == "INVALID_LOGIN"
        assert "SALESFORCE_SECURITY_TOKEN" in info.value.fix
        assert slept == []


class TestLimits:
    def test_spent_daily_allowance_is_raised_at_once(
        self, mock: responses.RequestsMock, slept: list[float]
    ) -> None:
        """The daily REQUEST_LIMIT_EXCEEDED is not slept on: one call, then RateLimitedError
        with retry_after an hour for the job to come back later."""
        spent = [
            {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
        ]
        mock.get(QUERY_URL, json=spent, status=403)
        sf = connector(SESSION_ENV, slept)
        with pytest.raises(RateLimitedError) as info:
            list(sf.query("SELECT Id FROM User"))
        assert (info.value.retry_after, info.value.policy) == (3600.0, "DailyApiRequests")
        assert slept == [] and sf.usage.snapshot().calls == {"query": 1}

    def test_concurrent_request_limit_is_retried(
        self, mock: responses.RequestsMock, slept: list[float]
    ) -> None:
        """Too many requests in flight: backed off and sent again."""
        busy = [
            {
                "message": "ConcurrentRequests (Concurrent API Requests) Limit exceeded.",
                "errorCode": "REQUEST_LIMIT_EXCEEDED",
            }
        ]
        mock.get(QUERY_URL, json=busy, status=403)
        mock.get(QUERY_URL, **page([{"Id": "005A"}]))
        sf = connector(SESSION_ENV, slept)
        assert list(sf.query("SELECT Id FROM User")) == [[{"Id": "005A"}]]
        assert len(slept) == 1 and 0 <= slept[0] <= 30
        snapshot = sf.usage.snapshot()
        assert (snapshot.calls, snapshot.rate_limit_waits) == ({"query": 2}, 1)

    def test_budget_pauses_writes_and_resumes(
        self, mock: responses.RequestsMock, slept: list[float]
    ) -> None:
        """At 80% of the allowance writes stop (logged once), reads go on; under it, resume."""
        sf = connector(SESSION_ENV, slept, budget_share=0.8)
        sf.upsert("Lead", HS, [])  # nothing to send: no call
        assert sf.budget() == (None, None, 0.8, False)
        mock.patch(
            UPSERT_URL,
            json=[{"id": "00Q1", "success": True, "errors": [], "created": True}],
            headers={"Sforce-Limit-Info": "api-usage=79/100"},
        )
        sf.upsert("Lead", HS, leads(1))
        assert sf.budget() == (79, 100, 0.8, False)
        mock.get(QUERY_URL, **page([], usage="80/100"))
        with capture_logs() as logs:
            list(sf.query("SELECT Id FROM Lead"))
            for _ in range(2):
                with pytest.raises(BudgetSpentError) as info:
                    sf.upsert("Lead", HS, leads(1))
            list(sf.query("SELECT Id FROM Lead"))  # reads continue
        assert isinstance(info.value, RateLimitedError)
        assert (info.value.used, info.value.maximum, info.value.share) == (80, 100, 0.8)
        assert "resume" in info.value.message
        assert sf.budget() == (80, 100, 0.8, True)
        warnings = [e for e in logs if e["event"] == "salesforce.budget_spent"]
        assert warnings == [
            {
                "event": "salesforce.budget_spent",
                "log_level": "warning",
                "used": 80,
                "max": 100,
                "share": 0.8,
                "writes": "paused",
            }
        ]
        mock.get(QUERY_URL, **page([], usage="60/100"))
        list(sf.query("SELECT Id FROM Lead"))
        assert sf.budget() == (60, 100, 0.8, False)
        sf.upsert("Lead", HS, leads(1))
        assert sf.usage.snapshot().calls == {"composite.upsert": 2, "query": 3}

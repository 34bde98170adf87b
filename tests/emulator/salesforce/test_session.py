"""Login, session expiry, the daily API allowance, versions, faults and admin routes."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce, SalesforceLogin
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from connectors.emulator._control import Fault
from tests.emulator.salesforce.conftest import Org

USER = "integration@leadloop.example"


class LoginHostRoute(HTTPAdapter):
    """Sends https://login.salesforce.com to the emulator, as a hosts-file entry would."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        request.url = (request.url or "").replace("https://login.salesforce.com", self.target, 1)
        return super().send(request, **kwargs)


class TestSoapLogin:
    def test_login_through_scratch_url(self, org: Org) -> None:
        """SalesforceLogin(scratch_url=...) logs in by SOAP and returns the emulator host."""
        session = org.session()
        session_id, instance = SalesforceLogin(
            username=USER,
            password="emulator-password",
            security_token="emulatortoken",
            sf_version="59.0",
            session=session,
            scratch_url=org.url,
        )
        assert instance == org.url.removeprefix("https://")
        sf = Salesforce(session_id=session_id, instance=instance, session=session, version="59.0")
        assert sf.query("SELECT Id FROM User")["totalSize"] == 1

    def test_wrong_password_is_invalid_login(self, org: Org) -> None:
        """Wrong credentials answer the real INVALID_LOGIN SOAP fault."""
        with pytest.raises(SalesforceAuthenticationFailed) as info:
            SalesforceLogin(
                username=USER,
                password="wrong",
                security_token="emulatortoken",
                session=org.session(),
                scratch_url=org.url,
            )
        assert info.value.code == "INVALID_LOGIN"
        assert "Invalid username, password, security token" in info.value.auth_message

    def test_password_client_refreshes_an_expired_session(self, org: Org) -> None:
        """Salesforce(username=...) logs in again by itself after INVALID_SESSION_ID."""
        session = org.session()
        session.mount("https://login.salesforce.com/", LoginHostRoute(org.url))
        sf = Salesforce(
            username=USER,
            password="emulator-password",
            security_token="emulatortoken",
            session=session,
            version="59.0",
        )
        first = sf.session_id
        org.state.expire_sessions()
        assert sf.query("SELECT Id FROM User")["totalSize"] == 1
        assert sf.session_id != first


class TestSessions:
    def test_expired_session(self, org: Org, sf: Salesforce) -> None:
        """An expired session answers 401 INVALID_SESSION_ID (SalesforceExpiredSession)."""
        org.state.expire_sessions()
        with pytest.raises(SalesforceExpiredSession) as info:
            sf.query("SELECT Id FROM Lead")
        assert info.value.content == [
            {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
        ]

    def test_unknown_token(self, org: Org) -> None:
        """A made-up token is refused the same way."""
        with pytest.raises(SalesforceExpiredSession):
            org.client("00D000000000000!AQbogus").query("SELECT Id FROM Lead")


class TestLimits:
    def test_limit_info_header_and_limits(self, org: Org, sf: Salesforce) -> None:
        """Every answer carries Sforce-Limit-Info; /limits reports DailyApiRequests."""
        sf.query("SELECT Id FROM Lead")
        assert sf.api_usage["api-usage"] == (1, 100_000)
        limits = sf.limits()
        assert limits["DailyApiRequests"] == {"Max": 100_000, "Remaining": 99_998}

    def test_request_limit_exceeded(self, org: Org, sf: Salesforce) -> None:
        """When the allowance is spent: 403 REQUEST_LIMIT_EXCEEDED (SalesforceRefusedRequest)."""
        org.state.daily_api_limit = 2
        sf.query("SELECT Id FROM Lead")
        sf.query("SELECT Id FROM Lead")
        with pytest.raises(SalesforceRefusedRequest) as info:
            sf.query("SELECT Id FROM Lead")
        assert info.value.content == [
            {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
        ]

    def test_allowance_resets_next_day(self, org: Org, sf: Salesforce) -> None:
        """The counter starts again on the next (emulated) day."""
        from datetime import timedelta

        org.state.daily_api_limit = 1
        sf.query("SELECT Id FROM Lead")
        org.state.clock.advance(timedelta(days=1))
        assert sf.query("SELECT Id FROM Lead")["totalSize"] == 0


class TestVersions:
    @pytest.mark.parametrize("version", ["59.0", "60.0", "62.0"])
    def test_supported(self, org: Org, version: str) -> None:
        """v59.0 and later are served."""
        sf = Salesforce(
            instance_url=org.url,
            session_id=org.state.new_session(),
            session=org.session(),
            version=version,
        )
        assert sf.query("SELECT Id FROM Lead")["done"] is True

    def test_older_is_404(self, org: Org) -> None:
        """Versions before 59.0 are NOT_FOUND."""
        sf = Salesforce(
            instance_url=org.url,
            session_id=org.state.new_session(),
            session=org.session(),
            version="58.0",
        )
        with pytest.raises(SalesforceResourceNotFound):
            sf.query("SELECT Id FROM Lead")


class TestFaults:
    def test_injected_status(self, org: Org, sf: Salesforce) -> None:
        """A 503 injected on the query route reaches the SDK once, then normal service."""
        org.control.faults.add(
            Fault(
                route=r"GET /services/data/\{version\}/query/$",
                status=503,
                body=[{"message": "down", "errorCode": "SERVER_UNAVAILABLE"}],
            )
        )
        with pytest.raises(SalesforceGeneralError) as info:
            sf.query("SELECT Id FROM Lead")
        assert info.value.status == 503
        assert sf.query("SELECT Id FROM Lead")["done"] is True


class TestAdmin:
    def test_sales_actions_over_http(self, org: Org, sf: Salesforce) -> None:
        """Admin routes log a call, set BANT, convert and close; SOQL sees the results."""
        lead = org.lead()
        http = org.session()
        base = f"{org.url}/__emulator/salesforce"
        call = http.post(f"{base}/leads/{lead}/call", json={"at": "2026-01-05T10:00:00Z"})
        assert call.status_code == 200
        assert (
            http.patch(
                f"{base}/leads/{lead}",
                json={"BANT_Budget__c": True, "Purchase_Timeline__c": "this_term"},
            ).status_code
            == 200
        )
        bad = http.patch(f"{base}/leads/{lead}", json={"Purchase_Timeline__c": "soon"})
        assert bad.status_code == 400
        opp = http.post(f"{base}/leads/{lead}/convert", json={}).json()["opportunityId"]
        http.post(f"{base}/opportunities/{opp}/close", json={"won": True, "amount": 1200000})
        rec = sf.query(f"SELECT IsWon, Amount, StageName FROM Opportunity WHERE Id = '{opp}'")
        assert rec["records"][0]["IsWon"] is True and rec["records"][0]["Amount"] == 1200000.0
        got = http.get(f"{base}/records/Lead/{lead}").json()
        assert got["BANT_Budget__c"] is True and got["IsConverted"] is True
        assert sf.query("SELECT COUNT() FROM Task WHERE Type = 'Call'")["totalSize"] == 1

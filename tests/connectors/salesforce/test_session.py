"""The HTTP session: SALESFORCE_CA_BUNDLE wins over the environment's CA variables, proxies
still come from the environment, and logins go to the instance URL."""

from __future__ import annotations

import socket
from pathlib import Path

import certifi
import pytest

from connectors.emulator.runtime import Emulators
from connectors.errors import FatalError, RetriableError
from tests.connectors.salesforce.conftest import Connect, new_lead, password_env


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _read(connect: Connect, env: dict[str, str]) -> int:
    sf = connect(env)
    return sum(len(page) for page in sf.changed("Lead", ["LastName"], None))


class TestTrust:
    def test_ca_bundle_from_settings_beats_requests_ca_bundle(
        self, emulators: Emulators, connect: Connect, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE naming other CAs do not override
        SALESFORCE_CA_BUNDLE (psf/requests#3829)."""
        new_lead(emulators)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
        monkeypatch.setenv("CURL_CA_BUNDLE", certifi.where())
        assert _read(connect, password_env(emulators)) == 1

    def test_requests_ca_bundle_is_used_when_no_salesforce_one(
        self, emulators: Emulators, connect: Connect, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without SALESFORCE_CA_BUNDLE the usual REQUESTS_CA_BUNDLE still applies."""
        env = password_env(emulators)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", env.pop("SALESFORCE_CA_BUNDLE"))
        assert _read(connect, env) == 0

    def test_untrusted_certificate_is_fatal_with_the_fix(
        self, emulators: Emulators, connect: Connect, slept: list[float]
    ) -> None:
        """A certificate the CAs in use do not sign stops at once and names the variable."""
        env = password_env(emulators)
        env["SALESFORCE_CA_BUNDLE"] = certifi.where()
        with pytest.raises(FatalError, match="SALESFORCE_CA_BUNDLE"):
            _read(connect, env)
        assert slept == []


class TestProxies:
    def test_https_proxy_from_the_environment_is_used(
        self, emulators: Emulators, connect: Connect, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """HTTPS_PROXY applies (here a proxy that is down: the calls fail and are retried)."""
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{_closed_port()}")
        with pytest.raises(RetriableError, match="ProxyError"):
            _read(connect, password_env(emulators))

    def test_no_proxy_is_honoured(
        self, emulators: Emulators, connect: Connect, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A host in NO_PROXY is reached directly despite HTTPS_PROXY."""
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{_closed_port()}")
        monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
        assert _read(connect, password_env(emulators)) == 0


class TestLogin:
    def test_password_login_at_the_instance_url(
        self, emulators: Emulators, connect: Connect
    ) -> None:
        """Username, password and token log in by SOAP at SALESFORCE_INSTANCE_URL."""
        sf = connect(password_env(emulators))
        assert sf.client.sf_instance == emulators.salesforce_url.removeprefix("https://")
        assert sf.client.session_id in emulators.salesforce.sessions
        served = emulators.controls["salesforce"].counters.snapshot()
        assert served == {"POST /services/Soap/u/{version}": 1}
        assert sf.usage.snapshot().calls == {"login": 1}

    def test_wrong_token_is_fatal(
        self, emulators: Emulators, connect: Connect, tmp_path: Path
    ) -> None:
        """INVALID_LOGIN from the org: FatalError with the credentials to check, no secret."""
        env = {**password_env(emulators), "SALESFORCE_SECURITY_TOKEN": "wrongtoken"}
        with pytest.raises(FatalError) as info:
            _read(connect, env)
        assert info.value.code == "INVALID_LOGIN"
        assert "wrongtoken" not in str(info.value)
        assert emulators.salesforce.password not in str(info.value)

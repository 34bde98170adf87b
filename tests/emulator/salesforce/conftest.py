"""An emulator over real HTTPS and a simple-salesforce client trusting its CA."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from simple_salesforce import Salesforce

from connectors.emulator._control import Clock, Control
from connectors.emulator._http import ServerThread
from connectors.emulator._tls import TlsFiles, make_tls_files
from connectors.emulator.salesforce import SalesforceState, build_salesforce_app

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@dataclass
class Org:
    """A running emulator: its state, control, URL and CA bundle."""

    state: SalesforceState
    control: Control
    url: str
    tls: TlsFiles
    sessions: list[requests.Session] = field(default_factory=list)

    def session(self) -> requests.Session:
        session = requests.Session()
        self.sessions.append(session)
        session.verify = str(self.tls.ca_bundle)
        # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE from the environment override
        # session.verify (psf/requests#3829); trust_env=False makes the CA bundle effective.
        session.trust_env = False
        return session

    def client(self, session_id: str | None = None) -> Salesforce:
        return Salesforce(
            instance_url=self.url,
            session_id=session_id or self.state.new_session(),
            session=self.session(),
            version="59.0",
        )

    def lead(self, **fields: object) -> str:
        body = {"LastName": "Tanaka", "Company": "Acme KK", **fields}
        return self.state.create("Lead", body)


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(Path(tmp_path_factory.mktemp("sf-tls")))


@pytest.fixture
def org(tls: TlsFiles) -> Iterator[Org]:
    clock = Clock(START, frozen=True)
    control = Control(clock)
    state = SalesforceState(clock)
    server = ServerThread(
        build_salesforce_app(state, control), certfile=tls.certfile, keyfile=tls.keyfile
    )
    server.start()
    org = Org(state, control, server.url, tls)
    try:
        yield org
    finally:
        gc.collect()  # responses kept alive by exception tracebacks hold their sockets open
        for session in org.sessions:  # idle keep-alive connections would delay the shutdown
            session.close()
        server.stop()


@pytest.fixture
def sf(org: Org) -> Salesforce:
    return org.client()

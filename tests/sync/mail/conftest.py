"""A real SMTP server (aiosmtpd) on loopback, a throwaway certificate, and sample alerts.

`smtp_server` starts a plain server whose `Inbox` keeps every envelope and can be told to
refuse a recipient or the message. `start_server` starts others (STARTTLS, TLS, AUTH) for
the tests that need them. The certificate is self-signed for 127.0.0.1 and trusted through
`SMTP_CA_BUNDLE`, as a private relay's would be.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mappings.model import ScoreReason
from sync.mail import AlertLead, Breach

JST = ZoneInfo("Asia/Tokyo")
HOST = "127.0.0.1"
USER = "leadloop@example.co.jp"
PASSWORD = "s3cret-Passw0rd!"


@dataclass(frozen=True)
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    authenticated: bool

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Inbox:
    """An aiosmtpd handler: keeps what it accepts, refuses what it is told to."""

    received: list[Received] = field(default_factory=list)
    refuse_rcpt: dict[str, str] = field(default_factory=dict)
    """Recipient address -> the reply to RCPT TO, e.g. `550 5.1.1 No such user`."""
    refuse_data: str | None = None
    """The reply to DATA instead of accepting the message."""

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.refuse_data:
            return self.refuse_data
        assert isinstance(envelope.original_content, bytes)
        assert envelope.mail_from is not None
        self.received.append(
            Received(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                envelope.original_content,
                bool(session.authenticated),
            )
        )
        return "250 2.0.0 Message accepted for delivery"


@dataclass
class Credentials:
    """An aiosmtpd authenticator that knows one user and notes the mechanisms tried."""

    user: str = USER
    password: str = PASSWORD
    mechanisms: list[str] = field(default_factory=list)

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        self.mechanisms.append(mechanism)
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            self.user.encode(),
            self.password.encode(),
        )
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


@dataclass(frozen=True)
class Server:
    """A running SMTP server and what it received."""

    port: int
    inbox: Inbox

    def url(self, scheme: str = "smtp", query: str = "") -> str:
        return f"{scheme}://{HOST}:{self.port}{'?' + query if query else ''}"


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


def free_port() -> int:
    """A loopback port nothing listens on (now)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running(inbox: Inbox, **smtp_options: Any) -> Iterator[Server]:
    """An aiosmtpd server on 127.0.0.1 with `smtp_options` (tls_context=, authenticator=...)."""
    port = free_port()
    controller = Controller(
        inbox, hostname=HOST, port=port, server_hostname="mail.test", **smtp_options
    )
    controller.start()
    try:
        yield Server(port, inbox)
    finally:
        controller.stop()


StartServer = Callable[..., AbstractContextManager[Server]]


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def smtp_server(inbox: Inbox) -> Iterator[Server]:
    """A plain SMTP server without TLS or AUTH."""
    with running(inbox) as server:
        yield server


@pytest.fixture
def start_server(inbox: Inbox) -> StartServer:
    """Starts a server sharing `inbox`, with the given aiosmtpd SMTP options."""
    return lambda **options: running(inbox, **options)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1 and its key; the certificate is its own CA."""
    folder = tmp_path_factory.mktemp("smtp-tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "leadloop test SMTP")])
    now = datetime.now(UTC) - timedelta(minutes=5)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    files = TlsFiles(folder / "cert.pem", folder / "key.pem")
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


HANDED_OFF = datetime(2026, 1, 9, 19, tzinfo=JST)
"""Friday 2026-01-09 19:00 JST."""
DEADLINE = datetime(2026, 1, 15, 18, tzinfo=JST)
"""Thursday 2026-01-15 18:00 JST."""
NOW = datetime(2026, 1, 16, 11, 30, tzinfo=JST)

LEAD = AlertLead(
    name="山田 太郎",
    company="株式会社テスト製作所",
    email="yamada@example.co.jp",
    score=65,
    reasons=(
        ScoreReason("content_download", 20, 2),
        ScoreReason("webinar_attended", 15),
        ScoreReason("decision_maker_title", 15),
        ScoreReason("unsubscribe", -20),
    ),
    handed_off_at=HANDED_OFF,
    salesforce_url="https://example.my.salesforce.com/lightning/r/Lead/00Q5g00000AbCdEFGH/view",
    hubspot_url="https://app.hubspot.com/contacts/1234567/record/0-1/501",
    owner_name="佐藤 花子",
    owner_email="sato@example.co.jp",
)

BREACH = Breach(
    lead=LEAD, sla="first_touch", level=1, deadline=DEADLINE, overdue_business_hours=3.5
)


def make_breach(**changes: Any) -> Breach:
    """BREACH with some fields changed; `lead_changes` changes the lead's."""
    lead_changes = changes.pop("lead_changes", {})
    return replace(BREACH, lead=replace(LEAD, **lead_changes), **changes)

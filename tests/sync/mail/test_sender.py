"""SmtpMailer against a real SMTP server (aiosmtpd), and FolderMailer."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from sync.mail import (
    FolderMailer,
    Mailer,
    MailError,
    SmtpMailer,
    SmtpSettings,
    render_alert,
    render_digest,
)
from sync.mail.content import Language
from tests.sync.mail.conftest import (
    BREACH,
    HOST,
    JST,
    NOW,
    PASSWORD,
    USER,
    Credentials,
    Server,
    StartServer,
    TlsFiles,
    free_port,
    make_breach,
)

SENDER = "leadloop <leadloop@example.co.jp>"
OWNER = "佐藤 花子 <sato@example.co.jp>"
SUBJECT = "【対応期限超過】株式会社テスト製作所 山田 太郎 様（初回対応）"


def alert(*to: str) -> EmailMessage:
    return render_alert(
        BREACH,
        alert_key="lead-1/first_touch/2026-01-09T10:00:00+00:00/1",
        to=list(to) or [OWNER],
        sender=SENDER,
        language="ja",
        tz=JST,
        now=NOW,
    )


def mailer(url: str, **env: str) -> SmtpMailer:
    return SmtpMailer(SmtpSettings.from_env({"SMTP_URL": url, "SMTP_TIMEOUT": "5", **env}))


class TestPlainSmtp:
    def test_the_server_receives_the_alert(self, smtp_server: Server) -> None:
        """The envelope is the From and To addresses; the message arrives once."""
        sender: Mailer = mailer(smtp_server.url())
        sender.send(alert())
        [received] = smtp_server.inbox.received
        assert received.mail_from == "leadloop@example.co.jp"
        assert received.rcpt_tos == ["sato@example.co.jp"]
        assert not received.authenticated

    def test_headers_survive_the_trip(self, smtp_server: Server) -> None:
        """From, To, the Japanese Subject, Date, Message-ID and X-Leadloop-Alert arrive intact."""
        sent = alert()
        mailer(smtp_server.url()).send(sent)
        raw = smtp_server.inbox.received[0].data
        assert raw.isascii()  # every header RFC 2047 encoded, the bodies base64 or QP
        message = smtp_server.inbox.received[0].message
        assert message["Subject"] == SUBJECT
        assert message["From"].addresses[0].addr_spec == "leadloop@example.co.jp"
        assert message["To"].addresses[0].display_name == "佐藤 花子"
        assert message["To"].addresses[0].addr_spec == "sato@example.co.jp"
        assert parsedate_to_datetime(message["Date"]) == NOW
        assert message["Message-ID"] == sent["Message-ID"]
        assert message["X-Leadloop-Alert"] == "first_touch/1"

    @pytest.mark.parametrize(
        ("language", "subject"),
        [
            ("ja", "【エスカレーション】北斗化学 小林 誠 様（初回対応）"),
            ("en", "[Escalated] 小林 誠 (北斗化学): first touch"),
        ],
    )
    def test_a_folded_subject_arrives_with_its_spaces(
        self, smtp_server: Server, language: Language, subject: str
    ) -> None:
        """A Subject and display names folded where a space is arrive as they were rendered."""
        breach = make_breach(level=2, lead_changes={"company": "北斗化学", "name": "小林 誠"})
        to = [
            "佐藤 花子 <sato@example.co.jp>",
            "関東支社 第一営業部 小林 誠 <kobayashi@example.co.jp>",
        ]
        sent = render_alert(
            breach,
            alert_key="lead-2/first_touch/2026-01-09T10:00:00+00:00/2",
            to=to,
            sender="リードループ 通知 <leadloop@example.co.jp>",
            language=language,
            tz=JST,
            now=NOW,
        )
        assert sent["Subject"] == subject
        mailer(smtp_server.url()).send(sent)
        [received] = smtp_server.inbox.received
        assert received.rcpt_tos == ["sato@example.co.jp", "kobayashi@example.co.jp"]
        message = received.message
        assert message["Subject"] == subject
        assert [a.display_name for a in message["To"].addresses] == [
            "佐藤 花子",
            "関東支社 第一営業部 小林 誠",
        ]
        assert message["From"].addresses[0].display_name == "リードループ 通知"

    def test_both_parts_arrive_decodable(self, smtp_server: Server) -> None:
        """multipart/alternative with the text part first, both UTF-8 with the Japanese intact."""
        mailer(smtp_server.url()).send(alert())
        message = smtp_server.inbox.received[0].message
        assert message.get_content_type() == "multipart/alternative"
        text, html = message.iter_parts()
        assert isinstance(text, EmailMessage)
        assert isinstance(html, EmailMessage)
        assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
        assert text.get_content_charset() == html.get_content_charset() == "utf-8"
        assert "下記のリードについて、初回対応の対応期限を過ぎています。" in text.get_content()
        assert "株式会社テスト製作所" in html.get_content()

    def test_every_recipient_gets_it(self, smtp_server: Server) -> None:
        """An escalation to a list is one message with every address in the envelope."""
        mailer(smtp_server.url()).send(alert("boss@example.co.jp", "部長 <vp@example.co.jp>"))
        [received] = smtp_server.inbox.received
        assert received.rcpt_tos == ["boss@example.co.jp", "vp@example.co.jp"]

    def test_a_message_without_recipients_is_a_programming_error(self) -> None:
        """No To, Cc or Bcc is a ValueError before any connection is made."""
        message = alert()
        del message["To"]
        with pytest.raises(ValueError, match="no recipient"):
            mailer(f"smtp://{HOST}:{free_port()}").send(message)


class TestTlsAndLogin:
    def test_starttls_with_auth_plain(self, start_server: StartServer, tls_files: TlsFiles) -> None:
        """STARTTLS with the CA bundle trusted, then AUTH PLAIN (smtplib's first choice)."""
        credentials = Credentials()
        options = {
            "tls_context": tls_files.server_context(),
            "require_starttls": True,
            "authenticator": credentials,
            "auth_require_tls": True,
            "auth_required": True,
        }
        with start_server(**options) as server:
            mailer(
                server.url("smtp+starttls"),
                SMTP_CA_BUNDLE=str(tls_files.cert),
                SMTP_USERNAME=USER,
                SMTP_PASSWORD=PASSWORD,
            ).send(alert())
        assert credentials.mechanisms == ["PLAIN"]
        [received] = server.inbox.received
        assert received.authenticated
        assert received.message["Subject"] == SUBJECT

    def test_starttls_with_auth_login(self, start_server: StartServer, tls_files: TlsFiles) -> None:
        """A server that offers only AUTH LOGIN gets LOGIN; the query form of STARTTLS works."""
        credentials = Credentials()
        options = {
            "tls_context": tls_files.server_context(),
            "require_starttls": True,
            "authenticator": credentials,
            "auth_exclude_mechanism": ["PLAIN"],
        }
        with start_server(**options) as server:
            mailer(
                server.url("smtp", "starttls=true"),
                SMTP_CA_BUNDLE=str(tls_files.cert),
                SMTP_USERNAME=USER,
                SMTP_PASSWORD=PASSWORD,
            ).send(alert())
        assert credentials.mechanisms == ["LOGIN"]
        assert server.inbox.received[0].authenticated

    def test_implicit_tls(self, start_server: StartServer, tls_files: TlsFiles) -> None:
        """smtps:// speaks TLS from the first byte; the login sits in the URL."""
        credentials = Credentials()
        options = {
            "ssl_context": tls_files.server_context(),
            "authenticator": credentials,
            "auth_require_tls": False,  # aiosmtpd only counts STARTTLS as TLS
        }
        with start_server(**options) as server:
            url = f"smtps://leadloop%40example.co.jp:{PASSWORD}@{HOST}:{server.port}"
            mailer(url, SMTP_CA_BUNDLE=str(tls_files.cert)).send(alert())
        assert server.inbox.received[0].authenticated

    def test_a_wrong_password_is_a_mail_error_without_it(
        self, start_server: StartServer, tls_files: TlsFiles
    ) -> None:
        """535 from AUTH is not retriable; neither the message nor its cause shows the password."""
        options = {
            "tls_context": tls_files.server_context(),
            "require_starttls": True,
            "authenticator": Credentials(),
        }
        wrong = "wrong-" + PASSWORD
        with start_server(**options) as server, pytest.raises(MailError) as info:
            mailer(
                server.url("smtp+starttls"),
                SMTP_CA_BUNDLE=str(tls_files.cert),
                SMTP_USERNAME=USER,
                SMTP_PASSWORD=wrong,
            ).send(alert())
        error = info.value
        assert (error.code, error.retriable) == (535, False)
        assert f"{HOST}:{server.port}" in str(error)
        assert "535" in str(error)
        assert wrong not in str(error)
        assert error.__cause__ is None
        assert error.__suppress_context__
        assert not server.inbox.received

    def test_an_untrusted_certificate_names_the_ca_bundle(
        self, start_server: StartServer, tls_files: TlsFiles
    ) -> None:
        """Without SMTP_CA_BUNDLE the self-signed certificate fails; the error says what to set."""
        with (
            start_server(tls_context=tls_files.server_context()) as server,
            pytest.raises(MailError, match="SMTP_CA_BUNDLE") as info,
        ):
            mailer(server.url("smtp+starttls")).send(alert())
        assert not info.value.retriable

    def test_starttls_missing_on_the_server(self, smtp_server: Server) -> None:
        """A server that does not offer STARTTLS is an error, never a fall-back to plain text."""
        with pytest.raises(MailError, match="STARTTLS") as info:
            mailer(smtp_server.url("smtp+starttls")).send(alert())
        assert not info.value.retriable
        assert not smtp_server.inbox.received


class TestRefusals:
    def test_a_refused_recipient_carries_the_code(self, smtp_server: Server) -> None:
        """550 to RCPT TO is a MailError with the code, the text and the address; not retriable."""
        smtp_server.inbox.refuse_rcpt["sato@example.co.jp"] = "550 5.1.1 No such user"
        with pytest.raises(MailError) as info:
            mailer(smtp_server.url()).send(alert())
        error = info.value
        assert (error.code, error.retriable, error.partial) == (550, False, False)
        assert error.refused == {"sato@example.co.jp": (550, "5.1.1 No such user")}
        assert f"SMTP server {HOST}:{smtp_server.port}" in str(error)
        assert "sato@example.co.jp: 550 5.1.1 No such user" in str(error)

    def test_a_temporary_refusal_is_retriable(self, smtp_server: Server) -> None:
        """450 (mailbox busy) is worth trying again later."""
        smtp_server.inbox.refuse_rcpt["sato@example.co.jp"] = "450 4.2.1 Mailbox busy"
        with pytest.raises(MailError) as info:
            mailer(smtp_server.url()).send(alert())
        assert (info.value.code, info.value.retriable) == (450, True)

    def test_a_partly_refused_list_says_the_others_got_it(self, smtp_server: Server) -> None:
        """One refused address of two: the other is delivered and the error says so."""
        smtp_server.inbox.refuse_rcpt["gone@example.co.jp"] = "550 5.1.1 No such user"
        with pytest.raises(MailError, match="accepted the message for the other") as info:
            mailer(smtp_server.url()).send(alert("boss@example.co.jp", "gone@example.co.jp"))
        assert info.value.partial
        assert list(info.value.refused) == ["gone@example.co.jp"]
        assert smtp_server.inbox.received[0].rcpt_tos == ["boss@example.co.jp"]

    def test_a_refused_message_carries_the_code(self, smtp_server: Server) -> None:
        """554 to DATA is a MailError naming DATA, with the server's text."""
        smtp_server.inbox.refuse_data = "554 5.7.1 Message rejected as spam"
        with pytest.raises(MailError) as info:
            mailer(smtp_server.url()).send(alert())
        assert (info.value.code, info.value.retriable) == (554, False)
        assert "refused the message (DATA): 554 5.7.1 Message rejected as spam" in str(info.value)


class TestServerUnreachable:
    def test_server_down(self) -> None:
        """Nothing listening is a retriable MailError naming host:port, without a code."""
        port = free_port()
        with pytest.raises(MailError) as info:
            mailer(f"smtp://{HOST}:{port}").send(alert())
        assert (info.value.code, info.value.retriable) == (None, True)
        assert f"SMTP server {HOST}:{port}" in str(info.value)
        assert "connecting" in str(info.value)

    @pytest.fixture
    def silent_port(self) -> Iterator[int]:
        """A port whose listener accepts connections but never says a word."""
        with socket.socket() as listener:
            listener.bind((HOST, 0))
            listener.listen(1)
            yield listener.getsockname()[1]

    def test_a_silent_server_times_out(self, silent_port: int) -> None:
        """No greeting within SMTP_TIMEOUT is a retriable MailError."""
        with pytest.raises(MailError, match=r"did not answer within 0\.2 s") as info:
            mailer(f"smtp://{HOST}:{silent_port}", SMTP_TIMEOUT="0.2").send(alert())
        assert info.value.retriable


class TestFolderMailer:
    def test_writes_a_parseable_eml(self, tmp_path: Path) -> None:
        """The .eml holds the bytes SMTP would carry (CRLF lines) and parses back."""
        folder = tmp_path / "outbox" / "mail"
        sent = alert()
        sender: Mailer = FolderMailer(folder, clock=lambda: NOW)
        sender.send(sent)
        [path] = folder.iterdir()
        assert path.name == "20260116T023000Z-0001-first_touch-1-sato-example-co-jp.eml"
        data = path.read_bytes()
        assert data == sent.as_bytes(policy=policy.SMTP)
        parsed = message_from_bytes(data, policy=policy.default)
        assert parsed["Subject"] == SUBJECT
        assert parsed["Message-ID"] == sent["Message-ID"]

    def test_a_digest_is_named_by_its_day(self, tmp_path: Path) -> None:
        """A digest's file name says it is the digest of its day, for its owner."""
        digest = render_digest(
            None,
            "sato@example.co.jp",
            [BREACH],
            sender="leadloop@example.co.jp",
            language="ja",
            tz=JST,
            day=date(2026, 1, 16),
            now=NOW,
        )
        FolderMailer(tmp_path, clock=lambda: NOW).send(digest)
        [path] = tmp_path.iterdir()
        assert path.name == "20260116T023000Z-0001-digest-2026-01-16-sato-example-co-jp.eml"

    def test_names_sort_in_the_order_written_and_never_clash(self, tmp_path: Path) -> None:
        """Two mailers writing in the same second get distinct, ordered names."""
        clock = lambda: datetime(2026, 1, 16, 2, 30, tzinfo=UTC)  # noqa: E731
        FolderMailer(tmp_path, clock=clock).send(alert())
        FolderMailer(tmp_path, clock=clock).send(alert("boss@example.co.jp"))
        names = sorted(path.name for path in tmp_path.iterdir())
        assert [name.split("-")[1] for name in names] == ["0001", "0002"]
        assert names[1].endswith("boss-example-co-jp.eml")

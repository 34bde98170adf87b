"""Handing rendered messages over: to an SMTP relay, or into a folder for the demo.

`SmtpMailer` opens one connection per message (plain, STARTTLS or TLS as `SmtpSettings`
says), logs in when a user is set, sends and says QUIT. Every failure comes out as a
`MailError` naming the server and, when it answered, its reply code and text. Once the
server has accepted the message, a failure of QUIT is ignored: raising then would make the
caller send the message twice.

`FolderMailer` writes each message as an `.eml` file, byte for byte what SMTP would carry.
"""

from __future__ import annotations

import itertools
import re
import smtplib
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Protocol

from sync.mail.content import ALERT_HEADER, DIGEST_HEADER
from sync.mail.errors import MailError
from sync.mail.settings import CA_BUNDLE_VARIABLE, URL_VARIABLE, SmtpSettings


class Mailer(Protocol):
    """Something that delivers a rendered message, or raises `MailError`."""

    def send(self, message: EmailMessage) -> None:
        """Deliver `message` to the recipients in its To, Cc and Bcc headers."""


class SmtpMailer:
    """Sends through the SMTP relay described by `settings`."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def send(self, message: EmailMessage) -> None:
        _require_addresses(message)
        progress = _Progress()
        try:
            refused = self._deliver(message, progress)
        except smtplib.SMTPRecipientsRefused as exc:
            raise self._refused(_texts(exc.recipients), partial=False) from None
        except smtplib.SMTPAuthenticationError as exc:
            # `from None` here and below: smtplib's frames hold the password in a variable.
            raise self._error(
                f"refused the login of {self.settings.username!r}",
                code=exc.smtp_code,
                detail=_text(exc.smtp_error),
            ) from None
        except smtplib.SMTPSenderRefused as exc:
            raise self._error(
                f"refused the sender {exc.sender!r}",
                code=exc.smtp_code,
                detail=_text(exc.smtp_error),
            ) from None
        except smtplib.SMTPDataError as exc:
            raise self._error(
                "refused the message (DATA)", code=exc.smtp_code, detail=_text(exc.smtp_error)
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise self._error(
                f"answered with an error while {progress.step}",
                code=exc.smtp_code,
                detail=_text(exc.smtp_error),
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise self._error(
                f"cannot be used as configured while {progress.step}: {exc} Check {URL_VARIABLE}.",
                detail=str(exc),
                retriable=False,
            ) from None
        except ssl.SSLCertVerificationError as exc:
            raise self._error(
                f"sent a certificate that is not trusted ({exc.verify_message}); set"
                f" {CA_BUNDLE_VARIABLE} to the PEM file of its CA",
                detail=str(exc),
                retriable=False,
            ) from None
        except ssl.SSLError as exc:
            raise self._error(
                f"failed the TLS handshake while {progress.step} ({exc.reason or exc}); check"
                f" that the scheme of {URL_VARIABLE} fits the port",
                detail=str(exc),
                retriable=False,
            ) from None
        except smtplib.SMTPServerDisconnected as exc:
            # smtplib reports a read that timed out as a dropped connection.
            timed_out = isinstance(exc.__context__, TimeoutError)
            raise self._error(
                f"did not answer within {self.settings.timeout_seconds:g} s while {progress.step}"
                if timed_out
                else f"closed the connection while {progress.step} ({exc})",
                detail=str(exc),
                retriable=True,
            ) from None
        except TimeoutError as exc:
            raise self._error(
                f"did not answer within {self.settings.timeout_seconds:g} s while {progress.step}",
                detail=str(exc),
                retriable=True,
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            # Network trouble is worth a retry; smtplib's own complaints (no common AUTH
            # mechanism, say) are not.
            raise self._error(
                f"could not be used while {progress.step} ({str(exc) or type(exc).__name__})",
                detail=str(exc),
                retriable=isinstance(exc, OSError),
            ) from None
        if refused:
            raise self._refused(_texts(refused), partial=True)

    def _deliver(self, message: EmailMessage, progress: _Progress) -> dict[str, tuple[int, bytes]]:
        """One SMTP session; returns the recipients refused while others were accepted."""
        settings = self.settings
        smtp = self._connect()
        try:
            if settings.security == "starttls":
                progress.step = "starting TLS"
                smtp.starttls(context=self._tls_context())
            if settings.username:
                progress.step = "logging in"
                smtp.login(settings.username, settings.password or "")
            progress.step = "sending"
            refused = smtp.send_message(message)
        except BaseException:
            smtp.close()
            raise
        _quit(smtp)
        return refused

    def _connect(self) -> smtplib.SMTP:
        """A client connected and greeted; smtplib closes the socket if that fails."""
        settings = self.settings
        if settings.security == "tls":
            return smtplib.SMTP_SSL(
                settings.host,
                settings.port,
                timeout=settings.timeout_seconds,
                context=self._tls_context(),
            )
        return smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)

    def _tls_context(self) -> ssl.SSLContext:
        bundle = self.settings.ca_bundle
        return ssl.create_default_context(cafile=str(bundle) if bundle else None)

    def _refused(self, refused: dict[str, tuple[int, str]], *, partial: bool) -> MailError:
        listed = "; ".join(f"{to}: {code} {text}" for to, (code, text) in refused.items())
        code, text = next(iter(refused.values()), (None, ""))
        some = " (it accepted the message for the other recipients)" if partial else ""
        return self._error(
            f"refused {'a recipient' if len(refused) == 1 else 'recipients'}{some}: {listed}",
            code=code,
            detail=text,
            retriable=all(_temporary(c) for c, _ in refused.values()),
            refused=refused,
            partial=partial,
            with_code=False,
        )

    def _error(
        self,
        what: str,
        *,
        code: int | None = None,
        detail: str = "",
        retriable: bool | None = None,
        refused: dict[str, tuple[int, str]] | None = None,
        partial: bool = False,
        with_code: bool = True,
    ) -> MailError:
        settings = self.settings
        if code is not None and code < 0:
            code = None  # smtplib's -1: the connection closed instead of answering
        message = f"SMTP server {settings.address} {what}"
        if with_code and code is not None:
            message += f": {code} {detail}".rstrip()
        secrets = [settings.password] if settings.password else []
        return MailError(
            _scrub(message, secrets),
            host=settings.host,
            port=settings.port,
            code=code,
            detail=_scrub(detail, secrets),
            retriable=_temporary(code) if retriable is None else retriable,
            refused=refused,
            partial=partial,
        )


@dataclass(slots=True)
class _Progress:
    """How far one SMTP session got, for the error message."""

    step: str = "connecting"


class FolderMailer:
    """Writes each message to `folder/<UTC time>-<n>-<slug>.eml`; the demo's SMTP sink.

    The slug names the alert (`first_touch-1`) or the digest (`digest-2026-01-15`) and the
    first recipient.

    `clock` gives the time in the file name (the demo's clock; default the wall clock); `n`
    counts the files of that second, so names sort in the order written and never overwrite
    one another."""

    def __init__(self, folder: Path, clock: Callable[[], datetime] | None = None) -> None:
        self.folder = folder
        self._clock = clock or (lambda: datetime.now(UTC))

    def send(self, message: EmailMessage) -> None:
        _require_addresses(message)
        data = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
        stamp = self._clock().astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        slug = _slug(message)
        self.folder.mkdir(parents=True, exist_ok=True)
        first = 1 + sum(1 for _ in self.folder.glob(f"{stamp}-*.eml"))
        for number in itertools.count(first):
            path = self.folder / f"{stamp}-{number:04d}-{slug}.eml"
            try:
                with path.open("xb") as file:
                    file.write(data)
            except FileExistsError:
                continue
            return


def _require_addresses(message: EmailMessage) -> None:
    if not message["From"]:
        raise ValueError("the message has no From header")
    if not any(message.get_all(name) for name in ("To", "Cc", "Bcc")):
        raise ValueError("the message has no recipient (To, Cc or Bcc)")


def _quit(smtp: smtplib.SMTP) -> None:
    """Say goodbye; the message is accepted already, so a failure here changes nothing."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        smtp.close()


def _temporary(code: int | None) -> bool:
    """A reply code worth retrying: 4xx, or no answer at all."""
    return code is None or 400 <= code < 500


def _text(reply: bytes | str) -> str:
    if isinstance(reply, bytes):
        return reply.decode("utf-8", "replace")
    return reply


def _texts(refused: dict[str, tuple[int, bytes]]) -> dict[str, tuple[int, str]]:
    return {to: (code, _text(reply)) for to, (code, reply) in refused.items()}


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _slug(message: EmailMessage) -> str:
    digest = message.get(DIGEST_HEADER)
    kind = f"digest-{digest}" if digest else str(message.get(ALERT_HEADER, ""))
    parts = [kind.replace("/", "-")]
    recipients = getaddresses([str(v) for v in message.get_all("To", [])])
    if recipients:
        parts.append(recipients[0][1])
    slug = re.sub(r"[^A-Za-z0-9_]+", "-", "-".join(p for p in parts if p)).strip("-")
    return slug[:60].rstrip("-").lower() or "message"

"""The two things that go wrong with alert e-mail, sorted by what the caller should do.

- `MailConfigError`: the settings or a template are wrong. Nothing is sent until a person
  fixes them; the message names the variable or file, what was given and what is allowed.
- `MailError`: one message could not be handed to the SMTP server. `retriable` says whether
  trying again later can help (the server down or busy, a 4xx answer) or not (a 5xx answer,
  a refused login, a certificate that is not trusted).

Messages never contain the SMTP password.
"""

from __future__ import annotations

from collections.abc import Mapping

from sync.exceptions import LeadloopError


class MailConfigError(LeadloopError, ValueError):
    """The SMTP settings or an alert template are wrong; fix them and start again."""


class MailError(LeadloopError):
    """The SMTP server at `host`:`port` did not take a message.

    `code` is the SMTP reply code when the server answered (None when it could not be reached
    or went silent), `detail` its text or the network error. `refused` maps each refused
    recipient to the server's (code, text); `partial` is True when the server took the
    message for some recipients and refused the others: sending it again repeats it to those.
    """

    def __init__(
        self,
        message: str,
        *,
        host: str,
        port: int,
        retriable: bool,
        code: int | None = None,
        detail: str = "",
        refused: Mapping[str, tuple[int, str]] | None = None,
        partial: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.retriable = retriable
        self.code = code
        self.detail = detail
        self.refused: dict[str, tuple[int, str]] = dict(refused or {})
        self.partial = partial
        super().__init__(message)

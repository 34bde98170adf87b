"""What went wrong talking to a CRM, sorted by what the caller should do about it.

Each connector has one `classify` function that turns whatever its SDK raised into one of
these; the jobs only ever see these types:

- `RetriableError`: 5xx, timeouts, dropped connections. Retried with backoff, then raised.
- `RateLimitedError`: a rate limit or quota answered (HubSpot 429, Salesforce
  REQUEST_LIMIT_EXCEEDED). Waited out using the service's own hints, then retried.
- `RecordError`: the service refused one record (validation). The record is quarantined with
  the service's own message; the rest of the batch goes on.
- `FatalError`: authentication, permissions, configuration. The job stops with `fix`.

Messages never contain tokens, passwords or session ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Failure(StrEnum):
    RETRIABLE = "retriable"
    RATE_LIMITED = "rate_limited"
    RECORD = "record"
    FATAL = "fatal"


class ConnectorError(Exception):
    """A failure of one call to `system`, with the service's status and error code."""

    failure: Failure = Failure.FATAL

    def __init__(
        self,
        system: str,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        self.system = system
        self.message = message
        self.status = status
        self.code = code
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [p for p in (str(self.status) if self.status else None, self.code) if p]
        where = f" ({' '.join(parts)})" if parts else ""
        return f"{self.system}{where}: {self.message}"


class RetriableError(ConnectorError):
    failure = Failure.RETRIABLE


class RateLimitedError(ConnectorError):
    """`retry_after` seconds (None: unknown) before the limit named `policy` frees up."""

    failure = Failure.RATE_LIMITED

    def __init__(
        self,
        system: str,
        message: str,
        *,
        retry_after: float | None = None,
        policy: str | None = None,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        self.retry_after = retry_after
        self.policy = policy
        super().__init__(system, message, status=status, code=code)


class RecordError(ConnectorError):
    failure = Failure.RECORD


class FatalError(ConnectorError):
    """Nothing will work until a person fixes something; `fix` says what."""

    failure = Failure.FATAL

    def __init__(
        self,
        system: str,
        message: str,
        *,
        fix: str,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        self.fix = fix
        super().__init__(system, message, status=status, code=code)

    def _render(self) -> str:
        return f"{super()._render()}. To fix: {self.fix}"


@dataclass(frozen=True, slots=True)
class RecordFailure:
    """One record a batch write refused: the caller's key for it and the CRM's own error.

    `key` is what the caller sent to identify the record (a HubSpot contact id or e-mail, a
    Salesforce external id); `code` and `message` are the CRM's words, kept verbatim.
    """

    key: str
    code: str
    message: str
    fields: tuple[str, ...] = ()

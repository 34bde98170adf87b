"""Retries for CRM calls, with tenacity: backoff for transient failures, waits for limits.

tenacity gives jittered exponential backoff, stop conditions and an injectable sleep in a
few lines; a loop of our own would have to re-earn each of those.

`Retry(usage, ...).call(operation, fn, classify)` sends `fn()`; what `classify` sorts as
`RetriableError` is retried with full-jitter exponential backoff, `RateLimitedError` is
waited out for its `retry_after` (or the backoff when the service gave no hint) unless that
is longer than the whole budget (`max_total`, e.g. a spent daily quota): then it is raised at
once for the caller to decide. Record and fatal errors are raised at once. Every attempt is
counted in `usage`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from connectors.errors import ConnectorError, RateLimitedError, RetriableError
from connectors.usage import ApiUsage

T = TypeVar("T")
Classify = Callable[[BaseException], ConnectorError | None]
"""Maps what an SDK raised to a ConnectorError; None for exceptions that are bugs."""


@dataclass
class Retry:
    """How hard to try: attempts per call, the longest single wait, and the total budget."""

    usage: ApiUsage
    attempts: int = 6
    max_backoff: float = 30.0
    max_total: float = 600.0
    sleep: Callable[[float], None] = field(default=time.sleep)

    def call(self, operation: str, fn: Callable[[], T], classify: Classify) -> T:
        """`fn()` with retries; raises the classified error once retrying is over."""

        def attempt() -> T:
            self.usage.call(operation)
            try:
                return fn()
            except ConnectorError:
                raise
            except Exception as exc:
                classified = classify(exc)
                if classified is None:
                    raise
                raise classified from exc

        backoff = wait_random_exponential(multiplier=0.5, max=self.max_backoff)

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, RateLimitedError) and error.retry_after is not None:
                return max(error.retry_after, 0.0)
            return float(backoff(state))

        def before_sleep(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            seconds = state.upcoming_sleep
            if isinstance(error, RateLimitedError):
                self.usage.waited(seconds)
            self.usage.retried()

        def worth_retrying(error: BaseException) -> bool:
            if isinstance(error, RateLimitedError):
                return error.retry_after is None or error.retry_after <= self.max_total
            return isinstance(error, RetriableError)

        retrying = Retrying(
            retry=retry_if_exception(worth_retrying),
            stop=stop_after_attempt(self.attempts) | stop_after_delay(self.max_total),
            wait=wait,
            sleep=self.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        return retrying(attempt)

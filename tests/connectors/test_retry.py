"""Retries: backoff for transient failures, the service's hint for rate limits, none else."""

from __future__ import annotations

import pytest

from connectors.errors import (
    ConnectorError,
    FatalError,
    RateLimitedError,
    RecordError,
    RetriableError,
)
from connectors.retry import Retry
from connectors.usage import ApiUsage


class Flaky:
    """Raises the given errors in turn, then answers "ok"."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def identity(exc: BaseException) -> ConnectorError | None:
    return exc if isinstance(exc, ConnectorError) else None


@pytest.fixture
def slept() -> list[float]:
    return []


def make(slept: list[float], attempts: int = 6) -> tuple[Retry, ApiUsage]:
    usage = ApiUsage()
    return Retry(usage, attempts=attempts, sleep=slept.append), usage


def test_transient_failures_are_retried_with_growing_jittered_waits(slept: list[float]) -> None:
    retry, usage = make(slept)
    flaky = Flaky(*(RetriableError("HubSpot", "502 Bad Gateway", status=502) for _ in range(3)))
    assert retry.call("contacts.search", flaky, identity) == "ok"
    assert flaky.calls == 4 and len(slept) == 3
    assert all(0 <= wait <= 30 for wait in slept)
    snapshot = usage.snapshot()
    assert snapshot.calls == {"contacts.search": 4}
    assert snapshot.retries == 3 and snapshot.rate_limit_waits == 0


def test_a_rate_limit_is_waited_out_for_as_long_as_the_service_says(slept: list[float]) -> None:
    retry, usage = make(slept)
    limited = RateLimitedError("HubSpot", "TEN_SECONDLY_ROLLING", retry_after=7.5, status=429)
    assert retry.call("contacts.batch_update", Flaky(limited), identity) == "ok"
    assert slept == [7.5]
    snapshot = usage.snapshot()
    assert snapshot.rate_limit_waits == 1 and snapshot.waited_seconds == 7.5


@pytest.mark.parametrize(
    "error",
    [
        RecordError("Salesforce", "bad email", code="INVALID_EMAIL_ADDRESS", status=400),
        FatalError("HubSpot", "token refused", fix="set HUBSPOT_ACCESS_TOKEN", status=401),
    ],
)
def test_record_and_fatal_errors_are_not_retried(slept: list[float], error: Exception) -> None:
    retry, usage = make(slept)
    flaky = Flaky(error)
    with pytest.raises(type(error)):
        retry.call("op", flaky, identity)
    assert flaky.calls == 1 and slept == []
    assert usage.snapshot().calls == {"op": 1}


def test_gives_up_after_the_attempts_and_raises_the_last_error(slept: list[float]) -> None:
    retry, _ = make(slept, attempts=3)
    flaky = Flaky(*(RetriableError("Salesforce", f"try {n}", status=503) for n in range(5)))
    with pytest.raises(RetriableError, match="try 2"):
        retry.call("query", flaky, identity)
    assert flaky.calls == 3


def test_sdk_exceptions_go_through_the_classifier(slept: list[float]) -> None:
    retry, _ = make(slept)

    def classify(exc: BaseException) -> ConnectorError | None:
        if isinstance(exc, TimeoutError):
            return RetriableError("HubSpot", "timed out")
        return None

    assert retry.call("op", Flaky(TimeoutError()), classify) == "ok"
    with pytest.raises(KeyError):  # not a CRM failure: a bug, raised as it is
        retry.call("op", Flaky(KeyError("x")), classify)


def test_fatal_errors_say_how_to_fix_them() -> None:
    error = FatalError("Salesforce", "INVALID_LOGIN", fix="check SALESFORCE_PASSWORD", status=500)
    assert str(error) == "Salesforce (500): INVALID_LOGIN. To fix: check SALESFORCE_PASSWORD"


def test_a_limit_longer_than_the_whole_budget_is_raised_not_slept(slept: list[float]) -> None:
    """A spent daily quota is the caller's decision, not a sleep of many hours."""
    retry, usage = make(slept)
    daily = RateLimitedError("HubSpot", "DAILY", retry_after=20 * 3600.0, policy="DAILY")
    with pytest.raises(RateLimitedError, match="DAILY"):
        retry.call("contacts.search", Flaky(daily), identity)
    assert slept == [] and usage.snapshot().calls == {"contacts.search": 1}

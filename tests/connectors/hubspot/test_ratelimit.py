"""The pacer on a fake clock: it waits exactly as long as the limits need, no longer."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from connectors.errors import RateLimitedError
from connectors.hubspot import Pacer

START = datetime(2026, 1, 9, 1, 0, tzinfo=UTC)


class FakeClock:
    """Time that moves only when someone sleeps; safe to share between threads."""

    def __init__(self, start: datetime = START) -> None:
        self._lock = threading.Lock()
        self.instant = start
        self.pauses: list[float] = []

    def monotonic(self) -> float:
        with self._lock:
            return self.instant.timestamp()

    def now(self) -> datetime:
        with self._lock:
            return self.instant

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.pauses.append(seconds)
            self.instant += timedelta(seconds=seconds)


def pacer(clock: FakeClock, *, daily_limit: int = 250_000) -> Pacer:
    return Pacer(
        daily_limit=daily_limit, monotonic=clock.monotonic, now=clock.now, sleep=clock.sleep
    )


def worst_window(instants: list[float], window: float) -> int:
    """The most calls any `window`-second span holds (a span [t, t + window))."""
    ordered = sorted(instants)
    most, left = 0, 0
    for right, instant in enumerate(ordered):
        while ordered[left] <= instant - window:
            left += 1
        most = max(most, right - left + 1)
    return most


class TestWindows:
    def test_calls_under_the_limits_do_not_wait(self) -> None:
        """100 calls in one instant fit the 10-second window: no pause at all."""
        clock = FakeClock()
        limiter = pacer(clock)
        assert sum(limiter.acquire() for _ in range(100)) == 0
        assert clock.pauses == []

    def test_the_101st_call_waits_for_the_oldest_to_leave(self) -> None:
        """The 101st call waits until the first leaves the window, plus the margin."""
        clock = FakeClock()
        limiter = pacer(clock)
        for _ in range(100):
            limiter.acquire()
        assert limiter.acquire() == pytest.approx(10.05)

    def test_the_sixth_search_in_a_second_waits(self) -> None:
        """Search calls also count against 5 a second."""
        clock = FakeClock()
        limiter = pacer(clock)
        for _ in range(5):
            assert limiter.acquire(search=True) == 0
        assert limiter.acquire(search=True) == pytest.approx(1.05)
        assert limiter.acquire() == 0  # other calls are not held by the search limit

    def test_a_sustained_search_pull_runs_above_90_percent_of_the_limit(self) -> None:
        """1,000 searches take no more than 1000 / (0.9 * 5) seconds of (fake) time."""
        clock = FakeClock()
        limiter = pacer(clock)
        instants = []
        for _ in range(1000):
            limiter.acquire(search=True)
            instants.append(clock.monotonic())
        elapsed = instants[-1] - instants[0]
        assert elapsed <= 1000 / (0.9 * 5)
        assert worst_window(instants, 1.0) <= 5
        assert worst_window(instants, 10.0) <= 100

    def test_a_sustained_mixed_load_runs_above_90_percent_of_the_window(self) -> None:
        """Non-search calls run at >= 90 calls per 10 seconds and never 101."""
        clock = FakeClock()
        limiter = pacer(clock)
        instants = []
        for _ in range(1000):
            limiter.acquire()
            instants.append(clock.monotonic())
        assert instants[-1] - instants[0] <= 1000 / 9.0
        assert worst_window(instants, 10.0) <= 100

    def test_threads_share_the_limits(self) -> None:
        """Eight threads pacing at once never put more than the limits in any window."""
        clock = FakeClock()
        limiter = pacer(clock)
        instants: list[float] = []
        lock = threading.Lock()

        def work() -> None:
            for _ in range(60):
                limiter.acquire(search=True)
                with lock:
                    instants.append(clock.monotonic())

        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(instants) == 480
        assert worst_window(instants, 1.0) <= 5
        assert worst_window(instants, 10.0) <= 100


class TestDailyBudget:
    def test_a_spent_budget_raises_until_midnight(self) -> None:
        """Once daily_limit calls are made, check_daily raises DAILY with the wait to
        midnight in the account's zone; the caller decides whether to wait."""
        clock = FakeClock()
        limiter = Pacer(
            daily_limit=3,
            timezone=ZoneInfo("Asia/Tokyo"),
            monotonic=clock.monotonic,
            now=clock.now,
            sleep=clock.sleep,
        )
        for _ in range(3):
            limiter.check_daily()
            limiter.acquire()
        with pytest.raises(RateLimitedError) as info:
            limiter.check_daily()
        assert info.value.policy == "DAILY"
        assert info.value.retry_after == pytest.approx(14 * 3600)  # 10:00 JST to midnight

    def test_the_budget_renews_at_midnight(self) -> None:
        """The next day starts with a full budget."""
        clock = FakeClock()
        limiter = pacer(clock, daily_limit=1)
        limiter.acquire()
        with pytest.raises(RateLimitedError):
            limiter.check_daily()
        clock.sleep(23 * 3600)
        limiter.check_daily()

"""Client-side pacing so a long pull runs close to HubSpot's limits without 429 storms.

HubSpot counts a private app's calls in a rolling 10-second window (TEN_SECONDLY_ROLLING,
100 by default), search calls in a one-second window (SECONDLY, 5), and calls a day (DAILY).
`Pacer.acquire()` is called before every HTTP request: it keeps a log of the calls sent in
each window and, when the next one would exceed a limit, sleeps until the oldest one leaves
the window (plus a small `margin` for clock skew between us and HubSpot). So a sustained
pull runs at limit / (window + margin) calls a second: 95% of the search limit and 99.5% of
the 10-second one with the default 50 ms margin.

The daily budget is ours to spend: `daily_limit` (set it below the account's quota to leave a
share for other integrations) counted per day in the account's time zone; once spent,
`check_daily()` raises a `RateLimitedError` (policy DAILY) whose `retry_after` runs to
midnight, for the caller to decide whether to wait.

Thread-safe. `monotonic`, `now` and `sleep` are injectable so tests run on a fake clock.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, tzinfo
from datetime import time as midnight

import structlog

from connectors.errors import RateLimitedError
from connectors.hubspot.settings import HubSpotSettings

WINDOW_SECONDS = 10.0
SEARCH_WINDOW_SECONDS = 1.0
log = structlog.get_logger()


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Pacer:
    """Waits before a call when sending it now would break a known limit."""

    def __init__(
        self,
        *,
        ten_secondly_limit: int = 100,
        search_per_second: int = 5,
        daily_limit: int = 250_000,
        timezone: tzinfo = UTC,
        margin: float = 0.05,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = _utc_now,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if min(ten_secondly_limit, search_per_second, daily_limit) <= 0 or margin < 0:
            raise ValueError("limits must be positive and the margin not negative")
        self.ten_secondly_limit = ten_secondly_limit
        self.search_per_second = search_per_second
        self.daily_limit = daily_limit
        self.timezone = timezone
        self.margin = margin
        self.monotonic = monotonic
        self.now = now
        self.sleep = sleep
        self._lock = threading.Lock()
        self._calls: deque[float] = deque()
        self._searches: deque[float] = deque()
        self._day: date | None = None
        self._spent_today = 0

    @classmethod
    def for_settings(
        cls,
        settings: HubSpotSettings,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = _utc_now,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Pacer:
        return cls(
            ten_secondly_limit=settings.ten_secondly_limit,
            search_per_second=settings.search_per_second,
            daily_limit=settings.daily_limit,
            timezone=settings.timezone,
            monotonic=monotonic,
            now=now,
            sleep=sleep,
        )

    def acquire(self, *, search: bool = False) -> float:
        """Take a slot for one call, sleeping first if needed; the seconds slept."""
        slept = 0.0
        while True:
            with self._lock:
                instant = self.monotonic()
                wait = self._wait(instant, search)
                if wait <= 0:
                    self._calls.append(instant)
                    if search:
                        self._searches.append(instant)
                    self._count_today()
                    return slept
            log.debug("hubspot.pacer.wait", seconds=round(wait, 3), search=search)
            self.sleep(wait)
            slept += wait

    def check_daily(self) -> None:
        """Raise RateLimitedError (DAILY) once today's budget is spent."""
        with self._lock:
            today = self._today()
            if self._day != today or self._spent_today < self.daily_limit:
                return
            local = self.now().astimezone(self.timezone)
            reset = datetime.combine(today + timedelta(days=1), midnight(), tzinfo=self.timezone)
            seconds = (reset - local).total_seconds()
        raise RateLimitedError(
            "HubSpot",
            f"the connector's daily budget of {self.daily_limit} calls is spent; it resets at "
            f"midnight in the account's time zone ({self.timezone}), in {seconds / 3600:.1f} h",
            retry_after=seconds,
            policy="DAILY",
        )

    def _wait(self, instant: float, search: bool) -> float:
        waits = [self._until_free(self._calls, instant, WINDOW_SECONDS, self.ten_secondly_limit)]
        if search:
            waits.append(
                self._until_free(
                    self._searches, instant, SEARCH_WINDOW_SECONDS, self.search_per_second
                )
            )
        return max(waits)

    def _until_free(self, calls: deque[float], instant: float, window: float, limit: int) -> float:
        span = window + self.margin
        while calls and calls[0] <= instant - span:
            calls.popleft()
        if len(calls) < limit:
            return 0.0
        return calls[len(calls) - limit] + span - instant

    def _today(self) -> date:
        return self.now().astimezone(self.timezone).date()

    def _count_today(self) -> None:
        today = self._today()
        if today != self._day:
            self._day, self._spent_today = today, 0
        self._spent_today += 1

"""HubSpot's private-app rate limits, counted on the emulator clock, per access token.

Three policies: a rolling 10-second window (TEN_SECONDLY_ROLLING), the search endpoints'
per-second limit (SECONDLY) and a daily quota (DAILY, reset at midnight UTC here; HubSpot
resets at midnight in the account's time zone). A refused call does not count.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import date

from connectors.emulator._control import Clock

WINDOW_SECONDS = 10.0


@dataclass
class Verdict:
    """Whether a call may go ahead, the policy it broke if not, and the headers to send."""

    allowed: bool
    policy: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class RateLimiter:
    def __init__(
        self,
        clock: Clock,
        *,
        enabled: bool,
        ten_secondly_max: int,
        search_per_second: int,
        daily_max: int,
    ) -> None:
        self.clock = clock
        self.enabled = enabled
        self.ten_secondly_max = ten_secondly_max
        self.search_per_second = search_per_second
        self.daily_max = daily_max
        self._lock = threading.Lock()
        self._window: dict[str, deque[float]] = defaultdict(deque)
        self._search: dict[str, deque[float]] = defaultdict(deque)
        self._daily: dict[tuple[str, date], int] = defaultdict(int)

    def reset(self) -> None:
        """Forget every call counted so far."""
        with self._lock:
            self._window.clear()
            self._search.clear()
            self._daily.clear()

    @staticmethod
    def _trim(calls: deque[float], now: float, seconds: float) -> None:
        while calls and calls[0] <= now - seconds:
            calls.popleft()

    def check(self, token: str, *, search: bool) -> Verdict:
        """Count one call by `token` if every policy allows it."""
        if not self.enabled:
            return Verdict(True)
        with self._lock:
            now = self.clock.monotonic()
            today = self.clock.now().date()
            window = self._window[token]
            searches = self._search[token]
            self._trim(window, now, WINDOW_SECONDS)
            self._trim(searches, now, 1.0)
            policy: str | None = None
            if self._daily[(token, today)] >= self.daily_max:
                policy = "DAILY"
            elif len(window) >= self.ten_secondly_max:
                policy = "TEN_SECONDLY_ROLLING"
            elif search and len(searches) >= self.search_per_second:
                policy = "SECONDLY"
            if policy is None:
                window.append(now)
                if search:
                    searches.append(now)
                self._daily[(token, today)] += 1
            headers = {} if search else self._headers(window, now, self._daily[(token, today)])
            return Verdict(policy is None, policy, headers)

    def _headers(self, window: deque[float], now: float, used_today: int) -> dict[str, str]:
        secondly = max(1, self.ten_secondly_max // 10)
        last_second = sum(1 for t in window if t > now - 1.0)
        return {
            "X-HubSpot-RateLimit-Daily": str(self.daily_max),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, self.daily_max - used_today)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(WINDOW_SECONDS * 1000)),
            "X-HubSpot-RateLimit-Max": str(self.ten_secondly_max),
            "X-HubSpot-RateLimit-Remaining": str(max(0, self.ten_secondly_max - len(window))),
            "X-HubSpot-RateLimit-Secondly": str(secondly),
            "X-HubSpot-RateLimit-Secondly-Remaining": str(max(0, secondly - last_second)),
        }


def limit_message(policy: str) -> str:
    """The 429 message HubSpot sends for a policy."""
    return f"You have reached your {policy.lower()} limit."

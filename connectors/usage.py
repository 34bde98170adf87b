"""API calls and rate-limit waits, counted per connector for the run record and metrics."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class UsageSnapshot:
    """Counts at one moment: calls per operation, rate-limit waits and seconds waited."""

    calls: dict[str, int]
    rate_limit_waits: int
    waited_seconds: float
    retries: int

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def since(self, earlier: UsageSnapshot) -> UsageSnapshot:
        """What happened between `earlier` and this snapshot."""
        calls = Counter(self.calls)
        calls.subtract(earlier.calls)
        return UsageSnapshot(
            calls={name: count for name, count in calls.items() if count},
            rate_limit_waits=self.rate_limit_waits - earlier.rate_limit_waits,
            waited_seconds=self.waited_seconds - earlier.waited_seconds,
            retries=self.retries - earlier.retries,
        )


class ApiUsage:
    """Thread-safe counters one connector keeps; every HTTP call made is counted once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._waits = 0
        self._waited = 0.0
        self._retries = 0

    def call(self, operation: str) -> None:
        """One HTTP request was sent for `operation` (e.g. `contacts.search`)."""
        with self._lock:
            self._calls[operation] += 1

    def waited(self, seconds: float) -> None:
        """A rate limit made the connector wait `seconds`."""
        with self._lock:
            self._waits += 1
            self._waited += seconds

    def retried(self) -> None:
        """A failed call is about to be sent again."""
        with self._lock:
            self._retries += 1

    def snapshot(self) -> UsageSnapshot:
        with self._lock:
            return UsageSnapshot(dict(self._calls), self._waits, self._waited, self._retries)

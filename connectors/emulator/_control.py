"""What tests and the demo control in the emulated world: the clock, faults and call counters.

Thread-safe: the servers run in their own threads and the tests poke them from theirs.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal


class Clock:
    """The emulated services' time: real time plus an offset, or frozen at an instant.

    Every timestamp an emulator writes (lastmodifieddate, SystemModstamp, event times) and
    every rolling window it counts comes from here, so an SLA story can skip days.
    """

    def __init__(self, start: datetime | None = None, *, frozen: bool = False) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        self._frozen_at: datetime | None = None
        if start is not None:
            self.set(start, frozen=frozen)

    def now(self) -> datetime:
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return datetime.now(UTC) + self._offset

    @property
    def frozen(self) -> bool:
        """Whether time stands still until set or advanced."""
        with self._lock:
            return self._frozen_at is not None

    def set(self, instant: datetime, *, frozen: bool = False) -> None:
        """Jump to `instant`; it keeps running from there unless `frozen`."""
        if instant.tzinfo is None:
            raise ValueError("the emulator clock needs an aware datetime")
        with self._lock:
            self._frozen_at = instant.astimezone(UTC) if frozen else None
            self._offset = instant.astimezone(UTC) - datetime.now(UTC)

    def advance(self, amount: timedelta) -> datetime:
        """Move time forward by `amount` and return the new now."""
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += amount
                return self._frozen_at
            self._offset += amount
            return datetime.now(UTC) + self._offset

    def monotonic(self) -> float:
        """Seconds on the emulated clock, for rolling windows."""
        return self.now().timestamp()


FaultKind = Literal["status", "latency", "drop"]


@dataclass
class Fault:
    """A failure to inject on the routes whose `METHOD /path/template` matches `route`.

    `kind`: `status` answers `status` with `body` (and `headers`) instead of the real answer;
    `latency` reads the whole request, waits `seconds`, then acts on it and answers normally,
    even if the client gave up meanwhile (a timeout, a process killed), as a slow service
    does: a retried write then arrives twice; `drop` starts the answer and breaks the
    connection mid-body, as a dropped connection looks to a client. It applies to the next
    `times` matching calls (None: until cleared), each with `probability`.
    """

    route: str
    kind: FaultKind = "status"
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    times: int | None = 1
    probability: float = 1.0
    _pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._pattern = re.compile(self.route)


class Faults:
    """The faults in force; `take` consumes one matching fault for a call."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._random = random.Random(seed)

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, route: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if not fault._pattern.search(route):
                    continue
                if fault.probability < 1.0 and self._random.random() >= fault.probability:
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                return fault
            return None


class Counters:
    """Calls per route (`METHOD /path/template`): the benchmarks' source of truth."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def hit(self, route: str) -> None:
        with self._lock:
            self._counts[route] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def total(self, prefix: str = "") -> int:
        with self._lock:
            return sum(n for route, n in self._counts.items() if prefix in route)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


def sleep(seconds: float) -> None:
    """Real sleep (latency faults delay real HTTP answers, not emulated time)."""
    time.sleep(seconds)


@dataclass
class Control:
    """The handles of one emulated service: the shared clock, its faults and its counters."""

    clock: Clock
    faults: Faults = field(default_factory=Faults)
    counters: Counters = field(default_factory=Counters)

"""The share of the org's daily API allowance leadloop may use for writes.

Salesforce reports the allowance on every data API answer, `Sforce-Limit-Info:
api-usage=18/5000` (requests used in the rolling 24 hours / the org's maximum). Other
integrations share that allowance, so once `used >= share * max` leadloop stops writing
(`BudgetSpentError`) and keeps reading; writes resume by themselves once a later answer shows
usage under the share, i.e. when the rolling window has freed enough requests.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

import structlog

from connectors.errors import RateLimitedError

log = structlog.get_logger()

BUDGET_RECHECK_SECONDS = 900.0
"""How long a caller may wait before writing again: the window frees requests gradually."""


class BudgetStatus(NamedTuple):
    """The daily allowance as last reported: None before the first answer."""

    used: int | None
    max: int | None
    share: float
    writes_paused: bool


class BudgetSpentError(RateLimitedError):
    """leadloop's share of the daily API allowance is used up: writes wait, reads go on."""

    def __init__(self, used: int, maximum: int, share: float) -> None:
        self.used = used
        self.maximum = maximum
        self.share = share
        super().__init__(
            "Salesforce",
            f"{used} of the org's {maximum} daily API requests are used, leadloop's share is "
            f"{share:.0%}: writes pause and resume once usage falls under "
            f"{int(share * maximum)} as the rolling 24-hour allowance frees",
            retry_after=BUDGET_RECHECK_SECONDS,
            policy="DailyApiRequests share",
            code="API_BUDGET_SPENT",
        )


class Budget:
    """Tracks `Sforce-Limit-Info` answers and says whether writes may go on. Thread-safe."""

    def __init__(self, share: float) -> None:
        if not 0.0 < share <= 1.0:
            raise ValueError("budget_share must be in (0, 1]")
        self.share = share
        self._lock = threading.Lock()
        self._used: int | None = None
        self._max: int | None = None
        self._paused = False

    def observe(self, used: int, maximum: int) -> None:
        """Record one answer's usage; pausing or resuming is logged once per change."""
        with self._lock:
            self._used, self._max = used, maximum
            paused = maximum > 0 and used >= self.share * maximum
            changed, self._paused = paused != self._paused, paused
        if not changed:
            return
        figures = {"used": used, "max": maximum, "share": self.share}
        if paused:
            log.warning("salesforce.budget_spent", **figures, writes="paused")
        else:
            log.info("salesforce.budget_freed", **figures, writes="resumed")

    def status(self) -> BudgetStatus:
        with self._lock:
            return BudgetStatus(self._used, self._max, self.share, self._paused)

    def check_writes(self) -> None:
        """BudgetSpentError while the share is spent; nothing otherwise."""
        with self._lock:
            if not self._paused or self._used is None or self._max is None:
                return
            used, maximum = self._used, self._max
        raise BudgetSpentError(used, maximum, self.share)

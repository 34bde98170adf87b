"""Business calendar for SLA deadlines: business hours, weekends, national holidays, closed days.

Business time is counted only inside each business day's opening window. Every window is built
from local wall-clock times (``opens``/``closes`` on that date in ``timezone``) and converted to
UTC; all comparisons and subtraction happen in UTC, so DST jumps never shift a deadline and
business time is the real elapsed time inside the windows.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

_ZERO = timedelta(0)
_ONE_DAY = timedelta(days=1)
_MAX_CLOSED_RUN = 3660  # consecutive closed days after which we give up instead of looping forever
_HOLIDAYS_LOCK = threading.Lock()  # holidays objects mutate themselves when expanding years


@cache
def _country_holidays(country: str, subdivision: str | None) -> holidays.HolidayBase:
    """The (year-expanding) holidays of one country/subdivision, names in its default language."""
    table = holidays.country_holidays(country, subdiv=subdivision)
    # language=None makes names depend on the process locale; pin the entity's own language.
    if table.default_language is not None:
        table = holidays.country_holidays(
            country, subdiv=subdivision, language=table.default_language
        )
    return table


def _require_aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value!r}")
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """Business days and hours of one team, in one time zone."""

    timezone: ZoneInfo
    opens: time
    closes: time
    weekend: frozenset[int] = frozenset({5, 6})
    holiday_country: str | None = "JP"
    holiday_subdivision: str | None = None
    closed_dates: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if self.opens.tzinfo is not None or self.closes.tzinfo is not None:
            raise ValueError("opens and closes must be naive local wall-clock times")
        if self.closes <= self.opens:
            raise ValueError(f"closes ({self.closes}) must be later than opens ({self.opens})")
        if not self.weekend <= frozenset(range(7)):
            raise ValueError(
                f"weekend days must be weekday numbers 0-6, got {sorted(self.weekend)}"
            )
        if len(self.weekend) == 7:
            raise ValueError("weekend cannot cover all seven days")
        if self.holiday_country is not None:
            try:
                _country_holidays(self.holiday_country, self.holiday_subdivision)
            except NotImplementedError as exc:
                raise ValueError(f"unknown holiday country/subdivision: {exc}") from exc
        elif self.holiday_subdivision is not None:
            raise ValueError("holiday_subdivision needs holiday_country")

    @property
    def hours_per_day(self) -> timedelta:
        """Length of a business day on the wall clock (closes - opens)."""
        anchor = date(2000, 1, 3)
        return datetime.combine(anchor, self.closes) - datetime.combine(anchor, self.opens)

    def _holiday(self, day: date) -> str | None:
        if self.holiday_country is None:
            return None
        table = _country_holidays(self.holiday_country, self.holiday_subdivision)
        with _HOLIDAYS_LOCK:
            return table.get(day)

    def is_business_day(self, day: date) -> bool:
        """True when ``day`` is not a weekend day, a national holiday or a closed date."""
        return (
            day.weekday() not in self.weekend
            and day not in self.closed_dates
            and self._holiday(day) is None
        )

    def holiday_name(self, day: date) -> str | None:
        """The national holiday's name, ``"closed"`` for a closed date, else None."""
        name = self._holiday(day)
        if name is None and day in self.closed_dates:
            return "closed"
        return name

    def _window(self, day: date) -> tuple[datetime, datetime]:
        """The day's opening and closing instants in UTC (empty if DST swallows the window)."""
        open_at = datetime.combine(day, self.opens, tzinfo=self.timezone).astimezone(UTC)
        close_at = datetime.combine(day, self.closes, tzinfo=self.timezone).astimezone(UTC)
        return open_at, max(open_at, close_at)

    def _windows_from(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        """Opening windows (UTC) of the business days from ``day`` on, in order."""
        closed_run = 0
        while True:
            if self.is_business_day(day):
                closed_run = 0
                yield self._window(day)
            else:
                closed_run += 1
                if closed_run > _MAX_CLOSED_RUN:
                    raise ValueError(f"no business day in {_MAX_CLOSED_RUN} days up to {day}")
            day += _ONE_DAY

    def _local_date(self, instant: datetime) -> date:
        return instant.astimezone(self.timezone).date()

    def next_opening(self, moment: datetime) -> datetime:
        """``moment`` if inside business hours, else the next opening instant."""
        current = _require_aware(moment, "moment")
        for open_at, close_at in self._windows_from(self._local_date(current)):
            if current < close_at:
                return max(current, open_at).astimezone(self.timezone)
        raise AssertionError("unreachable")  # pragma: no cover

    def add_business_time(self, start: datetime, amount: timedelta) -> datetime:
        """The instant at which ``amount`` of business time counted from ``start`` is used up.

        Counting starts at the next opening when ``start`` is outside business hours. An amount
        that runs out exactly at closing time returns that closing instant.
        """
        current = _require_aware(start, "start")
        if amount < _ZERO:
            raise ValueError(f"amount must not be negative, got {amount}")
        if amount == _ZERO:
            return current.astimezone(self.timezone)
        remaining = amount
        for open_at, close_at in self._windows_from(self._local_date(current)):
            begin = max(current, open_at)
            if begin >= close_at:
                continue
            available = close_at - begin
            if remaining <= available:
                return (begin + remaining).astimezone(self.timezone)
            remaining -= available
        raise AssertionError("unreachable")  # pragma: no cover

    def business_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Business time inside ``[start, end)``; zero when ``end <= start``."""
        begin = _require_aware(start, "start")
        finish = _require_aware(end, "end")
        total = _ZERO
        if finish <= begin:
            return total
        day, last_day = self._local_date(begin), self._local_date(finish)
        while day <= last_day:
            if self.is_business_day(day):
                open_at, close_at = self._window(day)
                overlap = min(finish, close_at) - max(begin, open_at)
                if overlap > _ZERO:
                    total += overlap
            day += _ONE_DAY
        return total

    def add_business_days(self, start: datetime, days: int) -> datetime:
        """``add_business_time(start, days * hours_per_day)``."""
        return self.add_business_time(start, days * self.hours_per_day)


_ACCEPTED_FORMS = (
    "accepted forms: a positive whole number followed by a unit - "
    "calendar time '30s', '15m', '24h', '2d', '1w' or '30 seconds', '15 minutes', "
    "'48 hours', '2 days', '1 week'; business time '3 business days', "
    "'8 business hours', '90 business minutes' (singular or plural)"
)
_DURATION_RE = re.compile(
    r"\s*(?P<number>[0-9]+)\s*(?:(?P<business>business\s+(?P<bunit>minute|hour|day)s?)"
    r"|(?P<unit>s|m|h|d|w|(?:second|minute|hour|day|week)s?))\s*",
    re.IGNORECASE,
)
_UNITS = {
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}


@dataclass(frozen=True, slots=True)
class Duration:
    """A configured duration: calendar (elapsed) time or business time."""

    amount: timedelta
    business: bool
    text: str

    def deadline(self, calendar: BusinessCalendar, start: datetime) -> datetime:
        """When this duration, counted from ``start``, runs out (in ``calendar.timezone``)."""
        if self.business:
            return calendar.add_business_time(start, self.amount)
        return (_require_aware(start, "start") + self.amount).astimezone(calendar.timezone)


def parse_duration(text: str, hours_per_business_day: timedelta | None = None) -> Duration:
    """Parse ``'24h'``, ``'2 days'``, ``'3 business days'``, ... into a :class:`Duration`."""
    match = _DURATION_RE.fullmatch(text)
    if match is None:
        raise ValueError(f"invalid duration {text!r}; {_ACCEPTED_FORMS}")
    number = int(match["number"])
    if number <= 0:
        raise ValueError(f"duration {text!r} must be positive; {_ACCEPTED_FORMS}")
    if match["business"] is None:
        return Duration(number * _UNITS[match["unit"][0].lower()], business=False, text=text)
    unit = match["bunit"].lower()
    if unit == "day":
        if hours_per_business_day is None:
            raise ValueError(
                f"duration {text!r}: business days need business hours "
                "(hours_per_business_day) to convert days into business time"
            )
        if hours_per_business_day <= _ZERO:
            raise ValueError(
                f"hours_per_business_day must be positive, got {hours_per_business_day}"
            )
        return Duration(number * hours_per_business_day, business=True, text=text)
    return Duration(number * _UNITS[unit[0]], business=True, text=text)

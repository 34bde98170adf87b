"""Tests for sync.calendar: business calendar, SLA deadlines and duration parsing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from sync.calendar import BusinessCalendar, Duration, parse_duration

TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")
H = timedelta(hours=1)


def jst(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TOKYO)


def nyc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, fold: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, fold=fold, tzinfo=NEW_YORK)


def wall(moment: datetime) -> tuple[datetime, timedelta | None]:
    """Local wall-clock time (naive) and UTC offset, to compare results exactly."""
    return moment.replace(tzinfo=None), moment.utcoffset()


YEAR_END = frozenset(date(2026, 12, 29) + timedelta(days=n) for n in range(6))


@pytest.fixture
def tokyo() -> BusinessCalendar:
    return BusinessCalendar(TOKYO, time(9, 0), time(18, 0))


@pytest.fixture
def tokyo_year_end() -> BusinessCalendar:
    return BusinessCalendar(TOKYO, time(9, 0), time(18, 0), closed_dates=YEAR_END)


@pytest.fixture
def new_york() -> BusinessCalendar:
    return BusinessCalendar(NEW_YORK, time(9, 0), time(17, 0), holiday_country="US")


@pytest.fixture
def new_york_night() -> BusinessCalendar:
    """Open every day 00:00-06:00 with no holidays, so the DST jump falls inside the window."""
    return BusinessCalendar(
        NEW_YORK, time(0, 0), time(6, 0), weekend=frozenset(), holiday_country=None
    )


class TestReferenceExample:
    def test_friday_evening_plus_three_business_days_skips_coming_of_age_day(
        self, tokyo: BusinessCalendar
    ) -> None:
        """Fri 2026-01-09 19:00 JST + 3 business days (27h) ends Thu 2026-01-15 18:00 JST."""
        duration = parse_duration("3 business days", tokyo.hours_per_day)
        assert duration.amount == 27 * H
        deadline = duration.deadline(tokyo, jst(2026, 1, 9, 19))
        assert deadline == jst(2026, 1, 15, 18)
        assert deadline.tzinfo is TOKYO

    def test_coming_of_age_day_is_a_holiday(self, tokyo: BusinessCalendar) -> None:
        """Monday 2026-01-12 is 成人の日 and not a business day."""
        assert tokyo.holiday_name(date(2026, 1, 12)) == "成人の日"
        assert not tokyo.is_business_day(date(2026, 1, 12))

    def test_add_business_days_matches_reference(self, tokyo: BusinessCalendar) -> None:
        """add_business_days(3) gives the same deadline as 27 business hours."""
        assert tokyo.add_business_days(jst(2026, 1, 9, 19), 3) == jst(2026, 1, 15, 18)


class TestAddBusinessTime:
    def test_ends_exactly_at_closing(self, tokyo: BusinessCalendar) -> None:
        """Wed 10:00 + 8 business hours is Wed 18:00 (closing), not Thu 09:00."""
        assert tokyo.add_business_time(jst(2026, 1, 14, 10), 8 * H) == jst(2026, 1, 14, 18)

    def test_rolls_into_next_day(self, tokyo: BusinessCalendar) -> None:
        """Wed 10:00 + 9 business hours is Thu 10:00."""
        assert tokyo.add_business_time(jst(2026, 1, 14, 10), 9 * H) == jst(2026, 1, 15, 10)

    def test_minutes_inside_one_day(self, tokyo: BusinessCalendar) -> None:
        """Wed 10:15 + 90 business minutes is Wed 11:45."""
        result = tokyo.add_business_time(jst(2026, 1, 14, 10, 15), timedelta(minutes=90))
        assert result == jst(2026, 1, 14, 11, 45)

    def test_start_before_opening_counts_from_opening(self, tokyo: BusinessCalendar) -> None:
        """Wed 06:00 + 2h counts from 09:00 and ends Wed 11:00."""
        assert tokyo.add_business_time(jst(2026, 1, 14, 6), 2 * H) == jst(2026, 1, 14, 11)

    def test_over_weekend(self, tokyo: BusinessCalendar) -> None:
        """Fri 17:00 + 2h uses Friday's last hour and ends Mon 10:00."""
        assert tokyo.add_business_time(jst(2026, 1, 16, 17), 2 * H) == jst(2026, 1, 19, 10)

    def test_start_on_saturday(self, tokyo: BusinessCalendar) -> None:
        """Sat 12:00 + 1h counts from Monday's opening and ends Mon 10:00."""
        assert tokyo.add_business_time(jst(2026, 1, 17, 12), H) == jst(2026, 1, 19, 10)

    def test_zero_amount_returns_start(self, tokyo: BusinessCalendar) -> None:
        """A zero amount returns the start instant even outside business hours."""
        saturday = jst(2026, 1, 17, 12)
        assert tokyo.add_business_time(saturday, timedelta(0)) == saturday

    def test_negative_amount_rejected(self, tokyo: BusinessCalendar) -> None:
        """A negative amount raises ValueError."""
        with pytest.raises(ValueError, match="negative"):
            tokyo.add_business_time(jst(2026, 1, 14, 10), -H)

    def test_result_is_in_calendar_timezone(self, tokyo: BusinessCalendar) -> None:
        """A UTC start gives a result expressed in the calendar's time zone."""
        start = datetime(2026, 1, 14, 1, 0, tzinfo=UTC)  # Wed 10:00 JST
        result = tokyo.add_business_time(start, H)
        assert result.tzinfo is TOKYO
        assert wall(result) == (datetime(2026, 1, 14, 11), 9 * H)

    def test_several_weeks(self, tokyo: BusinessCalendar) -> None:
        """20 business days from Mon 2026-02-02 09:00 skip 2/11, 2/23 and end Tue 3/3 18:00."""
        result = tokyo.add_business_days(jst(2026, 2, 2, 9), 20)
        assert result == jst(2026, 3, 3, 18)

    def test_add_business_days_one_day(self, tokyo: BusinessCalendar) -> None:
        """One business day from Wed 10:00 is Thu 10:00."""
        assert tokyo.add_business_days(jst(2026, 1, 14, 10), 1) == jst(2026, 1, 15, 10)


class TestJapaneseHolidays:
    @pytest.mark.parametrize(
        ("day", "name"),
        [
            (date(2026, 4, 29), "昭和の日"),
            (date(2026, 5, 3), "憲法記念日"),
            (date(2026, 5, 4), "みどりの日"),
            (date(2026, 5, 5), "こどもの日"),
            (date(2026, 5, 6), "振替休日"),
            (date(2026, 9, 21), "敬老の日"),
            (date(2026, 9, 22), "国民の休日"),
            (date(2026, 9, 23), "秋分の日"),
            (date(2027, 1, 1), "元日"),
        ],
    )
    def test_holiday_names(self, tokyo: BusinessCalendar, day: date, name: str) -> None:
        """Golden Week, Silver Week and New Year holidays carry their Japanese names."""
        assert tokyo.holiday_name(day) == name
        assert not tokyo.is_business_day(day)

    def test_golden_week_showa_day(self, tokyo: BusinessCalendar) -> None:
        """Tue 4/28 17:00 + 2h skips Showa Day (Wed 4/29) and ends Thu 4/30 10:00."""
        assert tokyo.add_business_time(jst(2026, 4, 28, 17), 2 * H) == jst(2026, 4, 30, 10)

    def test_golden_week_may_block(self, tokyo: BusinessCalendar) -> None:
        """Fri 5/1 17:00 + 2h skips Sat 5/2 to Wed 5/6 and ends Thu 5/7 10:00."""
        assert tokyo.add_business_time(jst(2026, 5, 1, 17), 2 * H) == jst(2026, 5, 7, 10)

    def test_golden_week_business_time_between(self, tokyo: BusinessCalendar) -> None:
        """4/28 09:00 to 5/8 09:00 counts only 4/28, 4/30, 5/1 and 5/7 (36h)."""
        assert tokyo.business_time_between(jst(2026, 4, 28, 9), jst(2026, 5, 8, 9)) == 36 * H

    def test_silver_week(self, tokyo: BusinessCalendar) -> None:
        """Fri 9/18 17:00 + 2h skips Silver Week (9/19-9/23) and ends Thu 9/24 10:00."""
        assert tokyo.add_business_time(jst(2026, 9, 18, 17), 2 * H) == jst(2026, 9, 24, 10)

    def test_year_end_break(self, tokyo_year_end: BusinessCalendar) -> None:
        """Mon 12/28 17:00 + 2h skips the 12/29-1/3 break and ends Mon 2027-01-04 10:00."""
        result = tokyo_year_end.add_business_time(jst(2026, 12, 28, 17), 2 * H)
        assert result == jst(2027, 1, 4, 10)

    def test_year_end_without_closed_dates(self, tokyo: BusinessCalendar) -> None:
        """Without closed_dates, Tue 12/29 is an ordinary business day."""
        assert tokyo.is_business_day(date(2026, 12, 29))
        assert tokyo.add_business_time(jst(2026, 12, 28, 17), 2 * H) == jst(2026, 12, 29, 10)

    def test_closed_date_name_and_holiday_precedence(
        self, tokyo_year_end: BusinessCalendar
    ) -> None:
        """A closed date is named "closed"; a national holiday inside the break keeps its name."""
        assert tokyo_year_end.holiday_name(date(2026, 12, 30)) == "closed"
        assert not tokyo_year_end.is_business_day(date(2026, 12, 30))
        assert tokyo_year_end.holiday_name(date(2027, 1, 1)) == "元日"


class TestBusinessDayAndHolidayName:
    def test_plain_weekday_is_business_day(self, tokyo: BusinessCalendar) -> None:
        """An ordinary Wednesday is a business day without a holiday name."""
        assert tokyo.is_business_day(date(2026, 1, 14))
        assert tokyo.holiday_name(date(2026, 1, 14)) is None

    def test_plain_weekend(self, tokyo: BusinessCalendar) -> None:
        """An ordinary Saturday is closed but has no holiday name."""
        assert not tokyo.is_business_day(date(2026, 1, 17))
        assert tokyo.holiday_name(date(2026, 1, 17)) is None

    def test_custom_weekend(self) -> None:
        """A Friday/Saturday weekend closes Friday and opens Sunday."""
        calendar = BusinessCalendar(
            TOKYO, time(9, 0), time(18, 0), weekend=frozenset({4, 5}), holiday_country=None
        )
        assert not calendar.is_business_day(date(2026, 1, 16))
        assert calendar.is_business_day(date(2026, 1, 18))

    def test_no_holiday_country(self) -> None:
        """With holiday_country None, Coming of Age Day is an ordinary business day."""
        calendar = BusinessCalendar(TOKYO, time(9, 0), time(18, 0), holiday_country=None)
        assert calendar.is_business_day(date(2026, 1, 12))
        assert calendar.holiday_name(date(2026, 1, 12)) is None

    def test_subdivision_holidays(self) -> None:
        """Patriots' Day closes Massachusetts but not the US as a whole."""
        national = BusinessCalendar(NEW_YORK, time(9, 0), time(17, 0), holiday_country="US")
        boston = BusinessCalendar(
            NEW_YORK, time(9, 0), time(17, 0), holiday_country="US", holiday_subdivision="MA"
        )
        assert national.is_business_day(date(2026, 4, 20))
        assert boston.holiday_name(date(2026, 4, 20)) == "Patriots' Day"

    def test_hours_per_day(self, tokyo: BusinessCalendar, new_york: BusinessCalendar) -> None:
        """hours_per_day is closes - opens."""
        assert tokyo.hours_per_day == 9 * H
        assert new_york.hours_per_day == 8 * H


class TestDaylightSavingTime:
    def test_deadline_across_spring_forward(self, new_york: BusinessCalendar) -> None:
        """Fri 3/6 15:00 EST + 4h ends Mon 3/9 11:00 EDT (15:00 UTC)."""
        result = new_york.add_business_time(nyc(2026, 3, 6, 15), 4 * H)
        assert wall(result) == (datetime(2026, 3, 9, 11), -4 * H)
        assert result == datetime(2026, 3, 9, 15, tzinfo=UTC)

    def test_deadline_across_fall_back(self, new_york: BusinessCalendar) -> None:
        """Fri 10/30 16:00 EDT + 3h ends Mon 11/2 11:00 EST (16:00 UTC)."""
        result = new_york.add_business_time(nyc(2026, 10, 30, 16), 3 * H)
        assert wall(result) == (datetime(2026, 11, 2, 11), -5 * H)
        assert result == datetime(2026, 11, 2, 16, tzinfo=UTC)

    def test_between_across_spring_forward(self, new_york: BusinessCalendar) -> None:
        """Fri 3/6 09:00 to Mon 3/9 17:00 is 16 business hours though 79h elapse."""
        start, end = nyc(2026, 3, 6, 9), nyc(2026, 3, 9, 17)
        assert end.astimezone(UTC) - start.astimezone(UTC) == 79 * H
        assert new_york.business_time_between(start, end) == 16 * H

    def test_between_across_fall_back(self, new_york: BusinessCalendar) -> None:
        """Fri 10/30 12:00 EDT to Mon 11/2 12:00 EST is 8 business hours."""
        assert new_york.business_time_between(nyc(2026, 10, 30, 12), nyc(2026, 11, 2, 12)) == 8 * H

    def test_short_window_on_spring_forward_day(self, new_york_night: BusinessCalendar) -> None:
        """A 00:00-06:00 window on 3/8 holds 5 real hours; the day's close is 06:00 EDT."""
        day_start, next_day = nyc(2026, 3, 8), nyc(2026, 3, 9)
        assert new_york_night.business_time_between(day_start, next_day) == 5 * H
        result = new_york_night.add_business_time(day_start, 5 * H)
        assert wall(result) == (datetime(2026, 3, 8, 6), -4 * H)

    def test_hour_inside_the_gap(self, new_york_night: BusinessCalendar) -> None:
        """01:30 EST + 1 real hour on 3/8 is 03:30 EDT on the wall clock."""
        result = new_york_night.add_business_time(nyc(2026, 3, 8, 1, 30), H)
        assert wall(result) == (datetime(2026, 3, 8, 3, 30), -4 * H)

    def test_long_window_on_fall_back_day(self, new_york_night: BusinessCalendar) -> None:
        """A 00:00-06:00 window on 11/1 holds 7 real hours."""
        assert new_york_night.business_time_between(nyc(2026, 11, 1), nyc(2026, 11, 2)) == 7 * H

    def test_ambiguous_start_uses_its_fold(self, new_york_night: BusinessCalendar) -> None:
        """From 01:30 EDT (fold=0) to 06:00 is 5.5h; from 01:30 EST (fold=1) it is 4.5h."""
        end = nyc(2026, 11, 1, 6)
        first = new_york_night.business_time_between(nyc(2026, 11, 1, 1, 30, fold=0), end)
        second = new_york_night.business_time_between(nyc(2026, 11, 1, 1, 30, fold=1), end)
        assert (first, second) == (timedelta(hours=5.5), timedelta(hours=4.5))

    def test_calendar_duration_is_exact_elapsed_time(self, new_york: BusinessCalendar) -> None:
        """'1d' from Sat 3/7 12:00 EST is 24 real hours later: Sun 3/8 13:00 EDT."""
        result = parse_duration("1d").deadline(new_york, nyc(2026, 3, 7, 12))
        assert wall(result) == (datetime(2026, 3, 8, 13), -4 * H)


class TestBusinessTimeBetween:
    def test_same_day(self, tokyo: BusinessCalendar) -> None:
        """Wed 10:00 to Wed 13:30 is 3.5 business hours."""
        result = tokyo.business_time_between(jst(2026, 1, 14, 10), jst(2026, 1, 14, 13, 30))
        assert result == timedelta(hours=3.5)

    def test_across_weekend(self, tokyo: BusinessCalendar) -> None:
        """Fri 16:00 to Mon 11:00 is 2h Friday + 2h Monday."""
        assert tokyo.business_time_between(jst(2026, 1, 16, 16), jst(2026, 1, 19, 11)) == 4 * H

    def test_end_before_start_is_zero(self, tokyo: BusinessCalendar) -> None:
        """An end before (or equal to) the start gives zero."""
        start = jst(2026, 1, 14, 12)
        assert tokyo.business_time_between(start, jst(2026, 1, 14, 10)) == timedelta(0)
        assert tokyo.business_time_between(start, start) == timedelta(0)

    def test_start_and_end_outside_hours(self, tokyo: BusinessCalendar) -> None:
        """Wed 07:00 to Thu 20:00 counts both full days (18h)."""
        assert tokyo.business_time_between(jst(2026, 1, 14, 7), jst(2026, 1, 15, 20)) == 18 * H

    def test_entirely_outside_hours(self, tokyo: BusinessCalendar) -> None:
        """Wed 19:00 to Thu 08:00 contains no business time."""
        result = tokyo.business_time_between(jst(2026, 1, 14, 19), jst(2026, 1, 15, 8))
        assert result == timedelta(0)

    def test_inverse_of_add_business_time(self, tokyo: BusinessCalendar) -> None:
        """The business time up to add_business_time's result is the amount added."""
        start = jst(2026, 4, 27, 15, 20)
        end = tokyo.add_business_time(start, timedelta(hours=31, minutes=5))
        assert tokyo.business_time_between(start, end) == timedelta(hours=31, minutes=5)

    def test_mixed_timezones(self, tokyo: BusinessCalendar) -> None:
        """Arguments in other time zones are compared as instants."""
        start = datetime(2026, 1, 14, 1, 0, tzinfo=UTC)  # Wed 10:00 JST
        end = datetime(2026, 1, 14, 3, 0, tzinfo=UTC)  # Wed 12:00 JST
        assert tokyo.business_time_between(start, end) == 2 * H


class TestNextOpening:
    def test_inside_hours_returns_itself(self, tokyo: BusinessCalendar) -> None:
        """A moment inside business hours is returned unchanged."""
        moment = jst(2026, 1, 14, 11, 37)
        assert tokyo.next_opening(moment) == moment

    def test_exactly_at_opening(self, tokyo: BusinessCalendar) -> None:
        """The opening instant itself is inside business hours."""
        assert tokyo.next_opening(jst(2026, 1, 14, 9)) == jst(2026, 1, 14, 9)

    def test_before_opening(self, tokyo: BusinessCalendar) -> None:
        """Early morning moves to the same day's opening."""
        assert tokyo.next_opening(jst(2026, 1, 14, 7)) == jst(2026, 1, 14, 9)

    def test_at_closing_moves_to_next_day(self, tokyo: BusinessCalendar) -> None:
        """The closing instant is outside hours; the next opening is the next day."""
        assert tokyo.next_opening(jst(2026, 1, 14, 18)) == jst(2026, 1, 15, 9)

    def test_after_close_on_friday(self, tokyo: BusinessCalendar) -> None:
        """Fri 19:00 before a holiday Monday moves to Tue 09:00."""
        assert tokyo.next_opening(jst(2026, 1, 9, 19)) == jst(2026, 1, 13, 9)

    def test_on_holiday(self, tokyo: BusinessCalendar) -> None:
        """A moment on Children's Day moves to Thu 5/7 09:00."""
        assert tokyo.next_opening(jst(2026, 5, 5, 11)) == jst(2026, 5, 7, 9)

    def test_result_in_calendar_timezone(self, tokyo: BusinessCalendar) -> None:
        """A UTC moment inside hours comes back as the same instant in JST."""
        result = tokyo.next_opening(datetime(2026, 1, 14, 2, 0, tzinfo=UTC))
        assert result.tzinfo is TOKYO
        assert wall(result) == (datetime(2026, 1, 14, 11), 9 * H)


class TestValidation:
    @pytest.mark.parametrize("closes", [time(9, 0), time(8, 0)])
    def test_closes_not_after_opens(self, closes: time) -> None:
        """closes <= opens raises ValueError."""
        with pytest.raises(ValueError, match="closes"):
            BusinessCalendar(TOKYO, time(9, 0), closes)

    def test_all_week_weekend(self) -> None:
        """A weekend covering all seven days raises ValueError."""
        with pytest.raises(ValueError, match="seven"):
            BusinessCalendar(TOKYO, time(9, 0), time(18, 0), weekend=frozenset(range(7)))

    def test_weekday_out_of_range(self) -> None:
        """Weekend numbers outside 0-6 raise ValueError."""
        with pytest.raises(ValueError, match="0-6"):
            BusinessCalendar(TOKYO, time(9, 0), time(18, 0), weekend=frozenset({6, 7}))

    def test_unknown_country(self) -> None:
        """An unknown holiday country raises ValueError at construction."""
        with pytest.raises(ValueError, match="XX"):
            BusinessCalendar(TOKYO, time(9, 0), time(18, 0), holiday_country="XX")

    @pytest.mark.parametrize(
        ("call", "argument"),
        [
            (lambda c, naive: c.next_opening(naive), "moment"),
            (lambda c, naive: c.add_business_time(naive, H), "start"),
            (lambda c, naive: c.add_business_days(naive, 1), "start"),
            (lambda c, naive: c.business_time_between(naive, jst(2026, 1, 15)), "start"),
            (lambda c, naive: c.business_time_between(jst(2026, 1, 13), naive), "end"),
            (lambda c, naive: parse_duration("1h").deadline(c, naive), "start"),
        ],
    )
    def test_naive_datetime_rejected(
        self,
        tokyo: BusinessCalendar,
        call: Callable[[BusinessCalendar, datetime], object],
        argument: str,
    ) -> None:
        """Naive datetimes raise ValueError naming the argument."""
        with pytest.raises(ValueError, match=rf"^{argument} must be a timezone-aware"):
            call(tokyo, datetime(2026, 1, 14, 10))


class TestParseDuration:
    @pytest.mark.parametrize(
        ("text", "amount", "business"),
        [
            ("30s", timedelta(seconds=30), False),
            ("15m", timedelta(minutes=15), False),
            ("24h", 24 * H, False),
            ("2d", timedelta(days=2), False),
            ("1w", timedelta(weeks=1), False),
            ("30 seconds", timedelta(seconds=30), False),
            ("1 second", timedelta(seconds=1), False),
            ("15 minutes", timedelta(minutes=15), False),
            ("1 minute", timedelta(minutes=1), False),
            ("48 hours", 48 * H, False),
            ("1 hour", H, False),
            ("2 days", timedelta(days=2), False),
            ("1 day", timedelta(days=1), False),
            ("1 week", timedelta(weeks=1), False),
            ("3 weeks", timedelta(weeks=3), False),
            ("  24 H  ", 24 * H, False),
            ("3 business days", 27 * H, True),
            ("1 business day", 9 * H, True),
            ("8 business hours", 8 * H, True),
            ("1 business hour", H, True),
            ("90 business minutes", timedelta(minutes=90), True),
            ("1 business minute", timedelta(minutes=1), True),
            (" 3  Business   DAYS ", 27 * H, True),
        ],
    )
    def test_accepted_forms(self, text: str, amount: timedelta, business: bool) -> None:
        """Every accepted form parses to the right amount and kind, keeping the text as written."""
        assert parse_duration(text, 9 * H) == Duration(amount, business, text)

    def test_business_hours_need_no_day_length(self) -> None:
        """Business hours parse without hours_per_business_day."""
        assert parse_duration("8 business hours") == Duration(8 * H, True, "8 business hours")

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("0h", "must be positive"),
            ("0 business hours", "must be positive"),
            ("-1h", "invalid duration"),
            ("3 bizdays", "invalid duration"),
            ("1.5h", "invalid duration"),
            ("", "invalid duration"),
            ("   ", "invalid duration"),
            ("h", "invalid duration"),
            ("10ms", "invalid duration"),
            ("2 months", "invalid duration"),
            ("3 business weeks", "invalid duration"),
            ("24h 30m", "invalid duration"),
            ("+3h", "invalid duration"),
        ],
    )
    def test_rejected_forms(self, text: str, message: str) -> None:
        """Rejected forms raise ValueError quoting the text and listing the accepted forms."""
        with pytest.raises(ValueError, match=message) as caught:
            parse_duration(text, 9 * H)
        assert repr(text) in str(caught.value)
        assert "accepted forms" in str(caught.value)
        assert "3 business days" in str(caught.value)
        assert "24h" in str(caught.value)

    def test_business_days_need_business_hours(self) -> None:
        """'3 business days' without hours_per_business_day raises ValueError."""
        with pytest.raises(ValueError, match="business days need business hours"):
            parse_duration("3 business days")

    def test_business_days_use_given_day_length(self) -> None:
        """Business days convert through hours_per_business_day (8h days: 2 days = 16h)."""
        assert parse_duration("2 business days", 8 * H).amount == 16 * H


class TestDurationDeadline:
    def test_calendar_duration(self, tokyo: BusinessCalendar) -> None:
        """'24h' from Fri 19:00 JST ends Sat 19:00 JST, ignoring business hours."""
        result = parse_duration("24h").deadline(tokyo, jst(2026, 1, 9, 19))
        assert result == jst(2026, 1, 10, 19)
        assert result.tzinfo is TOKYO

    def test_business_duration(self, tokyo: BusinessCalendar) -> None:
        """'8 business hours' from Fri 19:00 JST skips the weekend and the holiday Monday."""
        result = parse_duration("8 business hours").deadline(tokyo, jst(2026, 1, 9, 19))
        assert result == jst(2026, 1, 13, 17)

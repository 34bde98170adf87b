"""`leadloop.yaml`: the company's agreed lead definition, as validated, typed settings.

`load_config(path)` reads and validates a file; every problem becomes a `ConfigError` that
names the file, the line, the key path and what is allowed.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from mappings.fieldmap import DEFAULT_MAPS, System
from mappings.model import AXIS_VALUES, ActivityKind, Axis, FitField
from mappings.pydantic_errors import file_problems, nearest_line
from mappings.yaml_lines import YamlError, load_yaml_with_lines
from sync.calendar import BusinessCalendar, Duration, parse_duration
from sync.exceptions import ConfigError, ConfigProblem

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SlaStart = Literal["mql", "handoff", "sql"]
Job = Literal["ingest", "score", "handoff", "alerts", "feedback"]


def _check_duration(text: str) -> str:
    parse_duration(text, hours_per_business_day=timedelta(hours=1))
    return text


def _check_calendar_duration(text: str) -> str:
    if parse_duration(text, hours_per_business_day=timedelta(hours=1)).business:
        raise ValueError(f"{text!r} is business time; use calendar time here, such as 30s or 5m")
    return text


def _check_regex(text: str) -> str:
    try:
        re.compile(text)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression ({exc})") from None
    return text


def _check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown timezone {name!r}; use an IANA name such as Asia/Tokyo or America/New_York"
        ) from None
    return name


def _check_clock(text: str) -> str:
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", text):
        raise ValueError(f"{text!r} is not a time of day; write HH:MM, such as 09:00")
    return text


DurationText = Annotated[str, AfterValidator(_check_duration)]
"""A duration as written: `24h`, `30 minutes`, `3 business days`, `8 business hours`."""
CalendarDurationText = Annotated[str, AfterValidator(_check_calendar_duration)]
"""A calendar duration only: `30s`, `5m`, `1h`."""
RegexText = Annotated[str, AfterValidator(_check_regex)]
ClockText = Annotated[str, AfterValidator(_check_clock)]
TimezoneName = Annotated[str, AfterValidator(_check_timezone)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Definition(_Strict):
    """Who owns the definition and when it is reviewed (DOMAIN: quarterly, one owner)."""

    name: str = "default"
    owner: str | None = None
    version: str | None = None
    review_every: Literal["monthly", "quarterly", "half_yearly", "yearly"] = "quarterly"
    last_reviewed: date | None = None


class BusinessHours(_Strict):
    opens: ClockText = "09:00"
    closes: ClockText = "18:00"

    @model_validator(mode="after")
    def _opens_before_closes(self) -> Self:
        if self.closes <= self.opens:
            raise ValueError(f"closes ({self.closes}) must be later than opens ({self.opens})")
        return self


class DateRange(_Strict):
    start: date = Field(alias="from")
    end: date = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end < self.start:
            raise ValueError(f"'to' ({self.end}) is before 'from' ({self.start})")
        return self


class CalendarConfig(_Strict):
    """The business calendar the SLAs are counted on."""

    holidays: str | None = "JP"
    holiday_subdivision: str | None = None
    weekend: list[Weekday] = ["sat", "sun"]
    business_hours: BusinessHours = BusinessHours()
    closed_dates: list[date | DateRange] = []
    closed_every_year: list[Annotated[str, Field(pattern=r"^\d\d-\d\d(\.\.\d\d-\d\d)?$")]] = []

    @field_validator("holidays")
    @classmethod
    def _known_country(cls, code: str | None) -> str | None:
        if code is None:
            return None
        import holidays

        supported = holidays.list_supported_countries()
        if code.upper() not in supported:
            raise ValueError(
                f"no national holidays known for {code!r}; use an ISO 3166 country code such"
                " as JP, US or DE, or null for none"
            )
        return code.upper()


class ActivityFilter(_Strict):
    """Optional narrowing of an activity kind: by URL part or by form/asset name."""

    url_contains: str | None = None
    name_matches: RegexText | None = None


class BehaviourRule(ActivityFilter):
    """Points for each activity of a kind (negative points for unsubscribes and the like)."""

    name: str
    kind: ActivityKind
    points: int
    max_count: Annotated[int, Field(ge=1)] | None = None
    within: CalendarDurationText | None = None
    half_life: CalendarDurationText | None = None


class FitCondition(_Strict):
    """A test on one canonical field: exactly one of equals, in, regex, range."""

    field: FitField
    equals: str | int | None = None
    in_: list[str | int] | None = Field(default=None, alias="in")
    regex: RegexText | None = None
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _exactly_one_test(self) -> Self:
        tests = [
            self.equals is not None,
            self.in_ is not None,
            self.regex is not None,
            self.min is not None or self.max is not None,
        ]
        if sum(tests) != 1:
            raise ValueError(
                "give exactly one test: equals, in, regex, or a range with min and/or max"
            )
        if self.min is not None and self.max is not None and self.max < self.min:
            raise ValueError(f"max ({self.max}) is below min ({self.min})")
        return self


class FitRule(FitCondition):
    name: str
    points: int


class ScoringConfig(_Strict):
    behaviour: list[BehaviourRule] = []
    fit: list[FitRule] = []

    @model_validator(mode="after")
    def _unique_names(self) -> Self:
        seen: set[str] = set()
        rules: list[BehaviourRule | FitRule] = [*self.behaviour, *self.fit]
        for rule in rules:
            if rule.name in seen:
                raise ValueError(f"rule name {rule.name!r} is used twice; names must be unique")
            seen.add(rule.name)
        return self


class MqlConfig(_Strict):
    """Score at least `min_score` AND one of `required_activity` ever AND every `fit` test."""

    min_score: Annotated[int, Field(ge=0)]
    required_activity: list[ActivityKind] = []
    fit: list[FitCondition] = []


class SqlConfig(_Strict):
    """BANT at least `bant_min` of 4, OR a buying-signal activity after handoff."""

    bant_min: Annotated[int, Field(ge=1, le=4)] = 3
    buying_signals: list[ActivityKind] = []


class HypothesisWhen(ActivityFilter):
    """When a hypothesis applies: an activity seen, a fit test, or MQL soon after first activity."""

    activity: ActivityKind | None = None
    field: FitField | None = None
    equals: str | int | None = None
    in_: list[str | int] | None = Field(default=None, alias="in")
    regex: RegexText | None = None
    min: float | None = None
    max: float | None = None
    mql_within: CalendarDurationText | None = None

    @model_validator(mode="after")
    def _one_kind_of_test(self) -> Self:
        kinds = [self.activity is not None, self.field is not None, self.mql_within is not None]
        if sum(kinds) != 1:
            raise ValueError("give exactly one of: activity, field, mql_within")
        if (self.url_contains or self.name_matches) and self.activity is None:
            raise ValueError("url_contains and name_matches go with activity")
        if self.field is not None:
            FitCondition(
                field=self.field,
                equals=self.equals,
                **{"in": self.in_},
                regex=self.regex,
                min=self.min,
                max=self.max,
            )
        return self

    def fit_condition(self) -> FitCondition | None:
        if self.field is None:
            return None
        return FitCondition.model_validate(self.model_dump(by_alias=True, include=_FIT_KEYS))


_FIT_KEYS = {"field", "equals", "in_", "regex", "min", "max"}


class HypothesisRule(_Strict):
    """`value` is marketing's guess on an axis when `when` holds; no `when` means always."""

    when: HypothesisWhen | None = None
    value: str


class HypothesesConfig(_Strict):
    problem: list[HypothesisRule] = []
    solution: list[HypothesisRule] = []
    decision: list[HypothesisRule] = []
    timeline: list[HypothesisRule] = []

    @model_validator(mode="after")
    def _values_belong_to_axis(self) -> Self:
        for axis, allowed in AXIS_VALUES.items():
            for rule in getattr(self, axis):
                if rule.value not in allowed:
                    raise ValueError(
                        f"{axis}: {rule.value!r} is not a value of this axis;"
                        f" allowed: {', '.join(allowed)}"
                    )
        return self

    def rules(self, axis: Axis) -> list[HypothesisRule]:
        rules: list[HypothesisRule] = getattr(self, axis)
        return rules


SALES_TOUCH_KINDS: list[ActivityKind] = ["call", "meeting", "sales_email"]


class SlaConfig(_Strict):
    """A follow-up promise: from `starts_at`, one of `met_by` within `within`."""

    starts_at: SlaStart
    met_by: list[ActivityKind] = SALES_TOUCH_KINDS
    within: DurationText
    escalate_after: DurationText | None = None


class ScheduleConfig(_Strict):
    """How often each daemon job runs."""

    ingest: CalendarDurationText = "30s"
    score: CalendarDurationText = "30s"
    handoff: CalendarDurationText = "30s"
    alerts: CalendarDurationText = "5m"
    feedback: CalendarDurationText = "60s"
    misfire_grace: CalendarDurationText = "60s"

    def interval(self, job: Job) -> timedelta:
        return parse_duration(getattr(self, job)).amount


class AlertsConfig(_Strict):
    """Who is told about neglected leads, and how."""

    enabled: bool = True
    language: Literal["ja", "en"] = "ja"
    sender: str = "leadloop@localhost"
    escalate_to: list[str] = []
    digest_at: ClockText | None = "09:30"

    @field_validator("escalate_to")
    @classmethod
    def _addresses(cls, addresses: list[str]) -> list[str]:
        for address in addresses:
            if not re.fullmatch(r"[^@\s]+@[^@\s]+", address):
                raise ValueError(f"{address!r} is not an e-mail address")
        return addresses


class FieldMapsConfig(_Strict):
    """The field-map files to use instead of the shipped ones (`mappings/*.yaml`).

    `load_config` resolves relative paths against the folder of `leadloop.yaml`."""

    hubspot: Path | None = None
    salesforce: Path | None = None


class Config(_Strict):
    """The whole of `leadloop.yaml`."""

    definition: Definition = Definition()
    timezone: TimezoneName = "Asia/Tokyo"
    calendar: CalendarConfig = CalendarConfig()
    scoring: ScoringConfig = ScoringConfig()
    mql: MqlConfig
    sql: SqlConfig = SqlConfig()
    hypotheses: HypothesesConfig = HypothesesConfig()
    sla: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")], SlaConfig] = {}
    schedule: ScheduleConfig = ScheduleConfig()
    alerts: AlertsConfig = AlertsConfig()
    field_maps: FieldMapsConfig = FieldMapsConfig()

    @property
    def field_map_paths(self) -> dict[System, Path]:
        """The field-map file of each CRM: the one `field_maps` names, else the shipped one."""
        given: dict[System, Path | None] = {
            "hubspot": self.field_maps.hubspot,
            "salesforce": self.field_maps.salesforce,
        }
        return {system: path or DEFAULT_MAPS[system] for system, path in given.items()}

    def relative_to(self, folder: Path) -> Config:
        """This config with relative `field_maps` paths taken from `folder` (the file's)."""
        maps = self.field_maps
        resolved = FieldMapsConfig(
            hubspot=_resolve(folder, maps.hubspot), salesforce=_resolve(folder, maps.salesforce)
        )
        return self.model_copy(update={"field_maps": resolved})

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def business_calendar(self) -> BusinessCalendar:
        cal = self.calendar
        hours = cal.business_hours
        return BusinessCalendar(
            timezone=self.tz,
            opens=time.fromisoformat(hours.opens),
            closes=time.fromisoformat(hours.closes),
            weekend=frozenset(WEEKDAYS.index(day) for day in cal.weekend),
            holiday_country=cal.holidays,
            holiday_subdivision=cal.holiday_subdivision,
            closed_dates=frozenset(_closed_dates(cal)),
        )

    def duration(self, text: str) -> Duration:
        """A duration from this file, business days counted in this calendar's hours."""
        return parse_duration(text, self.business_calendar.hours_per_day)


def _resolve(folder: Path, path: Path | None) -> Path | None:
    if path is None:
        return None
    path = path.expanduser()
    return path if path.is_absolute() else folder / path


def _closed_dates(cal: CalendarConfig) -> set[date]:
    days: set[date] = set()
    for item in cal.closed_dates:
        if isinstance(item, date):
            days.add(item)
        else:
            days.update(_date_span(item.start, item.end))
    for text in cal.closed_every_year:
        first, _, last = text.partition("..")
        for year in range(2000, 2101):
            start = date.fromisoformat(f"{year}-{first}")
            end = date.fromisoformat(f"{year}-{last or first}")
            if end < start:  # a break across New Year: 12-29..01-03
                end = end.replace(year=year + 1)
            days.update(_date_span(start, end))
    return days


def _date_span(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def load_config(path: Path) -> Config:
    """Read and validate `leadloop.yaml`; raise `ConfigError` naming every problem found."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, [ConfigProblem(None, "", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, [ConfigProblem(None, "", f"cannot read: {exc}")]) from None
    try:
        data, lines = load_yaml_with_lines(text)
    except YamlError as exc:
        raise ConfigError(path, [ConfigProblem(exc.line, exc.key_path, exc.reason)]) from None
    if not isinstance(data, dict):
        raise ConfigError(path, [ConfigProblem(1, "", "the file must be a mapping of keys")])
    try:
        config = Config.model_validate(data).relative_to(path.parent)
    except ValidationError as exc:
        raise ConfigError(path, file_problems(Config, exc, data, lines)) from None
    missing = _missing_field_maps(config, lines)
    if missing:
        raise ConfigError(path, missing)
    return config


def _missing_field_maps(
    config: Config, lines: dict[tuple[str | int, ...], int]
) -> list[ConfigProblem]:
    given: dict[str, Path | None] = {
        "hubspot": config.field_maps.hubspot,
        "salesforce": config.field_maps.salesforce,
    }
    return [
        ConfigProblem(
            nearest_line(("field_maps", system), lines),
            f"field_maps.{system}",
            f"no such file: {path}; give the path of a field-map file (relative paths start"
            f" at the folder of this file), or remove the key to use the shipped map",
        )
        for system, path in given.items()
        if path is not None and not path.is_file()
    ]

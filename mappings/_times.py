"""The date and time steps, and the one parser of instants the HubSpot and Salesforce forms
share: epoch milliseconds, ISO 8601 with `Z`, `+09:00` or `+0000`, or a datetime."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any

from mappings._steps import Step, is_empty
from mappings._transforms import DATE_FORMATS, DATETIME_FORMATS


class DateStep(Step):
    accepts = frozenset(("datetime",))

    @property
    def fmt(self) -> str:
        return self.spec.date_format or "iso"

    def write(self, value: Any) -> Any:
        if value is None:
            return None
        day = _aware(value, self.tz).astimezone(self.tz).date()
        if self.fmt == "iso":
            return day.isoformat()
        if self.fmt == "epoch_ms":
            return str(int(datetime.combine(day, time(), UTC).timestamp()) * 1000)
        return day.strftime(self.fmt)

    def read(self, value: Any) -> Any:
        if is_empty(value):
            return None
        day = self._parse(value)
        return datetime.combine(day, time(), self.tz).astimezone(UTC)

    def _parse(self, value: Any) -> date:
        if self.fmt not in DATE_FORMATS:
            try:
                return datetime.strptime(str(value).strip(), self.fmt).date()
            except ValueError:
                raise ValueError(f"{value!r} is not a date in the form {self.fmt!r}") from None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\d", value.strip()):
            return date.fromisoformat(value.strip())
        return parse_instant(value, UTC).date()


class DatetimeStep(Step):
    accepts = frozenset(("datetime",))

    @property
    def fmt(self) -> str:
        return self.spec.datetime_format or "iso"

    def write(self, value: Any) -> Any:
        if value is None:
            return None
        instant = _aware(value, self.tz).astimezone(UTC)
        if self.fmt == "epoch_ms":
            return str(round(instant.timestamp() * 1000))
        if self.fmt in ("iso", "iso_offset"):
            zone = "Z" if self.fmt == "iso" else "+0000"
            millis = f"{instant.microsecond // 1000:03d}"
            return instant.strftime("%Y-%m-%dT%H:%M:%S.") + millis + zone
        return instant.astimezone(self.tz).strftime(self.fmt)

    def read(self, value: Any) -> Any:
        if is_empty(value):
            return None
        if self.fmt not in DATETIME_FORMATS and isinstance(value, str):
            try:
                parsed = datetime.strptime(value.strip(), self.fmt)
            except ValueError:
                raise ValueError(f"{value!r} is not a datetime in the form {self.fmt!r}") from None
            return _aware(parsed, self.tz).astimezone(UTC)
        return parse_instant(value, self.tz)


def parse_instant(value: Any, tz: tzinfo) -> datetime:
    """Epoch milliseconds (number or digits), ISO 8601 (`Z`, `+09:00`, `+0000`) or a datetime,
    as an aware UTC datetime; a value without an offset is taken in `tz`."""
    if isinstance(value, datetime):
        return _aware(value, tz).astimezone(UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    text = str(value).strip()
    if re.fullmatch(r"-?\d{9,}", text):
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    fixed = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    if re.search(r"[+-]\d{4}$", fixed) and "T" in fixed:
        fixed = fixed[:-2] + ":" + fixed[-2:]
    try:
        parsed = datetime.fromisoformat(fixed)
    except ValueError:
        raise ValueError(f"{value!r} is neither ISO 8601 nor epoch milliseconds") from None
    return _aware(parsed, tz).astimezone(UTC)


def _aware(value: datetime, tz: tzinfo) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError(f"{value!r} is not a datetime")
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)

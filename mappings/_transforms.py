"""The transform steps of a field map, as written in YAML (the run-time steps are in _steps).

Steps run top to bottom when leadloop writes to the CRM, bottom to top when it reads:

| step                   | write (canonical -> CRM)              | read (CRM -> canonical)      |
|------------------------|---------------------------------------|------------------------------|
| `trim`                 | strip spaces; nothing left = no value | the same                     |
| `truncate: N`          | keep the first N characters           | unchanged                    |
| `default: X`           | no value -> X                         | unchanged (X reads as X)     |
| `placeholder: X`       | no value -> X                         | X -> no value                |
| `value_map: {a: A}`    | a -> A (unlisted text passes as is)   | A -> a                       |
| + `read_extra: {B: b}` |                                       | also B -> b; `B: null`: B    |
|                        |                                       | says nothing, keep leadloop's|
| `date: iso`            | datetime -> its date in the map's zone| date -> midnight in that zone|
| `datetime: iso`        | -> UTC `2026-01-09T01:00:00.000Z`     | any ISO 8601 or epoch ms     |
| `join: lines`          | score reasons -> one per line         | lines -> score reasons       |
| `bands: [1-5, 5+]`     | number -> its band                    | band -> its lower bound      |
| `template: "http..{}"` | value -> the text, `{}` replaced      | the part in place of `{}`    |

Date formats: `iso` (2026-01-09), `epoch_ms` (midnight UTC in milliseconds) or a strftime
pattern such as `%Y/%m/%d`. Datetime formats: `iso` (UTC, `Z`), `iso_offset` (UTC, `+0000`,
as Salesforce returns it), `epoch_ms`, or a pattern rendered in the map's timezone.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from mappings._canonical import Kind

FlowKind = Kind | Literal["scalar"]
"""A value's kind between steps; `scalar` is any CRM value a value map produced."""

Scalar = str | bool | int | float
STEP_NAMES = (
    "trim",
    "truncate",
    "default",
    "placeholder",
    "value_map",
    "date",
    "datetime",
    "join",
    "bands",
    "template",
)
_FLAG_STEPS = ("trim",)
DATE_FORMATS = ("iso", "epoch_ms")
DATETIME_FORMATS = ("iso", "iso_offset", "epoch_ms")
_DATE_DIRECTIVES = set("YymdbBjaA%")
_TIME_DIRECTIVES = set("HIpMSfz")


def _check_format(text: str, *, with_time: bool) -> str:
    named = DATETIME_FORMATS if with_time else DATE_FORMATS
    if text in named:
        return text
    allowed = _DATE_DIRECTIVES | (_TIME_DIRECTIVES if with_time else set())
    directives = re.findall(r"%(.?)", text)
    unknown = sorted({d for d in directives if d not in allowed})
    needed = [("year", "Yy"), ("month", "mbBj"), ("day", "dj")]
    if with_time:
        needed += [("hour", "HI"), ("minute", "M")]
    missing = [what for what, options in needed if not any(d in options for d in directives)]
    if unknown or missing:
        shown = ", ".join(f"%{d}" if d else "a lone %" for d in unknown)
        trouble = f"unknown directive {shown}" if unknown else f"no {', '.join(missing)}"
        example = "%Y-%m-%d %H:%M" if with_time else "%Y/%m/%d"
        raise ValueError(
            f"{text!r} is not a {'datetime' if with_time else 'date'} format ({trouble}); use"
            f" one of {', '.join(named)} or a pattern such as {example!r}"
        )
    return text


DateFormat = Annotated[str, AfterValidator(lambda text: _check_format(text, with_time=False))]
DatetimeFormat = Annotated[str, AfterValidator(lambda text: _check_format(text, with_time=True))]


class TransformStep(BaseModel):
    """One step of a field's `transform` list: exactly one of the step names (see module doc)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    trim: Literal[True] | None = None
    truncate: Annotated[int, Field(ge=1)] | None = None
    default: Scalar | None = None
    placeholder: Scalar | None = None
    value_map: dict[str | bool | int, Scalar] | None = None
    read_extra: dict[str | bool | int, Scalar | None] | None = None
    date_format: DateFormat | None = Field(default=None, alias="date")
    datetime_format: DatetimeFormat | None = Field(default=None, alias="datetime")
    join: Annotated[str, Field(min_length=1)] | None = None
    bands: Annotated[list[str], Field(min_length=1)] | None = None
    template: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_name(cls, data: Any) -> Any:
        if isinstance(data, str):
            if data in _FLAG_STEPS:
                return {data: True}
            raise ValueError(
                f"unknown transform {data!r}; allowed: {', '.join(STEP_NAMES)}"
                " (all but trim take a value, e.g. `truncate: 80`)"
            )
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [name for name in STEP_NAMES if name in self.given]
        if len(given) != 1:
            listed = ", ".join(given) if given else "none"
            raise ValueError(
                f"a step does exactly one thing (given: {listed}); write one list item per"
                f" step, one of: {', '.join(STEP_NAMES)}"
            )
        if self.read_extra is not None and self.value_map is None:
            raise ValueError("read_extra goes with value_map, in the same step")
        for name in ("default", "placeholder"):
            if name in self.given and getattr(self, name) is None:
                raise ValueError(f"{name} needs a value; remove the step to write no value")
        return self

    @property
    def given(self) -> set[str]:
        """The step names written in this step (by their YAML names)."""
        aliases = {"date_format": "date", "datetime_format": "datetime"}
        return {aliases.get(name, name) for name in self.model_fields_set}

    @property
    def name(self) -> str:
        return next(name for name in STEP_NAMES if name in self.given)

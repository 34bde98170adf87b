"""The run-time transform steps: each writes one value toward the CRM and reads one back.

What each step does is tabled in `mappings._transforms`; the date and time steps are in
`mappings._times`, and `mappings._mapped.compile_step` builds a step from its YAML form.
"""

from __future__ import annotations

import re
from datetime import tzinfo
from typing import Any

from mappings._transforms import FlowKind, TransformStep
from mappings.model import ScoreReason


class IgnoredValueError(Exception):
    """A CRM value that says nothing about the canonical field (`read_extra: {X: null}`)."""


def as_text(value: Any) -> str:
    """How a CRM value compares on read: HubSpot sends every value as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def is_empty(value: Any) -> bool:
    """No value, or text of only spaces."""
    return value is None or (isinstance(value, str) and not value.strip())


class Step:
    """A compiled step: `write` and `read` one value; `accepts` and `output` for the checks."""

    accepts: frozenset[FlowKind] = frozenset(("text",))

    def __init__(self, spec: TransformStep, timezone: tzinfo) -> None:
        self.spec = spec
        self.name = spec.name
        self.tz = timezone

    def output(self, kind: FlowKind) -> FlowKind:
        return "text"

    def write(self, value: Any) -> Any:
        return value

    def read(self, value: Any) -> Any:
        return value


class Trim(Step):
    def write(self, value: Any) -> Any:
        if isinstance(value, str):
            return value.strip() or None
        return value

    read = write


class Truncate(Step):
    def write(self, value: Any) -> Any:
        limit = self.spec.truncate or 0
        return value[:limit] if isinstance(value, str) else value


class Default(Step):
    accepts = frozenset(("text", "int", "decimal", "bool", "choice", "scalar"))

    @property
    def fill(self) -> Any:
        return self.spec.default if self.name == "default" else self.spec.placeholder

    def output(self, kind: FlowKind) -> FlowKind:
        return kind

    def write(self, value: Any) -> Any:
        return self.fill if is_empty(value) else value

    def read(self, value: Any) -> Any:
        placeholder = self.name == "placeholder" and value is not None
        if placeholder and as_text(value) == as_text(self.fill):
            return None
        return value


class ValueMap(Step):
    accepts = frozenset(("text", "int", "bool", "choice"))

    def __init__(self, spec: TransformStep, timezone: tzinfo, *, strict: bool = False) -> None:
        super().__init__(spec, timezone)
        self.mapping = dict(spec.value_map or {})
        self.forward = {as_text(canonical): crm for canonical, crm in self.mapping.items()}
        self.extra = {as_text(k): v for k, v in (spec.read_extra or {}).items()}
        self.inverse: dict[str, list[Any]] = {}
        for canonical, crm in self.mapping.items():
            self.inverse.setdefault(as_text(crm), []).append(canonical)
        self.strict = strict

    def output(self, kind: FlowKind) -> FlowKind:
        return "text" if all(isinstance(v, str) for v in self.mapping.values()) else "scalar"

    def write(self, value: Any) -> Any:
        if value is None:
            return None
        return self.forward.get(as_text(value), value)

    def read(self, value: Any) -> Any:
        if value is None:
            return None
        key = as_text(value)
        if key in self.extra:
            if self.extra[key] is None:
                raise IgnoredValueError
            return self.extra[key]
        if key in self.inverse:
            return self.inverse[key][0]
        if not self.strict:
            return value
        known = [*self.inverse, *(k for k in self.extra if k not in self.inverse)]
        raise ValueError(
            f"{value!r} is not a value this map knows (known: {', '.join(known)}); add it"
            " under read_extra"
        )


_REASON = re.compile(r"^(?P<rule>.+?)\s+(?P<points>[+-]\d+)(?:\s*[×x](?P<count>\d+))?$")


def format_reason(reason: ScoreReason) -> str:
    """`rule +points ×count`; `×count` is left out when the rule counted once."""
    count = f" ×{reason.count}" if reason.count != 1 else ""
    return f"{reason.rule} {reason.points:+d}{count}"


class Join(Step):
    accepts = frozenset(("reasons",))

    @property
    def separator(self) -> str:
        sep = self.spec.join or "lines"
        return "\n" if sep == "lines" else sep

    def write(self, value: Any) -> Any:
        if not value:
            return None
        return self.separator.join(format_reason(reason) for reason in value)

    def read(self, value: Any) -> Any:
        if is_empty(value):
            return ()
        reasons: list[ScoreReason] = []
        for part in str(value).split(self.separator):
            line = part.strip()
            if not line:
                continue
            match = _REASON.match(line)
            if match is None:
                raise ValueError(f"{line!r} is not a score reason of the form 'rule +points ×n'")
            count = int(match["count"]) if match["count"] else 1
            reasons.append(ScoreReason(match["rule"], int(match["points"]), count))
        return tuple(reasons)


def parse_band(label: str) -> tuple[int, int | None]:
    """`"100-500"` -> (100, 500); `"1000+"` -> (1000, None); ValueError otherwise."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)|\+)\s*", label)
    if match is None:
        raise ValueError(f"band {label!r} is neither 'LOW-HIGH' nor 'LOW+'")
    return int(match[1]), int(match[2]) if match[2] else None


class Bands(Step):
    accepts = frozenset(("int",))

    def __init__(self, spec: TransformStep, timezone: tzinfo) -> None:
        super().__init__(spec, timezone)
        self.bands: list[tuple[int, str]] = []
        for label in spec.bands or []:
            try:
                self.bands.append((parse_band(label)[0], label))
            except ValueError:
                continue  # check() reports it
        self.bands.sort()

    def write(self, value: Any) -> Any:
        if value is None:
            return None
        chosen = None
        for low, label in self.bands:
            if value >= low:
                chosen = label
        return chosen

    def read(self, value: Any) -> Any:
        if is_empty(value):
            return None
        for low, label in self.bands:
            if as_text(value).strip() == label:
                return low
        labels = ", ".join(label for _, label in self.bands)
        raise ValueError(f"{value!r} is not one of the bands {labels}")


class Template(Step):
    @property
    def parts(self) -> tuple[str, str]:
        prefix, _, suffix = (self.spec.template or "").partition("{}")
        return prefix, suffix

    def write(self, value: Any) -> Any:
        if is_empty(value):
            return None
        prefix, suffix = self.parts
        return f"{prefix}{value}{suffix}"

    def read(self, value: Any) -> Any:
        if is_empty(value):
            return None
        prefix, suffix = self.parts
        text = str(value)
        if not (text.startswith(prefix) and text.endswith(suffix)):
            raise ValueError(f"{value!r} does not have the form {self.spec.template!r}")
        return text[len(prefix) : len(text) - len(suffix)]

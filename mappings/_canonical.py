"""The canonical field names a field map may use, their value kinds, and access to a Lead.

A canonical field is a dotted path into `Lead` (`fit.company`, `assessment.problem.observed`)
or one of four derived names:
- `recycle_reason`: the lead's `stage_reason` while it is recycled or disqualified (the only
  stages that carry a reason), otherwise no value. Reading it sets `stage_reason`.
- `salesforce_url`, `hubspot_url`: write-only links built from `salesforce_id` / `hubspot_id`
  by a `template` step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Literal

from mappings.model import (
    AXES,
    AXIS_VALUES,
    BANT_ITEMS,
    STAGES,
    Lead,
    Outcome,
    normalize_email,
)

Kind = Literal["text", "int", "decimal", "bool", "datetime", "choice", "reasons"]
"""What a canonical value is: text, a whole number, a decimal amount, true/false, an aware
datetime, one of a closed set of strings (`choice`), or the score reasons (a tuple)."""

REASON_STAGES = ("recycled", "disqualified")
"""The stages whose `stage_reason` is the recycle (or disqualify) reason."""


@dataclass(frozen=True, slots=True)
class CanonicalField:
    """One canonical field: its name, its kind and, for `choice` and `bool`, every value."""

    name: str
    kind: Kind
    choices: tuple[Any, ...] = ()
    write_only: bool = False

    _read: Callable[[Lead], Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_read", _reader(self.name))

    def get(self, lead: Lead) -> Any:
        """This field's value in `lead`."""
        return self._read(lead)


def _reader(name: str) -> Callable[[Lead], Any]:
    """How to read a canonical field from a lead (the derived names by their rule)."""
    if name == "recycle_reason":
        return lambda lead: lead.stage_reason if lead.stage in REASON_STAGES else None
    if name == "salesforce_url":
        return attrgetter("salesforce_id")
    if name == "hubspot_url":
        return attrgetter("hubspot_id")
    head, _, rest = name.partition(".")
    if head == "outcome" and rest:  # the only nested value that may be None
        inner = attrgetter(rest)
        return lambda lead: None if lead.outcome is None else inner(lead.outcome)
    return attrgetter(name)


def _fields() -> list[CanonicalField]:
    def text(*names: str) -> list[CanonicalField]:
        return [CanonicalField(name, "text") for name in names]

    return [
        *text("email", "first_name", "last_name", "hubspot_id", "salesforce_id"),
        *text("fit.company", "fit.title", "fit.industry"),
        CanonicalField("fit.employees", "int"),
        *text("fit.country", "fit.source", "fit.campaign", "fit.owner"),
        CanonicalField("stage", "choice", STAGES),
        *text("stage_reason", "recycle_reason"),
        CanonicalField("score.total", "int"),
        CanonicalField("score.reasons", "reasons"),
        *(
            CanonicalField(f"times.{name}", "datetime")
            for name in ("mql_at", "handed_off_at", "first_touch_at", "sql_at", "closed_at")
        ),
        *(CanonicalField(f"bant.{item}", "bool", (True, False)) for item in BANT_ITEMS),
        *(
            CanonicalField(f"assessment.{axis}.{side}", "choice", AXIS_VALUES[axis])
            for axis in AXES
            for side in ("hypothesis", "observed")
        ),
        CanonicalField("outcome.won", "bool", (True, False)),
        CanonicalField("outcome.amount", "decimal"),
        CanonicalField("salesforce_url", "text", write_only=True),
        CanonicalField("hubspot_url", "text", write_only=True),
    ]


CANONICAL_FIELDS: dict[str, CanonicalField] = {field.name: field for field in _fields()}
"""Every canonical field a map may name, in a stable, documented order."""
_PATHS = {name: tuple(name.split(".")) for name in CANONICAL_FIELDS}


def apply_values(lead: Lead, values: Mapping[str, Any]) -> Lead:
    """`lead` with canonical `values` set (nested dataclasses replaced, never mutated).

    `email` is normalized. `outcome.amount` only applies together with `outcome.won` or to a
    lead that already has an outcome (an amount alone does not say whether the deal was won).
    A value the lead already holds (same type, equal) changes nothing; the others are set
    with one `dataclasses.replace` per dataclass they touch.
    """
    outcome_values = {k: v for k, v in values.items() if k.startswith("outcome.")}
    changes: _Branch = {}
    for name, value in values.items():
        canonical = CANONICAL_FIELDS[name]
        if canonical.write_only:
            raise ValueError(f"{name} is a write-only link field; it cannot be read into a lead")
        if name.startswith("outcome."):
            continue
        if name == "recycle_reason":
            canonical = CANONICAL_FIELDS["stage_reason"]
        if name == "email" and isinstance(value, str):
            value = normalize_email(value)
        current = canonical.get(lead)
        if type(current) is type(value) and current == value:
            continue
        path = _PATHS[canonical.name]
        branch = changes
        for part in path[:-1]:
            branch = branch.setdefault(part, {})
        branch[path[-1]] = _Leaf(value)
    if changes:
        lead = _replace_branch(lead, changes)
    if outcome_values:
        outcome = _outcome(lead.outcome, outcome_values)
        if outcome != lead.outcome:
            lead = dataclasses.replace(lead, outcome=outcome)
    return lead


def _outcome(current: Outcome | None, values: Mapping[str, Any]) -> Outcome | None:
    won = values.get("outcome.won", current.won if current is not None else None)
    if won is None:
        return None
    amount = values.get("outcome.amount", current.amount if current is not None else None)
    return Outcome(won=won, amount=amount)


@dataclass(frozen=True, slots=True)
class _Leaf:
    """A new value in a tree of changes (a plain dict there is a nested dataclass)."""

    value: Any


_Branch = dict[str, Any]
"""Changes to one dataclass: field name to a `_Leaf` or to the changes of a nested one."""


def _replace_branch(node: Any, changes: _Branch) -> Any:
    return dataclasses.replace(
        node,
        **{
            name: change.value
            if isinstance(change, _Leaf)
            else _replace_branch(getattr(node, name), change)
            for name, change in changes.items()
        },
    )

"""The errors the field maps raise, by what the caller should do about them.

- `FieldMapError`: a field-map file is wrong; start-up stops until it is fixed.
- `RecordMappingError`: one CRM record holds a value the map cannot read; quarantine that
  record (its message names the field, the value and what the map knows) and go on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mappings.pydantic_errors import FileProblem


class MappingError(Exception):
    """Base of the errors raised by `mappings`."""


MapProblem = FileProblem
"""One thing wrong in a field-map file: where it is and what is allowed instead."""


class FieldMapError(MappingError):
    """A field-map file is wrong; every problem found is listed, in line order."""

    def __init__(self, file: Path, problems: list[MapProblem]) -> None:
        self.file = file
        self.problems = problems
        super().__init__("\n".join(problem.render(file) for problem in problems))


@dataclass(frozen=True, slots=True)
class ValueProblem:
    """A CRM value that a field map could not turn into a canonical value."""

    canonical_field: str
    crm_field: str
    value: Any
    message: str

    def render(self) -> str:
        return f"{self.crm_field} ({self.canonical_field}): {self.message}"


class RecordMappingError(MappingError):
    """A record holds values the field map cannot read; the record should be quarantined."""

    def __init__(self, problems: list[ValueProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(problem.render() for problem in problems))

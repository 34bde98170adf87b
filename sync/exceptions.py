"""The errors leadloop raises, organised by what the caller should do about them."""

from __future__ import annotations

from pathlib import Path

from mappings.pydantic_errors import FileProblem


class LeadloopError(Exception):
    """Base of every error leadloop raises on purpose."""


ConfigProblem = FileProblem
"""One thing wrong in a configuration file."""


class ConfigError(LeadloopError):
    """A configuration file is wrong; start-up stops (exit code 2) until it is fixed."""

    def __init__(self, file: Path, problems: list[ConfigProblem]) -> None:
        self.file = file
        self.problems = problems
        super().__init__("\n".join(problem.render(file) for problem in problems))


class ScenarioError(LeadloopError):
    """A simulation scenario line is wrong (exit code 2)."""

    def __init__(self, file: Path, line: int, message: str) -> None:
        self.file = file
        self.line = line
        super().__init__(f"{file}:{line}: {message}")


class TransitionError(LeadloopError):
    """A stage change the lifecycle does not allow."""

    def __init__(self, from_stage: str, to_stage: str, allowed: tuple[str, ...]) -> None:
        self.from_stage = from_stage
        self.to_stage = to_stage
        self.allowed = allowed
        options = ", ".join(allowed) if allowed else "none (it is final)"
        super().__init__(
            f"a lead cannot move from {from_stage} to {to_stage}; from {from_stage} it can move"
            f" to: {options}"
        )

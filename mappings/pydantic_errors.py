"""Turn pydantic's validation errors into messages a marketing-ops user can act on."""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class FileProblem:
    """One thing wrong in a YAML file a user edits: where it is and what is allowed."""

    line: int | None
    key_path: str
    message: str

    def render(self, file: Path) -> str:
        """`file:line: key.path: message`."""
        where = f"{file}:{self.line}" if self.line is not None else str(file)
        key = f" {self.key_path}:" if self.key_path else ""
        return f"{where}:{key} {self.message}"


def file_problems(
    root: type[BaseModel], exc: ValidationError, data: Any, lines: Mapping[Loc, int]
) -> list[FileProblem]:
    """Every validation error of `data` against `root`, one per key, in line order.

    A value that fits none of a union's forms gets one problem listing what each form wanted.
    """
    by_key: dict[Loc, list[str]] = {}
    for error in exc.errors(include_url=False):
        loc, message = describe(root, data, error)
        messages = by_key.setdefault(loc, [])
        if message not in messages:
            messages.append(message)
    problems = [
        FileProblem(
            nearest_line(loc, lines),
            ".".join(str(part) for part in loc),
            messages[0]
            if len(messages) == 1
            else "matches none of the allowed forms: " + "; or ".join(messages),
        )
        for loc, messages in by_key.items()
    ]
    return sorted(problems, key=lambda problem: problem.line or 0)


def nearest_line(loc: Loc, lines: Mapping[Loc, int]) -> int | None:
    """The line of `loc`, or of its nearest parent that has one."""
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def describe(root: type[BaseModel], data: Any, error: ErrorDetails) -> tuple[Loc, str]:
    """The key path as the user wrote it and a message that says what is allowed."""
    loc = _user_loc(data, error["loc"])
    kind = error["type"]
    ctx = error.get("ctx", {})
    got = error.get("input")
    if kind == "extra_forbidden":
        allowed = allowed_keys(root, loc[:-1])
        return loc, f"unknown key; allowed here: {', '.join(allowed)}"
    if kind == "missing":
        return loc, "required key is missing"
    if kind == "literal_error":
        return loc, f"{got!r} is not allowed; allowed: {ctx.get('expected', '')}"
    if kind == "value_error":
        return loc, str(ctx.get("error", error["msg"]))
    if kind == "string_pattern_mismatch":
        return loc, f"{got!r} does not have the expected form ({ctx.get('pattern')})"
    message = error["msg"]
    if got is not None and not isinstance(got, dict | list):
        message = f"{message} (got {got!r})"
    return loc, message


def _user_loc(data: Any, loc: tuple[int | str, ...]) -> Loc:
    """Drop pydantic's type tags (`str`, `DateRange`, ...) from a location; keep real keys."""
    kept: list[str | int] = []
    node = data
    for part in loc:
        is_key = isinstance(node, dict) and part in node
        is_index = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if is_key or is_index:
            node = node[part]
            kept.append(part)
        elif isinstance(node, dict) and isinstance(part, str) and part[:1].islower():
            kept.append(part)  # a missing key; type tags such as `DateRange` are capitalised
            node = None
    return tuple(kept)


def allowed_keys(root: type[BaseModel], loc: Loc) -> list[str]:
    """The keys a mapping at `loc` may have."""
    annotation: Any = root
    for part in loc:
        annotation = _step(annotation, part)
        if annotation is None:
            return []
    model = _find_model(annotation)
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


def _step(annotation: Any, part: str | int) -> Any:
    """The annotation one key or index below `annotation`."""
    for candidate in _alternatives(annotation):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            for name, field in candidate.model_fields.items():
                if (field.alias or name) == part:
                    return field.annotation
        elif get_origin(candidate) is dict and isinstance(part, str):
            return get_args(candidate)[1]
        elif get_origin(candidate) is list and isinstance(part, int):
            return get_args(candidate)[0]
    return None


def _alternatives(annotation: Any) -> list[Any]:
    """The members of a union (Optional included) with `Annotated` wrappers removed."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _alternatives(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [alt for arg in get_args(annotation) for alt in _alternatives(arg)]
    return [annotation]


def _find_model(annotation: Any) -> type[BaseModel] | None:
    for candidate in _alternatives(annotation):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None

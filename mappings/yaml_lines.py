"""YAML loading that remembers where each key is, so config and field-map errors name the line."""

from __future__ import annotations

from typing import Any

import yaml


class YamlError(Exception):
    """The text is not YAML leadloop can read: a syntax error or a key given twice."""

    def __init__(self, line: int | None, key_path: str, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.key_path = key_path
        self.reason = reason


Path = tuple[str | int, ...]


def load_yaml_with_lines(text: str) -> tuple[Any, dict[Path, int]]:
    """Parse `text`; return the data and a map from key path to its 1-based line number."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        reason = " ".join(part for part in (exc.context, exc.problem) if part)
        raise YamlError(line, "", f"YAML syntax error: {reason}") from None
    except yaml.YAMLError as exc:
        raise YamlError(None, "", f"YAML syntax error: {exc}") from None
    if node is None:
        return None, {}
    lines: dict[Path, int] = {}
    _walk(node, (), lines)
    loader = yaml.SafeLoader("")
    try:
        data = loader.construct_document(node)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        raise YamlError(mark.line + 1 if mark else None, "", f"YAML error: {exc.problem}") from None
    finally:
        loader.dispose()
    return data, lines


def _walk(node: yaml.Node, path: Path, lines: dict[Path, int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                where = ".".join(str(part) for part in (*path, key))
                raise YamlError(line, where, f"key {key!r} given twice (first on line {seen[key]})")
            seen[key] = line
            _walk(value_node, (*path, key), lines)
            lines[(*path, key)] = line
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), lines)

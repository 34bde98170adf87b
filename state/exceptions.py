"""The errors `state` raises on purpose; database driver errors pass through unchanged."""

from __future__ import annotations


class StateError(Exception):
    """Base of the errors raised by `state`."""


class NotFoundError(StateError, LookupError):
    """A row the caller named does not exist; `kind` and `key` say which."""

    def __init__(self, kind: str, key: object) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"no {kind} {key!r} in the database: check the id you passed")


class UnsupportedDatabaseError(StateError, ValueError):
    """The database URL names a backend leadloop does not support."""

    def __init__(self, redacted_url: str, backend: str) -> None:
        self.redacted_url = redacted_url
        self.backend = backend
        super().__init__(
            f"unsupported database {backend!r} in DATABASE_URL {redacted_url}: "
            "use sqlite:///path/to/file.db or postgresql://user@host/dbname"
        )

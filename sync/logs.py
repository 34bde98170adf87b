"""Logging for the daemon: one JSON object per line (or a console view on a terminal), with
secrets taken out of everything written.

`configure_logging` sets up structlog and routes the standard library's `logging` records
(apscheduler, alembic, uvicorn when it propagates) through the same processors, so both come
out alike: `event`, `level`, `timestamp` (ISO, UTC), the context bound with `bind_run` and
`bound_lead`, `exception` as text. Call it once at start; calling it again replaces the
previous setup.

Redaction (`redact_secrets`) runs last before rendering, so it also covers the event text and
the formatted exception: values under secret-looking keys, the values of the secret
environment variables (`secret_env_values`) and the explicit secrets wherever they appear in a
string, URL passwords (`scheme://user:[redacted]@host`), and `Bearer …` / `Authorization: …`.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, TextIO
from urllib.parse import quote, quote_plus

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

REDACTED = "[redacted]"
MIN_ENV_SECRET = 6  # shorter environment values would blank out ordinary words and numbers

_SECRET_NAME = re.compile(
    r"token|passw(?:or)?d|secret|session[_-]?id|authorization|api[_-]?key|private[_-]?key"
    r"|cookie|(?:^|[^a-z0-9])sid(?:$|[^a-z0-9])",
    re.IGNORECASE,
)
_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}
# Each keeps its first group and loses what follows it.
_URL_PASSWORD = re.compile(r"(?<=://)([^\s:/@]*:)[^\s/]*(?=@)")  # up to the last @ of the host
_CREDENTIAL = re.compile(
    r"((?i:authorization)[\"']?\s*[:=]\s*[\"']?(?:(?i:bearer|basic|token|digest|negotiate)\s+)?"
    r"|\b(?i:bearer)\s+)[^\s\"',;)\]}]+"
)
_KEEP_PREFIX = r"\1" + REDACTED


def secret_env_values(env: Mapping[str, str]) -> list[str]:
    """The values of the environment variables whose names look secret (`HUBSPOT_ACCESS_TOKEN`,
    `SALESFORCE_PASSWORD`, …) and that are at least `MIN_ENV_SECRET` characters long."""
    return [
        value
        for name, value in env.items()
        if len(value) >= MIN_ENV_SECRET and _SECRET_NAME.search(name)
    ]


def redact_secrets(values: Iterable[str] = ()) -> Processor:
    """A processor that replaces secrets with `REDACTED` in an event dict, recursively.

    `values` (empty ones ignored) are fixed here, compiled into one pattern with their
    URL-encoded forms. The caller's nested dicts and lists are copied, never changed.
    """
    return _Redactor(values)


class _Redactor:
    """The `redact_secrets` processor."""

    def __init__(self, values: Iterable[str]) -> None:
        forms = {form for value in values if value for form in _encodings(value)}
        # Longest first, so that a secret containing another is replaced whole.
        alternatives = "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))
        self._values = re.compile(alternatives) if forms else None

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        for key, value in event_dict.items():
            event_dict[key] = REDACTED if _looks_secret(key) else self._clean(value)
        return event_dict

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._text(value)
        if value is None or isinstance(value, int | float):
            return value
        if isinstance(value, dict):
            return {
                k: REDACTED if isinstance(k, str) and _looks_secret(k) else self._clean(v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self._clean(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self._clean(v) for v in value)
        # Anything else is written as its repr: keep the object unless that text holds a secret.
        text = repr(value)
        cleaned = self._text(text)
        return value if cleaned == text else cleaned

    def _text(self, text: str) -> str:
        """`text` without secrets; the cheap substring checks spare most strings the regexes."""
        if self._values is not None:
            text = self._values.sub(REDACTED, text)
        if "://" in text:
            text = _URL_PASSWORD.sub(_KEEP_PREFIX, text)
        lowered = text.lower()
        if "bearer" in lowered or "authorization" in lowered:
            text = _CREDENTIAL.sub(_KEEP_PREFIX, text)
        return text


def _encodings(value: str) -> set[str]:
    """`value` as written and as it appears URL-encoded (in a DSN, a query, a form body)."""
    return {value, quote(value, safe=""), quote_plus(value, safe="")}


@lru_cache(maxsize=1024)
def _looks_secret(name: str) -> bool:
    return _SECRET_NAME.search(name) is not None


def configure_logging(
    *,
    stream: TextIO | None = None,
    json: bool | None = None,
    level: str = "info",
    secrets: Iterable[str] = (),
    env: Mapping[str, str] = os.environ,
) -> None:
    """Send structlog and stdlib `logging` to `stream` (default stdout) from `level` up.

    `json=None` writes JSON lines unless `stream` is a terminal. The secrets redacted are the
    values of `env`'s secret variables (`secret_env_values`) plus `secrets`.
    Raises `ValueError` for a `level` other than debug, info, warning, error, critical.
    """
    threshold = _LEVELS.get(level.lower())
    if threshold is None:
        raise ValueError(f"unknown log level {level!r}: use one of {', '.join(_LEVELS)}")
    out = stream if stream is not None else sys.stdout
    tty = out.isatty()
    renderer: Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if (not tty if json is None else json)
        else structlog.dev.ConsoleRenderer(colors=tty)
    )
    redact = redact_secrets([*secret_env_values(env), *secrets])
    stamp = structlog.processors.TimeStamper(fmt="iso", utc=True)
    # Exceptions become text before redaction, in both renderers: the console's own traceback
    # formatter would print them (and their locals) after it.
    handler = _Handler(out)
    handler.setLevel(threshold)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.contextvars.merge_contextvars,
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                structlog.stdlib.ExtraAdder(),
                stamp,
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                redact,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
        old.flush()
    root.addHandler(handler)
    root.setLevel(threshold)

    writer = _LineWriter(handler)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            stamp,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=lambda *_: writer,
        cache_logger_on_first_use=False,
    )


class _Handler(logging.StreamHandler[TextIO]):
    """The root handler `configure_logging` installs, and removes again when called anew."""

    def write_line(self, line: str) -> None:
        """Write a line rendered by structlog under this handler's lock, so that structlog's
        and stdlib's lines never interleave."""
        self.acquire()
        try:
            self.stream.write(line + self.terminator)
            self.flush()
        finally:
            self.release()


class _LineWriter:
    """structlog's final logger: every level method writes the rendered line."""

    def __init__(self, handler: _Handler) -> None:
        self._handler = handler

    def msg(self, line: str) -> None:
        self._handler.write_line(line)

    debug = info = warning = error = critical = fatal = exception = msg


@contextmanager
def bind_run(job: str, run_id: str) -> Iterator[None]:
    """Bind `job` and `run_id` to every line logged inside; restore what was bound before."""
    with structlog.contextvars.bound_contextvars(job=job, run_id=run_id):
        yield


@contextmanager
def bound_lead(key: str) -> Iterator[None]:
    """Bind `lead` (the lead's key) to every line logged inside; restore what was before."""
    with structlog.contextvars.bound_contextvars(lead=key):
        yield

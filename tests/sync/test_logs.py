"""The log output: JSON lines or console, bound context, stdlib records, levels, redaction."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import structlog

from sync.logs import (
    REDACTED,
    bind_run,
    bound_lead,
    configure_logging,
    redact_secrets,
    secret_env_values,
)

TOKEN = "pat-na1-5c1e2d3f-aaaa-4bbb-8ccc-0123456789ab"
SF_PASSWORD = "Kaisha-Pw!2026"
SF_SESSION = "00D5g000004XyZ1!AQ0AQH.kq3Vr_session"
SMTP_PASSWORD = "smtp-relay-pw-77"
SHORT = "ab12x"  # a secret variable, but too short to redact
ENV = {
    "HUBSPOT_ACCESS_TOKEN": TOKEN,
    "SALESFORCE_PASSWORD": SF_PASSWORD,
    "SALESFORCE_SESSION_ID": SF_SESSION,
    "SMTP_PASSWORD": SMTP_PASSWORD,
    "HUBSPOT_APP_SECRET": SHORT,
    "SALESFORCE_USERNAME": "ops@example.co.jp",
    "LEADLOOP_TIMEZONE": "Asia/Tokyo",
}
SECRETS = (TOKEN, SF_PASSWORD, SF_SESSION, SMTP_PASSWORD)


class TtyStream(io.StringIO):
    """A captured stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Give back structlog's defaults and the root logger as found, for the rest of the suite."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.reset_defaults()
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def configure(**kw: Any) -> io.StringIO:
    """JSON logging with `ENV` into a fresh stream; the stream."""
    stream = io.StringIO()
    configure_logging(**{"stream": stream, "env": ENV, **kw})
    return stream


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def assert_no_secrets(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


class TestJsonLines:
    def test_line_carries_event_level_timestamp_and_fields(self) -> None:
        """A JSON line has the event, the level, an ISO UTC timestamp and the fields."""
        stream = configure()
        structlog.get_logger().info("ingest.stream_done", stream="contacts", read=200)
        [line] = lines(stream)
        assert line["event"] == "ingest.stream_done"
        assert line["level"] == "info"
        assert (line["stream"], line["read"]) == ("contacts", 200)
        stamp = datetime.fromisoformat(line["timestamp"])
        assert stamp.utcoffset() == timedelta(0)

    def test_run_and_lead_are_bound_inside_only(self) -> None:
        """Inside `bind_run` and `bound_lead` lines carry job, run_id and lead; after, not."""
        stream = configure()
        log = structlog.get_logger()
        with bind_run("score", "run-1"):
            with bound_lead("hs:101"):
                log.info("lead.scored")
            log.info("score.done")
        log.info("idle")
        scored, done, idle = lines(stream)
        assert (scored["job"], scored["run_id"], scored["lead"]) == ("score", "run-1", "hs:101")
        assert (done["job"], done["run_id"]) == ("score", "run-1")
        assert "lead" not in done
        assert not {"job", "run_id", "lead"} & idle.keys()

    def test_nested_lead_restores_the_outer_one(self) -> None:
        """A lead bound inside another is replaced there and the outer comes back after."""
        stream = configure()
        log = structlog.get_logger()
        with bound_lead("hs:1"):
            with bound_lead("hs:2"):
                log.info("inner")
            log.info("outer")
        assert [line["lead"] for line in lines(stream)] == ["hs:2", "hs:1"]

    def test_japanese_text_stays_readable(self) -> None:
        """Non-ASCII text is written as is, not as \\u escapes."""
        stream = configure()
        structlog.get_logger().info("handoff.sent", company="株式会社サンプル", note="対応済み")
        assert "株式会社サンプル" in stream.getvalue()
        assert "\\u" not in stream.getvalue()
        assert lines(stream)[0]["note"] == "対応済み"

    def test_exception_is_text(self) -> None:
        """`log.exception` writes the traceback as the `exception` string."""
        stream = configure()
        try:
            raise ValueError("bad stage")
        except ValueError:
            structlog.get_logger().exception("ingest.failed")
        [line] = lines(stream)
        assert line["level"] == "error"
        assert "Traceback" in line["exception"]
        assert "ValueError: bad stage" in line["exception"]


class TestRenderer:
    def test_console_on_a_terminal(self) -> None:
        """On a terminal the lines are the console view, not JSON."""
        stream = TtyStream()
        configure_logging(stream=stream, env=ENV)
        structlog.get_logger().info("ingest.stream_done", read=5)
        text = re.sub(r"\x1b\[[0-9;]*m", "", stream.getvalue())  # without its colors
        assert "ingest.stream_done" in text
        assert "read=5" in text
        with pytest.raises(json.JSONDecodeError):
            json.loads(text)

    def test_json_elsewhere(self) -> None:
        """On a file or pipe the lines are JSON."""
        stream = configure()
        structlog.get_logger().info("ingest.stream_done")
        assert lines(stream)[0]["event"] == "ingest.stream_done"

    @pytest.mark.parametrize(("stream_type", "as_json"), [(TtyStream, True), (io.StringIO, False)])
    def test_explicit_choice_wins(self, stream_type: type[io.StringIO], as_json: bool) -> None:
        """`json=` overrides the terminal check both ways."""
        stream = stream_type()
        configure_logging(stream=stream, json=as_json, env=ENV)
        structlog.get_logger().info("tick")
        text = stream.getvalue()
        assert text.startswith("{") is as_json
        assert "\x1b[" not in text  # no colors in a console view written to a file

    def test_console_exception_is_redacted(self) -> None:
        """The console view prints the exception with the secrets taken out."""
        stream = TtyStream()
        configure_logging(stream=stream, env=ENV)
        try:
            raise RuntimeError(f"login refused for {SF_PASSWORD}")
        except RuntimeError:
            structlog.get_logger().exception("salesforce.login_failed")
        assert "RuntimeError: login refused for [redacted]" in stream.getvalue()
        assert_no_secrets(stream.getvalue())


class TestStdlib:
    def test_apscheduler_warning_is_a_json_line(self) -> None:
        """A stdlib logger's record comes out as JSON with level, logger and timestamp."""
        stream = configure()
        logging.getLogger("apscheduler").warning("Run time of job %r was missed", "score")
        [line] = lines(stream)
        assert line["event"] == "Run time of job 'score' was missed"
        assert (line["level"], line["logger"]) == ("warning", "apscheduler")
        assert "timestamp" in line

    def test_bound_context_and_extra_reach_stdlib_lines(self) -> None:
        """A stdlib record carries the bound run and its `extra` fields."""
        stream = configure()
        with bind_run("sla", "run-9"):
            logging.getLogger("apscheduler").info("job ran", extra={"jobs": 2})
        [line] = lines(stream)
        assert (line["job"], line["run_id"], line["jobs"]) == ("sla", "run-9", 2)

    def test_stdlib_lines_are_redacted(self) -> None:
        """Secrets in a stdlib message and in its exception are taken out."""
        stream = configure()
        stdlib = logging.getLogger("alembic")
        stdlib.error("connecting with %s", f"postgresql://leadloop:{SF_PASSWORD}@db/leads")
        try:
            raise ConnectionError(f"session {SF_SESSION} refused")
        except ConnectionError:
            stdlib.exception("migration failed")
        text = stream.getvalue()
        assert_no_secrets(text)
        first, second = lines(stream)
        assert first["event"] == f"connecting with postgresql://leadloop:{REDACTED}@db/leads"
        assert f"ConnectionError: session {REDACTED} refused" in second["exception"]

    def test_stdlib_level_is_filtered_even_where_a_logger_allows_more(self) -> None:
        """Below the configured level nothing is written, even from a logger set to INFO."""
        stream = configure(level="warning")
        chatty = logging.getLogger("tests.sync.chatty")
        chatty.setLevel(logging.INFO)
        try:
            chatty.info("dropped")
            chatty.warning("kept")
        finally:
            chatty.setLevel(logging.NOTSET)
        assert [line["event"] for line in lines(stream)] == ["kept"]


class TestLevels:
    def test_lines_below_the_level_are_dropped(self) -> None:
        """At `warning`, info and debug lines are not written."""
        stream = configure(level="warning")
        log = structlog.get_logger()
        log.debug("a")
        log.info("b")
        log.warning("c")
        log.error("d")
        assert [(line["event"], line["level"]) for line in lines(stream)] == [
            ("c", "warning"),
            ("d", "error"),
        ]

    def test_debug_level_writes_debug(self) -> None:
        """At `DEBUG` (any case) debug lines are written."""
        stream = configure(level="DEBUG")
        structlog.get_logger().debug("hubspot.pacer.wait")
        assert lines(stream)[0]["level"] == "debug"

    def test_unknown_level_is_refused(self) -> None:
        """An unknown level name raises `ValueError` naming the valid ones."""
        with pytest.raises(ValueError, match=r"verbose.*debug, info, warning"):
            configure_logging(stream=io.StringIO(), level="verbose", env=ENV)


class TestReconfigure:
    def test_later_lines_go_to_the_new_stream_only(self) -> None:
        """After configuring again, structlog and stdlib lines go to the new stream, once."""
        log = structlog.get_logger()  # made before either configuration, as modules do
        first = configure()
        log.info("one")
        second = configure()
        log.info("two")
        logging.getLogger("apscheduler").warning("three")
        assert [line["event"] for line in lines(first)] == ["one"]
        assert [line["event"] for line in lines(second)] == ["two", "three"]

    def test_new_secrets_replace_the_old(self) -> None:
        """The secrets are those of the latest configuration."""
        configure(secrets=["first-secret"])
        stream = configure(secrets=["second-secret"])
        structlog.get_logger().info("x", a="first-secret", b="second-secret")
        [line] = lines(stream)
        assert (line["a"], line["b"]) == ("first-secret", REDACTED)


class TestRedaction:
    def test_env_secrets_inside_the_message(self) -> None:
        """Secret environment values are cut out of the event text and string fields."""
        stream = configure()
        log = structlog.get_logger()
        log.info(f"calling with {TOKEN}", detail=f"password was {SF_PASSWORD}!")
        assert_no_secrets(stream.getvalue())
        [line] = lines(stream)
        assert line["event"] == f"calling with {REDACTED}"
        assert line["detail"] == f"password was {REDACTED}!"

    def test_env_secrets_inside_nested_values(self) -> None:
        """Secrets inside dicts, lists and tuples, at any depth, are cut out."""
        stream = configure()
        payload = {"request": {"headers": [f"x-session {SF_SESSION}"], "note": "ok"}}
        structlog.get_logger().info("call", payload=payload, pair=("smtp", SMTP_PASSWORD))
        assert_no_secrets(stream.getvalue())
        [line] = lines(stream)
        assert line["payload"] == {"request": {"headers": [f"x-session {REDACTED}"], "note": "ok"}}
        assert line["pair"] == ["smtp", REDACTED]
        assert payload["request"]["headers"] == [f"x-session {SF_SESSION}"]  # caller's untouched

    def test_secret_named_keys(self) -> None:
        """Values under keys that look secret are replaced whole, at any depth."""
        stream = configure()
        structlog.get_logger().info(
            "call",
            authorization="Basic b3BzOmh1bnRlcjI=",
            api_key="k-1",
            settings={"SessionId": "x", "cookie": {"a": 1}, "sid": "s", "host": "db"},
            inside="kept",
        )
        [line] = lines(stream)
        assert (line["authorization"], line["api_key"]) == (REDACTED, REDACTED)
        assert line["settings"] == {
            "SessionId": REDACTED,
            "cookie": REDACTED,
            "sid": REDACTED,
            "host": "db",
        }
        assert line["inside"] == "kept"
        assert "b3BzOmh1bnRlcjI=" not in stream.getvalue()

    def test_exception_text(self) -> None:
        """A secret in an exception's message (and its cause) is cut out of the traceback."""
        stream = configure()
        try:
            try:
                raise KeyError(SMTP_PASSWORD)
            except KeyError as exc:
                raise RuntimeError(f"HubSpot refused token {TOKEN}") from exc
        except RuntimeError:
            structlog.get_logger().exception("hubspot.failed")
        assert_no_secrets(stream.getvalue())
        [line] = lines(stream)
        assert f"RuntimeError: HubSpot refused token {REDACTED}" in line["exception"]

    def test_url_password(self) -> None:
        """A URL's password is replaced, its user, host and path kept."""
        stream = configure()
        structlog.get_logger().info("db", url="postgresql://u:secretpw@db/x", plain="http://db/x")
        assert "secretpw" not in stream.getvalue()
        [line] = lines(stream)
        assert line["url"] == f"postgresql://u:{REDACTED}@db/x"
        assert line["plain"] == "http://db/x"

    def test_bearer_and_authorization_fragments(self) -> None:
        """`Bearer x` and `Authorization: x` inside text lose the credential."""
        stream = configure()
        structlog.get_logger().info(
            "http",
            sent="GET /crm Authorization: Basic dXNlcjpwYXNz, ok",
            headers="{'Authorization': 'Bearer eyJhbGciOi.eyJzdWIi.c2lnbmF0'}",
            other="bearer abc.def-ghi then",
        )
        text = stream.getvalue()
        for credential in ("dXNlcjpwYXNz", "eyJhbGciOi", "abc.def-ghi"):
            assert credential not in text
        [line] = lines(stream)
        assert line["sent"] == f"GET /crm Authorization: Basic {REDACTED}, ok"
        assert line["other"] == f"bearer {REDACTED} then"

    def test_explicit_secrets(self) -> None:
        """Secrets passed to `configure_logging` are cut out like the environment's."""
        stream = configure(secrets=["webhook-signing-key"])
        structlog.get_logger().info("hook", body="sig=webhook-signing-key")
        assert lines(stream)[0]["body"] == f"sig={REDACTED}"

    def test_url_encoded_secret(self) -> None:
        """A secret is also found in its URL-encoded form."""
        stream = configure()
        structlog.get_logger().info("login", form="pw=Kaisha-Pw%212026&u=ops")
        assert lines(stream)[0]["form"] == f"pw={REDACTED}&u=ops"

    def test_object_whose_repr_holds_a_secret(self) -> None:
        """An object written by its repr is replaced by the redacted repr if that holds one."""

        class Settings:
            def __repr__(self) -> str:
                return f"Settings(token={TOKEN!r})"

        stream = configure()
        structlog.get_logger().info("start", settings=Settings())
        assert_no_secrets(stream.getvalue())
        assert lines(stream)[0]["settings"] == f"Settings(token='{REDACTED}')"

    def test_ordinary_values_untouched(self) -> None:
        """Values without secrets keep their text and their JSON types."""
        stream = configure()
        fields = {
            "user": "ops@example.co.jp",
            "zone": "Asia/Tokyo",
            "read": 200,
            "rate": 12.5,
            "ok": True,
            "none": None,
            "ids": [1, 2],
            "counts": {"mql": 3},
        }
        structlog.get_logger().info("ingest.stream_done", **fields)
        [line] = lines(stream)
        assert {key: line[key] for key in fields} == fields

    def test_short_env_values_are_not_redacted(self) -> None:
        """A secret variable shorter than 6 characters is left alone (it would blank words)."""
        stream = configure()
        structlog.get_logger().info(f"code {SHORT}")
        assert lines(stream)[0]["event"] == f"code {SHORT}"


class TestSecretValues:
    def test_env_values_by_name_and_length(self) -> None:
        """Only variables named like secrets, with values of 6 characters or more, count."""
        env = {**ENV, "XDG_SESSION_ID": "3", "GITHUB_TOKEN": "", "TWILIO_SID": "AC123456"}
        assert sorted(secret_env_values(env)) == sorted([*SECRETS, "AC123456"])

    def test_processor_alone(self) -> None:
        """`redact_secrets` is a plain processor over an event dict."""
        redact = redact_secrets(["hunter22"])
        event = redact(None, "info", {"event": "pw hunter22", "password": "x", "n": 1})
        assert event == {"event": f"pw {REDACTED}", "password": REDACTED, "n": 1}

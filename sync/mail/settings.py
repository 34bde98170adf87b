"""How to reach the SMTP relay: read from the environment, the password kept out of sight.

`SmtpSettings.from_env()` reads:

- `SMTP_URL` (required), one of
  `smtp://host[:port]` (plain; port 25),
  `smtp://host[:port]?starttls=true` or `smtp+starttls://host[:port]` (STARTTLS; port 587),
  `smtps://host[:port]` (TLS from the first byte; port 465).
  `user:password@` before the host is accepted (percent-encoded, e.g. `%40` for `@`).
- `SMTP_USERNAME`, `SMTP_PASSWORD`: the login; each wins over the one in the URL.
- `SMTP_CA_BUNDLE`: a PEM file of the certificates to trust instead of the system's, for a
  relay with a private CA (and the tests). Only used with STARTTLS or TLS.
- `SMTP_TIMEOUT`: seconds to wait for the server at each step (default 30).

The password never shows in `repr()` or in an error message.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args
from urllib.parse import parse_qsl, unquote, urlsplit

from sync.mail.errors import MailConfigError

Security = Literal["plain", "starttls", "tls"]
"""How the connection is protected: not at all, upgraded with STARTTLS, or TLS throughout."""

SECURITIES: tuple[Security, ...] = get_args(Security)

URL_VARIABLE = "SMTP_URL"
USERNAME_VARIABLE = "SMTP_USERNAME"
PASSWORD_VARIABLE = "SMTP_PASSWORD"
CA_BUNDLE_VARIABLE = "SMTP_CA_BUNDLE"
TIMEOUT_VARIABLE = "SMTP_TIMEOUT"

DEFAULT_PORTS: dict[Security, int] = {"plain": 25, "starttls": 587, "tls": 465}
DEFAULT_TIMEOUT_SECONDS = 30.0

URL_FORMS = (
    "smtp://host[:port] (plain, port 25), "
    "smtp://host[:port]?starttls=true or smtp+starttls://host[:port] (STARTTLS, port 587), "
    "smtps://host[:port] (TLS, port 465); "
    f"put the login in {USERNAME_VARIABLE} and {PASSWORD_VARIABLE}"
)
"""The allowed forms of SMTP_URL, as error messages list them."""

_SCHEMES: dict[str, Security] = {"smtp": "plain", "smtp+starttls": "starttls", "smtps": "tls"}
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """One SMTP relay as `SmtpMailer` uses it. `password` is left out of `repr()`."""

    host: str
    port: int
    security: Security = "plain"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_bundle: Path | None = None
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    def __post_init__(self) -> None:
        if not self.host:
            raise ValueError("host must not be empty")
        if not 0 < self.port < 65536:
            raise ValueError(f"port must be 1-65535, was {self.port!r}")
        if self.security not in SECURITIES:
            raise ValueError(f"security must be one of {SECURITIES}, was {self.security!r}")
        if not (math.isfinite(self.timeout_seconds) and self.timeout_seconds > 0):
            raise ValueError(f"timeout_seconds must be positive, was {self.timeout_seconds!r}")
        if self.password is not None and not self.username:
            raise ValueError("a password needs a username")

    @property
    def address(self) -> str:
        """`host:port` as messages show it (an IPv6 host in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> SmtpSettings:
        """Settings from the environment; anything missing or malformed is a MailConfigError."""
        raw = env.get(URL_VARIABLE, "").strip()
        env_password = env.get(PASSWORD_VARIABLE) or None
        url = _parse_url(raw, secrets=[env_password or ""])
        username = env.get(USERNAME_VARIABLE, "").strip() or url.username
        password = env_password if env_password is not None else url.password
        if password is not None and not username:
            raise MailConfigError(
                f"{PASSWORD_VARIABLE} (or a password in {URL_VARIABLE}) is set but no user"
                f" name is: set {USERNAME_VARIABLE} as well, or unset the password"
            )
        return cls(
            host=url.host,
            port=url.port,
            security=url.security,
            username=username,
            password=password,
            ca_bundle=_ca_bundle(env.get(CA_BUNDLE_VARIABLE, "").strip()),
            timeout_seconds=_timeout(env.get(TIMEOUT_VARIABLE, "").strip()),
        )


@dataclass(frozen=True, slots=True)
class _Url:
    host: str
    port: int
    security: Security
    username: str | None
    password: str | None = field(repr=False)


def _parse_url(raw: str, secrets: Iterable[str]) -> _Url:
    if not raw:
        raise MailConfigError(f"{URL_VARIABLE} is not set; allowed: {URL_FORMS}")
    hidden = [*secrets, *_userinfo_passwords(raw)]

    def bad(problem: str) -> MailConfigError:
        # Only the redacted URL and fixed wording: parts of a malformed URL may hold a secret.
        shown = redact_url(raw, hidden)
        return MailConfigError(f"{URL_VARIABLE}={shown!r} {problem}; allowed: {URL_FORMS}")

    try:
        parts = urlsplit(raw)
    except ValueError:
        raise bad("is not a valid URL (are the [ ] around an IPv6 address balanced?)") from None
    if "://" not in raw:
        raise bad("has no scheme")
    if parts.netloc.rpartition("@")[0] != _split_userinfo(raw)[0]:
        raise bad(
            "has a user name or password with / ? or # in it; percent-encode them"
            " (%2F %3F %23) or use SMTP_USERNAME and SMTP_PASSWORD"
        )
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise bad(f"has the scheme {scheme!r}")
    try:
        port = parts.port
    except ValueError:
        raise bad("has a port that is not a number from 1 to 65535") from None
    if port == 0:
        raise bad("has port 0")
    if not parts.hostname:
        raise bad("names no host")
    if parts.path not in ("", "/") or parts.fragment:
        raise bad("has a path or fragment after the host")
    security = _SCHEMES[scheme]
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name.lower() != "starttls":
            raise bad(f"has the unknown option {name!r} (only starttls=true)")
        flag = value.strip().lower()
        if flag in _TRUE and security in ("plain", "starttls"):
            security = "starttls"
        elif not (flag in _FALSE and security == "plain"):
            raise bad(f"has starttls={value!r}, which does not fit {scheme}://")
    return _Url(
        host=parts.hostname,
        port=port if port is not None else DEFAULT_PORTS[security],
        security=security,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def redact_url(url: str, secrets: Iterable[str] = ()) -> str:
    """`url` with the password in its userinfo, and any of `secrets`, replaced by `***`.

    Works on text that is not a valid URL too: whatever stands between the first `:` and
    the last `@` after `scheme://` (or from the start without one) counts as the password."""
    userinfo, start = _split_userinfo(url)
    user, colon, _ = userinfo.partition(":")
    if colon:
        url = f"{url[:start]}{user}:***{url[start + len(userinfo) :]}"
    return _scrub(url, secrets)


def _split_userinfo(url: str) -> tuple[str, int]:
    """The text before the last `@` after `scheme://` (or from the start), and where it starts."""
    _, separator, rest = url.partition("://")
    start = len(url) - len(rest) if separator else 0
    return url[start:].rpartition("@")[0], start


def _userinfo_passwords(url: str) -> list[str]:
    """The password in `url` as `redact_url` finds it, raw and percent-decoded."""
    _, colon, password = _split_userinfo(url)[0].partition(":")
    return [password, unquote(password)] if colon and password else []


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return text


def _ca_bundle(value: str) -> Path | None:
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        raise MailConfigError(
            f"{CA_BUNDLE_VARIABLE}={value!r} is not a file; set it to a PEM file of the"
            " certificates to trust, or unset it to trust the system's"
        )
    return path


def _timeout(value: str) -> float:
    if not value:
        return DEFAULT_TIMEOUT_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise MailConfigError(
            f"{TIMEOUT_VARIABLE}={value!r} is not a number of seconds; set a positive number"
            f" such as 30, or unset it for {DEFAULT_TIMEOUT_SECONDS:g}"
        )
    return seconds

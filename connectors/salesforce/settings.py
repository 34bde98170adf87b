"""How leadloop reaches Salesforce: the auth mode, inferred from which variables are set.

Three modes, each a complete set of environment variables:

- `jwt` (for servers): SALESFORCE_USERNAME, SALESFORCE_CONSUMER_KEY and
  SALESFORCE_PRIVATE_KEY_FILE: the OAuth 2.0 JWT bearer flow of a connected app whose
  certificate matches the key. Logs in again by itself when the session expires.
- `password`: SALESFORCE_USERNAME, SALESFORCE_PASSWORD and SALESFORCE_SECURITY_TOKEN: the
  SOAP `login` call. With SALESFORCE_INSTANCE_URL it logs in at the instance's own URL
  (My Domain) instead of https://{SALESFORCE_DOMAIN}.salesforce.com.
  (The JWT flow always asks https://{SALESFORCE_DOMAIN}.salesforce.com for its token; the
  token answer names the instance.)
- `session`: SALESFORCE_SESSION_ID and SALESFORCE_INSTANCE_URL: a session made elsewhere;
  when it expires a person has to set a fresh one.

SALESFORCE_DOMAIN is `login` (default), `test` (sandboxes) or a My Domain such as
`acme.my` (for https://acme.my.salesforce.com). SALESFORCE_CA_BUNDLE names a PEM file of
CA certificates to trust instead of the default ones (a TLS-inspecting proxy, a test server).
Secrets never appear in `repr` or in an error message.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from connectors.errors import FatalError

AuthMode = Literal["jwt", "password", "session"]
"""`jwt` bearer flow, username + `password` + security token, or a ready `session` id."""

SYSTEM = "Salesforce"
REQUIRED: dict[AuthMode, tuple[str, ...]] = {
    "jwt": ("SALESFORCE_USERNAME", "SALESFORCE_CONSUMER_KEY", "SALESFORCE_PRIVATE_KEY_FILE"),
    "password": ("SALESFORCE_USERNAME", "SALESFORCE_PASSWORD", "SALESFORCE_SECURITY_TOKEN"),
    "session": ("SALESFORCE_SESSION_ID", "SALESFORCE_INSTANCE_URL"),
}
# The variables that only one mode uses: setting one of them chooses that mode.
_MARKERS: dict[AuthMode, tuple[str, ...]] = {
    "jwt": ("SALESFORCE_CONSUMER_KEY", "SALESFORCE_PRIVATE_KEY_FILE"),
    "password": ("SALESFORCE_PASSWORD", "SALESFORCE_SECURITY_TOKEN"),
    "session": ("SALESFORCE_SESSION_ID",),
}
_TITLES: dict[AuthMode, str] = {
    "jwt": "JWT bearer (for servers)",
    "password": "username and password",
    "session": "session id",
}
MODES_FIX = "set the variables of one mode: " + "; ".join(
    f"{_TITLES[mode]}: {', '.join(names)}" for mode, names in REQUIRED.items()
)
_DOMAIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*$")


@dataclass(frozen=True, slots=True)
class SalesforceSettings:
    """Where and how to log in; build it with `from_env`. Secrets are left out of `repr`."""

    mode: AuthMode
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)
    session_id: str | None = field(default=None, repr=False)
    consumer_key: str | None = None
    private_key_file: Path | None = None
    instance_url: str | None = None
    domain: str = "login"
    ca_bundle: Path | None = None
    api_version: str = "59.0"
    timeout_seconds: float = 60.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> SalesforceSettings:
        """The settings the SALESFORCE_* variables describe; FatalError when they do not fit."""

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        mode = _mode({name: get(name) for names in REQUIRED.values() for name in names})
        instance_url = _instance_url(get("SALESFORCE_INSTANCE_URL"))
        domain = _domain(get("SALESFORCE_DOMAIN") or "login")
        key_file = _existing_file("SALESFORCE_PRIVATE_KEY_FILE", get("SALESFORCE_PRIVATE_KEY_FILE"))
        return cls(
            mode=mode,
            username=get("SALESFORCE_USERNAME"),
            password=get("SALESFORCE_PASSWORD"),
            security_token=get("SALESFORCE_SECURITY_TOKEN"),
            session_id=get("SALESFORCE_SESSION_ID"),
            consumer_key=get("SALESFORCE_CONSUMER_KEY"),
            private_key_file=key_file if mode == "jwt" else None,
            instance_url=instance_url,
            domain=domain,
            ca_bundle=_existing_file("SALESFORCE_CA_BUNDLE", get("SALESFORCE_CA_BUNDLE")),
        )

    @property
    def can_log_in_again(self) -> bool:
        """Whether an expired session can be replaced without a person (password, JWT)."""
        return self.mode != "session"

    @property
    def instance_host(self) -> str | None:
        """`host[:port]` of SALESFORCE_INSTANCE_URL, as simple-salesforce names an instance."""
        return urlparse(self.instance_url).netloc if self.instance_url else None


def _mode(values: Mapping[str, str | None]) -> AuthMode:
    chosen = [mode for mode, markers in _MARKERS.items() if any(values[m] for m in markers)]
    if len(chosen) > 1:
        both = " and ".join(_TITLES[m] for m in chosen)
        raise FatalError(
            SYSTEM,
            f"the SALESFORCE_* variables mix two auth modes ({both})",
            fix=MODES_FIX + "; unset the others",
        )
    if not chosen:
        partial = sorted(name for name, value in values.items() if value)
        detail = f" (only {', '.join(partial)} is set)" if partial else ""
        raise FatalError(
            SYSTEM, f"no complete set of Salesforce credentials{detail}", fix=MODES_FIX
        )
    mode = chosen[0]
    missing = [name for name in REQUIRED[mode] if not values[name]]
    if missing:
        raise FatalError(
            SYSTEM,
            f"the {_TITLES[mode]} mode needs {', '.join(missing)}, which is not set",
            fix=MODES_FIX,
        )
    return mode


def _instance_url(raw: str | None) -> str | None:
    if raw is None:
        return None
    parsed = urlparse(raw)
    if parsed.scheme != "https" or not parsed.netloc:
        raise FatalError(
            SYSTEM,
            "SALESFORCE_INSTANCE_URL is not an https:// URL",
            fix="set SALESFORCE_INSTANCE_URL to the org's URL, e.g. https://acme.my.salesforce.com",
        )
    return f"https://{parsed.netloc}"


def _domain(raw: str) -> str:
    if not _DOMAIN.match(raw) or raw.lower().endswith("salesforce.com"):
        raise FatalError(
            SYSTEM,
            f"SALESFORCE_DOMAIN {raw!r} is not a login domain",
            fix="set SALESFORCE_DOMAIN to login, test (sandboxes) or the My Domain prefix, e.g. "
            "acme.my for https://acme.my.salesforce.com",
        )
    return raw


def _existing_file(name: str, raw: str | None) -> Path | None:
    if raw is None:
        return None
    path = Path(raw).expanduser()
    if not path.is_file():
        raise FatalError(
            SYSTEM,
            f"{name} names no file: {raw}",
            fix=f"set {name} to the path of an existing file",
        )
    return path

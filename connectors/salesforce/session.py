"""The logged-in simple-salesforce client, the HTTP session under it, and every call's path
through retries and a second login.

TLS and proxies: requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE in the environment
override `session.verify` when `trust_env` is on (psf/requests#3829), so SALESFORCE_CA_BUNDLE
would silently lose. The session therefore runs with `trust_env = False` and `verify` set to
SALESFORCE_CA_BUNDLE, else REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, else the default CAs; proxies
still come from the environment through `_Transport`, which picks them per request with
`requests.utils.get_environ_proxies` (HTTPS_PROXY, NO_PROXY, ...), as requests itself would.
The transport also sets the default timeout and reports each request and answer to the
connector (the Bulk API 2.0 call count, the `Sforce-Limit-Info` usage).

Logins: simple-salesforce is always built with a session id and instance (its "direct"
mode), so it never logs in by itself; this module does, counted as `login`:
`SalesforceLogin` by SOAP for `password` (at SALESFORCE_INSTANCE_URL when set: the
instance's own URL, My Domain), the JWT bearer flow for `jwt`. A call answered 401
INVALID_SESSION_ID logs in again once and is sent again; in `session` mode it is a
FatalError saying how to get a fresh session.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

import requests
import structlog
from requests.adapters import HTTPAdapter
from requests.models import PreparedRequest, Response
from requests.utils import get_environ_proxies
from simple_salesforce.api import Salesforce
from simple_salesforce.login import SalesforceLogin

from connectors._pools import close_pools
from connectors.errors import FatalError
from connectors.retry import Retry
from connectors.salesforce.errors import SESSION_FIX, SYSTEM, SessionExpiredError, classify
from connectors.salesforce.settings import SalesforceSettings
from connectors.usage import ApiUsage, UsageSnapshot

T = TypeVar("T")
log = structlog.get_logger()

OnSend = Callable[[PreparedRequest], None]
OnAnswer = Callable[[Response], None]
AFTER_LOGIN_FIX = (
    "Salesforce refused a session it had just issued: check that the integration user has "
    "'API Enabled', no login IP restriction that excludes this host, and that "
    "SALESFORCE_INSTANCE_URL is the org's own URL"
)


class _Transport(HTTPAdapter):
    """Proxies from the environment per request, a default timeout, and two observers."""

    def __init__(self, timeout: float, on_send: OnSend, on_answer: OnAnswer) -> None:
        super().__init__()
        self._timeout = timeout
        self._on_send = on_send
        self._on_answer = on_answer

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float | None, float | None] | None = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        proxies: dict[str, str] | None = None,
    ) -> Response:
        if not proxies:
            proxies = get_environ_proxies(request.url or "")
        self._on_send(request)
        response = super().send(
            request,
            stream=stream,
            timeout=self._timeout if timeout is None else timeout,
            verify=verify,
            cert=cert,
            proxies=proxies,
        )
        self._on_answer(response)
        return response


def http_session(
    settings: SalesforceSettings, on_send: OnSend, on_answer: OnAnswer
) -> requests.Session:
    """A requests session that trusts SALESFORCE_CA_BUNDLE and the environment's proxies."""
    session = requests.Session()
    session.trust_env = False  # else REQUESTS_CA_BUNDLE beats session.verify (requests#3829)
    bundle = (
        settings.ca_bundle
        or os.environ.get("REQUESTS_CA_BUNDLE")
        or os.environ.get("CURL_CA_BUNDLE")
    )
    session.verify = str(bundle) if bundle else True
    transport = _Transport(settings.timeout_seconds, on_send, on_answer)
    session.mount("https://", transport)
    session.mount("http://", transport)
    return session


class _CallsNotCounted(ApiUsage):
    """Passes waits and retries on to `usage` but no calls: the transport counts those."""

    def __init__(self, usage: ApiUsage) -> None:
        super().__init__()
        self._usage = usage

    def call(self, operation: str) -> None:
        return None

    def waited(self, seconds: float) -> None:
        self._usage.waited(seconds)

    def retried(self) -> None:
        self._usage.retried()

    def snapshot(self) -> UsageSnapshot:
        return self._usage.snapshot()


class SalesforceSession:
    """One org connection: logs in when first used and again when the session expires."""

    def __init__(
        self,
        settings: SalesforceSettings,
        retry: Retry,
        *,
        on_send: OnSend,
        on_answer: OnAnswer,
    ) -> None:
        self.settings = settings
        self.http = http_session(settings, on_send, on_answer)
        self._retry = retry
        self._retry_uncounted = replace(retry, usage=_CallsNotCounted(retry.usage))
        self._lock = threading.Lock()
        self._client: Salesforce | None = None

    @property
    def client(self) -> Salesforce:
        """The simple-salesforce client, logging in first if there is none yet."""
        with self._lock:
            if self._client is None:
                self._client = self._log_in()
            return self._client

    def call(self, operation: str, fn: Callable[[Salesforce], T], *, counted: bool = True) -> T:
        """`fn(client)` with retries, counted as `operation` (or, with `counted=False`, by
        the transport: simple-salesforce's bulk2 makes several requests in one `fn`); after
        INVALID_SESSION_ID it logs in again once and calls `fn` with the new client."""
        retry = self._retry if counted else self._retry_uncounted
        client = self.client
        try:
            return retry.call(operation, lambda: fn(client), classify)
        except SessionExpiredError:
            client = self._log_in_again(client)
        try:
            return retry.call(operation, lambda: fn(client), classify)
        except SessionExpiredError as exc:
            raise FatalError(
                SYSTEM, exc.message, fix=AFTER_LOGIN_FIX, status=exc.status, code=exc.code
            ) from exc

    def close(self) -> None:
        """Close the HTTP connections, now (the session may be used again: it reconnects)."""
        for adapter in self.http.adapters.values():
            if isinstance(adapter, HTTPAdapter):
                close_pools(adapter.poolmanager)
        self.http.close()

    def _log_in_again(self, expired: Salesforce) -> Salesforce:
        if not self.settings.can_log_in_again:
            raise SessionExpiredError(
                SYSTEM,
                "SALESFORCE_SESSION_ID has expired or was revoked",
                fix=SESSION_FIX,
                status=401,
                code="INVALID_SESSION_ID",
            )
        with self._lock:
            if self._client is expired:  # another thread may have logged in already
                log.info("salesforce.session_expired", mode=self.settings.mode)
                self._client = self._log_in()
            assert self._client is not None
            return self._client

    def _log_in(self) -> Salesforce:
        s = self.settings
        if s.mode == "session":
            session_id, instance = s.session_id or "", s.instance_host or ""
        else:
            session_id, instance = self._retry.call("login", self._login_call, classify)
            log.info("salesforce.logged_in", mode=s.mode, instance=instance)
        return Salesforce(
            instance=instance, session_id=session_id, session=self.http, version=s.api_version
        )

    def _login_call(self) -> tuple[str, str]:
        s = self.settings
        if s.mode == "jwt":
            return SalesforceLogin(
                username=s.username,
                consumer_key=s.consumer_key,
                privatekey_file=str(s.private_key_file),
                domain=s.domain,
                session=self.http,
            )
        return SalesforceLogin(
            username=s.username,
            password=s.password,
            security_token=s.security_token,
            sf_version=s.api_version,
            domain=s.domain,
            session=self.http,
            scratch_url=s.instance_url,  # log in at the instance's own URL (My Domain)
        )

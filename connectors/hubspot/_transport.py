"""One HTTP call to HubSpot through the official SDK: paced, retried, classified, counted.

The SDK client is built once. Every access like `client.crm.contacts.search_api` builds a
new generated API object with its own `ApiClient` and urllib3 pool, so the ones used are
taken once and kept. urllib3's own retries are switched off (`Retry(total=0)`): the
connector's `Retry` is the only retry layer, so every request sent is counted in `usage`.

Answers are read raw (`_preload_content=False`) and parsed as JSON: records keep HubSpot's
own field names (`createdAt`, `propertiesWithHistory`) and values exactly as sent, and a
207's `errors` arrive intact. Request bodies are plain dicts in HubSpot's JSON names; the
SDK passes dicts through unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
import structlog
import urllib3
from hubspot import HubSpot

from connectors._pools import close_pools
from connectors.errors import ConnectorError, RateLimitedError
from connectors.hubspot.errors import classify
from connectors.hubspot.ratelimit import Pacer
from connectors.hubspot.settings import HubSpotSettings
from connectors.retry import Retry
from connectors.usage import ApiUsage

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class Answer:
    """A 2xx answer: its status, its JSON body and its headers."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(repr=False)


class Transport:
    """The SDK's generated APIs this connector uses, and `call()` around each request."""

    def __init__(
        self, settings: HubSpotSettings, *, usage: ApiUsage, retry: Retry, pacer: Pacer
    ) -> None:
        self.settings = settings
        self.usage = usage
        self.retry = retry
        self.pacer = pacer
        client = HubSpot(
            access_token=settings.access_token,
            host=settings.base_url,
            base_url=settings.base_url,
            retry=urllib3.util.Retry(total=0),
        )
        contacts = client.crm.contacts
        self.search_api: Any = contacts.search_api
        self.batch_api: Any = contacts.batch_api
        self.properties_api: Any = client.crm.properties.core_api
        self.options: dict[str, Any] = {
            "_preload_content": False,
            "_request_timeout": settings.timeout_seconds,
        }

    def get(self, path: str, query: list[tuple[str, Any]]) -> Any:
        """A GET on a path no generated API covers (the legacy e-mail events API).

        Sent through the contacts `ApiClient`: same connection pool, bearer auth, timeout
        and `ApiException`s as every other call (`client.api_request` would use a bare
        `requests.get` without a timeout and print its errors to stdout).
        """
        api_client = self.batch_api.api_client
        return api_client.call_api(
            path,
            "GET",
            query_params=query,
            header_params={"Accept": "application/json"},
            auth_settings=["oauth2"],
            response_types_map={},
            **self.options,
        )

    def call(self, operation: str, send: Callable[[], Any], *, search: bool = False) -> Answer:
        """`send()` (one SDK request made with `self.options`), paced and retried.

        Raises a `ConnectorError`; a rate limit longer than the retry budget (a spent daily
        quota) is raised at once for the caller to decide, not slept through.
        """
        self.pacer.check_daily()

        def attempt() -> Answer:
            waited = self.pacer.acquire(search=search)
            if waited > 0:
                self.usage.waited(waited)
            try:
                response = send()
                try:
                    raw = cast(bytes, response.data)
                finally:
                    response.release_conn()
                body = orjson.loads(raw) if raw else None  # a page of 200 contacts: 3x faster
                return Answer(int(response.status), body, dict(response.headers))
            except Exception as exc:
                error = self.classify(exc)
                if error is None:
                    raise
                if isinstance(error, RateLimitedError):
                    log.warning(
                        "hubspot.rate_limited",
                        operation=operation,
                        policy=error.policy,
                        retry_after=error.retry_after,
                    )
                raise error from exc

        return self.retry.call(operation, attempt, self.classify)

    def classify(self, exc: BaseException) -> ConnectorError | None:
        return classify(exc, now=self.pacer.now(), timezone=self.settings.timezone)

    def close(self) -> None:
        """Close the connection pools and their connections, now."""
        for api in (self.search_api, self.batch_api, self.properties_api):
            close_pools(api.api_client.rest_client.pool_manager)

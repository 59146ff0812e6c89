"""OAuth2 access tokens for Vertex AI, from google-auth credentials.

Where the credentials come from, first match wins: the provider's secret (a service-account JSON
key, usually through `secret_env`), `settings.credentials_file` (a mounted key file), or
Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, workload identity, the metadata
server). A token is fetched once and shared by every adapter built for the same credentials, so
configuration reloads do not fetch again; when it comes within REFRESH_MARGIN_S of its expiry, the
next request starts a refresh in the background and keeps using the current token, so requests
wait for the token endpoint only when there is no valid token at all (the first one).
google-auth's refresh is blocking I/O: it runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import google.auth
import google.auth.exceptions
import urllib3
from google.auth.credentials import Credentials
from google.auth.transport.urllib3 import Request
from google.oauth2 import service_account

from routerx.providers.base import ProviderConfig
from routerx.providers.config_loader import ProviderConfigError
from routerx.providers.errors import FailureKind, UpstreamError

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
# google-auth can log token requests and answers at debug level: access tokens included.
for _name in ("google.auth", "google.oauth2"):
    logging.getLogger(_name).setLevel(logging.INFO)
REFRESH_MARGIN_S = 300.0
Clock = Callable[[], datetime.datetime]


def utc_now() -> datetime.datetime:
    # google-auth keeps `expiry` as a naive UTC datetime.
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


@dataclass
class TokenSource:
    """One set of credentials and the token it currently holds. `make` builds the credentials;
    for Application Default Credentials that can do I/O, so it runs with the first refresh."""

    make: Callable[[], Credentials]
    credentials: Credentials | None = None
    clock: Clock = utc_now
    refreshes: int = 0
    _refreshing: asyncio.Task[None] | None = field(default=None, repr=False)
    _http: Request | None = field(default=None, repr=False)

    def _remaining_s(self) -> float | None:
        if self.credentials is None or not self.credentials.token:
            return None
        expiry: datetime.datetime | None = self.credentials.expiry
        if expiry is None:
            return float("inf")
        return (expiry - self.clock()).total_seconds()

    async def token(self, provider: str) -> str:
        remaining = self._remaining_s()
        if remaining is not None and remaining > 0:
            if remaining <= REFRESH_MARGIN_S:
                self._start_refresh(provider)
            return str(self.credentials.token)  # type: ignore[union-attr]
        task = self._start_refresh(provider)
        await asyncio.shield(task)
        if self.credentials is None or not self.credentials.token:
            raise _no_token(provider)
        return str(self.credentials.token)

    def _start_refresh(self, provider: str) -> asyncio.Task[None]:
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.create_task(self._refresh(provider))
        return self._refreshing

    async def _refresh(self, provider: str) -> None:
        try:
            await asyncio.to_thread(self._refresh_blocking)
        except (
            google.auth.exceptions.GoogleAuthError,
            ProviderConfigError,
            urllib3.exceptions.HTTPError,
            OSError,
        ):
            if (self._remaining_s() or 0) <= 0:
                raise _no_token(provider) from None
            return  # the current token is still good; the next request tries again
        self.refreshes += 1

    def _refresh_blocking(self) -> None:
        if self.credentials is None:
            self.credentials = self.make()
        if self._http is None:
            self._http = Request(urllib3.PoolManager(timeout=10.0, retries=False))  # type: ignore[no-untyped-call]
        self.credentials.refresh(self._http)  # type: ignore[no-untyped-call]


def _no_token(provider: str) -> UpstreamError:
    return UpstreamError(
        f"Provider {provider} could not get a Google access token.", kind=FailureKind.CONNECT
    )


_sources: dict[str, TokenSource] = {}


def _shared(key: str, make: Callable[[], Credentials], *, eager: bool = True) -> TokenSource:
    source = _sources.get(key)
    if source is None:
        source = TokenSource(make, make() if eager else None)
        _sources[key] = source
    return source


def _service_account(info: dict[str, Any], path: str) -> Credentials:
    try:
        credentials: Credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            info, scopes=SCOPES
        )
    except (ValueError, KeyError):
        raise ProviderConfigError(f"{path}: not a usable service-account key") from None
    return credentials


def token_source(config: ProviderConfig) -> TokenSource:
    path = f"providers.{config.name}"
    if config.secret:
        try:
            info = json.loads(config.secret)
        except ValueError:
            info = None
        if not isinstance(info, dict):
            raise ProviderConfigError(f"{path}.secret: expected a service-account JSON key")
        key = hashlib.sha256(config.secret.encode()).hexdigest()
        return _shared(key, lambda: _service_account(info, f"{path}.secret"))
    file_name = config.settings.get("credentials_file")
    if file_name is not None:
        where = f"{path}.settings.credentials_file"
        try:
            with open(file_name, "rb") as key_file:
                raw = key_file.read()
            info = json.loads(raw)
        except (OSError, ValueError):
            raise ProviderConfigError(f"{where}: cannot read a JSON key from it") from None
        if not isinstance(info, dict):
            raise ProviderConfigError(f"{where}: not a service-account JSON key")
        key = hashlib.sha256(raw).hexdigest()
        return _shared(key, lambda: _service_account(info, where))
    return _shared("application-default", _application_default, eager=False)


def _application_default() -> Credentials:
    try:
        credentials, _ = google.auth.default(scopes=SCOPES)
    except google.auth.exceptions.DefaultCredentialsError:
        raise ProviderConfigError(
            "Vertex AI: no secret, no settings.credentials_file and no Application Default "
            "Credentials"
        ) from None
    return credentials

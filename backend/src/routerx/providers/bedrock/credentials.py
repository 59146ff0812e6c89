"""AWS credentials for a Bedrock provider, and SigV4 signing with botocore's signer.

Where the keys come from, first match wins:
1. `settings.credentials_env`: names of environment variables holding the access key id, the
   secret access key and (optionally) the session token;
2. the provider's secret (`secret_env` or the encrypted secret) as a JSON object
   `{"access_key_id": ..., "secret_access_key": ..., "session_token": ...}`;
3. the standard AWS chain (environment, shared config and credentials files, SSO, web identity,
   container and instance roles), resolved once per process and refreshed by botocore when its
   temporary keys near expiry. Resolving and refreshing can do network I/O, so both run in a
   worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Mapping
from typing import Any

import msgspec
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, ReadOnlyCredentials, RefreshableCredentials
from botocore.session import Session
from yarl import URL

from routerx.providers.base import ProviderConfig
from routerx.providers.config_loader import ProviderConfigError
from routerx.providers.errors import FailureKind, UpstreamError

SERVICE = "bedrock"
# botocore's signer logs each canonical request at debug level, session token included.
logging.getLogger("botocore.auth").setLevel(logging.INFO)
ENV_KEYS = ("access_key_id", "secret_access_key", "session_token")


class StaticKeys(msgspec.Struct, forbid_unknown_fields=True):
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None


class AwsCredentialSource:
    """Frozen credentials for one provider; the default chain is shared by every provider."""

    def __init__(self, static: ReadOnlyCredentials | None) -> None:
        self._static = static

    async def current(self, provider: str) -> ReadOnlyCredentials:
        if self._static is not None:
            return self._static
        credentials = await _default_chain()
        if credentials is None:
            raise UpstreamError(
                f"No AWS credentials found for provider {provider}.", kind=FailureKind.CONNECT
            )
        if isinstance(credentials, RefreshableCredentials) and credentials.refresh_needed():
            frozen: ReadOnlyCredentials = await asyncio.to_thread(
                credentials.get_frozen_credentials
            )
            return frozen
        return credentials.get_frozen_credentials()


_chain_lock = threading.Lock()
_chain: list[Credentials | None] = []


def _resolve_chain() -> Credentials | None:
    with _chain_lock:
        if not _chain:
            _chain.append(Session().get_credentials())
        return _chain[0]


async def _default_chain() -> Credentials | None:
    if _chain:
        return _chain[0]
    return await asyncio.to_thread(_resolve_chain)


def credential_source(
    config: ProviderConfig, environ: Mapping[str, str] = os.environ
) -> AwsCredentialSource:
    path = f"providers.{config.name}"
    names = config.settings.get("credentials_env")
    if names is not None:
        return AwsCredentialSource(_from_environment(names, environ, f"{path}.settings"))
    if config.secret:
        try:
            keys = msgspec.json.decode(config.secret, type=StaticKeys)
        except (msgspec.DecodeError, msgspec.ValidationError):
            raise ProviderConfigError(
                f"{path}.secret: expected a JSON object with access_key_id, secret_access_key "
                "and optionally session_token"
            ) from None
        return AwsCredentialSource(
            ReadOnlyCredentials(keys.access_key_id, keys.secret_access_key, keys.session_token)
        )
    return AwsCredentialSource(None)


def _from_environment(names: Any, environ: Mapping[str, str], path: str) -> ReadOnlyCredentials:
    where = f"{path}.credentials_env"
    if not isinstance(names, dict) or set(names) - set(ENV_KEYS):
        raise ProviderConfigError(f"{where}: expected an object with keys {', '.join(ENV_KEYS)}")
    values: dict[str, str | None] = {}
    for key in ENV_KEYS:
        name = names.get(key)
        if name is None and key == "session_token":
            values[key] = None
            continue
        if not isinstance(name, str) or not name:
            raise ProviderConfigError(f"{where}.{key}: must name an environment variable")
        value = environ.get(name)
        if not value:
            raise ProviderConfigError(f"{where}.{key}: environment variable {name} is not set")
        values[key] = value
    return ReadOnlyCredentials(
        values["access_key_id"], values["secret_access_key"], values["session_token"]
    )


def signed_headers(
    credentials: ReadOnlyCredentials, region: str, url: URL, body: bytes, accept: str
) -> dict[str, str]:
    """The headers of a SigV4-signed POST of `body` to `url` (already percent-encoded)."""
    request = AWSRequest(
        method="POST",
        url=str(url),
        data=body,
        headers={"content-type": "application/json", "accept": accept},
    )
    SigV4Auth(credentials, SERVICE, region).add_auth(request)
    return dict(request.headers.items())

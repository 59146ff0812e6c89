"""Provider records (storage/models/config.py) to `ProviderConfig`, with errors that name the
config path, e.g. `providers.my-openai.settings.timeouts.connect_s: must be a positive number`.

The secret is decrypted here (or read from the environment variable the record names) and then
lives only in `ProviderConfig.secret`, which is kept out of repr; no error message carries it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any, Protocol

from yarl import URL

from routerx.auth.secrets import SecretDecryptError, decrypt_secret
from routerx.providers.base import (
    CAPABILITIES,
    EMBEDDING_TYPES,
    UNSUPPORTED_CAPABILITIES,
    ProviderConfig,
    Timeouts,
)
from routerx.settings import Settings

TIMEOUT_KEYS = ("connect_s", "first_token_s", "idle_s", "total_s")


class ProviderConfigError(ValueError):
    """A provider's configuration RouterX cannot use; the message starts with its path."""


class ProviderRecord(Protocol):
    """What the loader reads off a stored provider (the Tortoise model has these fields)."""

    id: int
    name: str
    type: str
    base_url: str
    model_map: Any
    capabilities: Any
    enabled: bool
    settings: Any
    secret_ciphertext: str | None
    secret_env: str | None


def provider_config_from_record(
    record: ProviderRecord,
    settings: Settings,
    environ: Mapping[str, str] = os.environ,
) -> ProviderConfig:
    path = f"providers.{record.name}"
    provider_settings = _object(record.settings, f"{path}.settings")
    return ProviderConfig(
        id=record.id,
        name=record.name,
        type=record.type,
        base_url=_base_url(record.base_url, f"{path}.base_url"),
        model_map=_model_map(record.model_map, f"{path}.model_map"),
        capabilities=_capabilities(record.capabilities, record.type, f"{path}.capabilities")
        - UNSUPPORTED_CAPABILITIES.get(record.type, frozenset()),
        enabled=bool(record.enabled),
        settings=provider_settings,
        timeouts=timeouts_from_settings(provider_settings, settings, f"{path}.settings"),
        secret=_secret(record, settings, environ, path),
    )


def timeouts_from_settings(
    provider_settings: Mapping[str, Any], settings: Settings, path: str
) -> Timeouts:
    """`settings.timeouts` of a provider; total_s defaults to UPSTREAM_TIMEOUT_S."""
    raw = _object(provider_settings.get("timeouts"), f"{path}.timeouts")
    unknown = sorted(set(raw) - set(TIMEOUT_KEYS))
    if unknown:
        raise ProviderConfigError(
            f"{path}.timeouts.{unknown[0]}: unknown key (expected one of {', '.join(TIMEOUT_KEYS)})"
        )
    values: dict[str, float] = {"total_s": settings.upstream_timeout_s}
    for key, value in raw.items():
        values[key] = _positive_number(value, f"{path}.timeouts.{key}")
    return Timeouts(**values)


def _object(value: Any, path: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProviderConfigError(f"{path}: must be an object")
    return value


def _positive_number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProviderConfigError(f"{path}: must be a positive number")
    if not math.isfinite(value) or value <= 0:
        raise ProviderConfigError(f"{path}: must be a positive number")
    return float(value)


def _base_url(value: Any, path: str) -> str:
    if not value:
        return ""
    if not isinstance(value, str):
        raise ProviderConfigError(f"{path}: must be a string")
    try:
        url = URL(value)
    except ValueError:
        raise ProviderConfigError(f"{path}: not a valid URL") from None
    if url.scheme not in {"http", "https"} or not url.host:
        raise ProviderConfigError(f"{path}: must be an http(s) URL")
    if url.user or url.password or url.query_string or url.fragment:
        raise ProviderConfigError(f"{path}: must not carry credentials, a query or a fragment")
    return value.rstrip("/")


def _model_map(value: Any, path: str) -> dict[str, str]:
    mapping = _object(value, path)
    for key, target in mapping.items():
        if not isinstance(target, str) or not target:
            raise ProviderConfigError(f"{path}.{key}: must be a non-empty string")
    return mapping


def _capabilities(value: Any, provider_type: str, path: str) -> frozenset[str]:
    if not value:
        return frozenset({"text"})
    if not isinstance(value, list | tuple | set | frozenset):
        raise ProviderConfigError(f"{path}: must be a list")
    for item in value:
        if item not in CAPABILITIES:
            raise ProviderConfigError(
                f"{path}: unknown capability {item!r} (expected {', '.join(CAPABILITIES)})"
            )
    if "embeddings" in value and provider_type not in EMBEDDING_TYPES:
        raise ProviderConfigError(f"{path}: providers of type {provider_type} have no embeddings")
    return frozenset(value)


# RouterX's own credentials: never sent upstream, whatever a provider row says.
ROUTERX_SETTING_NAMES = frozenset({"JWT_SECRET", "DATABASE_URL", "REDIS_URL"})


def _is_routerx_setting(name: str) -> bool:
    if name in ROUTERX_SETTING_NAMES:
        return True
    return name.startswith("ROUTERX_") and not name.startswith("ROUTERX_PROVIDER_")


def _secret(
    record: ProviderRecord, settings: Settings, environ: Mapping[str, str], path: str
) -> str | None:
    if record.secret_ciphertext:
        try:
            return decrypt_secret(record.secret_ciphertext, settings)
        except SecretDecryptError:
            raise ProviderConfigError(
                f"{path}.secret_ciphertext: does not decrypt with the configured ROUTERX_SECRET_KEY"
            ) from None
    if not record.secret_env:
        return None
    if _is_routerx_setting(record.secret_env):
        raise ProviderConfigError(
            f"{path}.secret_env: {record.secret_env} is a RouterX setting, not a provider key"
        )
    secret = environ.get(record.secret_env)
    if not secret and settings.enable_real_calls:
        # With real calls off the mock answers and needs no key, so a demo may name an unset one.
        raise ProviderConfigError(
            f"{path}.secret_env: environment variable {record.secret_env} is not set"
        )
    return secret or None

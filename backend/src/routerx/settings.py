"""Every setting RouterX reads, read once from the environment (and `.env` if present)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from dotenv import dotenv_values

EXAMPLE_JWT_SECRET = "change-me-in-production-please"  # noqa: S105 - the documented example value
DEFAULT_SQLITE_URL = "sqlite://./data/routerx.sqlite3"
DEFAULT_HOST = "127.0.0.1"
SESSION_COOKIE_SECURE_MODES = frozenset({"auto", "true", "false"})


class SettingsError(ValueError):
    """A setting has a value RouterX cannot use; the message names the variable."""


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _int(name: str, raw: str, minimum: int = 0) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be >= {minimum}, got {value}")
    return value


def _float(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None


@dataclass(frozen=True, slots=True)
class Settings:
    env: str = "development"
    database_url: str = DEFAULT_SQLITE_URL
    redis_url: str = ""
    login_throttle_key_prefix: str = "routerx:login-failures"
    jwt_secret: str = EXAMPLE_JWT_SECRET
    secret_key: str = ""
    internal_token: str = ""
    enable_real_calls: bool = False
    gateway_host: str = DEFAULT_HOST
    gateway_port: int = 8080
    gateway_workers: int = 1
    internal_host: str = DEFAULT_HOST
    internal_port: int = 0  # 0: /internal/* is served on the gateway's own listener
    admin_host: str = DEFAULT_HOST
    admin_port: int = 8081
    session_max_lifetime_s: int = 12 * 3600
    session_cookie_secure: str = "auto"
    provider_secret_env_allowlist: frozenset[str] = frozenset()
    gateway_internal_url: str = "http://127.0.0.1:8080"
    trusted_proxies: frozenset[str] = frozenset({"127.0.0.1", "::1"})
    max_body_bytes: int = 50 * 1024 * 1024
    body_read_timeout_s: float = 30.0
    max_inflight_body_bytes: int = 256 * 1024 * 1024
    max_connections: int = 1000
    header_read_timeout_s: float = 10.0
    h2c_enabled: bool = False
    log_level: str = "INFO"
    config_poll_interval_s: float = 1.0
    log_queue_size: int = 10_000
    log_batch_size: int = 200
    log_flush_interval_s: float = 0.5
    upstream_timeout_s: float = 60.0
    request_deadline_s: float = 60.0
    stream_max_rescues: int = 2
    otel_endpoint: str = ""
    # Configuration as code: a file the admin service applies at start and on SIGHUP.
    config_file: str = ""
    config_file_allow_api_edits: bool = False
    # Spend: budgets shared through redis_url under this prefix; alerts; the cost header.
    spend_redis_prefix: str = "routerx:spend"
    spend_webhook_url: str = ""
    spend_webhook_allow_networks: tuple[str, ...] = ()
    spend_sync_interval_s: float = 0.1
    spend_persist_interval_s: float = 1.0
    budget_default_output_tokens: int = 4096
    cost_header: bool = False

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _environment(env_file: Path | None) -> dict[str, str]:
    merged: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update(os.environ)
    return merged


def load_settings(env_file: Path | None = Path(".env")) -> Settings:
    """Build Settings from the process environment, which wins over `.env`."""
    env = _environment(env_file)

    def get(name: str, default: str) -> str:
        return env.get(name, default)

    host = get("HOST", DEFAULT_HOST) or DEFAULT_HOST
    gateway_host = get("GATEWAY_HOST", host) or host
    cookie_secure = get("SESSION_COOKIE_SECURE", "auto").strip().lower() or "auto"
    if cookie_secure not in SESSION_COOKIE_SECURE_MODES:
        raise SettingsError(
            f"SESSION_COOKIE_SECURE must be auto, true or false, got {cookie_secure!r}"
        )
    cpu_count = os.cpu_count() or 1
    redis_url = get("REDIS_URL", "")
    default_workers = str(cpu_count) if redis_url else "1"
    return Settings(
        env=get("ROUTERX_ENV", "development"),
        database_url=get("DATABASE_URL", DEFAULT_SQLITE_URL) or DEFAULT_SQLITE_URL,
        redis_url=redis_url,
        login_throttle_key_prefix=(
            get("LOGIN_THROTTLE_KEY_PREFIX", "") or "routerx:login-failures"
        ),
        jwt_secret=get("JWT_SECRET", EXAMPLE_JWT_SECRET),
        secret_key=get("ROUTERX_SECRET_KEY", ""),
        internal_token=get("ROUTERX_INTERNAL_TOKEN", ""),
        enable_real_calls=_bool("ENABLE_REAL_CALLS", get("ENABLE_REAL_CALLS", "false")),
        gateway_host=gateway_host,
        gateway_port=_int("GATEWAY_PORT", get("GATEWAY_PORT", "8080"), 1),
        gateway_workers=_int("GATEWAY_WORKERS", get("GATEWAY_WORKERS", default_workers), 1),
        internal_host=get("INTERNAL_HOST", gateway_host) or gateway_host,
        internal_port=_int("INTERNAL_PORT", get("INTERNAL_PORT", "0") or "0"),
        admin_host=get("ADMIN_HOST", host) or host,
        admin_port=_int("ADMIN_PORT", get("ADMIN_PORT", "8081"), 1),
        session_max_lifetime_s=_int(
            "SESSION_MAX_LIFETIME_S", get("SESSION_MAX_LIFETIME_S", str(12 * 3600)), 60
        ),
        session_cookie_secure=cookie_secure,
        provider_secret_env_allowlist=frozenset(
            part.strip()
            for part in get("PROVIDER_SECRET_ENV_ALLOWLIST", "").split(",")
            if part.strip()
        ),
        trusted_proxies=frozenset(
            part.strip()
            for part in get("TRUSTED_PROXIES", "127.0.0.1,::1").split(",")
            if part.strip()
        ),
        gateway_internal_url=(
            get("GATEWAY_INTERNAL_URL", "http://127.0.0.1:8080") or "http://127.0.0.1:8080"
        ).rstrip("/"),
        max_body_bytes=_int("MAX_BODY_BYTES", get("MAX_BODY_BYTES", str(50 * 1024 * 1024)), 1024),
        body_read_timeout_s=_float("BODY_READ_TIMEOUT_S", get("BODY_READ_TIMEOUT_S", "30")),
        max_inflight_body_bytes=_int(
            "MAX_INFLIGHT_BODY_BYTES", get("MAX_INFLIGHT_BODY_BYTES", str(256 * 1024 * 1024)), 1024
        ),
        max_connections=_int("MAX_CONNECTIONS", get("MAX_CONNECTIONS", "1000"), 1),
        header_read_timeout_s=_float("HEADER_READ_TIMEOUT_S", get("HEADER_READ_TIMEOUT_S", "10")),
        h2c_enabled=_bool("H2C_ENABLED", get("H2C_ENABLED", "false")),
        log_level=get("LOG_LEVEL", "INFO").upper(),
        config_poll_interval_s=_float(
            "CONFIG_POLL_INTERVAL_S", get("CONFIG_POLL_INTERVAL_S", "1.0")
        ),
        log_queue_size=_int("REQUEST_LOG_QUEUE_SIZE", get("REQUEST_LOG_QUEUE_SIZE", "10000"), 1),
        log_batch_size=_int("REQUEST_LOG_BATCH_SIZE", get("REQUEST_LOG_BATCH_SIZE", "200"), 1),
        log_flush_interval_s=_float(
            "REQUEST_LOG_FLUSH_INTERVAL_S", get("REQUEST_LOG_FLUSH_INTERVAL_S", "0.5")
        ),
        upstream_timeout_s=_float("UPSTREAM_TIMEOUT_S", get("UPSTREAM_TIMEOUT_S", "60")),
        request_deadline_s=_float("REQUEST_DEADLINE_S", get("REQUEST_DEADLINE_S", "60")),
        stream_max_rescues=_int("STREAM_MAX_RESCUES", get("STREAM_MAX_RESCUES", "2"), 0),
        otel_endpoint=get("OTEL_EXPORTER_OTLP_ENDPOINT", ""),
        config_file=get("CONFIG_FILE", "").strip(),
        config_file_allow_api_edits=_bool(
            "CONFIG_FILE_ALLOW_API_EDITS", get("CONFIG_FILE_ALLOW_API_EDITS", "false")
        ),
        spend_redis_prefix=get("SPEND_REDIS_PREFIX", "routerx:spend") or "routerx:spend",
        spend_webhook_url=get("SPEND_WEBHOOK_URL", ""),
        spend_webhook_allow_networks=tuple(
            part.strip()
            for part in get("SPEND_WEBHOOK_ALLOW_NETWORKS", "").split(",")
            if part.strip()
        ),
        spend_sync_interval_s=_float("SPEND_SYNC_INTERVAL_S", get("SPEND_SYNC_INTERVAL_S", "0.1")),
        spend_persist_interval_s=_float(
            "SPEND_PERSIST_INTERVAL_S", get("SPEND_PERSIST_INTERVAL_S", "1.0")
        ),
        budget_default_output_tokens=_int(
            "BUDGET_DEFAULT_OUTPUT_TOKENS", get("BUDGET_DEFAULT_OUTPUT_TOKENS", "4096"), 1
        ),
        cost_header=_bool("COST_HEADER", get("COST_HEADER", "false")),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()

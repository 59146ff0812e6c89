"""A provider's `settings`: timeouts, circuit-breaker tuning, mock fault knobs, API versions, and
whether OpenAI-family streams ask for usage (`stream_include_usage`).

Every knob is optional: one left out means "the gateway's default", so the admin API never
copies the gateway's defaults and cannot drift from them. The sections mirror what the gateway
reads: providers.base.Timeouts, routing.breaker.BreakerConfig (whose own cross-field checks run
here too) and providers.mock.MockFaults. Reading tolerates keys this version does not know
(written by a newer version or by hand) by leaving them out of the view.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

import msgspec

from routerx.routing.breaker import BreakerConfig

log = logging.getLogger("routerx.admin")

Seconds = Annotated[float, msgspec.Meta(gt=0, le=86_400)]
Count = Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
Rate = Annotated[float, msgspec.Meta(ge=0, le=1)]
Millis = Annotated[int, msgspec.Meta(ge=0, le=600_000)]
ErrorStatus = Annotated[int, msgspec.Meta(ge=400, le=599)]
ChunkCount = Annotated[int, msgspec.Meta(ge=0, le=10_000)]
ApiVersion = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]


class Knobs(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    pass


class TimeoutSettings(Knobs, kw_only=True):
    connect_s: Seconds | None = None
    first_token_s: Seconds | None = None
    idle_s: Seconds | None = None
    total_s: Seconds | None = None


class BreakerSettings(Knobs, kw_only=True):
    window_s: Annotated[int, msgspec.Meta(ge=1, le=86_400)] | None = None
    min_calls: Count | None = None
    failure_rate: Annotated[float, msgspec.Meta(gt=0, le=1)] | None = None
    consecutive_failures: Count | None = None
    open_s: Seconds | None = None
    max_open_s: Seconds | None = None
    jitter: Annotated[float, msgspec.Meta(ge=0, lt=1)] | None = None
    half_open_probes: Count | None = None
    steady_reopens: Annotated[int, msgspec.Meta(ge=0, le=1_000)] | None = None
    max_retry_after_s: Annotated[float, msgspec.Meta(ge=0, le=86_400)] | None = None


class MockFaultSettings(Knobs, kw_only=True):
    """The knobs of routerx.providers.mock.MockFaults, with their valid ranges."""

    latency_ms: Millis | None = None
    error_status: ErrorStatus | None = None
    failure_rate: Rate | None = None
    retry_after_s: Annotated[float, msgspec.Meta(ge=0, le=86_400)] | None = None
    hang: bool | None = None
    stream_error_after_chunks: ChunkCount | None = None
    chunk_delay_ms: Millis | None = None


EnvName = Annotated[str, msgspec.Meta(max_length=100, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
AwsRegion = Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")]
GcpName = Annotated[
    str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9-]*$")
]
FilePath = Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=r"^/[^\x00-\x1f]*$")]
FieldName = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[a-z_]+$")]


class AwsCredentialsEnv(Knobs, kw_only=True):
    """Bedrock: the environment variables that hold the key pair (and session token)."""

    access_key_id: EnvName
    secret_access_key: EnvName
    session_token: EnvName | None = None


class HealthCheckSettings(Knobs, kw_only=True):
    """Active health checks (routing.health): off unless `enabled`."""

    enabled: bool | None = None
    interval_s: Annotated[float, msgspec.Meta(ge=1, le=86_400)] | None = None
    jitter: Annotated[float, msgspec.Meta(ge=0, lt=1)] | None = None
    probe: Literal["models", "completion"] | None = None
    model: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None


class ProviderSettings(Knobs, kw_only=True):
    timeouts: TimeoutSettings | None = None
    breaker: BreakerSettings | None = None
    mock: MockFaultSettings | None = None
    api_version: ApiVersion | None = None
    anthropic_version: ApiVersion | None = None
    # OpenAI-family streams: false for servers that reject `stream_options.include_usage`.
    stream_include_usage: bool | None = None
    # Whether the upstream continues a trailing assistant message (mid-stream rescue); unset:
    # the type's default (gateway.rescue.PREFILL_TYPES).
    assistant_prefill: bool | None = None
    # Bedrock
    region: AwsRegion | None = None
    credentials_env: AwsCredentialsEnv | None = None
    # Vertex AI
    project: GcpName | None = None
    location: GcpName | None = None
    credentials_file: FilePath | None = None
    # OpenAI-compatible presets (providers.presets): the preset's name and the request fields
    # the host refuses, dropped before sending.
    preset: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9_]+$")] | None = None
    drop_fields: Annotated[list[FieldName], msgspec.Meta(max_length=32)] | None = None
    health_check: HealthCheckSettings | None = None
    # Context windows by upstream model, where the model catalog has none or another figure.
    context_windows: (
        Annotated[
            dict[
                Annotated[str, msgspec.Meta(min_length=1, max_length=200)],
                Annotated[int, msgspec.Meta(ge=1, le=100_000_000)],
            ],
            msgspec.Meta(max_length=500),
        ]
        | None
    ) = None


SECTIONS: dict[str, type[Knobs]] = {
    "timeouts": TimeoutSettings,
    "breaker": BreakerSettings,
    "mock": MockFaultSettings,
    "credentials_env": AwsCredentialsEnv,
    "health_check": HealthCheckSettings,
}


def breaker_problem(breaker: BreakerSettings) -> str | None:
    """The gateway's own cross-field check (e.g. open_s <= max_open_s) on the given knobs."""
    try:
        BreakerConfig(**msgspec.to_builtins(breaker))
    except ValueError as exc:
        return str(exc)
    return None


def _known_keys(stored: dict[str, Any]) -> dict[str, Any]:
    known: dict[str, Any] = {}
    for key, value in stored.items():
        section = SECTIONS.get(key)
        if section is not None and isinstance(value, dict):
            known[key] = {k: v for k, v in value.items() if k in section.__struct_fields__}
        elif key in ProviderSettings.__struct_fields__:
            known[key] = value
    return known


def read_settings(provider_name: str, stored: Any) -> ProviderSettings:
    if not isinstance(stored, dict):
        return ProviderSettings()
    try:
        return msgspec.convert(_known_keys(stored), ProviderSettings)
    except msgspec.ValidationError as exc:
        log.warning(
            "provider %s has settings out of range (%s); showing defaults", provider_name, exc
        )
        return ProviderSettings()

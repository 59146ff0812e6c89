"""Active health checks: a cheap probe per provider on an interval, off unless the provider's
`settings.health_check.enabled` is true.

A probe is either a one-token completion (`probe: completion`, any provider type; the model is
`health_check.model` or the provider's first model-map target) or a model listing
(`probe: models`: `GET {base_url}/models`, OpenAI and OpenAI-compatible types). It goes through
the provider's breaker like a request: it is admitted (an open breaker that has not cooled down
is left alone; a half-open one takes the probe as one of its trial calls) and its outcome is
recorded, so an open breaker can close on probes alone, without spending user requests, and a
failing provider can open before users meet it. Probes run `interval_s` apart, each gap spread
by +-`jitter` (the first one at a random point of the first interval), so that workers and
providers do not probe in lockstep. Every probe is counted (`routerx_health_probes_total`) and,
for completions, its tokens are counted too and written to the request log (API `health_check`,
no tenant) so that its cost is accounted like any other call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from routerx.core.log_row import Attempt, LogRow
from routerx.providers.base import Call, Provider, ProviderConfig
from routerx.providers.errors import FailureKind, UpstreamError
from routerx.routing.breaker import Outcome
from routerx.routing.breaker_gate import ProviderBreakers
from routerx.routing.rules import target_breaker_key
from routerx.telemetry import metrics
from routerx.wire.openai import ChatRequest, Usage

log = logging.getLogger("routerx.health")
MODELS_PROBE_TYPES = frozenset({"openai", "openai_compatible"})
PROBE_TIMEOUT_S = 30.0
HEALTH_CHECK_API = "health_check"
Sleep = Callable[[float], Awaitable[None]]


class HealthCheckConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    enabled: bool = False
    interval_s: float = 30.0
    jitter: float = 0.2
    probe: str = "completion"
    model: str | None = None

    def __post_init__(self) -> None:
        if not self.interval_s > 0:
            raise ValueError("interval_s must be positive")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")
        if self.probe not in {"completion", "models"}:
            raise ValueError("probe must be completion or models")


def health_config_of(config: ProviderConfig) -> HealthCheckConfig | None:
    """The provider's checks when enabled and usable; a bad section is logged and ignored."""
    raw = config.settings.get("health_check")
    if not raw:
        return None
    try:
        checks = msgspec.convert(raw, HealthCheckConfig)
    except (msgspec.ValidationError, ValueError) as error:
        log.error("providers.%s.settings.health_check: %s; no health checks", config.name, error)
        return None
    if not checks.enabled:
        return None
    if checks.probe == "models" and config.type not in MODELS_PROBE_TYPES:
        log.error(
            "providers.%s.settings.health_check.probe: models needs type %s; no health checks",
            config.name,
            " or ".join(sorted(MODELS_PROBE_TYPES)),
        )
        return None
    if checks.probe == "completion" and probe_model(config, checks) is None:
        log.error(
            "providers.%s.settings.health_check.model: needed (the model map is empty)",
            config.name,
        )
        return None
    return checks


def probe_model(config: ProviderConfig, checks: HealthCheckConfig) -> str | None:
    if checks.model:
        return checks.model
    return next((target for public, target in config.model_map.items() if public != "*"), None)


def breaker_key_of(config: ProviderConfig, checks: HealthCheckConfig) -> str:
    """A completion probe feeds the breaker of the target it asks (provider and model); a
    model-list probe, which asks no model, the provider's own."""
    model = probe_model(config, checks) if checks.probe == "completion" else None
    return target_breaker_key(config.name, model)


def jittered(interval_s: float, jitter: float, rng: random.Random) -> float:
    return interval_s * (1 + jitter * (2 * rng.random() - 1))


@dataclass(frozen=True, slots=True)
class ProbeResult:
    outcome: str  # success | failure | skipped_open
    usage: Usage | None = None


class HealthChecker:
    def __init__(
        self,
        breakers: ProviderBreakers,
        submit_row: Callable[[LogRow], None],
        *,
        price: Callable[[LogRow, Usage], None] | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.breakers = breakers
        self.submit_row = submit_row
        self.price = price
        self.sleep = sleep
        self.rng = rng or random.Random()
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def configure(self, providers: Mapping[str, Provider]) -> None:
        """(Re)start the checks for this configuration's providers; needs the running loop."""
        for task in self._tasks.values():
            task.cancel()
        self._tasks = {}
        for name, provider in providers.items():
            checks = health_config_of(provider.config)
            if checks is not None:
                self._tasks[name] = asyncio.create_task(
                    self._loop(provider, checks), name=f"health-check-{name}"
                )

    @property
    def checked(self) -> list[str]:
        return sorted(self._tasks)

    async def stop(self) -> None:
        tasks, self._tasks = list(self._tasks.values()), {}
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self, provider: Provider, checks: HealthCheckConfig) -> None:
        await self.sleep(checks.interval_s * self.rng.random())
        while True:
            try:
                await self.probe_once(provider, checks)
            except Exception:  # a probe must never end the checks
                log.exception("health check of %s failed unexpectedly", provider.config.name)
            await self.sleep(jittered(checks.interval_s, checks.jitter, self.rng))

    async def probe_once(self, provider: Provider, checks: HealthCheckConfig) -> ProbeResult:
        config = provider.config
        key = breaker_key_of(config, checks)
        admission = self.breakers.admit(config, key)
        if not admission.allowed:
            metrics.HEALTH_PROBES.labels(config.name, "skipped_open").inc()
            return ProbeResult("skipped_open")
        started = time.perf_counter()
        usage: Usage | None = None
        error: UpstreamError | None = None
        try:
            async with asyncio.timeout(min(PROBE_TIMEOUT_S, config.timeouts.total_s)):
                usage = await self._probe(provider, checks)
        except TimeoutError:
            error = UpstreamError(
                f"Health check of {config.name} timed out.", kind=FailureKind.TIMEOUT
            )
        except UpstreamError as failed:
            error = failed
        except BaseException:
            self.breakers.record(config, admission, Outcome.NEUTRAL, key=key)
            raise
        if error is None:
            self.breakers.record(config, admission, Outcome.SUCCESS, key=key)
        else:
            outcome = Outcome.FAILURE if error.is_failure else Outcome.NEUTRAL
            self.breakers.record(config, admission, outcome, error.retry_after_s, key=key)
        result = ProbeResult("success" if error is None else "failure", usage)
        metrics.HEALTH_PROBES.labels(config.name, result.outcome).inc()
        self._account(config, checks, result, error, admission.state.value, started)
        return result

    async def _probe(self, provider: Provider, checks: HealthCheckConfig) -> Usage | None:
        if checks.probe == "models":
            await self._list_models(provider)
            return None
        model = probe_model(provider.config, checks) or ""
        raw: dict[str, Any] = {
            "model": model,
            "messages": [{"role": "user", "content": "ping"}],
            "max_tokens": 1,
        }
        request = msgspec.convert(raw, ChatRequest)
        completion = await provider.complete(
            Call(request, raw, model, f"probe-{secrets.token_hex(8)}")
        )
        return completion.usage

    async def _list_models(self, provider: Provider) -> None:
        base_url = getattr(provider, "base_url", None)
        headers = getattr(provider, "headers", None)
        http = getattr(provider, "http", None)
        if not isinstance(base_url, str) or not isinstance(headers, dict) or http is None:
            raise UpstreamError(f"Provider {provider.config.name} cannot list models.")
        await http.get(provider.config, f"{base_url}/models", headers)

    def _account(
        self,
        config: ProviderConfig,
        checks: HealthCheckConfig,
        result: ProbeResult,
        error: UpstreamError | None,
        breaker_state: str,
        started: float,
    ) -> None:
        elapsed_ms = round((time.perf_counter() - started) * 1000, 3)
        model = probe_model(config, checks) or "" if checks.probe == "completion" else "models"
        usage = result.usage
        status = 200 if error is None else (error.client_status if error.status else 502)
        row = LogRow(
            request_id=f"probe-{secrets.token_hex(8)}",
            created_at=time.time(),
            status=status,
            api=HEALTH_CHECK_API,
            model=model,
            provider=config.name,
            upstream_model=model,
            attempts=[
                Attempt(
                    config.name,
                    model,
                    result.outcome,
                    elapsed_ms,
                    error.status if error is not None else 200,
                    breaker_state,
                    None if error is None else error.kind.value,
                )
            ],
            error_type=None if error is None else "health_check_failed",
            latency_ms=elapsed_ms,
        )
        if usage is not None:
            row.prompt_tokens = usage.prompt_tokens
            row.completion_tokens = usage.completion_tokens
            row.total_tokens = usage.total_tokens
            metrics.HEALTH_PROBE_TOKENS.labels(config.name, "prompt").inc(usage.prompt_tokens)
            metrics.HEALTH_PROBE_TOKENS.labels(config.name, "completion").inc(
                usage.completion_tokens
            )
            if self.price is not None:
                self.price(row, usage)
        else:
            row.cost_picousd = 0  # a models listing, or a probe the upstream did not answer
        self.submit_row(row)

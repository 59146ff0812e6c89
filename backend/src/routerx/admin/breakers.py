"""Live circuit-breaker state, as the running gateway holds it, for every configured provider.

When the gateway cannot be asked, the providers are still listed, with state `unknown` and
`gateway_reachable: false`, so the console can say so instead of failing.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from routerx.admin import audit
from routerx.admin.endpoint import Call
from routerx.admin.errors import gateway_unavailable, not_found
from routerx.admin.gateway_client import GatewayUnavailable
from routerx.storage.models import Provider
from routerx.wire.internal import GatewayBreaker

BreakerState = Literal["closed", "open", "half_open", "unknown"]


class TargetBreakerView(msgspec.Struct):
    """One target's breaker: the provider with one upstream model (`*`: provider-wide)."""

    model: str
    state: BreakerState
    calls: int
    failures: int
    consecutive_failures: int
    open_until: float | None
    reopen_count: int


class BreakerView(msgspec.Struct):
    """A provider's breakers: the worst of its targets' in the top-level fields."""

    provider: str
    configured: bool
    enabled: bool
    state: BreakerState
    calls: int
    failures: int
    consecutive_failures: int
    open_until: float | None
    reopen_count: int
    targets: list[TargetBreakerView] = msgspec.field(default_factory=list)


class BreakerReport(msgspec.Struct):
    gateway_reachable: bool
    gateway_error: str | None
    breakers: list[BreakerView]


class BreakerReset(msgspec.Struct):
    provider: str
    reset: bool
    detail: str


def _view(
    name: str, enabled: bool, configured: bool, live: GatewayBreaker | None, reachable: bool
) -> BreakerView:
    if live is None:
        # A provider the gateway has not called yet has a fresh, closed breaker.
        state: BreakerState = "closed" if reachable else "unknown"
        return BreakerView(name, configured, enabled, state, 0, 0, 0, None, 0)
    return BreakerView(
        name,
        configured,
        enabled,
        live.state,
        live.calls,
        live.failures,
        live.consecutive_failures,
        live.open_until,
        live.reopen_count,
        [
            TargetBreakerView(
                model,
                target.state,
                target.calls,
                target.failures,
                target.consecutive_failures,
                target.open_until,
                target.reopen_count,
            )
            for model, target in sorted(live.targets.items())
        ],
    )


async def list_breakers(call: Call) -> BreakerReport:
    providers = await Provider.all().order_by("name").values_list("name", "enabled")
    try:
        live = await call.services.gateway.breakers()
        reachable, error = True, None
    except GatewayUnavailable as exc:
        live, reachable, error = {}, False, str(exc)
    configured = dict(providers)
    views = [_view(name, enabled, True, live.get(name), reachable) for name, enabled in providers]
    views += [
        _view(name, False, False, state, reachable)
        for name, state in sorted(live.items())
        if name not in configured
    ]
    return BreakerReport(reachable, error, views)


async def reset_breaker(call: Call) -> BreakerReset:
    name = call.path["provider"]
    provider = await Provider.get_or_none(name=name)
    if provider is None:
        raise not_found("Provider", repr(name))
    try:
        reset = await call.services.gateway.reset_breaker(name)
    except GatewayUnavailable as exc:
        raise gateway_unavailable(f"Breakers live in the running gateway: {exc}") from None
    after = {"provider": name, "state": "closed", "gateway_had_breaker": reset}
    await audit.record(call.actor, "reset", "breaker", provider.id, after=after)
    detail = "breaker closed" if reset else "the gateway had no breaker for it yet"
    return BreakerReset(name, reset, detail)

"""Internal endpoints for the admin API: live breaker state, breaker reset, the rule tester.

Reachable only with the `x-routerx-internal` token (ROUTERX_INTERNAL_TOKEN), and, when
INTERNAL_PORT is set, only on that listener: the public one answers 404 as for any unknown path.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from routerx.auth.internal import INTERNAL_HEADER, is_internal_token
from routerx.gateway import errors
from routerx.gateway.state import GatewayState
from routerx.routing.breaker import BreakerView
from routerx.routing.explain import explain_route
from routerx.wire.internal import (
    GatewayBreaker,
    GatewayBreakers,
    RouteExplainRequest,
    TargetBreaker,
)


def _json(payload: msgspec.Struct, status: int = 200) -> Response:
    return Response(msgspec.json.encode(payload), status, media_type="application/json")


def _error(error: errors.GatewayError) -> Response:
    return Response(error.body(), error.status, media_type="application/json")


_SEVERITY = {"closed": 0, "half_open": 1, "open": 2}


def _target(view: BreakerView) -> TargetBreaker:
    return TargetBreaker(
        view.state.value,
        view.calls_in_window,
        view.failures_in_window,
        view.consecutive_failures,
        view.open_until,
        view.reopen_count,
    )


def provider_breaker(views: dict[str, BreakerView]) -> GatewayBreaker:
    """A provider's breakers, the worst one (open over half-open over closed, then the most
    consecutive failures) summarised in the top-level fields."""
    targets = {model or "*": _target(view) for model, view in sorted(views.items())}
    if not targets:
        return GatewayBreaker("closed")
    worst = max(
        targets.values(), key=lambda t: (_SEVERITY[t.state], t.consecutive_failures, t.calls)
    )
    return GatewayBreaker(
        worst.state,
        sum(t.calls for t in targets.values()),
        sum(t.failures for t in targets.values()),
        worst.consecutive_failures,
        worst.open_until,
        worst.reopen_count,
        targets,
    )


def internal_routes(state: GatewayState) -> list[Route]:
    internal_port = state.settings.internal_port

    def on_internal_listener(request: Request) -> bool:
        if not internal_port:
            return True
        server = request.scope.get("server")
        return server is not None and server[1] == internal_port

    def authorized(request: Request) -> bool:
        return is_internal_token(state.settings, request.headers.get(INTERNAL_HEADER))

    def forbidden(request: Request) -> Response:
        if not on_internal_listener(request):
            return _error(errors.not_found(request.url.path))
        return _error(errors.GatewayError(403, "Internal endpoint.", "permission_error"))

    async def breakers(request: Request) -> Response:
        if not (on_internal_listener(request) and authorized(request)):
            return forbidden(request)
        views = {
            name: provider_breaker(state.breakers.of_provider(name))
            for name in state.snapshot.providers
        }
        return _json(GatewayBreakers(views))

    async def reset(request: Request) -> Response:
        if not (on_internal_listener(request) and authorized(request)):
            return forbidden(request)
        name = request.path_params["provider"]
        if name not in state.snapshot.providers:
            return _error(
                errors.GatewayError(
                    404, "Unknown provider.", "invalid_request_error", "provider", "not_found"
                )
            )
        await state.breakers.reset(name)
        return Response(status_code=204)

    async def route_explain(request: Request) -> Response:
        if not (on_internal_listener(request) and authorized(request)):
            return forbidden(request)
        try:
            sample = msgspec.json.decode(await request.body(), type=RouteExplainRequest)
        except msgspec.ValidationError as error:
            return _error(errors.from_validation_error(error))
        except msgspec.DecodeError:
            return _error(errors.invalid_request("The request body is not valid JSON."))
        return _json(explain_route(state.snapshot, sample, state.breakers, state.latency))

    async def runtime(request: Request) -> Response:
        """Open tasks and file descriptors of this worker: leak checks after fault storms."""
        if not (on_internal_listener(request) and authorized(request)):
            return forbidden(request)
        tasks = asyncio.all_tasks()
        kinds = Counter(getattr(t.get_coro(), "__qualname__", "?") for t in tasks)
        body = {
            "pid": os.getpid(),
            "tasks": len(tasks),
            "task_kinds": dict(kinds),
            "open_fds": len(os.listdir("/proc/self/fd")),
        }
        return Response(msgspec.json.encode(body), media_type="application/json")

    return [
        Route("/internal/runtime", runtime, methods=["GET"]),
        Route("/internal/breakers", breakers, methods=["GET"]),
        Route("/internal/breakers/{provider}/reset", reset, methods=["POST"]),
        Route("/internal/route-explain", route_explain, methods=["POST"]),
    ]

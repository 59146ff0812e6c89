"""Internal endpoints for the admin API: live breaker state, breaker reset, the rule tester.

Reachable only with the `x-routerx-internal` token derived from JWT_SECRET.
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
from routerx.routing.explain import explain_route
from routerx.wire.internal import GatewayBreaker, GatewayBreakers, RouteExplainRequest


def _json(payload: msgspec.Struct, status: int = 200) -> Response:
    return Response(msgspec.json.encode(payload), status, media_type="application/json")


def _error(error: errors.GatewayError) -> Response:
    return Response(error.body(), error.status, media_type="application/json")


def internal_routes(state: GatewayState) -> list[Route]:
    def authorized(request: Request) -> bool:
        return is_internal_token(state.settings, request.headers.get(INTERNAL_HEADER))

    def forbidden() -> Response:
        return _error(errors.GatewayError(403, "Internal endpoint.", "permission_error"))

    async def breakers(request: Request) -> Response:
        if not authorized(request):
            return forbidden()
        views: dict[str, GatewayBreaker] = {}
        for name in state.snapshot.providers:
            view = state.breakers.view(name)
            views[name] = (
                GatewayBreaker("closed")
                if view is None
                else GatewayBreaker(
                    view.state.value,
                    view.calls_in_window,
                    view.failures_in_window,
                    view.consecutive_failures,
                    view.open_until,
                    view.reopen_count,
                )
            )
        return _json(GatewayBreakers(views))

    async def reset(request: Request) -> Response:
        if not authorized(request):
            return forbidden()
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
        if not authorized(request):
            return forbidden()
        try:
            sample = msgspec.json.decode(await request.body(), type=RouteExplainRequest)
        except msgspec.ValidationError as error:
            return _error(errors.from_validation_error(error))
        except msgspec.DecodeError:
            return _error(errors.invalid_request("The request body is not valid JSON."))
        return _json(explain_route(state.snapshot, sample, state.breakers))

    async def runtime(request: Request) -> Response:
        """Open tasks and file descriptors of this worker: leak checks after fault storms."""
        if not authorized(request):
            return forbidden()
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

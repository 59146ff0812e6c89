"""build_app: the gateway's Starlette application and its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from opentelemetry.instrumentation.starlette import StarletteInstrumentor
from opentelemetry.sdk.trace import SpanProcessor
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from routerx.core.background import bounded, stop_task
from routerx.core.production_guard import check_production
from routerx.gateway import errors
from routerx.gateway.exchange import request_id_of
from routerx.gateway.fronts import SURFACES
from routerx.gateway.internal import internal_routes
from routerx.gateway.models import ModelsEndpoint
from routerx.gateway.pipeline import Pipeline
from routerx.gateway.state import GatewayState
from routerx.gateway.token_count import CountTokensEndpoint
from routerx.limits import build_limiter
from routerx.routing.breaker import BreakerState
from routerx.routing.breaker_gate import ProviderBreakers, build_breakers
from routerx.routing.breaker_registry import TransitionCallback
from routerx.routing.fallback import RetryPolicy
from routerx.routing.health import HealthChecker
from routerx.settings import Settings
from routerx.spend.build import build_spend
from routerx.storage.db import close_db, init_db
from routerx.storage.log_writer import RequestLogWriter
from routerx.storage.snapshot_loader import SnapshotRefresher
from routerx.telemetry import metrics, tracing
from routerx.telemetry.exposition import mark_worker_dead, metrics_endpoint

log = logging.getLogger("routerx.gateway")
SHUTDOWN_FLUSH_S = 10.0
# A pool whose connections broke in an outage can take asyncpg ~10 s to close politely.
DB_CLOSE_TIMEOUT_S = 2.0


def _request_id_header(request: Request) -> dict[str, str]:
    return {"x-request-id": request_id_of(request.scope)}


def _error_response(request: Request, error: errors.GatewayError) -> Response:
    headers = {**error.headers, **_request_id_header(request)}
    return Response(error.body(), error.status, headers, media_type="application/json")


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return _error_response(request, errors.method_not_allowed())
    if exc.status_code == 404:
        return _error_response(request, errors.not_found(request.url.path))
    return _error_response(
        request, errors.GatewayError(exc.status_code, str(exc.detail), "invalid_request_error")
    )


async def _server_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled error on %s: %s", request.url.path, type(exc).__name__)
    return _error_response(request, errors.internal_error())


def _breaker_metrics(breakers: ProviderBreakers) -> TransitionCallback:
    """Transitions per provider; its state gauge shows the worst of its targets' breakers."""

    def on_transition(key: str, old: BreakerState, new: BreakerState) -> None:
        provider = key.partition("/")[0]
        metrics.BREAKER_TRANSITIONS.labels(provider, old.value, new.value).inc()
        state = breakers.worst_state(provider)
        metrics.BREAKER_STATE.labels(provider).set(metrics.BREAKER_STATE_VALUES[state])

    return on_transition


def freeze_startup_objects() -> None:
    """Keep the worker's start-up objects (modules, classes, the snapshot, ~110,000 tracked
    objects) out of every later garbage collection: a full collection walked them all and held
    the event loop for 70-150 ms, as long as a health check may take. Collected first, so no
    garbage is frozen; given back to the collector at shutdown."""
    gc.collect()
    gc.freeze()


def surface_routes(state: GatewayState) -> list[Route]:
    """Every API surface's paths, each served by the one pipeline with its front adapter."""
    routes: list[Route] = []
    for surface in SURFACES:
        endpoint = Pipeline(state, surface.front)
        routes.extend(Route(path, endpoint, methods=["POST"]) for path in surface.paths)
    return routes


def build_app(settings: Settings, span_processor: SpanProcessor | None = None) -> Starlette:
    """The gateway app. `span_processor` lets tests capture spans without an OTLP endpoint."""
    writer = RequestLogWriter(
        capacity=settings.log_queue_size,
        batch_size=settings.log_batch_size,
        flush_interval_s=settings.log_flush_interval_s,
    )
    breakers = build_breakers(settings)
    breakers.registry.watch(_breaker_metrics(breakers))
    limiter = build_limiter(settings.redis_url)
    state = GatewayState(
        settings=settings,
        breakers=breakers,
        log_writer=writer,
        limiter=limiter,
        retry_policy=RetryPolicy(deadline_s=settings.request_deadline_s),
        spend=build_spend(settings),
    )
    health = state.health = HealthChecker(breakers, writer.submit, price=state.spend.price_probe)
    tracing_on = tracing.configure_tracing(settings.otel_endpoint, span_processor)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"}, headers=_request_id_header(request))

    async def readyz(request: Request) -> Response:
        refresher = state.refresher
        database = "ok" if refresher is not None and refresher.healthy else "unreachable"
        body = {
            "status": "ready" if state.loaded else "not_ready",
            "config_version": state.snapshot.version,
            "dependencies": {
                "database": database,
                "request_log": "ok" if writer.healthy else "buffering",
                "redis": state.breakers.status(),
                "rate_limits": limiter.status,
                "budgets": state.spend.status,
            },
            "request_log_pending": writer.pending,
        }
        return JSONResponse(body, 200 if state.loaded else 503, headers=_request_id_header(request))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await init_db(settings.database_url)
        try:
            await check_production(settings)
        except Exception:
            await close_db(timeout_s=DB_CLOSE_TIMEOUT_S)
            raise
        refresher = SnapshotRefresher(settings, state.install, settings.config_poll_interval_s)
        state.refresher = refresher
        await refresher.refresh_once()
        tasks = [
            asyncio.create_task(refresher.run(), name="snapshot-refresher"),
            asyncio.create_task(writer.run(), name="request-log-writer"),
        ]
        await state.breakers.start()
        await limiter.start()
        await state.spend.start()
        freeze_startup_objects()
        try:
            yield
        finally:
            gc.unfreeze()
            await health.stop()
            for task in tasks:
                await stop_task(task)
            await writer.flush(SHUTDOWN_FLUSH_S)
            await state.breakers.stop()
            await limiter.stop()
            await state.spend.stop()
            await bounded(state.http.close())
            await close_db(timeout_s=DB_CLOSE_TIMEOUT_S)
            mark_worker_dead()

    routes = [
        *surface_routes(state),
        Route("/v1/messages/count_tokens", CountTokensEndpoint(state), methods=["POST"]),
        Route("/v1/models", ModelsEndpoint(state), methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        *internal_routes(state),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_exception, Exception: _server_error},
    )
    app.state.gateway = state
    if tracing_on:
        StarletteInstrumentor.instrument_app(app, tracer_provider=tracing.tracer_provider())
    return app

"""The request pipeline every API surface goes through, as a plain ASGI handler (the hot path).

Stages: auth -> decode (the front adapter) -> needs/capabilities -> plan -> limits -> fallback
(attempts, each owned by routing.attempt) -> relay -> log/metrics. A surface is a front adapter
(gateway.fronts) naming an operation (gateway.operations); the pipeline knows neither API.

It runs outside Starlette's Request/Response machinery (which costs ~15-30 % here) but inside
its router. Order of checks: method, key, content type, body size, JSON, schema, route.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Mapping
from typing import Any

from starlette.types import Receive, Scope, Send

from routerx.auth.api_keys import digest_key
from routerx.core.log_row import LogRow
from routerx.core.snapshot import KeyEntry
from routerx.gateway import errors, route_hooks
from routerx.gateway.admission import SERVER_BUSY, Admission, read_admitted_body
from routerx.gateway.asgi_io import (
    ClientDisconnected,
    Headers,
    discard_body,
    header,
    send_bytes,
)
from routerx.gateway.exchange import (
    Exchange,
    answered_by,
    client_request_id_of,
    log_request,
    request_id_of,
)
from routerx.gateway.fronts.base import Canonical, FrontAdapter
from routerx.gateway.operations import OPERATIONS, StreamingOperation
from routerx.gateway.relay import relay_stream
from routerx.gateway.request_shape import decode_request
from routerx.gateway.rescue import RESCUE_CONTINUE, StreamRescue
from routerx.gateway.sse import SSE_HEADERS
from routerx.gateway.state import GatewayState
from routerx.limits import Limits
from routerx.providers.base import Completion, Provider, StreamStats
from routerx.providers.error_detail import CONTEXT_LENGTH_EXCEEDED
from routerx.providers.errors import RequestRejected
from routerx.routing.attempt import ClientError, StreamStart, TargetAttempt
from routerx.routing.context_window import larger_window_plan
from routerx.routing.fallback import FallbackExhausted, FallbackRun, Perform
from routerx.routing.rules import NoRoute, RoutePlan, plan_route
from routerx.spend.hooks import answer_billed, cost_header, stream_billed
from routerx.telemetry import tracing
from routerx.telemetry.request_metrics import observe_request

log = logging.getLogger("routerx.gateway")
CLIENT_CLOSED = 499
LINGER_S = 2.0


class Pipeline:
    """One API surface's endpoint: `front` speaks the API, the rest is shared."""

    def __init__(self, state: GatewayState, front: FrontAdapter) -> None:
        self.state = state
        self.front = front
        self.operation = OPERATIONS[front.operation]
        operation = self.operation
        self.streaming = operation if isinstance(operation, StreamingOperation) else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = request_id_of(scope)
        row = LogRow(request_id=request_id, created_at=time.time(), status=0, api=self.front.api)
        exchange = Exchange(request_id, time.perf_counter(), row)
        exchange.response_headers.append((b"x-request-id", request_id.encode()))
        client_request_id = client_request_id_of(scope)
        if client_request_id is not None:
            row.client_request_id = client_request_id
            exchange.response_headers.append((b"x-client-request-id", client_request_id.encode()))
        try:
            await self._handle(scope, receive, send, exchange)
        except errors.GatewayError as error:
            _release(exchange)  # before the refused body's rest is discarded
            row.status = error.status
            row.error_type = row.error_type or error.code or error.type
            if error.status == 413:
                await discard_body(receive, LINGER_S)
            await self.send_error(send, error, exchange.response_headers)
            if error.code == SERVER_BUSY:  # answered first: the unread body is only dropped
                await discard_body(receive, LINGER_S)
        except (ClientDisconnected, asyncio.CancelledError):
            row.status, row.error_type = CLIENT_CLOSED, "client_disconnected"
            task = asyncio.current_task()
            if exchange.watcher is None or not exchange.watcher.done() or task is None:
                raise
            task.uncancel()  # our own watcher cancelled us: the client left, not the server
        except Exception:
            log.exception("unhandled error in the %s pipeline", self.front.api)
            row.status, row.error_type = 500, "internal_error"
            await self.send_error(send, errors.internal_error(), exchange.response_headers)
        finally:
            _release(exchange)
            if exchange.watcher is not None:
                exchange.watcher.cancel()
            row.latency_ms = exchange.elapsed_ms()
            self.state.spend.settle(row, exchange.billed, exchange.budget_hold)
            self.state.log_writer.submit(row)
            if exchange.reservation is not None:
                self.state.limiter.settle(exchange.reservation, row.total_tokens)
            observe_request(row, exchange.model_label)
            log_request(row, exchange.model_label)

    async def send_error(self, send: Send, error: errors.GatewayError, headers: Headers) -> None:
        status, body = self.front.error_body(error)
        extra = [(k.encode(), v.encode()) for k, v in error.headers.items()]
        await send_bytes(send, status, body, [*headers, *extra])

    def authenticate(self, scope: Scope) -> KeyEntry:
        return authenticate(self.state, self.front, scope)

    async def _handle(self, scope: Scope, receive: Receive, send: Send, exchange: Exchange) -> None:
        if scope["method"] != "POST":
            raise errors.method_not_allowed()
        key = self.authenticate(scope)
        row = exchange.row
        row.tenant_id, row.key_id = key.tenant.id, key.id
        exchange.slot = self.state.concurrency.acquire(key)
        if tracing.enabled():
            row.trace_id = tracing.current_trace_id()
            tracing.annotate_server_span(exchange.request_id, key.tenant.id)
        content_type = header(scope, b"content-type") or b""
        if not content_type.split(b";", 1)[0].strip().lower() == b"application/json":
            raise errors.unsupported_media_type()
        settings = self.state.settings
        exchange.admission = admission = Admission(self.state.body_budget)
        try:  # a client that stops sending must not hold a connection and a task for ever
            async with asyncio.timeout(settings.body_read_timeout_s):
                body = await read_admitted_body(receive, scope, settings.max_body_bytes, admission)
        except TimeoutError:
            raise errors.body_too_slow(settings.body_read_timeout_s) from None
        canonical = await decode_request(body, self.front)
        del body  # the decoded request holds what it needs; the budget still counts its size
        row.model, row.stream = canonical.requested_model, canonical.stream
        streaming = self.streaming
        if canonical.stream and streaming is None:
            raise errors.invalid_request(
                "This API does not stream: `stream` must be false.", "stream", "unsupported_value"
            )
        needs = self.operation.needs(canonical)
        row.capability = needs.primary
        model = canonical.requested_model
        try:
            plan = plan_route(
                self.state.snapshot, model, key.tenant, needs, self.state.rng, self.state.latency
            )
        except NoRoute as no_route:
            if no_route.code == "model_not_found":
                raise errors.model_not_found(model) from None
            raise errors.capability_unavailable(
                no_route.missing_capability or needs.primary, model
            ) from None
        plan, exchange.budget_hold = await self.state.spend.admit(
            self.state.snapshot, key, plan, needs, canonical, row, self.state.rng
        )
        row.rule = plan.rule.name
        exchange.model_label = plan.rule.model_pattern
        if canonical.untranslatable is not None:
            plan = native_plan(plan, canonical, self.state.providers)
        needed = None if needs.primary == "embeddings" else self.operation.token_estimate(canonical)
        plan = route_hooks.planned(plan, self.state.latency, needed, row.attempts)
        self._enforce_limits(exchange, key, canonical)
        exchange.watcher = asyncio.create_task(_watch_disconnect(receive, asyncio.current_task()))
        if streaming is not None and canonical.stream:
            await self._stream(send, exchange, plan, canonical, streaming)
        else:
            await self._complete(send, exchange, plan, canonical)

    def _enforce_limits(self, exchange: Exchange, key: KeyEntry, canonical: Canonical) -> None:
        """Requests and tokens per minute, checked before any upstream call: tokens are
        estimated now and settled with the real usage."""
        tenant = key.tenant
        decision = self.state.limiter.check_and_reserve(
            tenant.id,
            Limits.of(tenant),
            key.id,
            Limits.of(key),
            self.operation.token_estimate(canonical),
        )
        exchange.response_headers.extend(decision.headers)
        if not decision.allowed:
            exchange.row.error_type = "rate_limited"
            raise errors.rate_limited(
                decision.scope or "tenant", decision.limit or "rpm", decision.retry_after_s
            )
        exchange.reservation = decision.reservation

    async def _complete(
        self, send: Send, exchange: Exchange, plan: RoutePlan, canonical: Canonical
    ) -> None:
        providers, operation, request_id = self.state.providers, self.operation, exchange.request_id

        async def perform(attempt: TargetAttempt) -> Completion:
            target = attempt.target
            provider = providers[target.provider.name]
            completion = await attempt.answer(
                operation.answer(provider, canonical, target.model, request_id)
            )
            exchange.billed.append(answer_billed(target, completion.usage))
            return completion

        completion, _ = await self._run(exchange, plan, perform)
        exchange.record_usage(completion.usage)
        exchange.row.status = 200
        if self.state.settings.cost_header:
            exchange.response_headers.append(cost_header(self.state.spend, exchange))
        body = self.front.encode_completion(completion, canonical)
        await send_bytes(send, 200, body, self._answer_headers(exchange))

    async def _stream(
        self,
        send: Send,
        exchange: Exchange,
        plan: RoutePlan,
        canonical: Canonical,
        operation: StreamingOperation,
    ) -> None:
        providers, request_id = self.state.providers, exchange.request_id

        async def perform(attempt: TargetAttempt) -> StreamStart:
            target = attempt.target
            provider = providers[target.provider.name]
            stats = StreamStats()
            chunks = operation.stream(provider, canonical, target.model, request_id, stats)
            return await attempt.open_stream(chunks, stats)

        async def discard(lost: StreamStart) -> None:  # a hedge that lost after it started
            await lost.discard()
            exchange.billed.append(stream_billed(lost, operation, canonical))

        start, _ = await self._run(exchange, plan, perform, discard)
        exchange.row.ttft_ms = exchange.elapsed_ms()
        rescue = self._rescue(exchange, plan, canonical, operation)
        exchange.row.status = 200
        encoder = self.front.stream_encoder(canonical, request_id)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*self._answer_headers(exchange, start), *SSE_HEADERS],
            }
        )
        await relay_stream(send, exchange, start, encoder, operation, canonical, rescue)

    def _rescue(
        self,
        exchange: Exchange,
        plan: RoutePlan,
        canonical: Canonical,
        operation: StreamingOperation,
    ) -> StreamRescue | None:
        if plan.rule.stream_rescue != RESCUE_CONTINUE:
            return None
        state = self.state
        return StreamRescue(
            plan,
            canonical,
            operation,
            state.providers,
            state.breakers,
            exchange.row.attempts,
            exchange.request_id,
            state.settings.stream_max_rescues,
            exchange.started + state.retry_policy.deadline_s,
        )

    async def _run(
        self, exchange: Exchange, plan: RoutePlan, perform: Perform[Any], discard: Any = None
    ) -> Any:
        row = exchange.row
        state = self.state
        run = FallbackRun(plan, state.breakers, state.retry_policy, row.attempts, state.rng)
        try:
            result, target = await run.run(route_hooks.measured(state.latency, perform), discard)
        except RequestRejected as rejected:
            raise errors.invalid_request(rejected.message, rejected.param, rejected.code) from None
        except ClientError as client_error:
            larger = larger_window_plan(plan, client_error.target, client_error.error.code)
            if larger is not None:
                return await self._run(exchange, larger, perform, discard)
            answered_by(exchange, client_error.target, plan)
            upstream = client_error.error
            # The log keeps a bounded set of error types, not whatever code an upstream sends.
            row.error_type = (
                CONTEXT_LENGTH_EXCEEDED
                if upstream.code == CONTEXT_LENGTH_EXCEEDED
                else "upstream_error"
            )
            raise errors.upstream_failed(
                upstream.client_status, upstream.message, param=upstream.param, code=upstream.code
            ) from None
        except FallbackExhausted as exhausted:
            self._attempt_headers(exchange)
            row.fallback = len(row.attempts) > 1
            if exhausted.last_error is None:
                raise errors.all_providers_unavailable(exhausted.retry_after_s or 1.0) from None
            last = exhausted.last_error
            headers = {}
            if last.retry_after_s is not None:
                headers["retry-after"] = str(max(1, round(last.retry_after_s)))
            row.error_type = "upstream_" + (
                last.kind.value if last.status is None else "http_error"
            )
            raise errors.upstream_failed(
                last.client_status, f"Every provider attempt failed. Last: {last.message}", headers
            ) from None
        answered_by(exchange, target, plan)
        exchange.response_headers.extend(route_hooks.route_reason(target, row.attempts))
        return result, target

    def _answer_headers(self, exchange: Exchange, committed: StreamStart | None = None) -> Headers:
        self._attempt_headers(exchange, committed)
        return exchange.response_headers

    def _attempt_headers(self, exchange: Exchange, committed: StreamStart | None = None) -> None:
        """`committed`: a stream's attempt, settled only when the stream ends, shown as the
        success it is when the headers go out."""
        attempts = [(a.provider, a.outcome, a.status) for a in exchange.row.attempts]
        if committed is not None:
            attempts.append((committed.attempt.target.provider.name, "success", 200))
        if len(attempts) > 1:
            value = ",".join(
                f"{provider};{outcome}" + (f";{status}" if status else "")
                for provider, outcome, status in attempts
            )
            exchange.response_headers.append((b"x-routerx-attempts", value.encode()))


def _release(exchange: Exchange) -> None:
    """The request's concurrency slot and body budget back (idempotent)."""
    if exchange.slot is not None:
        exchange.slot.release()
    if exchange.admission is not None:
        exchange.admission.release()


def native_plan(
    plan: RoutePlan, canonical: Canonical, providers: Mapping[str, Provider]
) -> RoutePlan:
    """Only the targets whose back adapter speaks the request's own API natively; the front's
    400 when there are none."""
    api = canonical.native[0] if canonical.native is not None else None
    targets = tuple(
        target
        for target in plan.targets
        if api in getattr(providers.get(target.provider.name), "native_apis", ())
    )
    if not targets and canonical.untranslatable is not None:
        raise canonical.untranslatable
    return dataclasses.replace(plan, targets=targets)


def authenticate(state: GatewayState, front: FrontAdapter, scope: Scope) -> KeyEntry:
    """The auth stage: the key from the front's header(s), looked up by its digest only."""
    key = front.api_key(scope)
    if key is None:
        raise errors.invalid_api_key("Missing API key: send `Authorization: Bearer <key>`.")
    entry = state.snapshot.keys_by_digest.get(digest_key(key)) if key else None
    if entry is None:
        raise errors.invalid_api_key()
    if entry.expires_at is not None and time.time() >= entry.expires_at:
        raise errors.invalid_api_key("This API key has expired.")
    return entry


async def _watch_disconnect(receive: Receive, handler: asyncio.Task[Any] | None) -> None:
    """Once the body is read, the next ASGI message can only be a disconnect."""
    message = await receive()
    if message["type"] == "http.disconnect" and handler is not None:
        handler.cancel()

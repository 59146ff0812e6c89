"""POST /v1/chat/completions: a plain ASGI handler, the gateway's hot path.

It runs outside Starlette's Request/Response machinery (which costs ~15-30 % here) but inside
its router. Order of checks: method, key, content type, body size, JSON, schema, route.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from starlette.types import Receive, Scope, Send

from routerx.auth.api_keys import MAX_KEY_LENGTH, digest_key
from routerx.gateway import errors
from routerx.gateway.asgi_io import (
    ClientDisconnected,
    Headers,
    discard_body,
    header,
    read_body,
    send_bytes,
    send_error,
)
from routerx.gateway.exchange import (
    Exchange,
    StreamStart,
    answered_by,
    estimated_usage,
    log_request,
    request_id_of,
    timeout_error,
)
from routerx.gateway.request_parsing import decode_body, validate
from routerx.gateway.sse import DONE, SSE_HEADERS, event, usage_only_chunk
from routerx.gateway.state import GatewayState
from routerx.limits import Limits
from routerx.providers.base import Call, Completion, StreamStats
from routerx.providers.errors import FailureKind, UpstreamError
from routerx.providers.images import ImageRejected
from routerx.routing.breaker import Outcome
from routerx.routing.capabilities import needs_of
from routerx.routing.fallback import ClientError, FallbackExhausted, FallbackRun
from routerx.routing.rules import NoRoute, PlannedTarget, RoutePlan, plan_route
from routerx.storage.log_row import LogRow
from routerx.storage.snapshot import KeyEntry
from routerx.telemetry import tracing
from routerx.telemetry.request_metrics import observe_request
from routerx.wire.openai import ChatRequest
from routerx.wire.tokens import estimate_prompt_tokens

log = logging.getLogger("routerx.gateway")
CLIENT_CLOSED = 499
LINGER_S = 2.0
BEARER = b"bearer "


class ChatCompletionsEndpoint:
    def __init__(self, state: GatewayState) -> None:
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = request_id_of(scope)
        row = LogRow(request_id=request_id, created_at=time.time(), status=0)
        exchange = Exchange(request_id, time.perf_counter(), row)
        exchange.response_headers.append((b"x-request-id", request_id.encode()))
        try:
            await self._handle(scope, receive, send, exchange)
        except errors.GatewayError as error:
            row.status = error.status
            row.error_type = row.error_type or error.code or error.type
            if error.status == 413:
                await discard_body(receive, LINGER_S)
            await send_error(send, error, exchange.response_headers)
        except (ClientDisconnected, asyncio.CancelledError):
            row.status, row.error_type = CLIENT_CLOSED, "client_disconnected"
            task = asyncio.current_task()
            if exchange.watcher is None or not exchange.watcher.done() or task is None:
                raise
            task.uncancel()  # our own watcher cancelled us: the client left, not the server
        except Exception:
            log.exception("unhandled error in chat completions")
            row.status, row.error_type = 500, "internal_error"
            await send_error(send, errors.internal_error(), exchange.response_headers)
        finally:
            if exchange.watcher is not None:
                exchange.watcher.cancel()
            row.latency_ms = exchange.elapsed_ms()
            self.state.log_writer.submit(row)
            if exchange.reservation is not None:
                self.state.limiter.settle(exchange.reservation, row.total_tokens)
            observe_request(row, exchange.model_label)
            log_request(row, exchange.model_label)

    def _authenticate(self, scope: Scope) -> KeyEntry:
        value = header(scope, b"authorization")
        if value is None:
            raise errors.invalid_api_key("Missing API key: send `Authorization: Bearer <key>`.")
        if len(value) > MAX_KEY_LENGTH + len(BEARER) or value[:7].lower() != BEARER:
            raise errors.invalid_api_key()
        try:
            key = value[7:].strip().decode("ascii")
        except UnicodeDecodeError:
            raise errors.invalid_api_key() from None
        entry = self.state.snapshot.keys_by_digest.get(digest_key(key)) if key else None
        if entry is None:
            raise errors.invalid_api_key()
        return entry

    async def _handle(self, scope: Scope, receive: Receive, send: Send, exchange: Exchange) -> None:
        if scope["method"] != "POST":
            raise errors.method_not_allowed()
        key = self._authenticate(scope)
        row = exchange.row
        row.tenant_id, row.key_id = key.tenant.id, key.id
        if tracing.enabled():
            row.trace_id = tracing.current_trace_id()
            tracing.annotate_server_span(exchange.request_id, key.tenant.id)
        content_type = header(scope, b"content-type") or b""
        if not content_type.split(b";", 1)[0].strip().lower() == b"application/json":
            raise errors.unsupported_media_type()
        settings = self.state.settings
        try:  # a client that stops sending must not hold a connection and a task for ever
            async with asyncio.timeout(settings.body_read_timeout_s):
                body = await read_body(receive, scope, settings.max_body_bytes)
        except TimeoutError:
            raise errors.body_too_slow(settings.body_read_timeout_s) from None
        raw = decode_body(body)
        request = validate(raw)
        row.model, row.stream = request.model, request.stream
        needs = needs_of(request)
        row.capability = needs.primary
        try:
            plan = plan_route(self.state.snapshot, request.model, key.tenant, needs, self.state.rng)
        except NoRoute as no_route:
            if no_route.code == "model_not_found":
                raise errors.model_not_found(request.model) from None
            raise errors.capability_unavailable(
                no_route.missing_capability or needs.primary, request.model
            ) from None
        row.rule = plan.rule.name
        exchange.model_label = plan.rule.model_pattern
        self._enforce_limits(exchange, key, request)
        exchange.watcher = asyncio.create_task(_watch_disconnect(receive, asyncio.current_task()))
        if request.stream:
            await self._stream(send, exchange, plan, request, raw)
        else:
            await self._complete(send, exchange, plan, request, raw)

    def _enforce_limits(self, exchange: Exchange, key: KeyEntry, request: ChatRequest) -> None:
        """Requests and tokens per minute, checked before any upstream call: tokens are
        estimated now (prompt plus the requested output cap) and settled with the real usage."""
        tenant = key.tenant
        estimate = estimate_prompt_tokens(request) + (request.output_token_cap or 0)
        decision = self.state.limiter.check_and_reserve(
            tenant.id, Limits.of(tenant), key.id, Limits.of(key), estimate
        )
        exchange.response_headers.extend(decision.headers)
        if not decision.allowed:
            exchange.row.error_type = "rate_limited"
            raise errors.rate_limited(
                decision.scope or "tenant", decision.limit or "rpm", decision.retry_after_s
            )
        exchange.reservation = decision.reservation

    def _fallback(self, exchange: Exchange, plan: RoutePlan) -> FallbackRun:
        return FallbackRun(
            plan,
            self.state.breakers,
            self.state.retry_policy,
            exchange.row.attempts,
            self.state.rng,
        )

    async def _complete(
        self,
        send: Send,
        exchange: Exchange,
        plan: RoutePlan,
        request: ChatRequest,
        raw: dict[str, Any],
    ) -> None:
        async def attempt(target: PlannedTarget) -> Completion:
            provider = self.state.providers[target.provider.name]
            timeout = target.provider.timeouts.total_s
            try:
                async with asyncio.timeout(timeout):
                    return await provider.complete(
                        Call(request, raw, target.model, exchange.request_id)
                    )
            except TimeoutError:
                raise timeout_error(target, "answer") from None

        completion, target = await self._run(exchange, plan, attempt)
        tracing.finish_attempt(
            exchange.winner_span, target.model, completion.usage, completion.finish_reason
        )
        exchange.record_usage(completion.usage)
        exchange.row.status = 200
        await send_bytes(send, 200, completion.body, self._answer_headers(exchange))

    async def _stream(
        self,
        send: Send,
        exchange: Exchange,
        plan: RoutePlan,
        request: ChatRequest,
        raw: dict[str, Any],
    ) -> None:
        async def attempt(target: PlannedTarget) -> StreamStart:
            provider = self.state.providers[target.provider.name]
            stats = StreamStats()
            chunks = provider.stream(Call(request, raw, target.model, exchange.request_id), stats)
            try:
                async with asyncio.timeout(target.provider.timeouts.first_token_s):
                    first = await anext(chunks)
            except TimeoutError:
                await chunks.aclose()
                raise timeout_error(target, "first token") from None
            except StopAsyncIteration:
                raise UpstreamError(
                    f"Provider {target.provider.name} ended the stream without a chunk.",
                    kind=FailureKind.PROTOCOL,
                ) from None
            except BaseException:
                await chunks.aclose()
                raise
            return StreamStart(first, chunks, stats)

        async def discard(loser: StreamStart) -> None:
            await loser.chunks.aclose()

        start, target = await self._run(exchange, plan, attempt, discard)
        exchange.row.ttft_ms = exchange.elapsed_ms()
        exchange.row.status = 200
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*self._answer_headers(exchange), *SSE_HEADERS],
            }
        )
        await self._relay(send, exchange, start, target, request)

    async def _relay(
        self,
        send: Send,
        exchange: Exchange,
        start: StreamStart,
        target: PlannedTarget,
        request: ChatRequest,
    ) -> None:
        """Relay chunks as bytes. After the first chunk there is no failover: an upstream
        failure ends the stream with an OpenAI-shaped error event, never a silent cut."""
        include_usage = request.include_usage
        idle_s = target.provider.timeouts.idle_s
        stats = start.stats
        pending: list[bytes] = []  # events held back while the adapter has more ready
        relayed = 0
        loop = asyncio.get_running_loop()
        try:
            # One timeout for the whole relay, re-armed while waiting on the upstream only (a
            # slow client is not an idle upstream): cheaper than a timeout context per chunk.
            async with asyncio.timeout(idle_s) as idle:
                chunk: bytes | None = start.first
                while chunk is not None:
                    if include_usage or usage_only_chunk(chunk) is None:
                        pending.append(event(chunk))
                        relayed += 1
                    if pending and not stats.more_ready:
                        idle.reschedule(None)
                        body = b"".join(pending)
                        pending.clear()
                        await send({"type": "http.response.body", "body": body, "more_body": True})
                        idle.reschedule(loop.time() + idle_s)
                    chunk = await anext(start.chunks, None)
        except (UpstreamError, TimeoutError) as failure:
            error = (
                failure
                if isinstance(failure, UpstreamError)
                else timeout_error(target, "next chunk")
            )
            exchange.row.error_type = "stream_interrupted"
            self.state.breakers.record(target.provider, None, Outcome.FAILURE)
            tracing.fail_attempt(exchange.winner_span, error)
            exchange.winner_span = None
            pending.append(event(errors.upstream_failed(502, error.message).body()))
            if stats.usage is None:
                stats.usage = estimated_usage(request, relayed)
        finally:
            await start.chunks.aclose()
            exchange.record_usage(stats.usage)
            tracing.finish_attempt(
                exchange.winner_span, target.model, stats.usage, stats.finish_reason
            )
        pending.append(DONE)
        await send({"type": "http.response.body", "body": b"".join(pending), "more_body": False})

    async def _run(
        self, exchange: Exchange, plan: RoutePlan, attempt: Any, discard: Any = None
    ) -> Any:
        row = exchange.row
        run = self._fallback(exchange, plan)
        try:
            result, target = await run.run(attempt, discard)
        except ImageRejected as rejected:
            raise errors.invalid_request(
                rejected.message, rejected.param, "invalid_image"
            ) from None
        except ClientError as client_error:
            answered_by(exchange, client_error.target, plan)
            upstream = client_error.error
            raise errors.upstream_failed(upstream.client_status, upstream.message) from None
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
        exchange.winner_span = run.winner_span
        return result, target

    def _answer_headers(self, exchange: Exchange) -> Headers:
        self._attempt_headers(exchange)
        return exchange.response_headers

    def _attempt_headers(self, exchange: Exchange) -> None:
        attempts = exchange.row.attempts
        if len(attempts) > 1:
            value = ",".join(
                f"{a.provider};{a.outcome}" + (f";{a.status}" if a.status else "") for a in attempts
            )
            exchange.response_headers.append((b"x-routerx-attempts", value.encode()))


async def _watch_disconnect(receive: Receive, handler: asyncio.Task[Any] | None) -> None:
    """Once the body is read, the next ASGI message can only be a disconnect."""
    message = await receive()
    if message["type"] == "http.disconnect" and handler is not None:
        handler.cancel()

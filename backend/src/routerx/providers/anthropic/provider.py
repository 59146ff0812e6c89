"""The Anthropic Messages adapter: `POST {base_url}/v1/messages` with `x-api-key`.

A request that came in as Anthropic Messages (`Call.native`) is sent as the client wrote it and
answered natively (providers.anthropic.native); any other is translated from Chat Completions.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing

import msgspec

from routerx.providers.anthropic.native import (
    NATIVE_API,
    NativeStreamTracker,
    frame,
    message_usage,
    native_body,
)
from routerx.providers.anthropic.request import anthropic_body
from routerx.providers.anthropic.response import (
    StreamTranslator,
    completion_from_message,
    decode_event,
    decode_message,
)
from routerx.providers.base import Call, Completion, ProviderConfig, StreamStats
from routerx.providers.http import (
    HttpClient,
    SSEEvent,
    protocol_error,
    read_answer,
    skipped_malformed_event,
    sse_events,
    stream_ended_early,
)

ANTHROPIC_BASE_URL = "https://api.anthropic.com"
ANTHROPIC_VERSION = "2023-06-01"


async def anthropic_stream(
    events: AsyncIterator[SSEEvent], call: Call, stats: StreamStats, provider: str
) -> AsyncGenerator[bytes, None]:
    """A Messages event stream translated to chat completion chunks (Anthropic's API and Vertex
    AI's). An event that is not JSON is skipped; a stream without `message_stop` ended early."""
    translator = StreamTranslator(provider, call.request_id, call.upstream_model)
    async for event in events:
        try:
            decoded = decode_event(event.data)
        except msgspec.DecodeError:
            skipped_malformed_event(provider)
            continue
        for chunk in translator.on_event(decoded):
            stats.chunks += 1
            yield chunk
        stats.finish_reason = translator.finish_reason
        if translator.done:
            stats.usage = translator.usage
            return
    raise stream_ended_early(provider)


class AnthropicProvider:
    native_apis = frozenset({NATIVE_API})

    def __init__(self, config: ProviderConfig, http: HttpClient) -> None:
        self.config = config
        self.http = http
        base_url = (config.base_url or ANTHROPIC_BASE_URL).rstrip("/").removesuffix("/v1")
        self.url = f"{base_url}/v1/messages"
        self.headers = {
            "content-type": "application/json",
            "anthropic-version": ANTHROPIC_VERSION,
        }
        if config.secret:
            self.headers["x-api-key"] = config.secret

    def _body(self, call: Call, *, stream: bool) -> bytes:
        return msgspec.json.encode(anthropic_body(call.request, call.upstream_model, stream=stream))

    async def complete(self, call: Call) -> Completion:
        native = native_body(call, stream=False)
        body = native if native is not None else self._body(call, stream=False)
        async with self.http.post(self.config, self.url, self.headers, body) as response:
            data = await read_answer(response, self.config.name)
        try:
            message = decode_message(data)
        except msgspec.DecodeError:
            raise protocol_error(self.config.name) from None
        if native is not None:
            usage, finish = message_usage(message)
            return Completion(data, usage, finish, api=NATIVE_API)
        answer, usage, finish = completion_from_message(
            message, call.request_id, call.upstream_model
        )
        return Completion(answer, usage, finish)

    async def stream(self, call: Call, stats: StreamStats) -> AsyncGenerator[bytes, None]:
        native = native_body(call, stream=True)
        if native is not None:
            async with aclosing(self._relay(native, stats)) as frames:
                async for relayed in frames:
                    yield relayed
            return
        body = self._body(call, stream=True)
        name = self.config.name
        async with (
            self.http.post(self.config, self.url, self.headers, body) as response,
            aclosing(sse_events(response, name)) as events,
            aclosing(anthropic_stream(events, call, stats, name)) as chunks,
        ):
            async for chunk in chunks:
                yield chunk

    async def _relay(self, body: bytes, stats: StreamStats) -> AsyncGenerator[bytes, None]:
        """Anthropic's own events, each re-framed as it came, tracked for usage and finish."""
        name = self.config.name
        tracker = NativeStreamTracker(name)
        async with (
            self.http.post(self.config, self.url, self.headers, body) as response,
            aclosing(sse_events(response, name)) as events,
        ):
            async for event in events:
                try:
                    decoded = decode_event(event.data)
                except msgspec.DecodeError:
                    raise protocol_error(name) from None
                tracker.on_event(decoded)
                stats.chunks += 1
                stats.finish_reason = tracker.finish_reason
                if tracker.done:
                    stats.usage = tracker.usage
                    yield frame(decoded.type, event.data)
                    return
                yield frame(decoded.type, event.data)
        raise stream_ended_early(name)

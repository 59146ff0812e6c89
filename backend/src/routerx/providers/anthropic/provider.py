"""The Anthropic Messages adapter: `POST {base_url}/v1/messages` with `x-api-key`."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing

import msgspec

from routerx.providers.anthropic.request import anthropic_body
from routerx.providers.anthropic.response import (
    StreamTranslator,
    completion_from_message,
    decode_event,
    decode_message,
)
from routerx.providers.base import Call, Completion, ProviderConfig, StreamStats
from routerx.providers.http import HttpClient, protocol_error, sse_events, stream_ended_early

ANTHROPIC_BASE_URL = "https://api.anthropic.com"
ANTHROPIC_VERSION = "2023-06-01"


class AnthropicProvider:
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
        body = self._body(call, stream=False)
        async with self.http.post(self.config, self.url, self.headers, body) as response:
            data = await response.read()
        try:
            message = decode_message(data)
        except msgspec.DecodeError:
            raise protocol_error(self.config.name) from None
        answer, usage, finish = completion_from_message(
            message, call.request_id, call.upstream_model
        )
        return Completion(answer, usage, finish)

    async def stream(self, call: Call, stats: StreamStats) -> AsyncGenerator[bytes, None]:
        body = self._body(call, stream=True)
        name = self.config.name
        translator = StreamTranslator(name, call.request_id, call.upstream_model)
        async with (
            self.http.post(self.config, self.url, self.headers, body) as response,
            aclosing(sse_events(response, name)) as events,
        ):
            async for event in events:
                try:
                    decoded = decode_event(event.data)
                except msgspec.DecodeError:
                    raise protocol_error(name) from None
                for chunk in translator.on_event(decoded):
                    stats.chunks += 1
                    yield chunk
                stats.finish_reason = translator.finish_reason
                if translator.done:
                    stats.usage = translator.usage
                    return
        raise stream_ended_early(name)

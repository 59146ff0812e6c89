"""The Gemini adapter: `POST {base_url}/v1beta/models/{model}:generateContent`,
`:streamGenerateContent?alt=sse`, and `:batchEmbedContents` for embeddings. The key travels in
`x-goog-api-key`, never in the URL, so that it cannot leak into access logs."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from urllib.parse import quote

import msgspec

from routerx.providers.base import (
    Call,
    Completion,
    EmbedCall,
    Embeddings,
    ProviderConfig,
    StreamStats,
)
from routerx.providers.gemini.embeddings import batch_bodies, decode_batch_response, text_only
from routerx.providers.gemini.request import gemini_body
from routerx.providers.gemini.response import (
    StreamTranslator,
    completion_from_response,
    decode_response,
)
from routerx.providers.http import (
    HttpClient,
    SSEEvent,
    answered_with_error,
    protocol_error,
    read_answer,
    skipped_malformed_event,
    sse_events,
    stream_ended_early,
    stream_error,
)
from routerx.wire.embeddings import embedding_list_body

GEMINI_BASE_URL = "https://generativelanguage.googleapis.com"
API_VERSION = "v1beta"


def gemini_completion(data: bytes, call: Call, provider: str) -> Completion:
    """A `GenerateContentResponse` body as a chat completion (Gemini's API and Vertex AI's)."""
    try:
        answer = decode_response(data)
    except msgspec.DecodeError:
        raise protocol_error(provider) from None
    if answer.error is not None:
        raise answered_with_error(provider)
    payload, usage, finish = completion_from_response(answer, call.request_id, call.upstream_model)
    return Completion(payload, usage, finish)


async def gemini_stream(
    events: AsyncIterator[SSEEvent], call: Call, stats: StreamStats, provider: str
) -> AsyncGenerator[bytes, None]:
    """A `streamGenerateContent?alt=sse` stream as chat completion chunks (Gemini's API and
    Vertex AI's). An event that is not JSON is skipped; an error object ends the stream."""
    translator = StreamTranslator(call.request_id, call.upstream_model)
    async for event in events:
        try:
            answer = decode_response(event.data)
        except msgspec.DecodeError:
            skipped_malformed_event(provider)
            continue
        if answer.error is not None:
            raise stream_error(provider)
        for chunk in translator.on_response(answer):
            stats.chunks += 1
            yield chunk
        stats.finish_reason = translator.finish_reason
    if translator.finish_reason is None:
        raise stream_ended_early(provider)
    stats.usage = translator.usage
    for chunk in translator.close():
        stats.chunks += 1
        yield chunk


class GeminiProvider:
    def __init__(self, config: ProviderConfig, http: HttpClient) -> None:
        self.config = config
        self.http = http
        base_url = (config.base_url or GEMINI_BASE_URL).rstrip("/").removesuffix(f"/{API_VERSION}")
        self.models_url = f"{base_url}/{API_VERSION}/models"
        self.headers = {"content-type": "application/json"}
        if config.secret:
            self.headers["x-goog-api-key"] = config.secret

    def url_for(self, model: str, *, stream: bool) -> str:
        model_path = quote(model.removeprefix("models/"), safe="")
        if stream:
            return f"{self.models_url}/{model_path}:streamGenerateContent?alt=sse"
        return f"{self.models_url}/{model_path}:generateContent"

    async def embed(self, call: EmbedCall) -> Embeddings:
        name = self.config.name
        text_only(call.request, name)
        model_path = quote(call.upstream_model.removeprefix("models/"), safe="")
        url = f"{self.models_url}/{model_path}:batchEmbedContents"
        vectors: list[list[float]] = []
        for body in batch_bodies(call.request, call.upstream_model):
            async with self.http.post(self.config, url, self.headers, body) as response:
                data = await read_answer(response, self.config.name)
            try:
                answer = decode_batch_response(data)
            except msgspec.DecodeError:
                raise protocol_error(name) from None
            if answer.error is not None:
                raise answered_with_error(name)
            vectors.extend(embedding.values for embedding in answer.embeddings or [])
        if len(vectors) != call.request.count:
            raise protocol_error(name)
        usage = call.request.usage_estimate()
        body = embedding_list_body(vectors, call.request, call.upstream_model, usage)
        return Embeddings(body, usage)

    async def _body(self, call: Call) -> bytes:
        return msgspec.json.encode(await gemini_body(call.request, self.http.images))

    async def complete(self, call: Call) -> Completion:
        body = await self._body(call)
        url = self.url_for(call.upstream_model, stream=False)
        async with self.http.post(self.config, url, self.headers, body) as response:
            data = await read_answer(response, self.config.name)
        return gemini_completion(data, call, self.config.name)

    async def stream(self, call: Call, stats: StreamStats) -> AsyncGenerator[bytes, None]:
        body = await self._body(call)
        url = self.url_for(call.upstream_model, stream=True)
        name = self.config.name
        async with (
            self.http.post(self.config, url, self.headers, body) as response,
            aclosing(sse_events(response, name)) as events,
            aclosing(gemini_stream(events, call, stats, name)) as chunks,
        ):
            async for chunk in chunks:
                yield chunk

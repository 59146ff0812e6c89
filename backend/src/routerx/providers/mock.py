"""The deterministic mock provider: the default while ENABLE_REAL_CALLS=false.

The same request gets the same answer text and token counts. The answer says how many images it
received, so that vision routing is visible. Embeddings are deterministic too: each input's
vector is derived from a hash of its text (or token ids), unit length, `dimensions` long
(default 1536, the size of OpenAI's text-embedding-3-small); a shorter vector is the start of
the longer one, renormalised, as with OpenAI's `dimensions`. Fault knobs in the provider's
settings (`mock`) rehearse failures: latency, an error status (always, or at a failure rate), a
hang, and an error event in the middle of a stream.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
import struct
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

import msgspec

from routerx.providers.base import (
    Call,
    Completion,
    EmbedCall,
    Embeddings,
    ProviderConfig,
    StreamStats,
)
from routerx.providers.errors import FailureKind, RequestRejected, UpstreamError
from routerx.wire.embeddings import EmbeddingsRequest, embedding_list_body
from routerx.wire.openai import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatRequest,
    Choice,
    ChunkChoice,
    Delta,
    ResponseMessage,
    TextPart,
    Usage,
)
from routerx.wire.tokens import estimate_prompt_tokens

_WORDS = (
    "routing",
    "gateway",
    "vision",
    "tokens",
    "latency",
    "fallback",
    "breaker",
    "stream",
    "tenant",
    "provider",
    "metadata",
    "capability",
    "request",
    "answer",
    "model",
    "window",
)
STREAM_CHUNKS = 8
DEFAULT_EMBEDDING_DIMENSIONS = 1536


class MockFaults(msgspec.Struct, omit_defaults=True):
    latency_ms: int = 0
    error_status: int | None = None
    failure_rate: float = 0.0
    retry_after_s: float | None = None
    hang: bool = False
    stream_error_after_chunks: int | None = None
    chunk_delay_ms: int = 0


@dataclass(frozen=True, slots=True)
class MockAnswer:
    text: str
    usage: Usage


HASH_SLICE_CHARS = 1024 * 1024


def _digest(request: ChatRequest, upstream_model: str) -> bytes:
    hasher = hashlib.sha256(upstream_model.encode())
    for message in request.messages:
        hasher.update(message.role.encode())
        for part in message.parts():
            if not isinstance(part, TextPart):
                hasher.update(b"\x00image")
                continue
            text = part.text  # in slices: one copy of a huge prompt at a time is enough
            for start in range(0, len(text), HASH_SLICE_CHARS):
                piece = text[start : start + HASH_SLICE_CHARS]
                hasher.update(piece.encode("utf-8", "surrogatepass"))
    return hasher.digest()


def compose_answer(request: ChatRequest, provider: str, upstream_model: str) -> MockAnswer:
    digest = _digest(request, upstream_model)
    words = " ".join(_WORDS[b % len(_WORDS)] for b in digest[:6])
    images = request.image_count()
    text = (
        f"Mock answer from {provider} ({upstream_model}): received "
        f"{len(request.messages)} message(s) and {images} image(s). Signature: {words}."
    )
    cap = request.output_token_cap
    completion_words = text.split(" ")
    if cap is not None and cap < len(completion_words):
        text = " ".join(completion_words[:cap])
    completion = len(text.split(" "))
    prompt = estimate_prompt_tokens(request)
    return MockAnswer(text, Usage(prompt, completion, prompt + completion))


# Hashing a prompt this large runs in a thread (hashlib lets go of the GIL), not on the loop.
LARGE_PROMPT_CHARS = 1024 * 1024


async def compose(request: ChatRequest, provider: str, upstream_model: str) -> MockAnswer:
    size = sum(
        len(part.text)
        for message in request.messages
        for part in message.parts()
        if isinstance(part, TextPart)
    )
    if size > LARGE_PROMPT_CHARS:
        return await asyncio.to_thread(compose_answer, request, provider, upstream_model)
    return compose_answer(request, provider, upstream_model)


def mock_vector(seed: bytes, dimensions: int) -> list[float]:
    """A unit vector from SHA-256 blocks of the seed: one component per digest byte."""
    values: list[float] = []
    block = 0
    while len(values) < dimensions:
        digest = hashlib.sha256(block.to_bytes(4, "little") + seed).digest()
        values.extend((byte - 127.5) / 127.5 for byte in digest)
        block += 1
    del values[dimensions:]
    norm = math.sqrt(sum(value * value for value in values)) or 1.0
    return [value / norm for value in values]


def mock_vectors(request: EmbeddingsRequest) -> list[list[float]]:
    dimensions = request.dimensions or DEFAULT_EMBEDDING_DIMENSIONS
    if request.token_ids:
        seeds = [b"tokens:" + struct.pack(f"<{len(ids)}I", *ids) for ids in request.token_ids]
    else:
        seeds = [b"text:" + text.encode() for text in request.texts]
    return [mock_vector(seed, dimensions) for seed in seeds]


def _split(text: str, parts: int) -> list[str]:
    words = text.split(" ")
    size = max(1, -(-len(words) // parts))
    pieces = [" ".join(words[i : i + size]) for i in range(0, len(words), size)]
    return [p if i == 0 else " " + p for i, p in enumerate(pieces)]


class MockProvider:
    def __init__(self, config: ProviderConfig, rng: random.Random | None = None) -> None:
        self.config = config
        self.faults = msgspec.convert(config.settings.get("mock") or {}, MockFaults)
        self._rng = rng or random.Random()

    async def _before_answer(self, request: ChatRequest | None = None) -> None:
        if request is not None and request.wants_logprobs:
            raise RequestRejected("`logprobs` is not supported by mock targets.", "logprobs")
        if request is not None and request.n is not None and request.n > 1:
            raise RequestRejected("`n` greater than 1 is not supported by mock targets.", "n")
        faults = self.faults
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        if faults.hang:
            await asyncio.sleep(86_400)  # the gateway's own timeouts end the attempt
        if faults.error_status is None and faults.failure_rate <= 0:
            return
        rate = faults.failure_rate if faults.failure_rate > 0 else 1.0
        if self._rng.random() < rate:
            status = faults.error_status or 500
            raise UpstreamError(
                f"Provider {self.config.name} answered with status {status} (mock fault).",
                status=status,
                retry_after_s=faults.retry_after_s,
            )

    async def complete(self, call: Call) -> Completion:
        await self._before_answer(call.request)
        answer = await compose(call.request, self.config.name, call.upstream_model)
        body = ChatCompletion(
            id=f"chatcmpl-{call.request_id}",
            created=int(time.time()),
            model=call.upstream_model,
            choices=[Choice(0, ResponseMessage(content=answer.text), "stop")],
            usage=answer.usage,
        )
        return Completion(msgspec.json.encode(body), answer.usage, "stop")

    async def embed(self, call: EmbedCall) -> Embeddings:
        await self._before_answer()
        usage = call.request.usage_estimate()
        vectors = mock_vectors(call.request)
        body = embedding_list_body(vectors, call.request, call.upstream_model, usage)
        return Embeddings(body, usage)

    async def stream(self, call: Call, stats: StreamStats) -> AsyncGenerator[bytes, None]:
        await self._before_answer(call.request)
        answer = await compose(call.request, self.config.name, call.upstream_model)
        created = int(time.time())
        chunk_id = f"chatcmpl-{call.request_id}"

        def chunk(delta: Delta, finish: str | None = None, usage: Any = None) -> bytes:
            choices = [] if usage is not None else [ChunkChoice(0, delta, finish)]
            return msgspec.json.encode(
                ChatCompletionChunk(chunk_id, created, call.upstream_model, choices, usage)
            )

        yield chunk(Delta(role="assistant", content=""))
        for index, piece in enumerate(_split(answer.text, STREAM_CHUNKS)):
            if self.faults.stream_error_after_chunks is not None and (
                index >= self.faults.stream_error_after_chunks
            ):
                raise UpstreamError(
                    f"Provider {self.config.name} broke off the stream (mock fault).",
                    kind=FailureKind.STREAM,
                )
            if self.faults.chunk_delay_ms:
                await asyncio.sleep(self.faults.chunk_delay_ms / 1000)
            stats.chunks += 1
            yield chunk(Delta(content=piece))
        stats.finish_reason = "stop"
        stats.usage = answer.usage
        yield chunk(Delta(), "stop")
        yield chunk(Delta(), usage=answer.usage)

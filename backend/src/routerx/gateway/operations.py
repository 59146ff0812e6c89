"""Operations: how an attempt calls a provider for one kind of request, and what the pipeline's
needs and limits stages need to know about that kind.

A front names its operation (`FrontAdapter.operation`); `OPERATIONS` maps the name to it. An
operation that can stream is also a `StreamingOperation`; a stream request whose operation
cannot stream is refused with a 400 before routing.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable
from typing import Protocol, runtime_checkable

from routerx.gateway.fronts.base import Canonical, OperationName
from routerx.providers.base import (
    Call,
    Completion,
    EmbedCall,
    EmbeddingProvider,
    Provider,
    StreamStats,
    takes_native,
)
from routerx.providers.errors import FailureKind, UpstreamError
from routerx.routing.capabilities import EMBEDDINGS_NEEDS, Needs, needs_of
from routerx.wire.openai import Usage
from routerx.wire.tokens import estimate_prompt_tokens


class Operation(Protocol):
    name: OperationName

    def needs(self, canonical: Canonical) -> Needs:
        """The capabilities a target must have to serve this request (routing)."""
        ...

    def token_estimate(self, canonical: Canonical) -> int:
        """Tokens reserved against the rate limits before any upstream call; settled later
        with the real usage."""
        ...

    def answer(
        self, provider: Provider, canonical: Canonical, upstream_model: str, request_id: str
    ) -> Awaitable[Completion]:
        """One non-stream provider call (a coroutine, awaited by the attempt)."""
        ...


@runtime_checkable
class StreamingOperation(Operation, Protocol):
    def stream(
        self,
        provider: Provider,
        canonical: Canonical,
        upstream_model: str,
        request_id: str,
        stats: StreamStats,
    ) -> AsyncGenerator[bytes, None]:
        """One streaming provider call: OpenAI chunk JSON objects, no SSE framing."""
        ...

    def cut_usage(self, canonical: Canonical, chunks_relayed: int) -> Usage:
        """The usage to log for a stream cut before its upstream reported any."""
        ...


class ChatOperation:
    name: OperationName = "chat"

    def needs(self, canonical: Canonical) -> Needs:
        return needs_of(canonical.chat)

    def token_estimate(self, canonical: Canonical) -> int:
        request = canonical.chat
        return estimate_prompt_tokens(request) + (request.output_token_cap or 0)

    def answer(
        self, provider: Provider, canonical: Canonical, upstream_model: str, request_id: str
    ) -> Awaitable[Completion]:
        return provider.complete(_call(provider, canonical, upstream_model, request_id))

    def stream(
        self,
        provider: Provider,
        canonical: Canonical,
        upstream_model: str,
        request_id: str,
        stats: StreamStats,
    ) -> AsyncGenerator[bytes, None]:
        return provider.stream(_call(provider, canonical, upstream_model, request_id), stats)

    def cut_usage(self, canonical: Canonical, chunks_relayed: int) -> Usage:
        """Providers send about one token per chunk; the first chunk carries only the role."""
        prompt = estimate_prompt_tokens(canonical.chat)
        completion = max(0, chunks_relayed - 1)
        return Usage(prompt, completion, prompt + completion)


def _call(provider: Provider, canonical: Canonical, upstream_model: str, request_id: str) -> Call:
    """The provider call; a request the front could not fully translate reaches only a target
    that answers it natively, any other target refuses it as a client error (no fallback)."""
    refusal = canonical.untranslatable
    if refusal is not None and not takes_native(provider, canonical.native):
        raise UpstreamError(
            f"{refusal.message} Provider {provider.config.name} takes only the translation.",
            status=400,
        )
    return Call(canonical.chat, canonical.raw, upstream_model, request_id, canonical.native)


class EmbeddingsOperation:
    """`EmbeddingsRequest` -> a provider's `embed()` -> an OpenAI `list` body, carried to the
    pipeline as a `Completion` without a finish reason. Never streams. The rate limits reserve
    the input tokens (counted for token arrays, estimated for text)."""

    name: OperationName = "embeddings"

    def needs(self, canonical: Canonical) -> Needs:
        return EMBEDDINGS_NEEDS

    def token_estimate(self, canonical: Canonical) -> int:
        return sum(canonical.embeddings.input_tokens())

    def answer(
        self, provider: Provider, canonical: Canonical, upstream_model: str, request_id: str
    ) -> Awaitable[Completion]:
        call = EmbedCall(canonical.embeddings, canonical.raw, upstream_model, request_id)
        return _embed(provider, call)


async def _embed(provider: Provider, call: EmbedCall) -> Completion:
    if not isinstance(provider, EmbeddingProvider):  # its type may not declare `embeddings`
        raise UpstreamError(
            f"Provider {provider.config.name} has no embeddings API.", kind=FailureKind.PROTOCOL
        )
    answer = await provider.embed(call)
    return Completion(answer.body, answer.usage)


OPERATIONS: dict[OperationName, Operation] = {
    "chat": ChatOperation(),
    "embeddings": EmbeddingsOperation(),
}

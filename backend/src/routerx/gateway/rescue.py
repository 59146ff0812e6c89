"""Mid-stream rescue (a rule's `stream_rescue: continue`): when a committed stream is cut,
stalls or reports an error, the next eligible target continues the same answer.

The continuation is the original request plus the text already delivered, as a trailing
assistant message (a prefill), sent only to targets whose provider accepts one
(`settings.assistant_prefill`). Its chunks are relayed into the same client stream through a
`Seam`: the stream's id, no second role delta, the whitespace held back from the prefill not
repeated, and the usage chunk summed over the pieces.

Only plain text can be continued exactly. A stream that delivered a tool call, a refusal,
reasoning, audio, more than one choice, a finish reason, or that asked for JSON output, a
stream in a provider's native format, or a request only a native target can take, is not
rescued: it ends with the error event.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec

from routerx.core.log_row import Attempt
from routerx.gateway.fronts.base import Canonical
from routerx.gateway.operations import StreamingOperation
from routerx.providers.base import Provider, ProviderConfig, StreamStats
from routerx.providers.errors import RequestRejected, UpstreamError
from routerx.routing.attempt import ClientError, StreamStart, TargetAttempt
from routerx.routing.breaker_gate import ProviderBreakers
from routerx.routing.commit import ChunkDelta
from routerx.routing.rules import PlannedTarget, RoutePlan
from routerx.telemetry import metrics
from routerx.wire.openai import CompletionTokensDetails, Message, PromptTokensDetails, Usage

RESCUE_CONTINUE = "continue"
# Provider types whose API continues a trailing assistant message unless configured otherwise.
PREFILL_TYPES = frozenset({"anthropic", "openai_compatible"})


def accepts_prefill(provider: ProviderConfig) -> bool:
    setting = provider.settings.get("assistant_prefill")
    if isinstance(setting, bool):
        return setting
    return provider.type in PREFILL_TYPES


class _Choice(msgspec.Struct):
    index: int = 0
    delta: ChunkDelta | None = None
    finish_reason: str | None = None


class _Chunk(msgspec.Struct):
    id: str | None = None
    choices: list[_Choice] | None = None
    type: str | None = None


_decode_chunk = msgspec.json.Decoder(_Chunk).decode


class Transcript:
    """What the client has been sent so far, as far as a continuation needs it."""

    __slots__ = ("continuable", "stream_id", "text")

    def __init__(self, canonical: Canonical) -> None:
        self.text: list[str] = []
        self.stream_id: str | None = None
        request = canonical.request
        json_output = getattr(getattr(request, "response_format", None), "type", "text")
        # A request the front could not fully translate may only go to a native target.
        self.continuable = (
            json_output == "text"
            and (getattr(request, "n", None) or 1) == 1
            and canonical.untranslatable is None
        )

    def observe(self, chunk: bytes) -> None:
        if not self.continuable:
            return
        if chunk.startswith(b"event:"):
            self.continuable = False
            return
        try:
            view = _decode_chunk(chunk)
        except msgspec.DecodeError:
            self.continuable = False
            return
        if view.type is not None or view.choices is None:
            self.continuable = False
            return
        if self.stream_id is None:
            self.stream_id = view.id
        for choice in view.choices:
            delta = choice.delta
            if choice.index != 0 or choice.finish_reason is not None:
                self.continuable = False
            elif delta is not None:
                if (
                    delta.tool_calls
                    or delta.function_call
                    or delta.refusal
                    or delta.reasoning_content
                    or delta.reasoning
                    or delta.audio
                ):
                    self.continuable = False
                elif delta.content:
                    self.text.append(delta.content)

    def delivered(self) -> str:
        return "".join(self.text)


class Seam:
    """Rewrites a continuation's chunks so that they continue the client's stream exactly."""

    __slots__ = ("held_whitespace", "prior_usage", "stream_id")

    def __init__(self, stream_id: str | None, held_whitespace: str, prior_usage: Usage) -> None:
        self.stream_id = stream_id
        self.held_whitespace = held_whitespace
        self.prior_usage = prior_usage

    def rewrite(self, chunk: bytes) -> bytes | None:
        """The chunk as the client should see it; None to send nothing."""
        try:
            data = msgspec.json.decode(chunk)
        except msgspec.DecodeError:
            return chunk
        if not isinstance(data, dict):
            return chunk
        if self.stream_id is not None and "id" in data:
            data["id"] = self.stream_id
        carries = False
        for choice in data.get("choices") or ():
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta")
            if isinstance(delta, dict):
                delta.pop("role", None)
                content = delta.get("content")
                if isinstance(content, str) and content:
                    content = self._without_held_whitespace(content)
                    delta["content"] = content
                carries = carries or any(delta.values())
            carries = carries or choice.get("finish_reason") is not None
        usage = data.get("usage")
        if isinstance(usage, dict):
            data["usage"] = _summed(self.prior_usage, usage)
            carries = True
        if not carries:
            return None
        return msgspec.json.encode(data)

    def _without_held_whitespace(self, content: str) -> str:
        held = self.held_whitespace
        if not held:
            return content
        matched = 0
        while matched < min(len(held), len(content)) and held[matched] == content[matched]:
            matched += 1
        self.held_whitespace = ""
        return content[matched:]


def _summed(prior: Usage, usage: dict[str, Any]) -> dict[str, Any]:
    summed = dict(usage)
    for name, earlier in (
        ("prompt_tokens", prior.prompt_tokens),
        ("completion_tokens", prior.completion_tokens),
        ("total_tokens", prior.total_tokens),
    ):
        value = usage.get(name)
        summed[name] = (value if isinstance(value, int) else 0) + earlier
    return summed


_Details = TypeVar("_Details", PromptTokensDetails, CompletionTokensDetails)


def add_usage(total: Usage, usage: Usage) -> Usage:
    """Two upstreams' usage as one; the details (cached, cache-write, reasoning tokens) are
    summed too, since they change what the request costs."""
    return Usage(
        total.prompt_tokens + usage.prompt_tokens,
        total.completion_tokens + usage.completion_tokens,
        total.total_tokens + usage.total_tokens,
        _add_details(total.prompt_tokens_details, usage.prompt_tokens_details),
        _add_details(total.completion_tokens_details, usage.completion_tokens_details),
    )


def _add_details(
    a: _Details | msgspec.UnsetType | None, b: _Details | msgspec.UnsetType | None
) -> _Details | msgspec.UnsetType | None:
    if not isinstance(a, msgspec.Struct):
        return b
    if not isinstance(b, msgspec.Struct):
        return a
    summed: dict[str, Any] = {}
    for name in a.__struct_fields__:
        x, y = getattr(a, name), getattr(b, name)
        summed[name] = (
            x + y if isinstance(x, int) and isinstance(y, int) else (x if isinstance(x, int) else y)
        )
    return type(a)(**summed)


def continuation_of(canonical: Canonical, prefill: str, delivered_tokens: int) -> Canonical:
    """The original request with the delivered text as a trailing assistant message, its
    output cap less the tokens already delivered."""
    request = canonical.chat
    messages = [*request.messages, Message(role="assistant", content=prefill)]
    raw_messages = [*canonical.raw.get("messages", ()), {"role": "assistant", "content": prefill}]
    caps: dict[str, int] = {}
    for name in ("max_tokens", "max_completion_tokens"):
        cap = getattr(request, name)
        if cap is not None:
            caps[name] = max(1, cap - delivered_tokens)
    chat = msgspec.structs.replace(request, messages=messages, stream=True, **caps)
    raw = {**canonical.raw, "messages": raw_messages, "stream": True, **caps}
    return dataclasses.replace(canonical, request=chat, raw=raw, native=None, untranslatable=None)


@dataclasses.dataclass(slots=True)
class StreamRescue:
    """Continuations for one stream request, bounded in number and by the request deadline."""

    plan: RoutePlan
    canonical: Canonical
    operation: StreamingOperation
    providers: dict[str, Provider]
    breakers: ProviderBreakers
    attempts: list[Attempt]
    request_id: str
    max_rescues: int
    deadline: float  # time.perf_counter() value
    tried: set[tuple[str, str]] = dataclasses.field(default_factory=set)
    rescues: int = 0

    def remaining_s(self) -> float:
        return self.deadline - time.perf_counter()

    async def resume(
        self, transcript: Transcript, failed: PlannedTarget, delivered_tokens: int
    ) -> tuple[StreamStart, Seam] | None:
        """A continuation that has produced content, or None (the client gets the error)."""
        self.tried.add((failed.provider.name, failed.model))
        prefill = transcript.delivered()
        kept = prefill.rstrip()  # Anthropic refuses a prefill ending in whitespace
        if not transcript.continuable or not kept or self.rescues >= self.max_rescues:
            metrics.STREAM_RESCUES.labels("not_rescued").inc()
            return None
        continuation = continuation_of(self.canonical, kept, delivered_tokens)
        for target in self.plan.targets:
            if (target.provider.name, target.model) in self.tried or self.remaining_s() <= 0:
                continue
            opened = await self._try(target, continuation)
            if opened is not None:
                self.rescues += 1
                metrics.STREAM_RESCUES.labels("rescued").inc()
                return opened, Seam(transcript.stream_id, prefill[len(kept) :], Usage())
        metrics.STREAM_RESCUES.labels("failed").inc()
        return None

    async def _try(self, target: PlannedTarget, continuation: Canonical) -> StreamStart | None:
        self.tried.add((target.provider.name, target.model))
        if not accepts_prefill(target.provider):
            self.attempts.append(Attempt(target.provider.name, target.model, "skipped_no_prefill"))
            return None
        admission = self.breakers.admit(target.provider, target.breaker)
        if not admission.allowed:
            self.attempts.append(
                Attempt(
                    target.provider.name,
                    target.model,
                    "skipped_open",
                    breaker_state=admission.state.value,
                )
            )
            return None
        provider = self.providers.get(target.provider.name)
        if provider is None:
            return None
        attempt = TargetAttempt(
            target, admission, self.breakers, self.attempts, budget_s=self.remaining_s()
        )
        attempt.success_label = "rescued"
        perform = self._perform(provider, continuation)
        try:
            return await attempt.run(perform)
        except (UpstreamError, ClientError, RequestRejected):
            return None  # logged by the attempt; the original failure is what the client sees

    def _perform(
        self, provider: Provider, continuation: Canonical
    ) -> Callable[[TargetAttempt], Any]:
        async def perform(attempt: TargetAttempt) -> StreamStart:
            stats = StreamStats()
            chunks = self.operation.stream(
                provider, continuation, attempt.target.model, self.request_id, stats
            )
            return await attempt.open_stream(chunks, stats)

        return perform

"""Chat Completions pass-through: the base for OpenAI, Azure OpenAI and any OpenAI-compatible
server (vLLM, Ollama, Groq, Together, ...).

Per type (`BodyRules`): OpenAI gets `max_tokens` as `max_completion_tokens` (its reasoning
models refuse `max_tokens`); OpenAI-compatible servers get `max_completion_tokens` as
`max_tokens` (what most of them know) and `developer` messages as `system`, as does Azure
(whose GA API versions have no developer role). Streams ask for `stream_options.include_usage`
unless the provider's setting `stream_include_usage` is false (servers that reject the field):
such streams then carry no usage and are logged without token counts.

This is the hot path. The upstream body is the client's decoded dict with `model` replaced and
gateway-only keys dropped, encoded once. Answers are relayed as the upstream's bytes, never
re-encoded: bodies and stream chunks are decoded only into a view of `usage`, the finish reasons
and `error`, which msgspec does in about a microsecond per chunk (less than a textual pre-check
for those keys costs in Python).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, ClassVar

import msgspec

from routerx.providers.base import (
    Call,
    Completion,
    EmbedCall,
    Embeddings,
    ProviderConfig,
    StreamStats,
    takes_native,
)
from routerx.providers.config_loader import ProviderConfigError
from routerx.providers.http import (
    HttpClient,
    answered_with_error,
    protocol_error,
    read_answer,
    skipped_malformed_event,
    sse_event_batches,
    stream_ended_early,
    stream_error,
)
from routerx.providers.openai_embeddings import embeddings_from_upstream, embeddings_upstream_body
from routerx.providers.openai_responses import (
    completion_of,
    native_body,
    observe_event,
)
from routerx.providers.presets import ESSENTIAL_FIELDS, Preset, preset
from routerx.wire.openai import UsageView

# Keys a client might send that configure where or how RouterX calls out: never forwarded,
# never honoured. Upstream URLs and keys come from server configuration only.
GATEWAY_ONLY_KEYS = frozenset(
    {
        "api_base",
        "base_url",
        "api_key",
        "api_type",
        "api_version",
        "azure_endpoint",
        "azure_ad_token",
        "deployment_id",
        "organization",
        "project",
        "headers",
        "extra_headers",
        "extra_query",
        "extra_body",
        "timeout",
        "request_timeout",
        "custom_llm_provider",
        "fallbacks",
    }
)
DONE = b"[DONE]"


class _ChoiceView(msgspec.Struct):
    finish_reason: str | None = None


class _BodyView(UsageView):
    """`usage`, the finish reasons and whether the body is an error; the rest stays unparsed."""

    choices: list[_ChoiceView] = msgspec.field(default_factory=list)
    error: Any = None


_decode_view = msgspec.json.Decoder(_BodyView).decode


@dataclass(frozen=True, slots=True)
class BodyRules:
    """How one OpenAI-family type differs from the client's own body."""

    token_cap_field: str | None = None  # send the output cap under this name (None: as given)
    developer_as_system: bool = False
    stream_include_usage: bool = True
    dropped: frozenset[str] = frozenset()  # fields the host refuses (providers.presets)


def _fixed_message(message: Any, developer_as_system: bool) -> Any:
    """The seed README sends `"image_url": "https://..."`; upstreams want {"url": ...}."""
    if not isinstance(message, dict):
        return message
    if developer_as_system and message.get("role") == "developer":
        message = {**message, "role": "system"}
    content = message.get("content")
    if not isinstance(content, list) or not any(
        isinstance(part, dict) and isinstance(part.get("image_url"), str) for part in content
    ):
        return message
    return {
        **message,
        "content": [
            {**part, "image_url": {"url": part["image_url"]}}
            if isinstance(part, dict) and isinstance(part.get("image_url"), str)
            else part
            for part in content
        ],
    }


def _fixed_messages(messages: list[Any], developer_as_system: bool) -> list[Any]:
    fixed: list[Any] | None = None
    for index, message in enumerate(messages):
        changed = _fixed_message(message, developer_as_system)
        if changed is not message:
            if fixed is None:
                fixed = list(messages)
            fixed[index] = changed
    return fixed if fixed is not None else messages


TOKEN_CAP_FIELDS = ("max_tokens", "max_completion_tokens")


def upstream_body(call: Call, *, stream: bool, rules: BodyRules = BodyRules()) -> bytes:
    dropped = rules.dropped
    body = {
        key: value
        for key, value in call.raw.items()
        if key not in GATEWAY_ONLY_KEYS and key not in dropped
    }
    body["model"] = call.upstream_model
    messages = body.get("messages")
    if isinstance(messages, list):
        body["messages"] = _fixed_messages(messages, rules.developer_as_system)
    cap_field = rules.token_cap_field
    if cap_field is not None and cap_field not in body:
        for name in TOKEN_CAP_FIELDS:
            if name in body:
                body[cap_field] = body.pop(name)
    if stream:
        body["stream"] = True
        if rules.stream_include_usage:
            options = body.get("stream_options")
            body["stream_options"] = {
                **(options if isinstance(options, dict) else {}),
                "include_usage": True,
            }
        else:
            body.pop("stream_options", None)
    else:
        body.pop("stream", None)
        body.pop("stream_options", None)
    return msgspec.json.encode(body)


def host_preset(config: ProviderConfig) -> Preset | None:
    name = config.settings.get("preset")
    if name is None or config.type != "openai_compatible":
        return None
    found = preset(name) if isinstance(name, str) else None
    if found is None:
        raise ProviderConfigError(f"providers.{config.name}.settings.preset: unknown {name!r}")
    return found


def dropped_fields(config: ProviderConfig, host: Preset | None) -> frozenset[str]:
    own = config.settings.get("drop_fields") or []
    if not isinstance(own, list) or not all(isinstance(item, str) for item in own):
        raise ProviderConfigError(
            f"providers.{config.name}.settings.drop_fields: must be a list of field names"
        )
    return frozenset([*(host.drop_fields if host else ()), *own]) - ESSENTIAL_FIELDS


class OpenAICompatProvider:
    """Any server that speaks OpenAI Chat Completions at `{base_url}/chat/completions` (and
    Embeddings at `{base_url}/embeddings`)."""

    default_base_url: ClassVar[str] = ""
    token_cap_field: ClassVar[str | None] = "max_tokens"  # noqa: S105 - a field name
    developer_as_system: ClassVar[bool] = True
    # APIs besides Chat Completions this upstream serves itself (the client's body relayed)
    native_apis: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, config: ProviderConfig, http: HttpClient) -> None:
        self.config = config
        self.http = http
        host = host_preset(config)
        include_usage = config.settings.get(
            "stream_include_usage", host.stream_include_usage if host else True
        )
        if not isinstance(include_usage, bool):
            raise ProviderConfigError(
                f"providers.{config.name}.settings.stream_include_usage: must be true or false"
            )
        self.rules = BodyRules(
            self.token_cap_field,
            self.developer_as_system,
            include_usage,
            dropped_fields(config, host),
        )
        base_url = (config.base_url or self.default_base_url).rstrip("/")
        if not base_url:
            raise ProviderConfigError(
                f"providers.{config.name}.base_url: required for type {config.type}"
            )
        self.base_url = base_url
        self.url = self.endpoint(base_url)
        self.headers = {"content-type": "application/json", **self.auth_headers()}

    def endpoint(self, base_url: str) -> str:
        return f"{base_url}/chat/completions"

    def url_for(self, upstream_model: str) -> str:
        return self.url

    def responses_url(self) -> str:
        return f"{self.base_url}/responses"

    def embeddings_url_for(self, upstream_model: str) -> str:
        return f"{self.base_url}/embeddings"

    def auth_headers(self) -> dict[str, str]:
        secret = self.config.secret
        return {"authorization": f"Bearer {secret}"} if secret else {}

    async def complete(self, call: Call) -> Completion:
        if takes_native(self, call.native):
            return await self._complete_responses(call)
        body = upstream_body(call, stream=False, rules=self.rules)
        async with self.http.post(
            self.config, self.url_for(call.upstream_model), self.headers, body
        ) as response:
            data = await read_answer(response, self.config.name)
        try:
            view = _decode_view(data)
        except msgspec.DecodeError:
            raise protocol_error(self.config.name) from None
        if view.error is not None:
            raise answered_with_error(self.config.name)
        finish = view.choices[0].finish_reason if view.choices else None
        return Completion(data, view.usage, finish)

    async def embed(self, call: EmbedCall) -> Embeddings:
        body = embeddings_upstream_body(call)
        url = self.embeddings_url_for(call.upstream_model)
        async with self.http.post(self.config, url, self.headers, body) as response:
            data = await read_answer(response, self.config.name)
        return embeddings_from_upstream(data, call, self.config.name)

    async def stream(self, call: Call, stats: StreamStats) -> AsyncGenerator[bytes, None]:
        if takes_native(self, call.native):
            async with aclosing(self._stream_responses(call, stats)) as events:
                async for data in events:
                    yield data
            return
        body = upstream_body(call, stream=True, rules=self.rules)
        name = self.config.name
        async with (
            self.http.post(
                self.config, self.url_for(call.upstream_model), self.headers, body
            ) as response,
            aclosing(sse_event_batches(response, name)) as batches,
        ):
            async for batch in batches:
                last = len(batch) - 1
                for index, event in enumerate(batch):
                    data = event.data
                    if data == DONE:
                        return
                    if event.event == "error":
                        raise stream_error(name)
                    if not self._observe(data, stats):
                        continue
                    stats.chunks += 1
                    stats.more_ready = index < last
                    yield data
            if stats.finish_reason is None:
                raise stream_ended_early(name)

    async def _complete_responses(self, call: Call) -> Completion:
        body = native_body(call, GATEWAY_ONLY_KEYS, stream=False)
        async with self.http.post(
            self.config, self.responses_url(), self.headers, body
        ) as response:
            data = await read_answer(response, self.config.name)
        return completion_of(data, self.config.name)

    async def _stream_responses(
        self, call: Call, stats: StreamStats
    ) -> AsyncGenerator[bytes, None]:
        """The upstream's Responses events (JSON, no SSE framing), relayed as they are."""
        body = native_body(call, GATEWAY_ONLY_KEYS, stream=True)
        name = self.config.name
        async with (
            self.http.post(self.config, self.responses_url(), self.headers, body) as response,
            aclosing(sse_event_batches(response, name)) as batches,
        ):
            async for batch in batches:
                last = len(batch) - 1
                for index, event in enumerate(batch):
                    if event.data == DONE:
                        continue
                    observe_event(event.data, event.event, stats, name)
                    stats.chunks += 1
                    stats.more_ready = index < last
                    yield event.data
                    if stats.finish_reason is not None:
                        return
            raise stream_ended_early(name)

    def _observe(self, data: bytes, stats: StreamStats) -> bool:
        """Note usage and finish reasons; False for a malformed event, which is skipped."""
        try:
            view = _decode_view(data)
        except msgspec.DecodeError:
            skipped_malformed_event(self.config.name)
            return False
        if view.error is not None:
            raise stream_error(self.config.name)
        if view.usage is not None:
            stats.usage = view.usage
        for choice in view.choices:
            if choice.finish_reason is not None:
                stats.finish_reason = choice.finish_reason
        # The usage chunk comes after every choice's finish reason.
        stats.complete = view.usage is not None and stats.finish_reason is not None
        return True

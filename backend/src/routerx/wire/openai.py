"""OpenAI Chat Completions wire types, decoded and encoded with msgspec.

The gateway decodes a request body once into a plain dict (so that fields it does not model pass
through to OpenAI-compatible upstreams untouched) and validates that dict into `ChatRequest`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

MAX_MESSAGES = 4096

Role = Literal["system", "developer", "user", "assistant", "tool", "function"]


class ImageURL(Struct, omit_defaults=True):
    url: str
    detail: Literal["auto", "low", "high"] | None = None


class TextPart(Struct, tag_field="type", tag="text", omit_defaults=True):
    text: str


class ImagePart(Struct, tag_field="type", tag="image_url", omit_defaults=True):
    # The seed README writes `"image_url": "https://..."`; OpenAI writes an object.
    image_url: str | ImageURL

    @property
    def url(self) -> str:
        return self.image_url if isinstance(self.image_url, str) else self.image_url.url


class InputAudio(Struct, omit_defaults=True):
    data: str  # base64, without a data: URL header
    format: Literal["wav", "mp3"]


class AudioPart(Struct, tag_field="type", tag="input_audio", omit_defaults=True):
    input_audio: InputAudio


class FileData(Struct, omit_defaults=True):
    """A file as Chat Completions sends it: inline (`file_data`, a base64 data: URL) or an id of
    the upstream's own file store (`file_id`, meaningful to OpenAI-family targets only)."""

    file_data: str | None = None
    file_id: str | None = None
    filename: str | None = None


class FilePart(Struct, tag_field="type", tag="file", omit_defaults=True):
    file: FileData


ContentPart = TextPart | ImagePart | AudioPart | FilePart


class FunctionCall(Struct, omit_defaults=True):
    name: str
    arguments: str = ""


class ToolCall(Struct):
    id: str
    function: FunctionCall
    type: Literal["function"] = "function"


class Message(Struct, omit_defaults=True):
    role: Role
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None

    def parts(self) -> list[ContentPart]:
        if self.content is None:
            return []
        if isinstance(self.content, str):
            return [TextPart(text=self.content)]
        return self.content


class StreamOptions(Struct, omit_defaults=True):
    include_usage: bool = False


class FunctionDef(Struct, omit_defaults=True):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ToolDef(Struct, omit_defaults=True):
    function: FunctionDef
    type: Literal["function"] = "function"


class ResponseFormat(Struct, omit_defaults=True):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: dict[str, Any] | None = None


Temperature = Annotated[float, Meta(ge=0, le=2)]
TopP = Annotated[float, Meta(ge=0, le=1)]
Penalty = Annotated[float, Meta(ge=-2, le=2)]
TokenCap = Annotated[int, Meta(ge=1, le=1_000_000)]
ReasoningEffort = Literal["minimal", "low", "medium", "high"]
TopLogprobs = Annotated[int, Meta(ge=0, le=20)]


class ChatRequest(Struct, omit_defaults=True):
    """The validated view of a chat request; unknown fields are kept in the raw dict only."""

    model: Annotated[str, Meta(min_length=1, max_length=200)]
    messages: Annotated[list[Message], Meta(min_length=1, max_length=MAX_MESSAGES)]
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: Temperature | None = None
    top_p: TopP | None = None
    max_tokens: TokenCap | None = None
    max_completion_tokens: TokenCap | None = None
    n: Annotated[int, Meta(ge=1, le=128)] | None = None
    stop: str | Annotated[list[str], Meta(max_length=4)] | None = None
    seed: int | None = None
    user: str | None = None
    presence_penalty: Penalty | None = None
    frequency_penalty: Penalty | None = None
    tools: list[ToolDef] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    reasoning_effort: ReasoningEffort | None = None
    logprobs: bool | None = None
    top_logprobs: TopLogprobs | None = None

    @property
    def include_usage(self) -> bool:
        return self.stream_options is not None and self.stream_options.include_usage

    @property
    def output_token_cap(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    def image_count(self) -> int:
        return sum(isinstance(p, ImagePart) for m in self.messages for p in m.parts())

    def part_kinds(self) -> frozenset[type[ContentPart]]:
        """The kinds of content part anywhere in the conversation."""
        return frozenset(
            type(p) for m in self.messages if isinstance(m.content, list) for p in m.content
        )

    @property
    def wants_logprobs(self) -> bool:
        return bool(self.logprobs) or self.top_logprobs is not None


class PromptTokensDetails(Struct):
    cached_tokens: int | None = 0
    # Anthropic only: tokens written to its prompt cache (counted in prompt_tokens too).
    cache_creation_tokens: int | msgspec.UnsetType | None = msgspec.UNSET
    audio_tokens: int | msgspec.UnsetType | None = msgspec.UNSET
    # Anthropic only: the part of cache_creation_tokens written with the 1-hour lifetime.
    cache_creation_1h_tokens: int | msgspec.UnsetType | None = msgspec.UNSET


class CompletionTokensDetails(Struct):
    reasoning_tokens: int | None = 0
    audio_tokens: int | msgspec.UnsetType | None = msgspec.UNSET


class Usage(Struct, omit_defaults=False):
    """Details are left out of the JSON (UNSET) when the upstream reported none."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    prompt_tokens_details: PromptTokensDetails | msgspec.UnsetType | None = msgspec.UNSET
    completion_tokens_details: CompletionTokensDetails | msgspec.UnsetType | None = msgspec.UNSET


class ResponseMessage(Struct):
    role: Literal["assistant"] = "assistant"
    content: str | None = None
    tool_calls: list[ToolCall] | None = None
    refusal: str | None = None


class Choice(Struct):
    index: int
    message: ResponseMessage
    finish_reason: str | None = None
    logprobs: dict[str, Any] | None = None


class ChatCompletion(Struct):
    id: str
    created: int
    model: str
    choices: list[Choice]
    usage: Usage | None = None
    object: Literal["chat.completion"] = "chat.completion"


class ChunkToolCall(Struct, omit_defaults=True):
    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: dict[str, str] | None = None


class Delta(Struct, omit_defaults=True):
    role: Literal["assistant"] | None = None
    content: str | None = None
    tool_calls: list[ChunkToolCall] | None = None


class ChunkChoice(Struct):
    index: int
    delta: Delta
    finish_reason: str | None = None


class ChatCompletionChunk(Struct):
    id: str
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"


class UsageView(Struct):
    """Decodes only `usage` from an OpenAI-shaped body; msgspec skips the rest unparsed."""

    usage: Usage | None = None


class ModelCard(Struct):
    id: str
    created: int
    owned_by: str = "routerx"
    object: Literal["model"] = "model"


class ModelList(Struct):
    data: list[ModelCard]
    object: Literal["list"] = "list"


json_encoder = msgspec.json.Encoder()

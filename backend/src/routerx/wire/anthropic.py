"""Anthropic Messages API wire types (https://docs.anthropic.com/en/api/messages), for msgspec.

Requests are decoded strictly, as Anthropic does: an unknown field or block type is an error that
names it. Answers and stream events are encoded from the structs below; their tags put `type`
first, as Anthropic writes it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

MAX_MESSAGES = 4096
CacheControl = dict[str, Any]


# --- request: content blocks ---------------------------------------------------------------


class Base64Source(Struct, tag_field="type", tag="base64", forbid_unknown_fields=True):
    media_type: str
    data: str


class URLSource(Struct, tag_field="type", tag="url", forbid_unknown_fields=True):
    url: str


class PlainTextSource(Struct, tag_field="type", tag="text", forbid_unknown_fields=True):
    media_type: Literal["text/plain"]
    data: str


class ContentSource(Struct, tag_field="type", tag="content", forbid_unknown_fields=True):
    content: str | list[dict[str, Any]]


class FileSource(Struct, tag_field="type", tag="file", forbid_unknown_fields=True):
    file_id: str


class TextBlock(
    Struct, tag_field="type", tag="text", omit_defaults=True, forbid_unknown_fields=True
):
    text: str
    cache_control: CacheControl | None = None
    citations: list[dict[str, Any]] | None = None


ImageSource = Base64Source | URLSource | FileSource


class ImageBlock(
    Struct, tag_field="type", tag="image", omit_defaults=True, forbid_unknown_fields=True
):
    source: ImageSource
    cache_control: CacheControl | None = None


class DocumentBlock(
    Struct, tag_field="type", tag="document", omit_defaults=True, forbid_unknown_fields=True
):
    source: Base64Source | PlainTextSource | URLSource | ContentSource | FileSource
    title: str | None = None
    context: str | None = None
    citations: dict[str, Any] | None = None
    cache_control: CacheControl | None = None


class ToolUseBlock(
    Struct, tag_field="type", tag="tool_use", omit_defaults=True, forbid_unknown_fields=True
):
    id: str
    name: str
    input: Any
    cache_control: CacheControl | None = None


class ToolResultBlock(
    Struct, tag_field="type", tag="tool_result", omit_defaults=True, forbid_unknown_fields=True
):
    tool_use_id: str
    content: str | list[TextBlock | ImageBlock | DocumentBlock] = ""
    is_error: bool = False
    cache_control: CacheControl | None = None


class ThinkingBlock(Struct, tag_field="type", tag="thinking", forbid_unknown_fields=True):
    thinking: str
    signature: str = ""


class RedactedThinkingBlock(
    Struct, tag_field="type", tag="redacted_thinking", forbid_unknown_fields=True
):
    data: str


InputBlock = (
    TextBlock
    | ImageBlock
    | DocumentBlock
    | ToolUseBlock
    | ToolResultBlock
    | ThinkingBlock
    | RedactedThinkingBlock
)


class InputMessage(Struct, forbid_unknown_fields=True):
    role: Literal["user", "assistant"]
    content: str | list[InputBlock]

    def blocks(self) -> list[InputBlock]:
        return [TextBlock(self.content)] if isinstance(self.content, str) else self.content


# --- request: tools, tool choice, thinking, metadata ------------------------------------------


class CustomTool(Struct, forbid_unknown_fields=True):
    """A client tool. Server tools (`web_search_...`, `bash_...`) carry their own `type`."""

    name: Annotated[str, Meta(min_length=1, max_length=128)]
    input_schema: dict[str, Any]
    description: str | None = None
    type: Literal["custom"] | None = None
    cache_control: CacheControl | None = None


class ToolChoiceAuto(Struct, tag_field="type", tag="auto", forbid_unknown_fields=True):
    disable_parallel_tool_use: bool = False


class ToolChoiceAny(Struct, tag_field="type", tag="any", forbid_unknown_fields=True):
    disable_parallel_tool_use: bool = False


class ToolChoiceTool(Struct, tag_field="type", tag="tool", forbid_unknown_fields=True):
    name: str
    disable_parallel_tool_use: bool = False


class ToolChoiceNone(Struct, tag_field="type", tag="none", forbid_unknown_fields=True):
    pass


ToolChoice = ToolChoiceAuto | ToolChoiceAny | ToolChoiceTool | ToolChoiceNone


class ThinkingEnabled(Struct, tag_field="type", tag="enabled", forbid_unknown_fields=True):
    budget_tokens: Annotated[int, Meta(ge=1024)]


class ThinkingDisabled(Struct, tag_field="type", tag="disabled", forbid_unknown_fields=True):
    pass


class Metadata(Struct, forbid_unknown_fields=True):
    user_id: Annotated[str, Meta(max_length=256)] | None = None


ModelName = Annotated[str, Meta(min_length=1, max_length=200)]
Messages = Annotated[list[InputMessage], Meta(min_length=1, max_length=MAX_MESSAGES)]
System = str | list[TextBlock]


class MessagesRequest(Struct, forbid_unknown_fields=True):
    """`POST /v1/messages`. `tools` stay plain objects so that a server tool can be refused by
    its own name rather than by an unknown-field error."""

    model: ModelName
    messages: Messages
    max_tokens: Annotated[int, Meta(ge=1, le=1_000_000)]
    system: System | None = None
    metadata: Metadata | None = None
    stop_sequences: list[str] | None = None
    stream: bool = False
    temperature: Annotated[float, Meta(ge=0, le=1)] | None = None
    top_p: Annotated[float, Meta(ge=0, le=1)] | None = None
    top_k: Annotated[int, Meta(ge=0)] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: ToolChoice | None = None
    thinking: ThinkingEnabled | ThinkingDisabled | None = None
    service_tier: Literal["auto", "standard_only"] | None = None


class CountTokensRequest(Struct, forbid_unknown_fields=True):
    """`POST /v1/messages/count_tokens`: the prompt part of a Messages request."""

    model: ModelName
    messages: Messages
    system: System | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: ToolChoice | None = None
    thinking: ThinkingEnabled | ThinkingDisabled | None = None


# --- answer ---------------------------------------------------------------------------------

StopReason = Literal["end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal"]
OutputBlock = TextBlock | ToolUseBlock | ThinkingBlock


class Usage(Struct):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0


class Message(Struct, tag_field="type", tag="message"):
    id: str
    model: str
    content: list[OutputBlock]
    stop_reason: StopReason | None
    stop_sequence: str | None
    usage: Usage
    role: Literal["assistant"] = "assistant"


class TokenCount(Struct):
    input_tokens: int


# --- stream events (https://docs.anthropic.com/en/docs/build-with-claude/streaming) -------------


class MessageStart(Struct, tag_field="type", tag="message_start"):
    message: Message


class ContentBlockStart(Struct, tag_field="type", tag="content_block_start"):
    index: int
    content_block: OutputBlock


class TextDelta(Struct, tag_field="type", tag="text_delta"):
    text: str


class InputJSONDelta(Struct, tag_field="type", tag="input_json_delta"):
    partial_json: str


class ThinkingDelta(Struct, tag_field="type", tag="thinking_delta"):
    thinking: str


BlockDelta = TextDelta | InputJSONDelta | ThinkingDelta


class ContentBlockDelta(Struct, tag_field="type", tag="content_block_delta"):
    index: int
    delta: BlockDelta


class ContentBlockStop(Struct, tag_field="type", tag="content_block_stop"):
    index: int


class MessageDeltaBody(Struct):
    stop_reason: StopReason | None
    stop_sequence: str | None


class MessageDelta(Struct, tag_field="type", tag="message_delta"):
    delta: MessageDeltaBody
    usage: Usage


class MessageStop(Struct, tag_field="type", tag="message_stop"):
    pass


class Ping(Struct, tag_field="type", tag="ping"):
    pass


# --- errors ---------------------------------------------------------------------------------

ErrorType = Literal[
    "invalid_request_error",
    "authentication_error",
    "permission_error",
    "not_found_error",
    "request_too_large",
    "rate_limit_error",
    "api_error",
    "timeout_error",
    "overloaded_error",
]


class ErrorDetail(Struct):
    type: ErrorType
    message: str


class ErrorBody(Struct, tag_field="type", tag="error"):
    error: ErrorDetail


json_encoder = msgspec.json.Encoder()

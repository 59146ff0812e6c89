"""What the Messages front reads of OpenAI answers and chunks: lenient msgspec views.

Fields beyond Chat Completions are read where upstreams send them: `reasoning_content` (or
`reasoning`) for thinking text, a choice's `stop_reason` naming the stop sequence that matched,
`prompt_tokens_details.cached_tokens` and `cache_creation_input_tokens` for prompt caching.
"""

from __future__ import annotations

import msgspec
from msgspec import Struct

from routerx.wire import anthropic as wire


class FunctionView(Struct):
    name: str | None = None
    arguments: str | None = None


class ToolCallView(Struct):
    index: int = 0
    id: str | None = None
    function: FunctionView | None = None


class MessageView(Struct):
    """A non-stream message or a stream delta: both carry the same fields."""

    content: str | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None
    refusal: str | None = None
    tool_calls: list[ToolCallView] | None = None

    @property
    def thinking(self) -> str | None:
        return self.reasoning_content or self.reasoning


class ChoiceView(Struct):
    index: int = 0
    message: MessageView | None = None
    delta: MessageView | None = None
    finish_reason: str | None = None
    stop_reason: str | int | None = None


class PromptDetailsView(Struct):
    cached_tokens: int | None = None


class UsageView(Struct):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    prompt_tokens_details: PromptDetailsView | None = None
    cache_creation_input_tokens: int | None = None

    def anthropic(self) -> wire.Usage:
        """OpenAI counts cached prompt tokens inside prompt_tokens; Anthropic apart."""
        details = self.prompt_tokens_details
        cached = (details.cached_tokens if details is not None else 0) or 0
        created = self.cache_creation_input_tokens or 0
        return wire.Usage(
            input_tokens=max(0, self.prompt_tokens - cached - created),
            output_tokens=self.completion_tokens,
            cache_creation_input_tokens=created,
            cache_read_input_tokens=cached,
        )


class CompletionView(Struct):
    id: str = ""
    model: str = ""
    choices: list[ChoiceView] = msgspec.field(default_factory=list)
    usage: UsageView | None = None


decode_completion = msgspec.json.Decoder(CompletionView).decode

"""An OpenAI `chat.completion` body -> an Anthropic Messages `message` body. Pure."""

from __future__ import annotations

import msgspec

from routerx.gateway.errors import upstream_failed
from routerx.gateway.fronts.base import Canonical
from routerx.gateway.fronts.messages.openai_views import (
    ChoiceView,
    MessageView,
    UsageView,
    decode_completion,
)
from routerx.gateway.fronts.messages.stop_reason import requested_stops, stop_reason
from routerx.providers.anthropic.request import tool_input
from routerx.providers.base import Completion
from routerx.wire import anthropic as wire

CHAT_ID_PREFIX = "chatcmpl-"
NATIVE_API = "messages"


def message_id(chat_id: str) -> str:
    return "msg_" + chat_id.removeprefix(CHAT_ID_PREFIX)


def content_blocks(message: MessageView) -> list[wire.OutputBlock]:
    blocks: list[wire.OutputBlock] = []
    if message.thinking:
        blocks.append(wire.ThinkingBlock(thinking=message.thinking))
    text = message.content or message.refusal
    if text:
        blocks.append(wire.TextBlock(text))
    for call in message.tool_calls or ():
        function = call.function
        name = (function.name if function else None) or ""
        arguments = (function.arguments if function else None) or ""
        blocks.append(wire.ToolUseBlock(call.id or "", name, tool_input(arguments)))
    return blocks


def message_from_completion(completion: Completion, canonical: Canonical) -> wire.Message:
    try:
        view = decode_completion(completion.body)
    except msgspec.DecodeError:
        raise upstream_failed(502, "The upstream answer is not a chat completion.") from None
    choice = view.choices[0] if view.choices else ChoiceView()
    message = choice.message or MessageView()
    finish = choice.finish_reason or completion.finish_reason
    if message.refusal and not message.content:
        finish = "content_filter"
    reason, sequence = stop_reason(finish, choice.stop_reason, requested_stops(canonical.chat.stop))
    usage = view.usage
    if usage is None and completion.usage is not None:
        usage = UsageView(completion.usage.prompt_tokens, completion.usage.completion_tokens)
    return wire.Message(
        id=message_id(view.id),
        model=view.model or canonical.requested_model,
        content=content_blocks(message),
        stop_reason=reason,
        stop_sequence=sequence,
        usage=usage.anthropic() if usage is not None else wire.Usage(),
    )


def encode_completion(completion: Completion, canonical: Canonical) -> bytes:
    if completion.api == NATIVE_API:
        return completion.body  # Anthropic's own answer, relayed as it came
    return wire.json_encoder.encode(message_from_completion(completion, canonical))

"""OpenAI chat request -> Anthropic Messages request body.

System and developer messages become `system`; tool calls become `tool_use` blocks and tool
messages `tool_result` blocks; consecutive turns of one role are merged, as Anthropic expects
user and assistant turns to alternate. A conversation of system messages only is sent as one
user turn of that text (Anthropic refuses an empty `messages`). PDF `file` parts become
`document` blocks (base64 source, the filename as title). `reasoning_effort` becomes extended
thinking with the budget of providers.reasoning, `max_tokens` raised above it.

Refused with a 400 naming the field (RequestRejected), as Anthropic has no counterpart:
`input_audio` parts, `logprobs`/`top_logprobs`, `n` > 1, `temperature` above 1 (Anthropic's
range is 0..1), and with `reasoning_effort` a `temperature` other than 1, a `top_p` below 0.95
or a forced `tool_choice` (Anthropic refuses them with thinking). `response_format` is not
forwarded: Anthropic has no JSON mode, so an Anthropic provider should not be given the `json`
capability.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from routerx.providers.attachments import file_param, inline_pdf
from routerx.providers.errors import RequestRejected
from routerx.providers.images import ImageRejected, image_param, split_data_url
from routerx.providers.mapping import Param, apply_params, as_list
from routerx.providers.reasoning import thinking_budget
from routerx.wire.openai import (
    AudioPart,
    ChatRequest,
    ContentPart,
    FilePart,
    ImagePart,
    Message,
    TextPart,
    ToolDef,
)

DEFAULT_MAX_TOKENS = 4096
SYSTEM_ROLES = frozenset({"system", "developer"})
EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}
Block = dict[str, Any]


PROVIDER = "Anthropic"
MAX_TEMPERATURE = 1.0  # OpenAI allows 0..2, Anthropic 0..1
MIN_THINKING_TOP_P = 0.95


def _temperature(value: float) -> float:
    if value > MAX_TEMPERATURE:
        raise RequestRejected(
            f"`temperature` above {MAX_TEMPERATURE:g} is not supported by {PROVIDER} targets "
            "(their range is 0 to 1).",
            "temperature",
            "unsupported_value",
        )
    return value


def _tools(tools: list[ToolDef]) -> list[Block]:
    return [
        {
            "name": tool.function.name,
            **({"description": tool.function.description} if tool.function.description else {}),
            "input_schema": tool.function.parameters or EMPTY_SCHEMA,
        }
        for tool in tools
    ]


TOOL_CHOICE_MODES = {"auto": "auto", "required": "any", "none": "none"}


def _tool_choice(choice: str | dict[str, Any]) -> Block | None:
    if isinstance(choice, str):
        mode = TOOL_CHOICE_MODES.get(choice)
        return {"type": mode} if mode else None
    name = (choice.get("function") or {}).get("name")
    return {"type": "tool", "name": name} if name else None


PARAMS = (
    Param("output_token_cap", "max_tokens", default=DEFAULT_MAX_TOKENS),
    Param("temperature", "temperature", _temperature),
    Param("top_p", "top_p"),
    Param("stop", "stop_sequences", as_list),
    Param("user", "metadata.user_id"),
    Param("tools", "tools", _tools),
    Param("tool_choice", "tool_choice", _tool_choice),
)


def message_text(message: Message) -> str:
    return "".join(part.text for part in message.parts() if isinstance(part, TextPart))


def image_block(part: ImagePart, param: str) -> Block:
    url = part.url
    if url.startswith("data:"):
        mime, data = split_data_url(url, param)
        return {"type": "image", "source": {"type": "base64", "media_type": mime, "data": data}}
    if url.startswith(("https://", "http://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise ImageRejected("Image URLs must use http, https or a data: URL.", param)


def document_block(part: FilePart, param: str) -> Block:
    source = {
        "type": "base64",
        "media_type": "application/pdf",
        "data": inline_pdf(part, param, PROVIDER),
    }
    block: Block = {"type": "document", "source": source}
    if part.file.filename:
        block["title"] = part.file.filename
    return block


def content_blocks(parts: list[ContentPart], message_index: int) -> list[Block]:
    blocks: list[Block] = []
    for part_index, part in enumerate(parts):
        if isinstance(part, TextPart):
            if part.text:
                blocks.append({"type": "text", "text": part.text})
        elif isinstance(part, ImagePart):
            blocks.append(image_block(part, image_param(message_index, part_index)))
        elif isinstance(part, FilePart):
            blocks.append(document_block(part, file_param(message_index, part_index)))
        else:
            assert isinstance(part, AudioPart)
            raise RequestRejected(
                f"{PROVIDER} targets take no audio input.",
                f"messages[{message_index}].content[{part_index}]",
                "capability_not_supported",
            )
    return blocks


def tool_input(arguments: str) -> Any:
    """Anthropic wants an object; arguments that are not a JSON object are kept as a string."""
    try:
        value = msgspec.json.decode(arguments) if arguments else {}
    except msgspec.DecodeError:
        value = None
    return value if isinstance(value, dict) else {"arguments": arguments}


def _user(message: Message, index: int) -> tuple[str, list[Block]]:
    return "user", content_blocks(message.parts(), index)


def _assistant(message: Message, index: int) -> tuple[str, list[Block]]:
    blocks = content_blocks(message.parts(), index)
    for call in message.tool_calls or ():
        blocks.append(
            {
                "type": "tool_use",
                "id": call.id,
                "name": call.function.name,
                "input": tool_input(call.function.arguments),
            }
        )
    return "assistant", blocks


def _tool(message: Message, index: int) -> tuple[str, list[Block]]:
    result = {
        "type": "tool_result",
        "tool_use_id": message.tool_call_id or message.name or "",
        "content": message_text(message),
    }
    return "user", [result]


TURNS: dict[str, Callable[[Message, int], tuple[str, list[Block]]]] = {
    "user": _user,
    "assistant": _assistant,
    "tool": _tool,
    "function": _tool,
}


def messages_and_system(messages: list[Message]) -> tuple[list[Block], str | None]:
    system: list[str] = []
    turns: list[Block] = []
    for index, message in enumerate(messages):
        if message.role in SYSTEM_ROLES:
            system.append(message_text(message))
            continue
        role, blocks = TURNS[message.role](message, index)
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    text = "\n\n".join(system) if system else None
    if not turns and text:  # system messages only: the instruction is the conversation
        return [{"role": "user", "content": [{"type": "text", "text": text}]}], None
    return turns, text


def refuse_unsupported(request: ChatRequest) -> None:
    if request.wants_logprobs:
        param = "logprobs" if request.logprobs else "top_logprobs"
        raise RequestRejected(f"`{param}` is not supported by {PROVIDER} targets.", param)
    if request.n is not None and request.n > 1:
        raise RequestRejected(f"`n` greater than 1 is not supported by {PROVIDER} targets.", "n")


def apply_thinking(request: ChatRequest, body: dict[str, Any]) -> None:
    """Extended thinking for `reasoning_effort`; Anthropic wants `max_tokens` above the budget,
    so a cap at or below it becomes budget + cap (the cap is left for the answer)."""
    if request.reasoning_effort is None:
        return
    if request.temperature is not None and request.temperature != 1:
        raise RequestRejected(
            f"{PROVIDER} targets take no `temperature` other than 1 with `reasoning_effort`.",
            "temperature",
            "unsupported_value",
        )
    if request.top_p is not None and request.top_p < MIN_THINKING_TOP_P:
        raise RequestRejected(
            f"{PROVIDER} targets take `top_p` only from {MIN_THINKING_TOP_P} to 1 with "
            "`reasoning_effort`.",
            "top_p",
            "unsupported_value",
        )
    if isinstance(request.tool_choice, dict) or request.tool_choice == "required":
        raise RequestRejected(
            f"{PROVIDER} targets cannot force a tool call with `reasoning_effort`.",
            "tool_choice",
            "unsupported_value",
        )
    budget = thinking_budget(request.reasoning_effort)
    body["thinking"] = {"type": "enabled", "budget_tokens": budget}
    if body["max_tokens"] <= budget:
        body["max_tokens"] += budget


def anthropic_body(request: ChatRequest, model: str, *, stream: bool) -> dict[str, Any]:
    refuse_unsupported(request)
    messages, system = messages_and_system(request.messages)
    body: dict[str, Any] = {"model": model}
    if system is not None:
        body["system"] = system
    body["messages"] = messages
    apply_params(PARAMS, request, body)
    apply_thinking(request, body)
    if request.parallel_tool_calls is False and request.tools:
        choice = body.setdefault("tool_choice", {"type": "auto"})
        if choice["type"] != "none":
            choice["disable_parallel_tool_use"] = True
    if stream:
        body["stream"] = True
    return body

"""OpenAI chat request -> Anthropic Messages request body.

System and developer messages become `system`; tool calls become `tool_use` blocks and tool
messages `tool_result` blocks; consecutive turns of one role are merged, as Anthropic expects
user and assistant turns to alternate. `response_format` is not forwarded: Anthropic has no
JSON mode, so an Anthropic provider should not be given the `json` capability.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from routerx.providers.images import ImageRejected, image_param, split_data_url
from routerx.providers.mapping import Param, apply_params, as_list
from routerx.wire.openai import (
    ChatRequest,
    ContentPart,
    ImagePart,
    Message,
    TextPart,
    ToolDef,
)

DEFAULT_MAX_TOKENS = 4096
SYSTEM_ROLES = frozenset({"system", "developer"})
EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}
Block = dict[str, Any]


def _temperature(value: float) -> float:
    return min(value, 1.0)  # OpenAI allows 0..2, Anthropic 0..1


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


def content_blocks(parts: list[ContentPart], message_index: int) -> list[Block]:
    blocks: list[Block] = []
    for part_index, part in enumerate(parts):
        if isinstance(part, TextPart):
            if part.text:
                blocks.append({"type": "text", "text": part.text})
        else:
            blocks.append(image_block(part, image_param(message_index, part_index)))
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
    return turns, "\n\n".join(system) if system else None


def anthropic_body(request: ChatRequest, model: str, *, stream: bool) -> dict[str, Any]:
    messages, system = messages_and_system(request.messages)
    body: dict[str, Any] = {"model": model}
    if system is not None:
        body["system"] = system
    body["messages"] = messages
    apply_params(PARAMS, request, body)
    if request.parallel_tool_calls is False and request.tools:
        choice = body.setdefault("tool_choice", {"type": "auto"})
        if choice["type"] != "none":
            choice["disable_parallel_tool_use"] = True
    if stream:
        body["stream"] = True
    return body

"""OpenAI chat request -> Bedrock Converse request body (the same for ConverseStream).

Roles: system/developer -> `system` text blocks, assistant -> `assistant` with `toolUse` blocks,
tool -> a `user` turn with a `toolResult`; consecutive turns of one role are merged (Converse
wants them alternating). Images travel as bytes (base64 in JSON): data: URLs as they are,
http(s) URLs fetched through the guarded fetcher (Bedrock fetches nothing itself). PDF `file`
parts become `document` blocks. Audio, `n` > 1, logprobs, penalties, `seed` and JSON output
modes have no Converse counterpart and are refused with a 400 naming the field.
`reasoning_effort` becomes Anthropic's thinking budget in `additionalModelRequestFields` for
`anthropic.` models (cross-region profiles such as `us.anthropic.` included) and is refused
for the others.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from routerx.providers.attachments import file_param, inline_pdf
from routerx.providers.errors import RequestRejected
from routerx.providers.gemini.request import fetch_images
from routerx.providers.images import ImageFetcher, image_param, split_data_url
from routerx.providers.mapping import Param, apply_params, as_list
from routerx.providers.reasoning import thinking_budget
from routerx.wire.openai import (
    AudioPart,
    ChatRequest,
    FilePart,
    ImagePart,
    Message,
    TextPart,
    ToolCall,
    ToolDef,
)

PROVIDER = "Bedrock"
SYSTEM_ROLES = frozenset({"system", "developer"})
IMAGE_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/gif": "gif", "image/webp": "webp"}
# Converse document names: letters, digits, single spaces, hyphens, parentheses, brackets.
_DOCUMENT_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9\-()\[\] ]+")
Block = dict[str, Any]


def _tools(tools: list[ToolDef]) -> list[Block]:
    specs = []
    for tool in tools:
        spec: Block = {
            "name": tool.function.name,
            "inputSchema": {"json": tool.function.parameters or {"type": "object"}},
        }
        if tool.function.description:
            spec["description"] = tool.function.description
        specs.append({"toolSpec": spec})
    return specs


def _tool_choice(choice: str | dict[str, Any]) -> Block | None:
    if choice == "auto":
        return {"auto": {}}
    if choice == "required":
        return {"any": {}}
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        return {"tool": {"name": name}} if name else None
    return None


PARAMS = (
    Param("output_token_cap", "inferenceConfig.maxTokens"),
    Param("temperature", "inferenceConfig.temperature"),
    Param("top_p", "inferenceConfig.topP"),
    Param("stop", "inferenceConfig.stopSequences", as_list),
)
UNSUPPORTED = ("seed", "presence_penalty", "frequency_penalty")


def is_anthropic_model(model: str) -> bool:
    """`anthropic.claude-...` or a cross-region inference profile such as `us.anthropic.`."""
    return model.startswith("anthropic.") or ".anthropic." in model.split(":", 1)[0]


def _refuse_unsupported(request: ChatRequest, model: str) -> None:
    if request.wants_logprobs:
        param = "logprobs" if request.logprobs else "top_logprobs"
        raise RequestRejected(f"`{param}` is not supported by {PROVIDER} targets.", param)
    if request.n is not None and request.n > 1:
        raise RequestRejected(f"`n` greater than 1 is not supported by {PROVIDER} targets.", "n")
    for name in UNSUPPORTED:
        if getattr(request, name) is not None:
            raise RequestRejected(f"`{name}` is not supported by {PROVIDER} targets.", name)
    if request.response_format is not None and request.response_format.type != "text":
        raise RequestRejected(
            f"JSON output modes are not supported by {PROVIDER} targets.", "response_format"
        )
    if request.reasoning_effort is not None and not is_anthropic_model(model):
        raise RequestRejected(
            f"`reasoning_effort` is supported by {PROVIDER} targets for Anthropic models only.",
            "reasoning_effort",
        )


def _document_name(part: FilePart, index: int) -> str:
    stem = (part.file.filename or "").rsplit(".", 1)[0]
    name = " ".join(_DOCUMENT_NAME_UNSAFE.sub(" ", stem).split())
    return name[:200] or f"document {index + 1}"


class _Turns:
    """Builds `messages`, merging consecutive blocks of one role."""

    def __init__(self, images: dict[str, tuple[str, str]]) -> None:
        self.messages: list[Block] = []
        self.images = images
        self.documents = 0

    def add(self, role: str, blocks: list[Block]) -> None:
        if not blocks:
            return
        if self.messages and self.messages[-1]["role"] == role:
            self.messages[-1]["content"].extend(blocks)
        else:
            self.messages.append({"role": role, "content": blocks})

    def _image(self, part: ImagePart, param: str) -> Block:
        if part.url.startswith("data:"):
            mime, data = split_data_url(part.url, param)
        else:
            mime, data = self.images[param]
        return {"image": {"format": IMAGE_FORMATS[mime], "source": {"bytes": data}}}

    def blocks(self, message: Message, index: int) -> list[Block]:
        blocks: list[Block] = []
        for part_index, part in enumerate(message.parts()):
            if isinstance(part, TextPart):
                if part.text:
                    blocks.append({"text": part.text})
            elif isinstance(part, ImagePart):
                blocks.append(self._image(part, image_param(index, part_index)))
            elif isinstance(part, FilePart):
                data = inline_pdf(part, file_param(index, part_index), PROVIDER)
                name = _document_name(part, self.documents)
                self.documents += 1
                blocks.append(
                    {"document": {"format": "pdf", "name": name, "source": {"bytes": data}}}
                )
            else:
                assert isinstance(part, AudioPart)
                raise RequestRejected(
                    f"{PROVIDER} targets take no audio input.",
                    f"messages[{index}].content[{part_index}]",
                    "capability_not_supported",
                )
        return blocks

    def assistant(self, message: Message, index: int) -> None:
        blocks = self.blocks(message, index)
        for call in message.tool_calls or ():
            blocks.append(
                {
                    "toolUse": {
                        "toolUseId": call.id,
                        "name": call.function.name,
                        "input": _args(call),
                    }
                }
            )
        self.add("assistant", blocks)

    def tool(self, message: Message) -> None:
        text = "".join(p.text for p in message.parts() if isinstance(p, TextPart))
        result = {
            "toolUseId": message.tool_call_id or message.name or "",
            "content": [_tool_content(text)],
        }
        self.add("user", [{"toolResult": result}])


def _args(call: ToolCall) -> Any:
    try:
        value = msgspec.json.decode(call.function.arguments or "{}")
    except msgspec.DecodeError:
        value = None
    return value if isinstance(value, dict) else {"arguments": call.function.arguments}


def _tool_content(text: str) -> Block:
    """A JSON object answer goes as a `json` block, anything else as `text`."""
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError:
        value = None
    return {"json": value} if isinstance(value, dict) else {"text": text or " "}


async def converse_body(request: ChatRequest, model: str, fetcher: ImageFetcher) -> dict[str, Any]:
    _refuse_unsupported(request, model)
    turns = _Turns(await fetch_images(request, fetcher))
    system: list[Block] = []
    for index, message in enumerate(request.messages):
        if message.role in SYSTEM_ROLES:
            text = "".join(p.text for p in message.parts() if isinstance(p, TextPart))
            if text:
                system.append({"text": text})
        elif message.role == "assistant":
            turns.assistant(message, index)
        elif message.role in {"tool", "function"}:
            turns.tool(message)
        else:
            turns.add("user", turns.blocks(message, index))
    if not turns.messages and system:  # system messages only: the instruction is the turn
        turns.add("user", system)
        system = []
    body: dict[str, Any] = {"messages": turns.messages}
    if system:
        body["system"] = system
    apply_params(PARAMS, request, body)
    if request.tools and request.tool_choice != "none":
        tool_config: Block = {"tools": _tools(request.tools)}
        choice = _tool_choice(request.tool_choice) if request.tool_choice is not None else None
        if choice is not None:
            tool_config["toolChoice"] = choice
        body["toolConfig"] = tool_config
    if request.reasoning_effort is not None:
        budget = thinking_budget(request.reasoning_effort)
        thinking = {"type": "enabled", "budget_tokens": budget}
        body["additionalModelRequestFields"] = {"thinking": thinking}
        inference = body.setdefault("inferenceConfig", {})
        if inference.get("maxTokens", 0) <= budget:
            inference["maxTokens"] = inference.get("maxTokens", 4096) + budget
    return body

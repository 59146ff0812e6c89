"""OpenAI chat request -> Gemini `generateContent` request body.

Roles: assistant -> model, system/developer -> `systemInstruction`, tool -> a user turn with a
`functionResponse`; a conversation of system messages only is sent as one user turn of that text
(Gemini refuses empty `contents`). Images, `input_audio` and PDF `file` parts go as `inlineData`
with their `mimeType`: image data: URLs as they are, http(s) image URLs fetched through the
guarded fetcher (Gemini does not fetch arbitrary URLs itself). `n` becomes `candidateCount`,
`reasoning_effort` `thinkingConfig.thinkingBudget` (providers.reasoning). `logprobs` and
`top_logprobs` are refused with a 400 (RequestRejected), as is a `file_id` (an OpenAI file
store id means nothing to Gemini).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from typing import Any

import msgspec

from routerx.providers.attachments import AUDIO_MIME_TYPES, PDF_MIME, file_param, inline_pdf
from routerx.providers.errors import RequestRejected
from routerx.providers.images import (
    ImageBudget,
    ImageFetcher,
    ImageRejected,
    image_param,
    split_data_url,
)
from routerx.providers.mapping import Param, apply_params, as_list
from routerx.providers.reasoning import thinking_budget
from routerx.wire.openai import (
    AudioPart,
    ChatRequest,
    FilePart,
    ImagePart,
    Message,
    ResponseFormat,
    TextPart,
    ToolCall,
    ToolDef,
)

SYSTEM_ROLES = frozenset({"system", "developer"})
JSON_FORMATS = frozenset({"json_object", "json_schema"})
Part = dict[str, Any]


def _json_mime(response_format: ResponseFormat) -> str | None:
    return "application/json" if response_format.type in JSON_FORMATS else None


def _json_schema(response_format: ResponseFormat) -> Any:
    if response_format.type != "json_schema" or not response_format.json_schema:
        return None
    return response_format.json_schema.get("schema")


def _tools(tools: list[ToolDef]) -> list[Part]:
    declarations = [
        {
            "name": tool.function.name,
            **({"description": tool.function.description} if tool.function.description else {}),
            **(
                {"parametersJsonSchema": tool.function.parameters}
                if tool.function.parameters
                else {}
            ),
        }
        for tool in tools
    ]
    return [{"functionDeclarations": declarations}]


TOOL_MODES = {"auto": "AUTO", "required": "ANY", "none": "NONE"}


def _tool_config(choice: str | dict[str, Any]) -> Part | None:
    if isinstance(choice, str):
        mode = TOOL_MODES.get(choice)
        return {"functionCallingConfig": {"mode": mode}} if mode else None
    name = (choice.get("function") or {}).get("name")
    if not name:
        return None
    return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [name]}}


PARAMS = (
    Param("tools", "tools", _tools),
    Param("tool_choice", "toolConfig", _tool_config),
    Param("temperature", "generationConfig.temperature"),
    Param("top_p", "generationConfig.topP"),
    Param("output_token_cap", "generationConfig.maxOutputTokens"),
    Param("stop", "generationConfig.stopSequences", as_list),
    Param("n", "generationConfig.candidateCount"),
    Param("seed", "generationConfig.seed"),
    Param("presence_penalty", "generationConfig.presencePenalty"),
    Param("frequency_penalty", "generationConfig.frequencyPenalty"),
    Param("response_format", "generationConfig.responseMimeType", _json_mime),
    Param("response_format", "generationConfig.responseJsonSchema", _json_schema),
    Param("reasoning_effort", "generationConfig.thinkingConfig.thinkingBudget", thinking_budget),
)
PROVIDER = "Gemini"


def message_text(message: Message) -> str:
    return "".join(part.text for part in message.parts() if isinstance(part, TextPart))


async def fetch_images(request: ChatRequest, fetcher: ImageFetcher) -> dict[str, tuple[str, str]]:
    """(mime, base64) per image param, for every http(s) image, fetched concurrently."""
    budget = ImageBudget()
    wanted = {
        image_param(m, p): part.url
        for m, message in enumerate(request.messages)
        for p, part in enumerate(message.parts())
        if isinstance(part, ImagePart) and not part.url.startswith("data:")
    }
    if not wanted:
        return {}
    budget.check_fetch_count(len(wanted))

    async def one(param: str, url: str) -> tuple[str, str]:
        if not url.startswith(("https://", "http://")):
            raise ImageRejected("Image URLs must use http, https or a data: URL.", param)
        mime, data = await fetcher.fetch(url, param=param, budget=budget)
        return mime, base64.b64encode(data).decode()

    try:
        async with asyncio.TaskGroup() as group:
            tasks = {param: group.create_task(one(param, url)) for param, url in wanted.items()}
    except ExceptionGroup as failed:  # the first refusal is the client's answer
        raise failed.exceptions[0] from None
    return {param: task.result() for param, task in tasks.items()}


class _Turns:
    """Builds `contents`, merging consecutive parts of one role."""

    def __init__(self, images: dict[str, tuple[str, str]]) -> None:
        self.contents: list[Part] = []
        self.images = images
        self.tool_names: dict[str, str] = {}

    def add(self, role: str, parts: list[Part]) -> None:
        if not parts:
            return
        if self.contents and self.contents[-1]["role"] == role:
            self.contents[-1]["parts"].extend(parts)
        else:
            self.contents.append({"role": role, "parts": parts})

    def content_parts(self, message: Message, index: int) -> list[Part]:
        parts: list[Part] = []
        for part_index, part in enumerate(message.parts()):
            if isinstance(part, TextPart):
                if part.text:
                    parts.append({"text": part.text})
                continue
            if isinstance(part, AudioPart):
                audio = part.input_audio
                mime, data = AUDIO_MIME_TYPES[audio.format], audio.data
            elif isinstance(part, FilePart):
                mime = PDF_MIME
                data = inline_pdf(part, file_param(index, part_index), PROVIDER)
            else:
                param = image_param(index, part_index)
                if part.url.startswith("data:"):
                    mime, data = split_data_url(part.url, param)
                else:
                    mime, data = self.images[param]
            parts.append({"inlineData": {"mimeType": mime, "data": data}})
        return parts

    def user(self, message: Message, index: int) -> None:
        self.add("user", self.content_parts(message, index))

    def assistant(self, message: Message, index: int) -> None:
        parts = self.content_parts(message, index)
        for call in message.tool_calls or ():
            self.tool_names[call.id] = call.function.name
            parts.append({"functionCall": {"name": call.function.name, "args": _args(call)}})
        self.add("model", parts)

    def tool(self, message: Message, index: int) -> None:
        call_id = message.tool_call_id or ""
        name = self.tool_names.get(call_id) or message.name or call_id
        response = {"name": name, "response": _tool_response(message_text(message))}
        self.add("user", [{"functionResponse": response}])


def _args(call: ToolCall) -> Any:
    try:
        value = msgspec.json.decode(call.function.arguments or "{}")
    except msgspec.DecodeError:
        value = None
    return value if isinstance(value, dict) else {"arguments": call.function.arguments}


def _tool_response(text: str) -> Any:
    """A JSON object answer is passed as it is; anything else is wrapped as {"content": text}."""
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError:
        value = None
    return value if isinstance(value, dict) else {"content": text}


TURNS: dict[str, Callable[[_Turns, Message, int], None]] = {
    "user": _Turns.user,
    "assistant": _Turns.assistant,
    "tool": _Turns.tool,
    "function": _Turns.tool,
}


async def gemini_body(request: ChatRequest, fetcher: ImageFetcher) -> dict[str, Any]:
    if request.wants_logprobs:
        param = "logprobs" if request.logprobs else "top_logprobs"
        raise RequestRejected(f"`{param}` is not supported by {PROVIDER} targets.", param)
    turns = _Turns(await fetch_images(request, fetcher))
    system: list[str] = []
    for index, message in enumerate(request.messages):
        if message.role in SYSTEM_ROLES:
            system.append(message_text(message))
        else:
            TURNS[message.role](turns, message, index)
    text = "\n\n".join(system)
    if not turns.contents and text:  # system messages only: the instruction is the conversation
        turns.add("user", [{"text": text}])
        system = []
    body: dict[str, Any] = {"contents": turns.contents}
    if system:
        body["systemInstruction"] = {"parts": [{"text": text}]}
    apply_params(PARAMS, request, body)
    return body

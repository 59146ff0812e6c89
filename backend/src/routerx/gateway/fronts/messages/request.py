"""Anthropic Messages request -> the canonical Chat Completions dict. Pure: no I/O.

`system` becomes a system message; `tool_result` blocks become `tool` messages placed before the
rest of their user turn (Chat Completions wants them right after the assistant's tool calls), and
images inside a tool result join that user turn; `tool_use` blocks become `tool_calls`; earlier
`thinking` blocks are dropped (no other API takes them back); `cache_control` is a caching hint and
is dropped. What would change the answer and has no Chat Completions counterpart is left out of
the translation and kept as the request's `untranslatable` 400, naming the field: an Anthropic
target answers the original body natively, any other target refuses the request with it. What
no API accepts (unknown fields and block types, bad images) is a 400 at once.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec

from routerx.gateway.errors import GatewayError, from_validation_error, invalid_request
from routerx.gateway.request_parsing import check_text
from routerx.providers.images import MIME_ALIASES, ImageBudget, ImageRejected, parse_data_url
from routerx.wire import anthropic as wire
from routerx.wire.openai import ChatRequest

HTTP_SCHEMES = ("https://", "http://")
PDF = "application/pdf"
MAX_STOP_SEQUENCES = 4  # Chat Completions takes at most four
# extended thinking budget -> reasoning_effort: below 4096 tokens low, below 16384 medium, else high
REASONING_EFFORTS = ((4096, "low"), (16384, "medium"))
TOOL_ERROR_PREFIX = "Error: "
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
_UNKNOWN_FIELD = re.compile(r"unknown field `(?P<field>[^`]+)`")
_AT_PATH = re.compile(r"at `\$(?P<path>[^`]*)`")
Part = dict[str, Any]
RequestT = TypeVar("RequestT", wire.MessagesRequest, wire.CountTokensRequest)


def unsupported(param: str, why: str) -> GatewayError:
    return invalid_request(f"`{param}` {why}", param, "unsupported_parameter")


def validation_error(exc: msgspec.ValidationError) -> GatewayError:
    """msgspec's message, with an unknown field named as the parameter it is."""
    text = str(exc)
    unknown = _UNKNOWN_FIELD.search(text)
    if unknown is None:
        return from_validation_error(exc)
    at = _AT_PATH.search(text)
    path = at.group("path").lstrip(".") if at else ""
    param = f"{path}.{unknown.group('field')}" if path else unknown.group("field")
    return unsupported(param, "is not a Messages API field RouterX accepts.")


def decode_request(raw: dict[str, Any], kind: type[RequestT]) -> RequestT:
    try:
        request = msgspec.convert(raw, kind)
    except msgspec.ValidationError as exc:
        raise validation_error(exc) from None
    if _CONTROL_CHARACTERS.search(request.model):
        raise invalid_request("`model` must not contain control characters.", "model")
    return request


def system_text(system: wire.System | None) -> str | None:
    if system is None:
        return None
    if isinstance(system, str):
        return system or None
    return "\n\n".join(block.text for block in system if block.text) or None


class Translator:
    """One request's translation: the per-request image budget, and the first part of the
    request the translation could not carry."""

    def __init__(self) -> None:
        self.budget = ImageBudget()
        self.untranslatable: GatewayError | None = None

    def cannot_translate(self, param: str, why: str) -> list[Part]:
        """Leave this part out of the translation, remembering why; no parts for it."""
        if self.untranslatable is None:
            self.untranslatable = unsupported(param, why)
        return []

    def messages(
        self, system: wire.System | None, turns: list[wire.InputMessage]
    ) -> list[dict[str, Any]]:
        chat: list[dict[str, Any]] = []
        text = system_text(system)
        if text is not None:
            chat.append({"role": "system", "content": text})
        for index, turn in enumerate(turns):
            param = f"messages[{index}].content"
            if isinstance(turn.content, list) and not turn.content:
                raise invalid_request("A message needs at least one content block.", param)
            if turn.role == "user":
                chat.extend(self.user_turn(turn, param))
            else:
                chat.append(self.assistant_turn(turn, param))
        return chat

    def user_turn(self, turn: wire.InputMessage, param: str) -> list[dict[str, Any]]:
        if isinstance(turn.content, str):
            return [{"role": "user", "content": turn.content}]
        tool_messages: list[dict[str, Any]] = []
        parts: list[Part] = []
        content_blocks = 0  # a user message even if its blocks could not all be translated
        for index, block in enumerate(turn.content):
            where = f"{param}[{index}]"
            if not isinstance(block, wire.ToolResultBlock):
                content_blocks += 1
            if isinstance(block, wire.ToolResultBlock):
                text, media = self.tool_result(block, where)
                tool_messages.append(
                    {"role": "tool", "tool_call_id": block.tool_use_id, "content": text}
                )
                parts.extend(media)
            elif isinstance(block, (wire.ThinkingBlock, wire.RedactedThinkingBlock)):
                raise invalid_request("Thinking blocks belong to assistant turns.", where)
            elif isinstance(block, wire.ToolUseBlock):
                raise invalid_request("`tool_use` blocks belong to assistant turns.", where)
            else:
                parts.extend(self.part(block, where))
        if parts or content_blocks:
            return [*tool_messages, {"role": "user", "content": parts}]
        return tool_messages

    def assistant_turn(self, turn: wire.InputMessage, param: str) -> dict[str, Any]:
        if isinstance(turn.content, str):
            return {"role": "assistant", "content": turn.content}
        texts: list[str] = []
        calls: list[dict[str, Any]] = []
        for index, block in enumerate(turn.content):
            if isinstance(block, wire.TextBlock):
                texts.append(block.text)
            elif isinstance(block, wire.ToolUseBlock):
                arguments = msgspec.json.encode(block.input).decode()
                calls.append(
                    {
                        "id": block.id,
                        "type": "function",
                        "function": {"name": block.name, "arguments": arguments},
                    }
                )
            elif not isinstance(block, (wire.ThinkingBlock, wire.RedactedThinkingBlock)):
                raise invalid_request(
                    "Assistant turns take text, tool_use and thinking blocks only.",
                    f"{param}[{index}]",
                )
        message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None}
        if calls:
            message["tool_calls"] = calls
        return message

    def tool_result(self, block: wire.ToolResultBlock, param: str) -> tuple[str, list[Part]]:
        """The result's text for the tool message, and its images and documents for the user
        turn after it (tool messages carry text only)."""
        texts: list[str] = []
        media: list[Part] = []
        if isinstance(block.content, str):
            texts.append(block.content)
        else:
            for index, item in enumerate(block.content):
                for part in self.part(item, f"{param}.content[{index}]"):
                    if part["type"] == "text":
                        texts.append(part["text"])
                    else:
                        media.append(part)
        text = "\n".join(texts)
        return (TOOL_ERROR_PREFIX + text if block.is_error else text), media

    def part(self, block: wire.InputBlock, param: str) -> list[Part]:
        if isinstance(block, wire.TextBlock):
            return [{"type": "text", "text": block.text}]
        if isinstance(block, wire.ImageBlock):
            return self.image(block.source, f"{param}.source")
        if isinstance(block, wire.DocumentBlock):
            return self.document(block, param)
        kind = type(block).__struct_config__.tag
        raise invalid_request(f"A `{kind}` block is not accepted here.", param)

    def image(self, source: wire.ImageSource, param: str) -> list[Part]:
        if isinstance(source, wire.FileSource):
            return self.cannot_translate(
                param, "is a Files API reference, which only an Anthropic provider resolves."
            )
        if isinstance(source, wire.URLSource):
            if not source.url.startswith(HTTP_SCHEMES):
                raise invalid_request(
                    "An image URL must be an http(s) URL.", param, "invalid_image_url"
                )
            return [{"type": "image_url", "image_url": {"url": source.url}}]
        mime = MIME_ALIASES.get(source.media_type.lower(), source.media_type.lower())
        url = f"data:{mime};base64,{source.data}"
        try:
            parse_data_url(url, param=param, budget=self.budget)
        except ImageRejected as rejected:
            raise invalid_request(rejected.message, param, "invalid_image") from None
        except ValueError:  # binascii refuses non-ASCII text with a plain ValueError
            raise invalid_request(
                "The image data is not valid base64.", param, "invalid_image"
            ) from None
        return [{"type": "image_url", "image_url": {"url": url}}]

    def document(self, block: wire.DocumentBlock, param: str) -> list[Part]:
        if block.citations is not None and block.citations.get("enabled"):
            return self.cannot_translate(f"{param}.citations", "need an Anthropic provider.")
        parts: list[Part] = []
        if block.context:
            parts.append({"type": "text", "text": block.context})
        source = block.source
        where = f"{param}.source"
        if isinstance(source, wire.Base64Source):
            if source.media_type != PDF:
                raise unsupported(f"{where}.media_type", "must be application/pdf for base64.")
            filename = block.title or "document.pdf"
            data = f"data:{PDF};base64,{source.data}"
            parts.append({"type": "file", "file": {"filename": filename, "file_data": data}})
        elif isinstance(source, wire.PlainTextSource):
            title = f"{block.title}\n\n" if block.title else ""
            parts.append({"type": "text", "text": title + source.data})
        elif isinstance(source, wire.ContentSource):
            if isinstance(source.content, str):
                parts.append({"type": "text", "text": source.content})
            else:
                for index, item in enumerate(source.content):
                    try:
                        inner: wire.TextBlock | wire.ImageBlock = msgspec.convert(
                            item, wire.TextBlock | wire.ImageBlock
                        )
                    except msgspec.ValidationError as exc:
                        raise invalid_request(
                            f"Invalid content block: {exc}", f"{where}.content[{index}]"
                        ) from None
                    parts.extend(self.part(inner, f"{where}.content[{index}]"))
        else:
            return self.cannot_translate(
                where, "is a URL or Files API document, which only an Anthropic provider reads."
            )
        return parts


def tool_definitions(tools: list[dict[str, Any]], translator: Translator) -> list[dict[str, Any]]:
    functions: list[dict[str, Any]] = []
    for index, spec in enumerate(tools):
        kind = spec.get("type")
        if kind not in (None, "custom"):
            if not isinstance(kind, str):
                raise invalid_request("A tool's `type` must be a string.", f"tools[{index}].type")
            translator.cannot_translate(
                f"tools[{index}]", f"is the server tool `{kind}`, which only Anthropic runs."
            )
            continue
        try:
            tool = msgspec.convert(spec, wire.CustomTool)
        except msgspec.ValidationError as exc:
            error = validation_error(exc)
            error.param = f"tools[{index}]" + (f".{error.param}" if error.param else "")
            raise error from None
        function: dict[str, Any] = {"name": tool.name, "parameters": tool.input_schema}
        if tool.description:
            function["description"] = tool.description
        functions.append({"type": "function", "function": function})
    return functions


def tool_choice(choice: wire.ToolChoice) -> str | dict[str, Any]:
    if isinstance(choice, wire.ToolChoiceAuto):
        return "auto"
    if isinstance(choice, wire.ToolChoiceAny):
        return "required"
    if isinstance(choice, wire.ToolChoiceNone):
        return "none"
    return {"type": "function", "function": {"name": choice.name}}


def reasoning_effort(budget_tokens: int) -> str:
    for below, effort in REASONING_EFFORTS:
        if budget_tokens < below:
            return effort
    return "high"


def chat_body(request: wire.MessagesRequest, translator: Translator) -> dict[str, Any]:
    """The canonical chat dict for a Messages request."""
    if request.top_k is not None:
        translator.cannot_translate("top_k", "has no Chat Completions counterpart.")
    body: dict[str, Any] = {
        "model": request.model,
        "messages": translator.messages(request.system, request.messages),
        "max_tokens": request.max_tokens,
    }
    if request.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.stop_sequences:
        if len(request.stop_sequences) > MAX_STOP_SEQUENCES:
            translator.cannot_translate(
                "stop_sequences", f"has more than the {MAX_STOP_SEQUENCES} Chat Completions takes."
            )
        else:
            body["stop"] = list(request.stop_sequences)
    if request.metadata is not None and request.metadata.user_id:
        body["user"] = request.metadata.user_id
    if request.tools:
        functions = tool_definitions(request.tools, translator)
        if functions:
            body["tools"] = functions
    if request.tool_choice is not None:
        body["tool_choice"] = tool_choice(request.tool_choice)
        if getattr(request.tool_choice, "disable_parallel_tool_use", False):
            body["parallel_tool_calls"] = False
    if isinstance(request.thinking, wire.ThinkingEnabled):
        body["reasoning_effort"] = reasoning_effort(request.thinking.budget_tokens)
    return body


def chat_request(body: dict[str, Any], translator: Translator) -> ChatRequest:
    """The typed view of a translated body (PDF documents travel as chat `file` parts)."""
    try:
        request = msgspec.convert(body, ChatRequest)
    except msgspec.ValidationError as exc:
        raise from_validation_error(exc) from None
    error = check_text(request)
    if error is not None:
        error.param = "messages"
        raise error
    return request

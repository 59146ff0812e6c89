"""A Responses request -> the canonical Chat Completions dict (pure, no I/O).

What Chat Completions cannot express, because it is state an upstream would have to keep (stored
responses, conversations, uploaded files) or tools that run at OpenAI, is recorded as a
`NativeOnly` reason instead of being translated, and refused with a 400 naming it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec

from routerx.gateway import errors
from routerx.gateway.errors import GatewayError
from routerx.wire.responses import (
    FunctionCallItem,
    FunctionCallOutputItem,
    FunctionTool,
    InputContent,
    InputFile,
    InputImage,
    InputOutputText,
    InputRefusal,
    InputText,
    MessageItem,
    ResponsesRequest,
)

STATE_KEPT_UPSTREAM = "asks for state RouterX does not keep"
BUILT_IN_TOOL = "is a built-in tool that runs at OpenAI"
BUILT_IN_TOOL_TYPES = frozenset(
    {
        "web_search",
        "web_search_preview",
        "web_search_preview_2025_03_11",
        "web_search_2025_08_26",
        "file_search",
        "code_interpreter",
        "computer_use",
        "computer_use_preview",
        "computer",
        "image_generation",
        "mcp",
        "local_shell",
        "shell",
        "apply_patch",
        "custom",
    }
)
BUILT_IN_ITEM_TYPES = frozenset(
    {
        "web_search_call",
        "file_search_call",
        "computer_call",
        "computer_call_output",
        "code_interpreter_call",
        "image_generation_call",
        "local_shell_call",
        "local_shell_call_output",
        "shell_call",
        "shell_call_output",
        "apply_patch_call",
        "apply_patch_call_output",
        "mcp_list_tools",
        "mcp_approval_request",
        "mcp_approval_response",
        "mcp_call",
        "custom_tool_call",
        "custom_tool_call_output",
    }
)
# Known request fields that do not change the answer a translated target gives.
NEUTRAL_FIELDS = frozenset(
    {"prompt_cache_key", "prompt_cache_retention", "service_tier", "stream_options", "truncation"}
)
TRANSLATED_FIELDS = frozenset(
    {
        "model",
        "input",
        "instructions",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "text",
        "max_output_tokens",
        "temperature",
        "top_p",
        "reasoning",
        "metadata",
        "stream",
        "store",
        "previous_response_id",
        "conversation",
        "background",
        "prompt",
        "include",
        "max_tool_calls",
        "top_logprobs",
        "user",
        "safety_identifier",
    }
)
# `include` values with something to add on a translated target: logprobs, which are refused.
# The others ask for built-in tool outputs or encrypted reasoning, which a translation never has.
NATIVE_INCLUDES = frozenset({"message.output_text.logprobs"})
CHAT_IMAGE_DETAIL = frozenset({"auto", "low", "high"})
NOT_TRANSLATED = "is not translated to Chat Completions"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class NativeOnly:
    """Why a request cannot be translated: the parameter and what it needs."""

    param: str
    reason: str

    def error(self) -> GatewayError:
        return errors.responses_not_translatable(self.param, self.reason)


@dataclass(slots=True)
class Translation:
    request: ResponsesRequest
    chat: dict[str, Any]
    # chat message index -> the Responses param it came from, to name it in errors
    sources: list[str] = field(default_factory=list)
    native_only: NativeOnly | None = None


def parse_request(body: dict[str, Any]) -> ResponsesRequest:
    try:
        return msgspec.convert(body, ResponsesRequest)
    except msgspec.ValidationError as exc:
        raise errors.from_validation_error(exc) from None


def translate(body: dict[str, Any]) -> Translation:
    """Raises GatewayError for a request that is invalid everywhere; a request that only a
    Responses-native upstream can serve comes back with `native_only` set."""
    request = parse_request(body)
    builder = _ChatBuilder(request)
    builder.run(body)
    return Translation(request, builder.chat, builder.sources, builder.native_only)


class _ChatBuilder:
    def __init__(self, request: ResponsesRequest) -> None:
        self.request = request
        self.messages: list[dict[str, Any]] = []
        self.sources: list[str] = []
        self.native_only: NativeOnly | None = None
        self.chat: dict[str, Any] = {}

    def refuse_translation(self, param: str, reason: str) -> None:
        if self.native_only is None:
            self.native_only = NativeOnly(param, reason)

    def run(self, body: dict[str, Any]) -> None:
        request = self.request
        for name in body:
            if name not in TRANSLATED_FIELDS and name not in NEUTRAL_FIELDS:
                self.refuse_translation(name, "has no Chat Completions equivalent")
        self._state_fields()
        if request.instructions is not None:
            self._add({"role": "system", "content": request.instructions}, "instructions")
        if isinstance(request.input, str):
            self._add({"role": "user", "content": request.input}, "input")
        elif request.input is not None:
            for index, item in enumerate(request.input):
                self._item(item, f"input[{index}]")
        if not self.messages:
            if self.native_only is None:
                raise errors.invalid_request("`input` is required.", "input")
            # Only a Responses-native upstream can answer (say, input from a stored prompt);
            # this one message keeps the canonical request valid for routing and limits.
            self.messages.append({"role": "user", "content": ""})
            self.sources.append("input")
        self.chat = self._chat_dict()

    def _state_fields(self) -> None:
        request = self.request
        if request.store:
            self.refuse_translation(
                "store", f"{STATE_KEPT_UPSTREAM} (RouterX never stores conversation content)"
            )
        if request.previous_response_id is not None:
            self.refuse_translation("previous_response_id", STATE_KEPT_UPSTREAM)
        if request.conversation is not None:
            self.refuse_translation("conversation", STATE_KEPT_UPSTREAM)
        if request.background:
            self.refuse_translation("background", STATE_KEPT_UPSTREAM)
        if request.prompt is not None:
            self.refuse_translation("prompt", "refers to a prompt stored at OpenAI")
        if request.max_tool_calls is not None:
            self.refuse_translation("max_tool_calls", "has no Chat Completions equivalent")
        if request.top_logprobs is not None:
            self.refuse_translation("top_logprobs", NOT_TRANSLATED)
        for value in request.include or ():
            if value in NATIVE_INCLUDES:
                self.refuse_translation("include", f"`{value}` is not translated")

    def _add(self, message: dict[str, Any], source: str) -> None:
        self.messages.append(message)
        self.sources.append(source)

    def _item(self, item: dict[str, Any], param: str) -> None:
        kind = item.get("type", "message")
        if kind == "message":
            self._message(_convert(item, MessageItem, param), param)
        elif kind == "function_call":
            self._function_call(_convert(item, FunctionCallItem, param), param)
        elif kind == "function_call_output":
            output = _convert(item, FunctionCallOutputItem, param)
            content = self._tool_output_text(output.output, f"{param}.output")
            self._add({"role": "tool", "tool_call_id": output.call_id, "content": content}, param)
        elif kind == "reasoning":
            # An earlier turn's reasoning: Chat Completions has no slot for it, and the
            # answer it led to is in the conversation already.
            pass
        elif kind == "item_reference":
            self.refuse_translation(f"{param}", f"refers to a stored item: {STATE_KEPT_UPSTREAM}")
        elif kind in BUILT_IN_ITEM_TYPES:
            self.refuse_translation(f"{param}.type", f"`{kind}` {BUILT_IN_TOOL}")
        else:
            self.refuse_translation(f"{param}.type", f"`{kind}` {NOT_TRANSLATED}")

    def _message(self, item: MessageItem, param: str) -> None:
        role = "system" if item.role == "developer" else item.role
        content = item.content
        if isinstance(content, str):
            self._add({"role": role, "content": content}, param)
            return
        if role == "assistant":
            text = "".join(_assistant_text(part, f"{param}.content") for part in content)
            self._add({"role": "assistant", "content": text}, param)
            return
        parts = [
            self._part(part, f"{param}.content[{index}]", role)
            for index, part in enumerate(content)
        ]
        kept = [part for part in parts if part is not None]
        if role == "system":
            text = "".join(part["text"] for part in kept)
            self._add({"role": "system", "content": text}, param)
        elif content and not kept:
            # Every part needs a native target (refused above if the target is not one).
            self._add({"role": role, "content": ""}, param)
        else:
            self._add({"role": role, "content": kept}, param)

    def _part(self, part: InputContent, param: str, role: str) -> dict[str, Any] | None:
        if isinstance(part, InputText):
            return {"type": "text", "text": part.text}
        if role == "system":
            self.refuse_translation(param, "Chat Completions system messages take text only")
            return None
        if isinstance(part, InputImage):
            if part.image_url is None:
                if part.file_id is None:
                    raise errors.invalid_request(
                        "An input_image needs `image_url` or `file_id`.", param
                    )
                self.refuse_translation(f"{param}.file_id", "refers to a file stored at OpenAI")
                return None
            image: dict[str, Any] = {"url": part.image_url}
            if part.detail in CHAT_IMAGE_DETAIL:
                image["detail"] = part.detail
            return {"type": "image_url", "image_url": image}
        if isinstance(part, InputFile):
            if part.file_data is None:
                if part.file_id is not None:
                    self.refuse_translation(f"{param}.file_id", "refers to a file stored at OpenAI")
                elif part.file_url is not None:
                    self.refuse_translation(
                        f"{param}.file_url", "is fetched by OpenAI; send `file_data` instead"
                    )
                else:
                    raise errors.invalid_request(
                        "An input_file needs `file_data`, `file_id` or `file_url`.", param
                    )
                return None
            file: dict[str, Any] = {"file_data": part.file_data}
            if part.filename is not None:
                file["filename"] = part.filename
            return {"type": "file", "file": file}
        raise errors.invalid_request(
            "Only assistant messages take output_text and refusal parts.", f"{param}.type"
        )

    def _function_call(self, item: FunctionCallItem, param: str) -> None:
        call = {
            "id": item.call_id,
            "type": "function",
            "function": {"name": item.name, "arguments": item.arguments},
        }
        last = self.messages[-1] if self.messages else None
        if last is not None and last["role"] == "assistant":
            # Parallel calls, or text then calls: one assistant turn in Chat Completions.
            last.setdefault("tool_calls", []).append(call)
            if not last.get("content"):
                last["content"] = None
            return
        self._add({"role": "assistant", "content": None, "tool_calls": [call]}, param)

    def _tool_output_text(self, output: str | list[InputContent], param: str) -> str:
        if isinstance(output, str):
            return output
        texts: list[str] = []
        for index, part in enumerate(output):
            if isinstance(part, InputText):
                texts.append(part.text)
            else:
                self.refuse_translation(
                    f"{param}[{index}]", "Chat Completions tool results take text only"
                )
        return "".join(texts)

    def _chat_dict(self) -> dict[str, Any]:
        request = self.request
        chat: dict[str, Any] = {"model": request.model, "messages": self.messages}
        if request.stream:
            chat["stream"] = True
            chat["stream_options"] = {"include_usage": True}
        for name in ("temperature", "top_p", "parallel_tool_calls"):
            value = getattr(request, name)
            if value is not None:
                chat[name] = value
        if request.max_output_tokens is not None:
            chat["max_tokens"] = request.max_output_tokens
        user = request.safety_identifier or request.user
        if user is not None:
            chat["user"] = user
        if request.reasoning is not None and request.reasoning.effort is not None:
            chat["reasoning_effort"] = request.reasoning.effort
        self._text_config(chat)
        self._tools(chat)
        return chat

    def _text_config(self, chat: dict[str, Any]) -> None:
        text = self.request.text
        if text is None:
            return
        if text.verbosity is not None:
            chat["verbosity"] = text.verbosity
        text_format = text.format
        if text_format is None or text_format.type == "text":
            return
        if text_format.type == "json_object":
            chat["response_format"] = {"type": "json_object"}
            return
        if text_format.name is None or text_format.schema is None:
            raise errors.invalid_request(
                "A json_schema format needs `name` and `schema`.", "text.format"
            )
        schema: dict[str, Any] = {"name": text_format.name, "schema": text_format.schema}
        if text_format.description is not None:
            schema["description"] = text_format.description
        if text_format.strict is not None:
            schema["strict"] = text_format.strict
        chat["response_format"] = {"type": "json_schema", "json_schema": schema}

    def _tools(self, chat: dict[str, Any]) -> None:
        request = self.request
        tools: list[dict[str, Any]] = []
        for index, tool in enumerate(request.tools or ()):
            param = f"tools[{index}]"
            kind = tool.get("type")
            if kind == "function":
                function = _convert(tool, FunctionTool, param)
                definition: dict[str, Any] = {"name": function.name}
                if function.description is not None:
                    definition["description"] = function.description
                if function.parameters is not None:
                    definition["parameters"] = function.parameters
                if function.strict is not None:
                    definition["strict"] = function.strict
                tools.append({"type": "function", "function": definition})
            elif kind in BUILT_IN_TOOL_TYPES:
                self.refuse_translation(f"{param}.type", f"`{kind}` {BUILT_IN_TOOL}")
            else:
                self.refuse_translation(f"{param}.type", f"`{kind}` {NOT_TRANSLATED}")
        if tools:
            chat["tools"] = tools
        choice = request.tool_choice
        if choice is None:
            return
        if isinstance(choice, str):
            if choice not in ("none", "auto", "required"):
                raise errors.invalid_request(
                    "`tool_choice` must be none, auto, required or an object.", "tool_choice"
                )
            chat["tool_choice"] = choice
            return
        kind = choice.get("type")
        name = choice.get("name")
        if kind == "function" and isinstance(name, str):
            chat["tool_choice"] = {"type": "function", "function": {"name": name}}
        elif kind in BUILT_IN_TOOL_TYPES:
            self.refuse_translation("tool_choice", f"`{kind}` {BUILT_IN_TOOL}")
        elif kind == "allowed_tools":
            self.refuse_translation("tool_choice", f"`allowed_tools` {NOT_TRANSLATED}")
        else:
            raise errors.invalid_request(
                "`tool_choice` must name a function: {type: function, name}.", "tool_choice"
            )


def _convert(value: dict[str, Any], kind: type[T], param: str) -> T:
    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError as exc:
        error = errors.from_validation_error(exc)
        error.param = f"{param}.{error.param}" if error.param else param
        raise error from None


def _assistant_text(part: InputContent, param: str) -> str:
    if isinstance(part, InputOutputText):
        return part.text
    if isinstance(part, InputRefusal):
        return part.refusal
    if isinstance(part, InputText):
        return part.text
    raise errors.invalid_request(
        "Assistant messages take output_text and refusal parts only.", param
    )

"""OpenAI Responses API wire types (`POST /v1/responses`), decoded and encoded with msgspec.

Input items are validated one by one (a message item may omit its `type`, which a tagged union
cannot express), so `input` and `tools` stay loosely typed at the top level.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import Meta, Struct, field

from routerx.wire.openai import Temperature, TokenCap, TopP

ModelName = Annotated[str, Meta(min_length=1, max_length=200)]
MetadataKey = Annotated[str, Meta(max_length=64)]
MetadataValue = Annotated[str, Meta(max_length=512)]
MAX_INPUT_ITEMS = 4096
ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh"]


# ---- request -------------------------------------------------------------------------------


class TextFormat(Struct, omit_defaults=True):
    type: Literal["text", "json_object", "json_schema"]
    name: str | None = None
    schema: dict[str, Any] | None = None
    description: str | None = None
    strict: bool | None = None


class TextConfig(Struct, omit_defaults=True):
    format: TextFormat | None = None
    verbosity: Literal["low", "medium", "high"] | None = None


class ReasoningConfig(Struct, omit_defaults=True):
    effort: ReasoningEffort | None = None
    summary: Literal["auto", "concise", "detailed"] | None = None
    generate_summary: Literal["auto", "concise", "detailed"] | None = None


class StreamOptions(Struct, omit_defaults=True):
    include_obfuscation: bool | None = None


class ResponsesRequest(Struct, omit_defaults=True):
    """The validated view of a Responses request; the client's dict is kept for pass-through."""

    model: ModelName
    input: str | Annotated[list[dict[str, Any]], Meta(max_length=MAX_INPUT_ITEMS)] | None = None
    instructions: str | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    text: TextConfig | None = None
    max_output_tokens: TokenCap | None = None
    temperature: Temperature | None = None
    top_p: TopP | None = None
    reasoning: ReasoningConfig | None = None
    metadata: Annotated[dict[MetadataKey, MetadataValue], Meta(max_length=16)] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    store: bool | None = None
    previous_response_id: str | None = None
    conversation: str | dict[str, Any] | None = None
    background: bool | None = None
    prompt: dict[str, Any] | None = None
    include: list[str] | None = None
    truncation: Literal["auto", "disabled"] | None = None
    max_tool_calls: Annotated[int, Meta(ge=1)] | None = None
    top_logprobs: Annotated[int, Meta(ge=0, le=20)] | None = None
    user: str | None = None
    safety_identifier: str | None = None
    prompt_cache_key: str | None = None
    prompt_cache_retention: str | None = None
    service_tier: str | None = None


class InputText(Struct, tag_field="type", tag="input_text"):
    text: str


class InputImage(Struct, tag_field="type", tag="input_image", omit_defaults=True):
    image_url: str | None = None
    file_id: str | None = None
    detail: Literal["auto", "low", "high", "original"] | None = None


class InputFile(Struct, tag_field="type", tag="input_file", omit_defaults=True):
    file_data: str | None = None
    file_id: str | None = None
    file_url: str | None = None
    filename: str | None = None


class InputOutputText(Struct, tag_field="type", tag="output_text"):
    """An earlier assistant answer sent back as input."""

    text: str
    annotations: list[Any] = []
    logprobs: Any = None


class InputRefusal(Struct, tag_field="type", tag="refusal"):
    refusal: str


InputContent = InputText | InputImage | InputFile | InputOutputText | InputRefusal


class MessageItem(Struct, omit_defaults=True):
    role: Literal["user", "assistant", "system", "developer"]
    content: str | list[InputContent]
    type: Literal["message"] = "message"
    id: str | None = None
    status: str | None = None
    phase: str | None = None


class FunctionCallItem(Struct, omit_defaults=True):
    call_id: str
    name: str
    arguments: str
    type: Literal["function_call"] = "function_call"
    id: str | None = None
    status: str | None = None


class FunctionCallOutputItem(Struct, omit_defaults=True):
    call_id: str
    output: str | list[InputContent]
    type: Literal["function_call_output"] = "function_call_output"
    id: str | None = None
    status: str | None = None


class FunctionTool(Struct, omit_defaults=True):
    name: Annotated[str, Meta(min_length=1, max_length=128)]
    type: Literal["function"] = "function"
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


# ---- the answer ----------------------------------------------------------------------------


class OutputText(Struct, tag_field="type", tag="output_text"):
    text: str
    annotations: list[Any] = field(default_factory=list)
    logprobs: list[Any] = field(default_factory=list)


class OutputRefusal(Struct, tag_field="type", tag="refusal"):
    refusal: str


class ReasoningText(Struct, tag_field="type", tag="reasoning_text"):
    text: str


class OutputMessage(Struct, tag_field="type", tag="message"):
    id: str
    status: Literal["in_progress", "completed", "incomplete"]
    content: list[OutputText | OutputRefusal]
    role: Literal["assistant"] = "assistant"


class OutputFunctionCall(Struct, tag_field="type", tag="function_call"):
    id: str
    call_id: str
    name: str
    arguments: str
    status: Literal["in_progress", "completed", "incomplete"]


class OutputReasoning(Struct, tag_field="type", tag="reasoning"):
    id: str
    summary: list[Any]
    content: list[ReasoningText]
    status: Literal["in_progress", "completed", "incomplete"]


OutputItem = OutputMessage | OutputFunctionCall | OutputReasoning


class InputTokensDetails(Struct):
    cached_tokens: int = 0
    cache_write_tokens: int = 0


class OutputTokensDetails(Struct):
    reasoning_tokens: int = 0


class ResponseUsage(Struct):
    input_tokens: int
    output_tokens: int
    total_tokens: int
    input_tokens_details: InputTokensDetails
    output_tokens_details: OutputTokensDetails


class IncompleteDetails(Struct):
    reason: Literal["max_output_tokens", "content_filter"]


class ResponseError(Struct):
    code: str
    message: str


class Response(Struct):
    """The Response object; request parameters are echoed as OpenAI echoes them."""

    id: str
    created_at: int
    status: Literal["in_progress", "completed", "incomplete", "failed"]
    model: str
    output: list[OutputItem]
    usage: ResponseUsage | None
    error: ResponseError | None
    incomplete_details: IncompleteDetails | None
    instructions: str | None
    max_output_tokens: int | None
    parallel_tool_calls: bool
    tool_choice: str | dict[str, Any]
    tools: list[dict[str, Any]]
    temperature: float | None
    top_p: float | None
    text: dict[str, Any]
    reasoning: dict[str, Any] | None
    metadata: dict[str, str]
    user: str | None
    store: bool = False
    background: bool = False
    previous_response_id: None = None
    truncation: str = "disabled"
    service_tier: str = "default"
    object: Literal["response"] = "response"


# ---- stream events -------------------------------------------------------------------------


class ResponseEvent(Struct, tag_field="type"):
    """response.created / in_progress / completed / incomplete / failed."""

    sequence_number: int
    response: Response


class ResponseCreated(ResponseEvent, tag="response.created"):
    pass


class ResponseInProgress(ResponseEvent, tag="response.in_progress"):
    pass


class ResponseCompleted(ResponseEvent, tag="response.completed"):
    pass


class ResponseIncomplete(ResponseEvent, tag="response.incomplete"):
    pass


class ResponseFailed(ResponseEvent, tag="response.failed"):
    pass


class OutputItemAdded(Struct, tag_field="type", tag="response.output_item.added"):
    sequence_number: int
    output_index: int
    item: OutputItem


class OutputItemDone(Struct, tag_field="type", tag="response.output_item.done"):
    sequence_number: int
    output_index: int
    item: OutputItem


ContentPart = OutputText | OutputRefusal | ReasoningText


class ContentPartAdded(Struct, tag_field="type", tag="response.content_part.added"):
    sequence_number: int
    item_id: str
    output_index: int
    content_index: int
    part: ContentPart


class ContentPartDone(Struct, tag_field="type", tag="response.content_part.done"):
    sequence_number: int
    item_id: str
    output_index: int
    content_index: int
    part: ContentPart


class OutputTextDelta(Struct, tag_field="type", tag="response.output_text.delta"):
    sequence_number: int
    item_id: str
    output_index: int
    content_index: int
    delta: str
    logprobs: list[Any] = field(default_factory=list)


class OutputTextDone(Struct, tag_field="type", tag="response.output_text.done"):
    sequence_number: int
    item_id: str
    output_index: int
    content_index: int
    text: str
    logprobs: list[Any] = field(default_factory=list)


class RefusalDelta(Struct, tag_field="type", tag="response.refusal.delta"):
    sequence_number: int
    item_id: str
    output_index: int
    content_index: int
    delta: str


class RefusalDone(Struct, tag_field="type", tag="response.refusal.done"):
    sequence_number: int
    item_id: str
    output_index: int
    content_index: int
    refusal: str


class ReasoningTextDelta(Struct, tag_field="type", tag="response.reasoning_text.delta"):
    sequence_number: int
    item_id: str
    output_index: int
    content_index: int
    delta: str


class ReasoningTextDone(Struct, tag_field="type", tag="response.reasoning_text.done"):
    sequence_number: int
    item_id: str
    output_index: int
    content_index: int
    text: str


class FunctionArgumentsDelta(
    Struct, tag_field="type", tag="response.function_call_arguments.delta"
):
    sequence_number: int
    item_id: str
    output_index: int
    delta: str


class FunctionArgumentsDone(Struct, tag_field="type", tag="response.function_call_arguments.done"):
    sequence_number: int
    item_id: str
    output_index: int
    name: str
    arguments: str


class ErrorEvent(Struct, tag_field="type", tag="error"):
    sequence_number: int
    message: str
    code: str | None = None
    param: str | None = None


# ---- views of the Chat Completions answer the translation reads ------------------------------


class ChatPromptDetails(Struct):
    cached_tokens: int | None = None


class ChatCompletionDetails(Struct):
    reasoning_tokens: int | None = None


class ChatUsage(Struct):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    prompt_tokens_details: ChatPromptDetails | None = None
    completion_tokens_details: ChatCompletionDetails | None = None


class ChatFunction(Struct):
    name: str | None = None
    arguments: str | None = None


class ChatToolCall(Struct):
    index: int = 0
    id: str | None = None
    function: ChatFunction | None = None


class ChatMessageView(Struct):
    """An answer message (or a stream delta): text, refusal, reasoning text, tool calls.
    `reasoning_content` is what vLLM, DeepSeek and several OpenAI-compatible servers send."""

    content: str | None = None
    refusal: str | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None
    tool_calls: list[ChatToolCall] | None = None

    @property
    def reasoning_text(self) -> str | None:
        return self.reasoning_content or self.reasoning


class ChatChoiceView(Struct):
    index: int = 0
    message: ChatMessageView | None = None
    delta: ChatMessageView | None = None
    finish_reason: str | None = None


class ChatAnswerView(Struct):
    """A `chat.completion` body or one `chat.completion.chunk`."""

    model: str | None = None
    choices: list[ChatChoiceView] = field(default_factory=list)
    usage: ChatUsage | None = None

"""Responses request -> canonical Chat Completions request: the pure translation."""

from __future__ import annotations

from typing import Any

import pytest

from routerx.gateway.errors import GatewayError
from routerx.gateway.fronts.responses import ResponsesFront
from routerx.gateway.fronts.responses.request import translate

FRONT = ResponsesFront()


def chat_of(body: dict[str, Any]) -> dict[str, Any]:
    canonical = FRONT.decode(body)
    assert canonical.untranslatable is None
    return canonical.raw


def untranslatable(body: dict[str, Any]) -> GatewayError:
    """Decoded (a native target may serve it), with the 400 for any other target."""
    canonical = FRONT.decode(body)
    assert canonical.native == ("responses", body)
    assert canonical.untranslatable is not None
    return canonical.untranslatable


def bad_request(body: dict[str, Any]) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        FRONT.decode(body)
    assert caught.value.status == 400
    return caught.value


def test_string_input_and_instructions_become_system_then_user() -> None:
    canonical = FRONT.decode({"model": "m", "input": "Hello", "instructions": "Be brief."})
    assert canonical.raw == {
        "model": "m",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hello"},
        ],
    }
    assert canonical.requested_model == "m"
    assert canonical.stream is False
    assert canonical.native == (
        "responses",
        {"model": "m", "input": "Hello", "instructions": "Be brief."},
    )
    assert canonical.request.messages[1].content == "Hello"


def test_message_items_with_text_image_and_file_parts() -> None:
    chat = translate(
        {
            "model": "m",
            "input": [
                {"role": "developer", "content": [{"type": "input_text", "text": "Rules."}]},
                {
                    "type": "message",
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "What is this?"},
                        {
                            "type": "input_image",
                            "image_url": "https://example.com/a.png",
                            "detail": "low",
                        },
                        {
                            "type": "input_file",
                            "file_data": "data:application/pdf;base64,JVBERi0=",
                            "filename": "a.pdf",
                        },
                    ],
                },
                {
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "A cat.", "annotations": []}],
                },
            ],
        }
    ).chat
    assert chat["messages"] == [
        {"role": "system", "content": "Rules."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {
                    "type": "image_url",
                    "image_url": {"url": "https://example.com/a.png", "detail": "low"},
                },
                {
                    "type": "file",
                    "file": {
                        "file_data": "data:application/pdf;base64,JVBERi0=",
                        "filename": "a.pdf",
                    },
                },
            ],
        },
        {"role": "assistant", "content": "A cat."},
    ]


def test_function_calls_and_outputs_become_one_assistant_turn_and_tool_messages() -> None:
    chat = chat_of(
        {
            "model": "m",
            "input": [
                {"role": "user", "content": "Weather in Paris and Rome?"},
                {
                    "type": "function_call",
                    "call_id": "call_1",
                    "name": "weather",
                    "arguments": '{"city":"Paris"}',
                },
                {
                    "type": "function_call",
                    "call_id": "call_2",
                    "name": "weather",
                    "arguments": '{"city":"Rome"}',
                    "id": "fc_2",
                    "status": "completed",
                },
                {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
                {
                    "type": "function_call_output",
                    "call_id": "call_2",
                    "output": [{"type": "input_text", "text": "rain"}],
                },
                {"type": "reasoning", "id": "rs_1", "summary": []},
            ],
        }
    )
    assert chat["messages"][1:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
                },
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city":"Rome"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "call_2", "content": "rain"},
    ]


def test_parameters_tools_and_formats() -> None:
    chat = chat_of(
        {
            "model": "m",
            "input": "hi",
            "stream": True,
            "temperature": 0.2,
            "top_p": 0.9,
            "max_output_tokens": 50,
            "reasoning": {"effort": "low", "summary": "auto"},
            "metadata": {"team": "a"},
            "parallel_tool_calls": False,
            "store": False,
            "user": "u-1",
            "tools": [
                {
                    "type": "function",
                    "name": "weather",
                    "description": "Weather.",
                    "parameters": {"type": "object"},
                    "strict": True,
                }
            ],
            "tool_choice": {"type": "function", "name": "weather"},
            "text": {
                "format": {
                    "type": "json_schema",
                    "name": "out",
                    "schema": {"type": "object"},
                    "strict": True,
                }
            },
        }
    )
    assert chat == {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0.2,
        "top_p": 0.9,
        "parallel_tool_calls": False,
        "max_tokens": 50,
        "user": "u-1",
        "reasoning_effort": "low",
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "out", "schema": {"type": "object"}, "strict": True},
        },
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "weather",
                    "description": "Weather.",
                    "parameters": {"type": "object"},
                    "strict": True,
                },
            }
        ],
        "tool_choice": {"type": "function", "function": {"name": "weather"}},
    }
    assert "metadata" not in chat  # echoed in the Response, not sent to the upstream


def test_json_object_and_plain_text_formats() -> None:
    assert chat_of({"model": "m", "input": "x", "text": {"format": {"type": "json_object"}}})[
        "response_format"
    ] == {"type": "json_object"}
    assert "response_format" not in chat_of(
        {"model": "m", "input": "x", "text": {"format": {"type": "text"}}}
    )
    assert (
        chat_of({"model": "m", "input": "x", "tool_choice": "required"})["tool_choice"]
        == "required"
    )


@pytest.mark.parametrize(
    ("body", "param", "words"),
    [
        ({"previous_response_id": "resp_1"}, "previous_response_id", "state RouterX does not keep"),
        ({"store": True}, "store", "never stores conversation content"),
        ({"conversation": "conv_1"}, "conversation", "state"),
        ({"background": True}, "background", "state"),
        ({"tools": [{"type": "web_search"}]}, "tools[0].type", "built-in tool"),
        (
            {"tools": [{"type": "file_search", "vector_store_ids": ["v"]}]},
            "tools[0].type",
            "built-in tool",
        ),
        (
            {"tools": [{"type": "code_interpreter", "container": {"type": "auto"}}]},
            "tools[0].type",
            "built-in",
        ),
        ({"tools": [{"type": "computer_use_preview"}]}, "tools[0].type", "built-in"),
        ({"tool_choice": {"type": "web_search_preview"}}, "tool_choice", "built-in"),
        ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0]", "stored item"),
        (
            {
                "input": [
                    {"role": "user", "content": [{"type": "input_image", "file_id": "file_1"}]}
                ]
            },
            "input[0].content[0].file_id",
            "file stored at OpenAI",
        ),
        (
            {
                "input": [
                    {
                        "role": "user",
                        "content": [{"type": "input_file", "file_url": "https://x/a.pdf"}],
                    }
                ]
            },
            "input[0].content[0].file_url",
            "file_data",
        ),
        ({"include": ["message.output_text.logprobs"]}, "include", "logprobs"),
        ({"some_future_field": 1}, "some_future_field", "no Chat Completions equivalent"),
    ],
)
def test_what_needs_a_native_target_is_refused_with_why(
    body: dict[str, Any], param: str, words: str
) -> None:
    error = untranslatable({"model": "m", "input": "hi", **body})
    assert (error.status, error.param, error.code) == (400, param, "unsupported_parameter")
    assert words in error.message
    assert "OpenAI or Azure OpenAI targets" in error.message
    assert b'"error":{"message"' in error.body()


def test_absent_or_false_store_and_harmless_fields_translate() -> None:
    for extra in (
        {},
        {"store": False},
        {"truncation": "disabled"},
        {"include": ["reasoning.encrypted_content"]},
        {"prompt_cache_key": "k"},
    ):
        chat_of({"model": "m", "input": "hi", **extra})


def test_a_stateful_request_without_input_still_has_a_routable_canonical() -> None:
    assert untranslatable({"model": "m", "conversation": "conv_1"}).param == "conversation"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": "x"}, "model"),
        ({"model": "m"}, "input"),
        ({"model": "m", "input": 3}, "input"),
        ({"model": "m", "input": "x", "temperature": 3}, "temperature"),
        ({"model": "m", "input": "x", "max_output_tokens": 0}, "max_output_tokens"),
        ({"model": "m", "input": [{"role": "robot", "content": "x"}]}, "input[0].role"),
        (
            {"model": "m", "input": [{"role": "user", "content": [{"type": "input_text"}]}]},
            "input[0].content[0].text",
        ),
        (
            {"model": "m", "input": [{"type": "function_call", "name": "f", "arguments": "{}"}]},
            "input[0].call_id",
        ),
        (
            {"model": "m", "input": [{"type": "function_call_output", "call_id": "c"}]},
            "input[0].output",
        ),
        ({"model": "m", "input": "x", "tools": [{"type": "function"}]}, "tools[0].name"),
        ({"model": "m", "input": "x", "tool_choice": "sometimes"}, "tool_choice"),
        ({"model": "m", "input": "x", "text": {"format": {"type": "json_schema"}}}, "text.format"),
        ({"model": "m", "input": "x", "metadata": {"k": 1}}, "metadata[...]"),
        ({"model": "m", "input": "x", "api_base": "http://evil"}, "api_base"),
        (
            {
                "model": "m",
                "input": [
                    {"role": "user", "content": [{"type": "input_image", "image_url": "ftp://x"}]}
                ],
            },
            "input[0].content[0].image_url",
        ),
        (
            {"model": "m", "input": [{"role": "user", "content": [{"type": "input_image"}]}]},
            "input[0].content[0]",
        ),
    ],
)
def test_invalid_input_is_a_400_naming_the_param(body: dict[str, Any], param: str) -> None:
    error = bad_request(body)
    assert error.param == param, error.message
    assert error.type == "invalid_request_error"


def test_api_key_reads_bearer_only() -> None:
    def scope(value: bytes | None) -> dict[str, Any]:
        return {"headers": [] if value is None else [(b"authorization", value)]}

    assert FRONT.api_key(scope(b"Bearer sk-1")) == "sk-1"
    assert FRONT.api_key(scope(b"bearer  sk-2 ")) == "sk-2"
    assert FRONT.api_key(scope(None)) is None
    for malformed in (b"Basic abc", b"Bearer \xff"):
        with pytest.raises(GatewayError) as caught:
            FRONT.api_key(scope(malformed))
        assert caught.value.status == 401


def test_an_input_file_is_a_chat_file_part_or_a_clear_400() -> None:
    """Whether the canonical chat request takes `file` parts depends on the chat wire types;
    either way it is a `file` part, and when the chat request cannot take it, only a native
    target may serve the request and the refusal names the input part."""
    body = {
        "model": "m",
        "input": [
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "Summarise."},
                    {
                        "type": "input_file",
                        "file_data": "data:application/pdf;base64,JVBERi0=",
                        "filename": "a.pdf",
                    },
                ],
            }
        ],
    }
    canonical = FRONT.decode(body)
    assert canonical.raw["messages"][0]["content"][1]["type"] == "file"
    error = canonical.untranslatable
    if error is not None:  # the canonical chat request takes no file parts
        assert (error.status, error.code) == (400, "unsupported_parameter")
        assert error.param == "input[0].content[1]"
        assert "`input_file`" in error.message

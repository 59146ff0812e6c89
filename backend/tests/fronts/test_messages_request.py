"""Anthropic Messages requests -> canonical chat: every block, parameter and refusal."""

from __future__ import annotations

import base64
from typing import Any

import msgspec
import pytest

from routerx.gateway.errors import GatewayError
from routerx.gateway.fronts.messages import MessagesFront
from routerx.gateway.fronts.messages.request import Translator, reasoning_effort
from routerx.gateway.fronts.messages.token_count import count_tokens
from routerx.routing.capabilities import needs_of
from routerx.wire.anthropic import InputMessage
from routerx.wire.tokens import estimate_prompt_tokens

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(32)).decode()
PDF = base64.b64encode(b"%PDF-1.4 tiny").decode()
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def body(**fields: Any) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 256,
        "messages": [{"role": "user", "content": "Hello"}],
        **fields,
    }


def translate(**fields: Any) -> dict[str, Any]:
    return MessagesFront().decode(body(**fields)).raw


def refusal(**fields: Any) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        MessagesFront().decode(body(**fields))
    assert caught.value.status == 400
    return caught.value


def test_minimal_request_keeps_model_and_max_tokens_and_the_original_body() -> None:
    raw = body()
    canonical = MessagesFront().decode(raw)
    assert canonical.raw == {
        "model": "claude-sonnet-4-5",
        "messages": [{"role": "user", "content": "Hello"}],
        "max_tokens": 256,
    }
    assert canonical.requested_model == "claude-sonnet-4-5"
    assert canonical.stream is False
    assert canonical.native == ("messages", raw)
    assert canonical.request.output_token_cap == 256


@pytest.mark.parametrize(
    "system",
    ["Be brief.", [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}]],
)
def test_system_as_string_or_blocks_becomes_the_system_message(system: Any) -> None:
    assert translate(system=system)["messages"][0] == {"role": "system", "content": "Be brief."}


def test_system_blocks_are_joined_by_a_blank_line() -> None:
    system = [{"type": "text", "text": "One."}, {"type": "text", "text": "Two."}]
    assert translate(system=system)["messages"][0]["content"] == "One.\n\nTwo."


def test_images_base64_and_url_become_image_url_parts() -> None:
    content = [
        {"type": "text", "text": "Compare"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
    ]
    canonical = MessagesFront().decode(body(messages=[{"role": "user", "content": content}]))
    assert canonical.raw["messages"][0]["content"] == [
        {"type": "text", "text": "Compare"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
    ]
    assert canonical.request.image_count() == 2


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ({"type": "base64", "media_type": "image/png", "data": "not base64!"}, "invalid_image"),
        ({"type": "base64", "media_type": "image/jpeg", "data": PNG}, "invalid_image"),
        ({"type": "base64", "media_type": "image/tiff", "data": PNG}, "invalid_image"),
        ({"type": "url", "url": "file:///etc/passwd"}, "invalid_image_url"),
    ],
)
def test_bad_images_are_refused_naming_the_block(source: dict[str, Any], code: str) -> None:
    content = [{"type": "text", "text": "see"}, {"type": "image", "source": source}]
    error = refusal(messages=[{"role": "user", "content": content}])
    assert error.param == "messages[0].content[1].source"
    assert error.code == code


def test_tool_use_and_tool_result_become_tool_calls_and_tool_messages() -> None:
    messages = [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "Use the tool.", "signature": "sig"},
                {"type": "text", "text": "Checking."},
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18 C"},
                {"type": "text", "text": "And tomorrow?"},
            ],
        },
    ]
    chat = translate(messages=messages, tools=[WEATHER_TOOL])["messages"]
    assert chat[1] == {
        "role": "assistant",
        "content": "Checking.",
        "tool_calls": [
            {
                "id": "toolu_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
            }
        ],
    }
    assert chat[2] == {"role": "tool", "tool_call_id": "toolu_1", "content": "18 C"}
    assert chat[3] == {"role": "user", "content": [{"type": "text", "text": "And tomorrow?"}]}


def test_tool_result_blocks_errors_and_images() -> None:
    result = {
        "type": "tool_result",
        "tool_use_id": "toolu_2",
        "is_error": True,
        "content": [
            {"type": "text", "text": "no such file"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        ],
    }
    messages = [
        {"role": "user", "content": "Read it"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_2", "name": "read", "input": {}}],
        },
        {"role": "user", "content": [result]},
    ]
    chat = translate(messages=messages)["messages"]
    assert chat[2] == {"role": "tool", "tool_call_id": "toolu_2", "content": "Error: no such file"}
    assert chat[3]["role"] == "user"
    assert chat[3]["content"][0]["type"] == "image_url"


def test_assistant_turn_with_only_a_tool_call_has_no_text() -> None:
    messages = [
        {"role": "user", "content": "go"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t"}]},
    ]
    chat = translate(messages=messages)["messages"]
    assert chat[1]["content"] is None
    assert chat[1]["tool_calls"][0]["function"]["arguments"] == "{}"
    assert chat[2] == {"role": "tool", "tool_call_id": "t", "content": ""}
    assert len(chat) == 3


def test_pdf_document_becomes_a_chat_file_part() -> None:
    block = {
        "type": "document",
        "title": "report.pdf",
        "context": "Quarterly report",
        "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
    }
    turn = msgspec.convert({"role": "user", "content": [block]}, InputMessage)
    chat = Translator().messages(None, [turn])
    assert chat[0]["content"] == [
        {"type": "text", "text": "Quarterly report"},
        {
            "type": "file",
            "file": {"filename": "report.pdf", "file_data": f"data:application/pdf;base64,{PDF}"},
        },
    ]


def test_text_documents_become_text_parts() -> None:
    block = {
        "type": "document",
        "title": "Notes",
        "source": {"type": "text", "media_type": "text/plain", "data": "Line one."},
    }
    chat = translate(messages=[{"role": "user", "content": [block]}])["messages"]
    assert chat[0]["content"] == [{"type": "text", "text": "Notes\n\nLine one."}]


def test_a_base64_document_must_be_a_pdf() -> None:
    block = {
        "type": "document",
        "source": {"type": "base64", "media_type": "image/png", "data": PNG},
    }
    error = refusal(messages=[{"role": "user", "content": [block]}])
    assert error.param == "messages[0].content[0].source.media_type"


def test_parameters_map_to_chat_completions() -> None:
    raw = translate(
        stream=True,
        temperature=0.3,
        top_p=0.9,
        stop_sequences=["END", "STOP"],
        metadata={"user_id": "user-42"},
        tools=[WEATHER_TOOL],
        tool_choice={"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True},
        thinking={"type": "enabled", "budget_tokens": 2048},
        service_tier="auto",
    )
    assert raw["stream"] is True
    assert raw["stream_options"] == {"include_usage": True}
    assert raw["temperature"] == 0.3
    assert raw["top_p"] == 0.9
    assert raw["stop"] == ["END", "STOP"]
    assert raw["user"] == "user-42"
    assert raw["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": WEATHER_TOOL["input_schema"],
                "description": "Weather for a city",
            },
        }
    ]
    assert raw["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert raw["parallel_tool_calls"] is False
    assert raw["reasoning_effort"] == "low"
    assert "service_tier" not in raw


@pytest.mark.parametrize(
    ("choice", "expected"),
    [({"type": "auto"}, "auto"), ({"type": "any"}, "required"), ({"type": "none"}, "none")],
)
def test_tool_choice_modes(choice: dict[str, Any], expected: str) -> None:
    raw = translate(tools=[WEATHER_TOOL], tool_choice=choice)
    assert raw["tool_choice"] == expected
    assert "parallel_tool_calls" not in raw


@pytest.mark.parametrize(("budget", "effort"), [(1024, "low"), (4096, "medium"), (16384, "high")])
def test_thinking_budget_maps_to_reasoning_effort(budget: int, effort: str) -> None:
    assert reasoning_effort(budget) == effort


def test_thinking_disabled_adds_nothing() -> None:
    assert "reasoning_effort" not in translate(thinking={"type": "disabled"})


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"max_tokens": None}, "max_tokens"),
        ({"container": "c1"}, "container"),
        ({"mcp_servers": []}, "mcp_servers"),
        ({"temperature": 1.5}, "temperature"),
        ({"model": "claude\x00x"}, "model"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "system", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "user", "content": []}]}, "messages[0].content"),
        (
            {"messages": [{"role": "user", "content": [{"type": "text", "text": "x", "foo": 1}]}]},
            "messages[0].content[0].foo",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "server_tool_use"}]}]},
            "messages[0].content[0].type",
        ),
        ({"tools": [{"name": "f"}]}, "tools[0].input_schema"),
        ({"tool_choice": {"type": "sometimes"}}, "tool_choice.type"),
        ({"thinking": {"type": "enabled", "budget_tokens": 10}}, "thinking.budget_tokens"),
    ],
)
def test_refusals_name_the_field(fields: dict[str, Any], param: str) -> None:
    raw = body(**fields)
    if fields.get("max_tokens", 0) is None:
        del raw["max_tokens"]
    with pytest.raises(GatewayError) as caught:
        MessagesFront().decode(raw)
    assert caught.value.status == 400
    assert caught.value.param == param, caught.value.message


def test_thinking_blocks_in_a_user_turn_are_refused() -> None:
    content = [{"type": "thinking", "thinking": "x", "signature": "s"}]
    assert refusal(messages=[{"role": "user", "content": content}]).param == (
        "messages[0].content[0]"
    )


def test_lone_surrogates_are_refused() -> None:
    assert refusal(messages=[{"role": "user", "content": "bad \ud800"}]).code == "invalid_unicode"


def test_count_tokens_matches_the_prompt_estimate_and_counts_tools() -> None:
    plain = {"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "Hello there"}]}
    canonical = MessagesFront().decode({**plain, "max_tokens": 10})
    assert count_tokens(plain) == estimate_prompt_tokens(canonical.request)
    assert count_tokens({**plain, "tools": [WEATHER_TOOL]}) > count_tokens(plain)


def test_count_tokens_refuses_messages_only_fields() -> None:
    with pytest.raises(GatewayError) as caught:
        count_tokens(
            {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
        )
    assert caught.value.param == "max_tokens"


def untranslatable(**fields: Any) -> tuple[dict[str, Any], GatewayError]:
    """The request decodes (an Anthropic target answers it natively) but keeps a 400 for the
    others, naming the field; the translation leaves the field out."""
    canonical = MessagesFront().decode(body(**fields))
    error = canonical.untranslatable
    assert error is not None and error.status == 400
    assert error.param is not None and f"`{error.param}`" in error.message
    return canonical.raw, error


def test_a_pdf_document_becomes_a_chat_file_part() -> None:
    block = {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
        "title": "report.pdf",
    }
    text = {"type": "text", "text": "Summarise"}
    canonical = MessagesFront().decode(body(messages=[{"role": "user", "content": [text, block]}]))
    assert canonical.untranslatable is None
    file_part = canonical.raw["messages"][0]["content"][1]
    assert file_part == {
        "type": "file",
        "file": {"filename": "report.pdf", "file_data": f"data:application/pdf;base64,{PDF}"},
    }
    assert "files" in needs_of(canonical.chat).required


PDF_URL = {"type": "url", "url": "https://example.com/a.pdf"}


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"top_k": 5}, "top_k"),
        ({"stop_sequences": ["a", "b", "c", "d", "e"]}, "stop_sequences"),
        (
            {"tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 2}]},
            "tools[0]",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "document", "source": PDF_URL}]}]},
            "messages[0].content[0].source",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "document",
                                "citations": {"enabled": True},
                                "source": {"type": "text", "media_type": "text/plain", "data": "x"},
                            }
                        ],
                    }
                ]
            },
            "messages[0].content[0].citations",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "see"},
                            {"type": "image", "source": {"type": "file", "file_id": "file_1"}},
                        ],
                    }
                ]
            },
            "messages[0].content[1].source",
        ),
    ],
)
def test_what_only_anthropic_takes_is_untranslatable(fields: dict[str, Any], param: str) -> None:
    raw, error = untranslatable(**fields)
    assert error.param == param
    assert not {"top_k", "tools"} & raw.keys()
    assert "stop" not in raw


def test_a_turn_whose_blocks_were_all_left_out_stays_a_user_turn() -> None:
    content = [{"type": "document", "source": PDF_URL}]
    raw, _ = untranslatable(messages=[{"role": "user", "content": content}])
    assert raw["messages"] == [{"role": "user", "content": []}]


def test_the_first_untranslatable_field_is_named() -> None:
    _, error = untranslatable(top_k=3, stop_sequences=list("abcde"))
    assert error.param == "top_k"


def test_a_server_tool_type_must_be_a_string() -> None:
    assert refusal(tools=[{"type": 7, "name": "x"}]).param == "tools[0].type"


def scope(*headers: tuple[bytes, bytes]) -> dict[str, Any]:
    return {"type": "http", "headers": list(headers)}


@pytest.mark.parametrize(
    ("headers", "key"),
    [
        ([(b"x-api-key", b"rx_key_1")], "rx_key_1"),
        ([(b"authorization", b"Bearer rx_key_2")], "rx_key_2"),
        ([(b"x-api-key", b"rx_key_1"), (b"authorization", b"Bearer other")], "rx_key_1"),
        ([(b"anthropic-version", b"2023-06-01")], None),
    ],
)
def test_api_key_from_x_api_key_or_bearer(
    headers: list[tuple[bytes, bytes]], key: str | None
) -> None:
    assert MessagesFront().api_key(scope(*headers)) == key


@pytest.mark.parametrize(
    "headers",
    [
        [(b"authorization", b"Basic abc")],
        [(b"x-api-key", "ключ".encode())],
        [(b"x-api-key", b"k" * 1000)],
    ],
)
def test_a_malformed_key_header_is_a_401(headers: list[tuple[bytes, bytes]]) -> None:
    with pytest.raises(GatewayError) as caught:
        MessagesFront().api_key(scope(*headers))
    assert caught.value.status == 401

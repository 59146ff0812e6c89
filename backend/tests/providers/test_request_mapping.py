"""The parameter and message tables of the translating adapters (Anthropic, Gemini)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from routerx.providers.anthropic.request import anthropic_body
from routerx.providers.base import Call
from routerx.providers.gemini.request import gemini_body
from routerx.providers.images import ImageFetcher, ImageRejected
from routerx.providers.openai_compat import BodyRules, upstream_body
from routerx.wire.openai import ChatRequest
from tests.providers import requests

NAMED_TOOL = {"type": "function", "function": {"name": "get_weather"}}


def chat(raw: dict[str, Any]) -> ChatRequest:
    return msgspec.convert(raw, ChatRequest)


def anthropic(raw: dict[str, Any]) -> dict[str, Any]:
    return anthropic_body(chat(raw), "claude-x", stream=False)


async def gemini(raw: dict[str, Any]) -> dict[str, Any]:
    return await gemini_body(chat(raw), ImageFetcher())


@pytest.mark.parametrize(
    ("tool_choice", "parallel", "expected"),
    [
        ("auto", None, {"type": "auto"}),
        ("required", None, {"type": "any"}),
        ("none", None, {"type": "none"}),
        (NAMED_TOOL, None, {"type": "tool", "name": "get_weather"}),
        ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
        ("none", False, {"type": "none"}),
    ],
)
def test_anthropic_tool_choice(tool_choice: Any, parallel: bool | None, expected: Any) -> None:
    extra: dict[str, Any] = {}
    if tool_choice is not None:
        extra["tool_choice"] = tool_choice
    if parallel is not None:
        extra["parallel_tool_calls"] = parallel
    assert anthropic(requests.tools(**extra))["tool_choice"] == expected


def test_anthropic_parameter_table() -> None:
    body = anthropic(
        requests.text(temperature=0.7, stop="END", max_completion_tokens=50, seed=3, n=1)
    )
    assert body == {
        "model": "claude-x",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello"}]}],
        "max_tokens": 50,
        "temperature": 0.7,
        "stop_sequences": ["END"],
    }


def test_anthropic_lifts_system_and_developer_and_merges_tool_results() -> None:
    raw = requests.tool_round_trip()
    raw["messages"] = [
        {"role": "system", "content": "Rule one."},
        {"role": "developer", "content": [{"type": "text", "text": "Rule two."}]},
        *raw["messages"],
        {"role": "tool", "tool_call_id": "call_def", "content": "second result"},
        {"role": "user", "content": "Thanks."},
    ]

    body = anthropic(raw)

    assert body["system"] == "Rule one.\n\nRule two."
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "call_abc", "content": '{"temp_c": 21}'},
        {"type": "tool_result", "tool_use_id": "call_def", "content": "second result"},
        {"type": "text", "text": "Thanks."},
    ]


def test_anthropic_keeps_arguments_that_are_not_a_json_object() -> None:
    raw = requests.tool_round_trip()
    raw["messages"][1]["tool_calls"][0]["function"]["arguments"] = "not json"

    body = anthropic(raw)

    assert body["messages"][1]["content"][0]["input"] == {"arguments": "not json"}


def test_anthropic_refuses_other_image_schemes() -> None:
    with pytest.raises(ImageRejected) as caught:
        anthropic(requests.image("ftp://example.com/cat.png"))
    assert caught.value.param == "messages[0].content[1].image_url"


@pytest.mark.parametrize(
    ("tool_choice", "expected"),
    [
        ("auto", {"functionCallingConfig": {"mode": "AUTO"}}),
        ("required", {"functionCallingConfig": {"mode": "ANY"}}),
        ("none", {"functionCallingConfig": {"mode": "NONE"}}),
        (
            NAMED_TOOL,
            {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}},
        ),
    ],
)
async def test_gemini_tool_config(tool_choice: Any, expected: Any) -> None:
    body = await gemini(requests.tools(tool_choice=tool_choice))
    assert body["toolConfig"] == expected


async def test_gemini_generation_config_table() -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    body = await gemini(
        requests.text(
            temperature=0.4,
            top_p=0.8,
            max_tokens=64,
            stop="END",
            n=2,
            seed=11,
            presence_penalty=0.5,
            frequency_penalty=-0.5,
            response_format={"type": "json_schema", "json_schema": {"name": "a", "schema": schema}},
        )
    )
    assert body["generationConfig"] == {
        "temperature": 0.4,
        "topP": 0.8,
        "maxOutputTokens": 64,
        "stopSequences": ["END"],
        "candidateCount": 2,
        "seed": 11,
        "presencePenalty": 0.5,
        "frequencyPenalty": -0.5,
        "responseMimeType": "application/json",
        "responseJsonSchema": schema,
    }


async def test_gemini_tool_responses_are_named_after_their_call() -> None:
    raw = requests.tool_round_trip()
    raw["messages"][2]["content"] = "21 degrees"

    body = await gemini(raw)

    assert body["contents"][2] == {
        "role": "user",
        "parts": [
            {"functionResponse": {"name": "get_weather", "response": {"content": "21 degrees"}}}
        ],
    }


def test_anthropic_thinking_document_and_developer() -> None:
    raw = requests.with_parts(requests.FILE_PART, reasoning_effort="medium", max_tokens=512)
    raw["messages"].insert(0, {"role": "developer", "content": "Cite pages."})

    assert anthropic(raw) == {
        "model": "claude-x",
        "system": "Cite pages.",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in here?"},
                    {
                        "type": "document",
                        "source": {
                            "type": "base64",
                            "media_type": "application/pdf",
                            "data": requests.PDF_BASE64,
                        },
                        "title": "report.pdf",
                    },
                ],
            }
        ],
        "max_tokens": 8192 + 512,
        "thinking": {"type": "enabled", "budget_tokens": 8192},
    }


def test_anthropic_system_only_becomes_the_user_turn() -> None:
    body = anthropic(
        {
            "model": "m",
            "messages": [
                {"role": "system", "content": "Write a haiku."},
                {"role": "developer", "content": "About rain."},
            ],
        }
    )
    assert "system" not in body
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Write a haiku.\n\nAbout rain."}]}
    ]


async def test_gemini_inline_parts_thinking_and_candidates() -> None:
    raw = requests.with_parts(requests.AUDIO_PART, requests.FILE_PART, reasoning_effort="low", n=3)
    raw["messages"].insert(0, {"role": "developer", "content": "Be exact."})

    assert await gemini(raw) == {
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"text": "What is in here?"},
                    {"inlineData": {"mimeType": "audio/wav", "data": requests.WAV_BASE64}},
                    {"inlineData": {"mimeType": "application/pdf", "data": requests.PDF_BASE64}},
                ],
            }
        ],
        "systemInstruction": {"parts": [{"text": "Be exact."}]},
        "generationConfig": {"candidateCount": 3, "thinkingConfig": {"thinkingBudget": 2048}},
    }


async def test_gemini_system_only_becomes_the_user_turn() -> None:
    body = await gemini({"model": "m", "messages": [{"role": "system", "content": "Say hi."}]})
    assert body == {"contents": [{"role": "user", "parts": [{"text": "Say hi."}]}]}


@pytest.mark.parametrize(
    ("raw", "rules", "expected"),
    [
        (
            {"model": "m", "messages": [{"role": "developer", "content": "x"}], "max_tokens": 5},
            BodyRules("max_completion_tokens"),
            {
                "model": "up",
                "messages": [{"role": "developer", "content": "x"}],
                "max_completion_tokens": 5,
            },
        ),
        (
            {
                "model": "m",
                "messages": [{"role": "developer", "content": "x"}],
                "max_completion_tokens": 5,
            },
            BodyRules("max_tokens", developer_as_system=True),
            {"model": "up", "messages": [{"role": "system", "content": "x"}], "max_tokens": 5},
        ),
        (
            requests.text(stream=True, stream_options={"include_usage": True}),
            BodyRules(stream_include_usage=False),
            {"model": "up", "messages": requests.text()["messages"], "stream": True},
        ),
    ],
    ids=["openai-cap", "compatible-cap-and-role", "no-stream-options"],
)
def test_openai_family_body_rules(
    raw: dict[str, Any], rules: BodyRules, expected: dict[str, Any]
) -> None:
    call = Call(chat(raw), raw, "up", "r")
    body = msgspec.json.decode(upstream_body(call, stream=bool(raw.get("stream")), rules=rules))
    assert body == expected

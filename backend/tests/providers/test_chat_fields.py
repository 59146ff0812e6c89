"""Every adapter against its strict fake upstream for the Chat Completions parts and fields that
providers take differently: audio and file parts, the developer role, token caps,
`reasoning_effort`, `logprobs`, `n`, usage details, system-only conversations, the sanitised
detail of an upstream 4xx and the `stream_include_usage` opt-out."""

from __future__ import annotations

from typing import Any

import pytest

from routerx.providers.config_loader import ProviderConfigError
from routerx.providers.errors import RequestRejected, UpstreamError
from routerx.providers.http import HttpClient
from routerx.wire.openai import CompletionTokensDetails, PromptTokensDetails, Usage
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.upstream import FakeUpstream, Scenario
from tests.providers import requests
from tests.providers.harness import ADAPTERS, Harness, build_harness

OPENAI_FAMILY = ("openai", "azure", "openai_compatible")
TRANSLATED = ("anthropic", "gemini")


@pytest.fixture(params=ADAPTERS)
def harness(
    request: pytest.FixtureRequest, fakes: dict[str, FakeUpstream], http_client: HttpClient
) -> Harness:
    return build_harness(request.param, fakes[request.param], http_client)


def _user_content(harness: Harness) -> list[Any]:
    body = harness.sent.body
    if harness.adapter == "gemini":
        return list(body["contents"][0]["parts"])
    return list(body["messages"][0]["content"])


async def _refused(harness: Harness, raw: dict[str, Any]) -> RequestRejected:
    with pytest.raises(RequestRejected) as caught:
        await harness.complete(raw)
    assert harness.fake.requests == []  # refused before anything was sent
    return caught.value


# --- audio and file parts -------------------------------------------------------------------


async def test_audio_part(harness: Harness) -> None:
    raw = requests.with_parts(requests.AUDIO_PART)
    if harness.adapter == "anthropic":  # Anthropic has no audio input
        refused = await _refused(harness, raw)
        assert (refused.param, refused.code) == (
            "messages[0].content[1]",
            "capability_not_supported",
        )
        return

    _, answer = await harness.complete(raw)

    assert answer.choices[0].message.content
    sent = _user_content(harness)[1]
    if harness.adapter == "gemini":
        assert sent == {"inlineData": {"mimeType": "audio/wav", "data": requests.WAV_BASE64}}
    else:
        assert sent == requests.AUDIO_PART
    assert harness.fake.refused == []


async def test_pdf_file_part(harness: Harness) -> None:
    await harness.complete(requests.with_parts(requests.FILE_PART))

    sent = _user_content(harness)[1]
    if harness.adapter == "anthropic":
        assert sent == {
            "type": "document",
            "source": {
                "type": "base64",
                "media_type": "application/pdf",
                "data": requests.PDF_BASE64,
            },
            "title": "report.pdf",
        }
    elif harness.adapter == "gemini":
        assert sent == {"inlineData": {"mimeType": "application/pdf", "data": requests.PDF_BASE64}}
    else:
        assert sent == requests.FILE_PART
    assert harness.fake.refused == []


async def test_file_id_only_reaches_openai_family(harness: Harness) -> None:
    raw = requests.with_parts(requests.FILE_ID_PART)
    if harness.adapter in TRANSLATED:
        refused = await _refused(harness, raw)
        assert refused.param == "messages[0].content[1].file.file_id"
        return
    await harness.complete(raw)
    assert _user_content(harness)[1] == requests.FILE_ID_PART


# --- roles and parameters --------------------------------------------------------------------


async def test_developer_role_goes_to_each_system_slot(harness: Harness) -> None:
    raw = {
        "model": "gpt-4.1-mini",
        "messages": [
            {"role": "developer", "content": "Answer in French."},
            {"role": "user", "content": "Hello"},
        ],
    }
    await harness.complete(raw)

    body = harness.sent.body
    if harness.adapter == "openai":
        assert body["messages"][0] == {"role": "developer", "content": "Answer in French."}
    elif harness.adapter in OPENAI_FAMILY:  # their API versions and servers know `system`
        assert body["messages"][0] == {"role": "system", "content": "Answer in French."}
    else:
        assert requests.sent_system(harness.adapter, body) == "Answer in French."
        assert requests.sent_turns(harness.adapter, body) == [("user", "Hello")]


TOKEN_CAPS = {
    # adapter: (the field the client used, the value) -> where it went
    "openai": {
        "max_tokens": "max_completion_tokens",
        "max_completion_tokens": "max_completion_tokens",
    },
    "azure": {"max_tokens": "max_tokens", "max_completion_tokens": "max_completion_tokens"},
    "openai_compatible": {"max_tokens": "max_tokens", "max_completion_tokens": "max_tokens"},
    "anthropic": {"max_tokens": "max_tokens", "max_completion_tokens": "max_tokens"},
    "gemini": {"max_tokens": "maxOutputTokens", "max_completion_tokens": "maxOutputTokens"},
}


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
async def test_token_cap_is_sent_under_the_providers_name(harness: Harness, field: str) -> None:
    await harness.complete(requests.text(**{field: 77}))

    body = harness.sent.body
    target = TOKEN_CAPS[harness.adapter][field]
    where = body.get("generationConfig", {}) if harness.adapter == "gemini" else body
    assert where[target] == 77
    others = {"max_tokens", "max_completion_tokens"} - {target}
    assert not others & set(where)


@pytest.mark.parametrize(
    ("effort", "budget"), [("minimal", 1024), ("low", 2048), ("medium", 8192), ("high", 24576)]
)
async def test_reasoning_effort(harness: Harness, effort: str, budget: int) -> None:
    await harness.complete(requests.text(reasoning_effort=effort, max_completion_tokens=1000))

    body = harness.sent.body
    assert harness.fake.refused == []
    if harness.adapter == "anthropic":  # max_tokens raised above the budget, answer cap kept
        assert body["thinking"] == {"type": "enabled", "budget_tokens": budget}
        assert body["max_tokens"] == budget + 1000
    elif harness.adapter == "gemini":
        assert body["generationConfig"]["thinkingConfig"] == {"thinkingBudget": budget}
    else:
        assert body["reasoning_effort"] == effort


async def test_anthropic_thinking_keeps_a_cap_above_the_budget(
    fakes: dict[str, FakeUpstream], http_client: HttpClient
) -> None:
    harness = build_harness("anthropic", fakes["anthropic"], http_client)
    await harness.complete(requests.text(reasoning_effort="low", max_tokens=30000))
    assert harness.sent.body["max_tokens"] == 30000


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"temperature": 0.5}, "temperature"),
        ({"top_p": 0.5}, "top_p"),
        ({"tools": [requests.WEATHER_TOOL], "tool_choice": "required"}, "tool_choice"),
    ],
)
async def test_anthropic_refuses_what_thinking_cannot_take(
    extra: dict[str, Any], param: str, fakes: dict[str, FakeUpstream], http_client: HttpClient
) -> None:
    harness = build_harness("anthropic", fakes["anthropic"], http_client)
    refused = await _refused(harness, requests.text(reasoning_effort="medium", **extra))
    assert refused.param == param


async def test_anthropic_refuses_temperature_above_one(
    fakes: dict[str, FakeUpstream], http_client: HttpClient
) -> None:
    harness = build_harness("anthropic", fakes["anthropic"], http_client)
    refused = await _refused(harness, requests.text(temperature=1.4))
    assert refused.param == "temperature"
    assert "0 to 1" in refused.message
    await harness.complete(requests.text(temperature=1))
    assert harness.sent.body["temperature"] == 1


@pytest.mark.parametrize(
    "extra", [{"logprobs": True}, {"logprobs": True, "top_logprobs": 2}], ids=["plain", "top"]
)
async def test_logprobs(harness: Harness, extra: dict[str, Any]) -> None:
    raw = requests.text(**extra)
    if harness.adapter in TRANSLATED:
        refused = await _refused(harness, raw)
        assert refused.param == "logprobs"
        return
    _, answer = await harness.complete(raw)

    logprobs = answer.choices[0].logprobs
    assert logprobs is not None
    assert len(logprobs["content"][0]["top_logprobs"]) == extra.get("top_logprobs", 0)
    assert {k: harness.sent.body[k] for k in extra} == extra


async def test_n_choices(harness: Harness) -> None:
    raw = requests.text(n=2)
    if harness.adapter == "anthropic":
        refused = await _refused(harness, raw)
        assert refused.param == "n"
        return
    _, answer = await harness.complete(raw)
    assert [choice.index for choice in answer.choices] == [0, 1]
    if harness.adapter == "gemini":
        assert harness.sent.body["generationConfig"]["candidateCount"] == 2
    else:
        assert harness.sent.body["n"] == 2


# --- usage details ----------------------------------------------------------------------------

DETAILED = Scenario(prompt_tokens=40, completion_tokens=30, cached_tokens=16, reasoning_tokens=9)


def _expected_usage(adapter: str) -> Usage:
    if adapter == "anthropic":  # no reasoning count; cache reads and writes
        return Usage(40, 30, 70, PromptTokensDetails(16, 5))
    if adapter in {"openai", "azure", "openai_compatible"}:  # OpenAI also reports audio tokens
        return Usage(
            40, 30, 70, PromptTokensDetails(16, audio_tokens=0), CompletionTokensDetails(9, 0)
        )
    return Usage(40, 30, 70, PromptTokensDetails(16), CompletionTokensDetails(9))


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_reasoning_and_cached_token_details(harness: Harness, stream: bool) -> None:
    scenario = DETAILED
    if harness.adapter == "anthropic":
        scenario = Scenario(
            prompt_tokens=40, completion_tokens=30, cached_tokens=16, cache_creation_tokens=5
        )
    harness.fake.script(scenario)
    if stream:
        stats, chunks = await harness.stream(
            requests.text(stream=True, stream_options={"include_usage": True})
        )
        assert stats.usage is not None and chunks[-1].usage is not None
        usage = stats.usage
        assert chunks[-1].usage == usage
    else:
        completion, answer = await harness.complete(requests.text())
        assert completion.usage == answer.usage
        usage = answer.usage
    expected = _expected_usage(harness.adapter)
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (40, 30, 70)
    assert usage.prompt_tokens_details == expected.prompt_tokens_details
    if harness.adapter != "anthropic":
        assert usage.completion_tokens_details == expected.completion_tokens_details


# --- adapter fixes ----------------------------------------------------------------------------


async def test_system_only_conversation(harness: Harness) -> None:
    raw = {"model": "gpt-4.1-mini", "messages": [{"role": "system", "content": "Say hi."}]}
    _, answer = await harness.complete(raw)

    assert answer.choices[0].message.content
    assert harness.fake.refused == []  # Anthropic and Gemini refuse an empty conversation
    if harness.adapter in TRANSLATED:  # the instruction became the one user turn
        assert requests.sent_turns(harness.adapter, harness.sent.body) == [("user", "Say hi.")]
        assert requests.sent_system(harness.adapter, harness.sent.body) is None


UPSTREAM_400 = {
    "openai": {
        "error": {
            "message": "Invalid 'messages[0].content': secret prompt text here",
            "type": "invalid_request_error",
            "param": "messages[0].content",
            "code": "invalid_value",
        }
    },
    "anthropic": {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "secret prompt text here"},
    },
    "gemini": {
        "error": {"code": 400, "message": "secret prompt text here", "status": "INVALID_ARGUMENT"}
    },
}
CONTEXT_400 = {
    "openai": {
        "error": {
            "message": "This model's maximum context length is 8192 tokens.",
            "type": "invalid_request_error",
            "param": "messages",
            "code": "context_length_exceeded",
        }
    },
    "anthropic": {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "prompt is too long: 210000 tokens > 200000 maximum",
        },
    },
    "gemini": {
        "error": {
            "code": 400,
            "message": "The input token count (1200000) exceeds the maximum number of tokens "
            "allowed (1048576).",
            "status": "INVALID_ARGUMENT",
        }
    },
}


def _shape(adapter: str) -> str:
    return "openai" if adapter in OPENAI_FAMILY else adapter


async def _upstream_error(harness: Harness, body: dict[str, Any]) -> UpstreamError:
    harness.fake.script(Scenario(status=400, body=body))
    with pytest.raises(UpstreamError) as caught:
        await harness.complete(requests.text())
    return caught.value


async def test_upstream_400_detail_is_sanitised(harness: Harness) -> None:
    error = await _upstream_error(harness, UPSTREAM_400[_shape(harness.adapter)])

    assert error.status == 400 and not error.is_failure
    assert "secret prompt text" not in error.message
    assert harness.fake.url not in error.message
    if _shape(harness.adapter) == "openai":
        assert error.message.endswith(
            "returned 400 (bad request): invalid_request_error, param messages[0].content, "
            "code invalid_value."
        )
        assert (error.param, error.code) == ("messages[0].content", "invalid_value")
    else:
        kind = {"anthropic": "invalid_request_error", "gemini": "INVALID_ARGUMENT"}
        assert error.message.endswith(f"returned 400 (bad request): {kind[harness.adapter]}.")
        assert (error.param, error.code) == (None, None)


async def test_context_length_is_named(harness: Harness) -> None:
    error = await _upstream_error(harness, CONTEXT_400[_shape(harness.adapter)])
    assert error.code == "context_length_exceeded"
    assert "code context_length_exceeded" in error.message
    assert "tokens" not in error.message.replace("context_length_exceeded", "")


async def test_compatible_server_that_rejects_stream_options(
    openai_fake: FakeOpenAI, http_client: HttpClient
) -> None:
    openai_fake.reject_stream_options = True
    forced = build_harness("openai_compatible", openai_fake, http_client)
    with pytest.raises(UpstreamError) as caught:
        await forced.stream(requests.text(stream=True))
    assert caught.value.status == 400

    opted_out = build_harness(
        "openai_compatible", openai_fake, http_client, settings={"stream_include_usage": False}
    )
    stats, chunks = await opted_out.stream(
        requests.text(stream=True, stream_options={"include_usage": True})
    )
    assert "stream_options" not in opted_out.sent.body
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert stats.finish_reason == "stop" and stats.usage is None


def test_stream_include_usage_must_be_a_boolean(
    openai_fake: FakeOpenAI, http_client: HttpClient
) -> None:
    with pytest.raises(ProviderConfigError, match="stream_include_usage"):
        build_harness(
            "openai_compatible", openai_fake, http_client, settings={"stream_include_usage": "no"}
        )

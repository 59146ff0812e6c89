"""The official openai SDK through a real RouterX gateway (ENABLE_REAL_CALLS=true) to strict fake
upstreams: audio and file parts reach an OpenAI upstream as they are, Gemini as inline data,
Anthropic as a document block; a model with no audio-capable target is a 400; reasoning and
cached token counts reach the SDK; an upstream 400 reaches it with a sanitised reason."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import openai
import pytest
import pytest_asyncio

from routerx.storage.config_version import bump_config_version
from routerx.storage.models import Provider, RequestLog, RoutingRule, Tenant
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.gemini_server import FakeGemini
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.upstream import Scenario
from tests.providers import requests
from tests.support.database import connected, prepare
from tests.support.processes import ServerProcess, base_env, start_server

DEMO_KEY = "demo_key_fake_123456"
PROVIDERS = {
    # name: (type, capabilities, secret variable)
    "parts-openai": ("openai", ["text", "vision", "audio", "files"], "RX_TEST_OPENAI_KEY"),
    "parts-anthropic": ("anthropic", ["text", "vision", "files"], "RX_TEST_ANTHROPIC_KEY"),
    "parts-gemini": ("gemini", ["text", "vision", "audio", "files"], "RX_TEST_GEMINI_KEY"),
}
ROUTES = {
    "gpt-parts": ("parts-openai", "gpt-4o-audio-preview"),
    "claude-parts": ("parts-anthropic", "claude-sonnet-4-5"),
    "gemini-parts": ("parts-gemini", "gemini-2.5-flash"),
}
PARTS: list[Any] = [
    {"type": "text", "text": "Transcribe this and summarise the PDF."},
    requests.AUDIO_PART,
    requests.FILE_PART,
]


async def _configure(database_url: str, urls: dict[str, str]) -> None:
    await prepare(database_url)
    async with connected(database_url):
        for name, (kind, capabilities, secret_env) in PROVIDERS.items():
            await Provider.create(
                name=name,
                type=kind,
                base_url=urls[kind],
                capabilities=capabilities,
                secret_env=secret_env,
            )
        for public, (provider, upstream) in ROUTES.items():
            await RoutingRule.create(
                name=f"rule-{public}",
                model_pattern=public,
                capability="text",
                targets=[{"provider": provider, "model": upstream, "weight": 1, "tier": 0}],
            )
        await Tenant.filter(name="demo").update(allowed_models=[])
        await bump_config_version()


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("chat-parts") / "routerx.sqlite3"
    return f"sqlite://{path}"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gateway(
    database_url: str,
    openai_server: FakeOpenAI,
    anthropic_server: FakeAnthropic,
    gemini_server: FakeGemini,
) -> AsyncIterator[ServerProcess]:
    urls = {
        "openai": openai_server.url + "/v1",
        "anthropic": anthropic_server.url,
        "gemini": gemini_server.url,
    }
    await _configure(database_url, urls)
    env = base_env(
        database_url,
        ENABLE_REAL_CALLS="true",
        RX_TEST_OPENAI_KEY="sk-test-parts-openai",
        RX_TEST_ANTHROPIC_KEY="sk-ant-test-parts",
        RX_TEST_GEMINI_KEY="gemini-test-parts",
    )
    server = await start_server("gateway", env)
    try:
        yield server
    finally:
        server.stop()


def sdk(gateway: ServerProcess) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=gateway.url + "/v1", api_key=DEMO_KEY, max_retries=0)


async def test_audio_and_file_parts_reach_openai_as_sent(
    gateway: ServerProcess, openai_fake: FakeOpenAI
) -> None:
    async with sdk(gateway) as client:
        answer = await client.chat.completions.create(
            model="gpt-parts", messages=[{"role": "user", "content": PARTS}]
        )

    assert answer.choices[0].message.content == Scenario().text
    sent = openai_fake.requests[-1].body
    assert sent["model"] == "gpt-4o-audio-preview"
    assert sent["messages"][0]["content"] == PARTS
    assert openai_fake.refused == []


async def test_gemini_receives_inline_data(gateway: ServerProcess, gemini_fake: FakeGemini) -> None:
    async with sdk(gateway) as client:
        stream = await client.chat.completions.create(
            model="gemini-parts", messages=[{"role": "user", "content": PARTS}], stream=True
        )
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

    assert text == Scenario().text
    parts = gemini_fake.requests[-1].body["contents"][0]["parts"]
    assert parts[1:] == [
        {"inlineData": {"mimeType": "audio/wav", "data": requests.WAV_BASE64}},
        {"inlineData": {"mimeType": "application/pdf", "data": requests.PDF_BASE64}},
    ]
    assert gemini_fake.refused == []


async def test_anthropic_receives_a_document_block(
    gateway: ServerProcess, anthropic_fake: FakeAnthropic
) -> None:
    async with sdk(gateway) as client:
        answer = await client.chat.completions.create(
            model="claude-parts",
            messages=[
                {"role": "developer", "content": "Quote the title."},
                {"role": "user", "content": [PARTS[0], requests.FILE_PART]},
            ],
        )

    assert answer.choices[0].message.content == Scenario().text
    sent = anthropic_fake.requests[-1].body
    assert sent["system"] == "Quote the title."
    assert sent["messages"][0]["content"][1] == {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": requests.PDF_BASE64},
        "title": "report.pdf",
    }
    assert anthropic_fake.refused == []


async def test_audio_to_a_model_without_an_audio_target_is_refused(
    gateway: ServerProcess, anthropic_fake: FakeAnthropic
) -> None:
    async with sdk(gateway) as client:
        with pytest.raises(openai.BadRequestError) as caught:
            await client.chat.completions.create(
                model="claude-parts", messages=[{"role": "user", "content": PARTS}]
            )

    error = caught.value
    assert error.code == "capability_not_supported"
    assert error.param == "messages"
    assert "`audio`" in error.message
    assert anthropic_fake.requests == []  # Anthropic never receives audio


async def test_bad_audio_is_refused_before_routing(
    gateway: ServerProcess, openai_fake: FakeOpenAI
) -> None:
    bad = {"type": "input_audio", "input_audio": {"data": requests.PDF_BASE64, "format": "wav"}}
    async with sdk(gateway) as client:
        with pytest.raises(openai.BadRequestError) as caught:
            await client.chat.completions.create(
                model="gpt-parts", messages=[{"role": "user", "content": [PARTS[0], bad]}]
            )

    assert caught.value.code == "invalid_audio"
    assert caught.value.param == "messages[0].content[1].input_audio.data"
    assert openai_fake.requests == []


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("model", ["gpt-parts", "gemini-parts"])
async def test_reasoning_and_cached_tokens_reach_the_sdk(
    gateway: ServerProcess,
    openai_fake: FakeOpenAI,
    gemini_fake: FakeGemini,
    model: str,
    stream: bool,
) -> None:
    fake = openai_fake if model == "gpt-parts" else gemini_fake
    fake.script(
        Scenario(prompt_tokens=50, completion_tokens=40, cached_tokens=32, reasoning_tokens=25)
    )
    async with sdk(gateway) as client:
        if stream:
            chunks = [
                chunk
                async for chunk in await client.chat.completions.create(
                    model=model,
                    messages=[{"role": "user", "content": "Think first."}],
                    reasoning_effort="high",
                    stream=True,
                    stream_options={"include_usage": True},
                )
            ]
            usage = chunks[-1].usage
        else:
            answer = await client.chat.completions.create(
                model=model,
                messages=[{"role": "user", "content": "Think first."}],
                reasoning_effort="high",
            )
            usage = answer.usage

    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (50, 40, 90)
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 32
    assert usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == 25
    sent = fake.requests[-1].body
    if model == "gemini-parts":
        assert sent["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 24576}
    else:
        assert sent["reasoning_effort"] == "high"


async def test_anthropic_cache_reads_reach_the_sdk(
    gateway: ServerProcess, anthropic_fake: FakeAnthropic
) -> None:
    anthropic_fake.script(
        Scenario(prompt_tokens=60, completion_tokens=10, cached_tokens=40, cache_creation_tokens=8)
    )
    async with sdk(gateway) as client:
        answer = await client.chat.completions.create(
            model="claude-parts", messages=[{"role": "user", "content": "Hi"}]
        )

    usage = answer.usage
    assert usage is not None and usage.prompt_tokens == 60
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 40
    assert (usage.prompt_tokens_details.model_extra or {}).get("cache_creation_tokens") == 8


async def _log_row(database_url: str, request_id: str, deadline_s: float = 10.0) -> RequestLog:
    started = time.monotonic()
    async with connected(database_url):
        while (row := await RequestLog.get_or_none(request_id=request_id)) is None:
            assert time.monotonic() - started < deadline_s, "no request-log row"
            await asyncio.sleep(0.05)
    return row


async def test_upstream_400_reaches_the_sdk_with_a_sanitised_reason(
    gateway: ServerProcess, openai_fake: FakeOpenAI, database_url: str
) -> None:
    openai_fake.script(
        Scenario(
            status=400,
            body={
                "error": {
                    "message": "Your prompt 'TOP SECRET PLANS' is 9000 tokens; the maximum context"
                    " length is 8192 tokens.",
                    "type": "invalid_request_error",
                    "param": "messages",
                    "code": "context_length_exceeded",
                }
            },
        )
    )
    async with sdk(gateway) as client:
        with pytest.raises(openai.BadRequestError) as caught:
            await client.chat.completions.create(
                model="gpt-parts", messages=[{"role": "user", "content": "TOP SECRET PLANS"}]
            )

    error = caught.value
    assert error.code == "context_length_exceeded"
    assert error.param == "messages"
    assert "TOP SECRET" not in error.message and openai_fake.url not in error.message
    assert "returned 400 (bad request): invalid_request_error" in error.message
    row = await _log_row(database_url, error.response.headers["x-request-id"])
    assert (row.status, row.error_type, row.provider) == (
        400,
        "context_length_exceeded",
        "parts-openai",
    )


async def test_upstream_codes_are_not_logged_as_error_types(
    gateway: ServerProcess, openai_fake: FakeOpenAI, database_url: str
) -> None:
    """The client sees the upstream's code; the log row keeps a bounded set of error types."""
    code = "a_code_no_one_has_seen_before_" + "x" * 30
    openai_fake.script(
        Scenario(
            status=400,
            body={"error": {"message": "m", "type": "invalid_request_error", "code": code}},
        )
    )
    async with sdk(gateway) as client:
        with pytest.raises(openai.BadRequestError) as caught:
            await client.chat.completions.create(
                model="gpt-parts", messages=[{"role": "user", "content": "Hi"}]
            )

    assert caught.value.code == code
    row = await _log_row(database_url, caught.value.response.headers["x-request-id"])
    assert (row.status, row.error_type) == (400, "upstream_error")


@pytest.mark.parametrize(
    ("extra", "param"),
    [({"logprobs": True}, "logprobs"), ({"n": 2}, "n"), ({"temperature": 1.5}, "temperature")],
)
async def test_anthropic_refusals_name_the_field(
    gateway: ServerProcess, anthropic_fake: FakeAnthropic, extra: dict[str, Any], param: str
) -> None:
    async with sdk(gateway) as client:
        with pytest.raises(openai.BadRequestError) as caught:
            await client.chat.completions.create(
                model="claude-parts", messages=[{"role": "user", "content": "Hi"}], **extra
            )

    assert caught.value.param == param
    assert anthropic_fake.requests == []


async def test_logprobs_and_n_pass_through_to_openai(
    gateway: ServerProcess, openai_fake: FakeOpenAI
) -> None:
    async with sdk(gateway) as client:
        answer = await client.chat.completions.create(
            model="gpt-parts",
            messages=[{"role": "user", "content": "Hi"}],
            logprobs=True,
            top_logprobs=2,
            n=2,
        )

    assert [choice.index for choice in answer.choices] == [0, 1]
    logprobs = answer.choices[0].logprobs
    assert logprobs is not None and logprobs.content is not None
    assert len(logprobs.content[0].top_logprobs) == 2

"""One conformance matrix: every front (Chat Completions, Responses, Messages; Embeddings for the
backs that embed) against every back (OpenAI, Azure, OpenAI-compatible, Anthropic, Gemini, mock),
through one running gateway with the official SDKs as clients and fake upstreams on real ports.

Each cell asserts what a client relies on: the content, tool calls, the finish/stop reason in
the surface's own vocabulary and the usage, non-stream and streamed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
import pytest_asyncio

from routerx.storage.config_version import bump_config_version
from routerx.storage.models import Provider, RoutingRule, Tenant
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.gemini_server import FakeGemini
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.upstream import FakeUpstream, Scenario, ToolCallSpec
from tests.support.database import connected, prepare
from tests.support.processes import ServerProcess, base_env, start_server

DEMO_KEY = "demo_key_fake_123456"
SECRET_ENV = "ROUTERX_PROVIDER_MATRIX_KEY"
BACKS = ("openai", "azure", "openai_compatible", "anthropic", "gemini", "mock")
UPSTREAMS = BACKS[:-1]
EMBEDDING_BACKS = ("openai", "azure", "openai_compatible", "gemini", "mock")
FRONTS = ("chat", "responses", "messages")
SCENARIO = Scenario(text="The matrix answer from upstream.", prompt_tokens=12, completion_tokens=7)
CALL = ToolCallSpec("get_weather", {"city": "Paris"}, id="call_matrix_1")
PARAMETERS = {"type": "object", "properties": {"city": {"type": "string"}}}
QUESTION = "What is the weather in Paris?"


@dataclass
class Matrix:
    gateway: ServerProcess
    fakes: dict[str, FakeUpstream]

    def reset(self) -> None:
        for fake in self.fakes.values():
            fake.reset()


def _base_url(back: str, url: str) -> str:
    return f"{url}/v1" if back in {"openai", "openai_compatible"} else url


async def _configure(database_url: str, fakes: dict[str, FakeUpstream]) -> None:
    await prepare(database_url)
    async with connected(database_url):
        for back in BACKS:
            fake = fakes.get(back)
            capabilities = ["text", "tools"] if back != "mock" else ["text"]
            if back in EMBEDDING_BACKS:
                capabilities.append("embeddings")
            await Provider.create(
                name=f"matrix-{back}",
                type=back,
                base_url=_base_url(back, fake.url) if fake else "",
                capabilities=capabilities,
                secret_env=SECRET_ENV if fake else None,
            )
            await RoutingRule.create(
                name=f"matrix-{back}",
                model_pattern=f"m-{back}",
                capability="text",
                targets=[{"provider": f"matrix-{back}", "model": f"up-{back}", "tier": 0}],
            )
            if back in EMBEDDING_BACKS:
                await RoutingRule.create(
                    name=f"matrix-embed-{back}",
                    model_pattern=f"e-{back}",
                    capability="embeddings",
                    targets=[{"provider": f"matrix-{back}", "model": f"emb-{back}", "tier": 0}],
                )
        await Tenant.filter(name="demo").update(allowed_models=[])
        await bump_config_version()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def matrix(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Matrix]:
    path: Path = tmp_path_factory.mktemp("matrix") / "routerx.sqlite3"
    database_url = f"sqlite://{path}"
    async with (
        FakeOpenAI.running() as openai_fake,
        FakeOpenAI.running() as azure_fake,
        FakeOpenAI.running() as compat_fake,
        FakeAnthropic.running() as anthropic_fake,
        FakeGemini.running() as gemini_fake,
    ):
        fakes: dict[str, FakeUpstream] = {
            "openai": openai_fake,
            "azure": azure_fake,
            "openai_compatible": compat_fake,
            "anthropic": anthropic_fake,
            "gemini": gemini_fake,
        }
        await _configure(database_url, fakes)
        env = base_env(database_url, ENABLE_REAL_CALLS="true", **{SECRET_ENV: "sk-matrix-test"})
        gateway = await start_server("gateway", env)
        try:
            yield Matrix(gateway, fakes)
        finally:
            gateway.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def fresh(matrix: Matrix) -> Matrix:
    matrix.reset()
    return matrix


def _openai(matrix: Matrix) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=matrix.gateway.url + "/v1", api_key=DEMO_KEY, max_retries=0)


def _anthropic(matrix: Matrix) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=matrix.gateway.url, api_key=DEMO_KEY, max_retries=0)


@dataclass
class Answer:
    """What one surface answered, in neutral terms."""

    text: str
    tool_calls: list[tuple[str, dict[str, Any]]]
    finish: str
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


# --- Chat Completions ---------------------------------------------------------------------------

CHAT_TOOL: openai.types.chat.ChatCompletionToolParam = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": PARAMETERS},
}


async def _chat(matrix: Matrix, model: str, *, stream: bool, tools: bool) -> Answer:
    extra: dict[str, Any] = {"tools": [CHAT_TOOL]} if tools else {}
    messages: list[Any] = [{"role": "user", "content": QUESTION}]
    async with _openai(matrix) as client:
        if not stream:
            completion = await client.chat.completions.create(
                model=model, messages=messages, **extra
            )
            choice = completion.choices[0]
            assert completion.usage is not None
            calls = [
                (call.function.name, json.loads(call.function.arguments))
                for call in choice.message.tool_calls or []
                if call.type == "function"
            ]
            usage = completion.usage
            return Answer(
                choice.message.content or "",
                calls,
                choice.finish_reason,
                usage.prompt_tokens,
                usage.completion_tokens,
                usage.total_tokens,
            )
        chunks = [
            chunk
            async for chunk in await client.chat.completions.create(
                model=model,
                messages=messages,
                stream=True,
                stream_options={"include_usage": True},
                **extra,
            )
        ]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    names: dict[int, str] = {}
    arguments: dict[int, str] = {}
    for chunk in chunks:
        for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            if call.function and call.function.name:
                names[call.index] = call.function.name
            if call.function and call.function.arguments:
                arguments[call.index] = arguments.get(call.index, "") + call.function.arguments
    finishes = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    usage = chunks[-1].usage
    assert usage is not None and chunks[-1].choices == []
    return Answer(
        text,
        [(names[i], json.loads(arguments.get(i) or "{}")) for i in sorted(names)],
        finishes[-1],
        usage.prompt_tokens,
        usage.completion_tokens,
        usage.total_tokens,
    )


# --- Responses ----------------------------------------------------------------------------------

RESPONSES_TOOL: Any = {
    "type": "function",
    "name": "get_weather",
    "parameters": PARAMETERS,
    "strict": False,
}


def _from_response(response: Any) -> Answer:
    text = ""
    calls: list[tuple[str, dict[str, Any]]] = []
    for item in response.output:
        if item.type == "message":
            text += "".join(part.text for part in item.content if part.type == "output_text")
        elif item.type == "function_call":
            calls.append((item.name, json.loads(item.arguments)))
    usage = response.usage
    assert usage is not None
    finish = "tool_calls" if calls else response.status
    return Answer(text, calls, finish, usage.input_tokens, usage.output_tokens, usage.total_tokens)


async def _responses(matrix: Matrix, model: str, *, stream: bool, tools: bool) -> Answer:
    extra: dict[str, Any] = {"tools": [RESPONSES_TOOL]} if tools else {}
    async with _openai(matrix) as client:
        if not stream:
            return _from_response(
                await client.responses.create(model=model, input=QUESTION, **extra)
            )
        events = [
            event
            async for event in await client.responses.create(
                model=model, input=QUESTION, stream=True, **extra
            )
        ]
    types = [event.type for event in events]
    assert types[0] == "response.created" and types[-1] == "response.completed"
    answer = _from_response(events[-1].response)
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == answer.text  # the deltas add up to the final text
    if tools:
        assert "response.function_call_arguments.delta" in types
    return answer


# --- Messages -----------------------------------------------------------------------------------

MESSAGES_TOOL: Any = {"name": "get_weather", "input_schema": PARAMETERS}


def _from_message(message: Any) -> Answer:
    text = "".join(block.text for block in message.content if block.type == "text")
    calls = [(b.name, dict(b.input)) for b in message.content if b.type == "tool_use"]
    usage = message.usage
    return Answer(
        text,
        calls,
        {"end_turn": "stop", "tool_use": "tool_calls"}.get(
            message.stop_reason, message.stop_reason
        ),
        usage.input_tokens,
        usage.output_tokens,
        usage.input_tokens + usage.output_tokens,
    )


async def _messages(matrix: Matrix, model: str, *, stream: bool, tools: bool) -> Answer:
    extra: dict[str, Any] = {"tools": [MESSAGES_TOOL]} if tools else {}
    messages: Any = [{"role": "user", "content": QUESTION}]
    async with _anthropic(matrix) as client:
        if not stream:
            message = await client.messages.create(
                model=model, max_tokens=256, messages=messages, **extra
            )
            return _from_message(message)
        async with client.messages.stream(
            model=model, max_tokens=256, messages=messages, **extra
        ) as events:
            streamed = "".join([text async for text in events.text_stream])
            final = await events.get_final_message()
    answer = _from_message(final)
    assert streamed == answer.text
    return answer


SURFACES = {"chat": _chat, "responses": _responses, "messages": _messages}


def _expected_finish(front: str, tools: bool) -> str:
    if tools:
        return "tool_calls"
    return "completed" if front == "responses" else "stop"


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("back", BACKS)
@pytest.mark.parametrize("front", FRONTS)
async def test_text_answer(front: str, back: str, stream: bool, fresh: Matrix) -> None:
    if back in fresh.fakes:
        fresh.fakes[back].always(SCENARIO)

    answer = await SURFACES[front](fresh, f"m-{back}", stream=stream, tools=False)

    assert answer.tool_calls == []
    assert answer.finish == _expected_finish(front, tools=False)
    assert answer.total_tokens == answer.prompt_tokens + answer.completion_tokens
    if back == "mock":
        assert answer.text.startswith("Mock answer from matrix-mock (up-mock)")
        assert answer.prompt_tokens > 0 and answer.completion_tokens > 0
    else:
        assert answer.text == SCENARIO.text
        assert (answer.prompt_tokens, answer.completion_tokens) == (12, 7)
        assert len(fresh.fakes[back].requests) == 1  # one upstream call, nothing retried


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("back", UPSTREAMS)
@pytest.mark.parametrize("front", FRONTS)
async def test_tool_call(front: str, back: str, stream: bool, fresh: Matrix) -> None:
    fresh.fakes[back].always(Scenario(tool_call=CALL, prompt_tokens=12, completion_tokens=7))

    answer = await SURFACES[front](fresh, f"m-{back}", stream=stream, tools=True)

    assert answer.tool_calls == [("get_weather", {"city": "Paris"})]
    assert answer.finish == _expected_finish(front, tools=True)
    assert (answer.prompt_tokens, answer.completion_tokens, answer.total_tokens) == (12, 7, 19)


async def test_the_mock_has_no_tools_so_a_tool_request_is_refused(fresh: Matrix) -> None:
    async with _openai(fresh) as client:
        with pytest.raises(openai.BadRequestError) as raised:
            await client.chat.completions.create(
                model="m-mock",
                messages=[{"role": "user", "content": QUESTION}],
                tools=[CHAT_TOOL],
            )
    assert raised.value.code == "capability_not_supported"


@pytest.mark.parametrize("encoding", ["float", "base64"])
@pytest.mark.parametrize("back", EMBEDDING_BACKS)
async def test_embeddings(back: str, encoding: str, fresh: Matrix) -> None:
    async with _openai(fresh) as client:
        result = await client.embeddings.create(
            model=f"e-{back}",
            input=["first text", "second text"],
            encoding_format=encoding,  # type: ignore[arg-type]
        )

    # The SDK decodes base64 itself, so both encodings give lists of floats.
    vectors = [item.embedding for item in result.data]
    assert [item.index for item in result.data] == [0, 1]
    assert len(vectors) == 2 and len(vectors[0]) == len(vectors[1]) > 0
    assert vectors[0] != vectors[1]
    assert result.usage.prompt_tokens > 0
    assert result.usage.total_tokens == result.usage.prompt_tokens
    if back in fresh.fakes:
        assert len(fresh.fakes[back].requests) == 1

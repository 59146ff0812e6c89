"""Mid-stream rescue against fake upstreams on real ports: a stream cut after the client got
content is continued by the next target (an Anthropic prefill), in the same stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import anthropic
import openai
import pytest
import pytest_asyncio

from tests.fakes.upstream import Scenario, ToolCallSpec
from tests.routing.failover_env import log_row
from tests.routing.rescue_env import (
    TEXT,
    RescueEnv,
    Streamed,
    rescue_env,
    stream_chat,
)

PIECES = 4  # the primary streams TEXT four characters at a time


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RescueEnv]:
    directory: Path = tmp_path_factory.mktemp("rescue")
    async with rescue_env(directory, STREAM_MAX_RESCUES="1") as running:
        yield running


@pytest_asyncio.fixture(loop_scope="session")
async def fresh(env: RescueEnv) -> RescueEnv:
    env.reset()
    await env.reset_breakers()
    return env


async def rescues(env: RescueEnv, outcome: str) -> float:
    """`routerx_stream_rescues_total{outcome}` as the gateway exposes it."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(env.gateway.url + "/metrics") as response,
    ):
        exposition = await response.text()
    prefix = f'routerx_stream_rescues_total{{outcome="{outcome}"}} '
    for line in exposition.splitlines():
        if line.startswith(prefix):
            return float(line.removeprefix(prefix))
    return 0.0


def attempts(row: Any) -> list[tuple[str, str]]:
    return [(a["provider"], a["outcome"]) for a in row.attempts]


def cut_inside_a_character(env: RescueEnv) -> tuple[int, str]:
    """A byte offset inside the UTF-8 bytes of the 'ö' of the primary's third frame, and the
    text the client has when the stream is cut there."""
    scenario = Scenario(text=TEXT, piece_chars=PIECES)
    body = {"stream": True, "stream_options": {"include_usage": True}}
    frames = env.a.stream_frames(body, "up-a", scenario)
    before = sum(len(frame) for frame in frames[:2])
    inside = frames[2].index("ö".encode()) + 1
    return before + inside, TEXT[:PIECES]


def assert_one_seamless_stream(answer: Streamed) -> None:
    assert answer.status == 200
    assert answer.errors == []
    assert answer.text == TEXT
    assert answer.events[-1] == "[DONE]"
    chunks = [e for e in answer.events if isinstance(e, dict)]
    assert len({chunk["id"] for chunk in chunks}) == 1, "one stream id across the pieces"
    roles = [
        c["delta"]["role"] for e in chunks for c in e["choices"] if "role" in c.get("delta", {})
    ]
    assert roles == ["assistant"]


@pytest.mark.parametrize(
    ("cut", "delivered"),
    [
        (Scenario(reset_after_chunks=2), TEXT[:PIECES]),
        (Scenario(reset_after_chunks=3), TEXT[: 2 * PIECES]),  # mid-word: "Héllo wö"
        (Scenario(stall_after_chunks=3), TEXT[: 2 * PIECES]),
        (Scenario(error_after_chunks=4), TEXT[: 3 * PIECES]),
        (None, TEXT[:PIECES]),  # inside a multi-byte character
    ],
    ids=["after-first-chunk", "mid-word", "stall", "error-event", "inside-a-character"],
)
async def test_a_cut_stream_is_continued_by_the_next_target(
    fresh: RescueEnv, cut: Scenario | None, delivered: str
) -> None:
    if cut is None:
        offset, delivered = cut_inside_a_character(fresh)
        cut = Scenario(cut_at_byte=offset)
    fresh.a.script(Scenario(**{**cut.__dict__, "text": TEXT, "piece_chars": PIECES}))
    fresh.an.always(Scenario(text=TEXT, prompt_tokens=20, completion_tokens=9))
    rescued_before = await rescues(fresh, "rescued")
    answer = await stream_chat(
        fresh.gateway.url, "rescue-model", stream_options={"include_usage": True}
    )
    assert_one_seamless_stream(answer)
    assert await rescues(fresh, "rescued") == rescued_before + 1
    # Anthropic refuses a prefill that ends in whitespace: it is held back, not repeated.
    assert fresh.an.prefills == [delivered.rstrip()]
    assert fresh.an.refused == []
    assert not fresh.b.requests
    usage = [e["usage"] for e in answer.events if isinstance(e, dict) and e.get("usage")]
    row = await log_row(fresh.database_url, answer.headers["x-request-id"])
    assert attempts(row) == [("oa", "interrupted"), ("an", "rescued")]
    assert row.status == 200 and row.error_type is None
    assert row.completion_tokens > 9, "the cut piece's delivered tokens count too"
    assert row.prompt_tokens >= 20
    assert usage == [
        {
            "prompt_tokens": row.prompt_tokens,
            "completion_tokens": row.completion_tokens,
            "total_tokens": row.total_tokens,
        }
    ], "the client's usage chunk adds up the pieces"


async def test_without_a_target_that_takes_a_prefill_the_original_failure_is_reported(
    fresh: RescueEnv,
) -> None:
    fresh.a.script(Scenario(text=TEXT, piece_chars=PIECES, reset_after_chunks=3))
    fresh.b.always(Scenario(text=TEXT, refuse_prefill=True), model="up-refuse")
    failed_before = await rescues(fresh, "failed")
    answer = await stream_chat(fresh.gateway.url, "refusal-model")
    assert await rescues(fresh, "failed") == failed_before + 1
    assert answer.status == 200
    assert answer.text == TEXT[: 2 * PIECES]
    (error,) = answer.errors
    assert "oa" in error["error"]["message"], "the original failure, not the prefill's 400"
    assert "400" not in error["error"]["message"]
    assert answer.events[-1] == "[DONE]"
    assert not [r for r in fresh.b.requests if r.body["model"] == "up-nopre"]
    row = await log_row(fresh.database_url, answer.headers["x-request-id"])
    assert attempts(row) == [
        ("oa", "interrupted"),
        ("ob", "client_error"),
        ("nopre", "skipped_no_prefill"),
    ]
    assert row.status == 502 and row.error_type == "stream_interrupted"


async def test_rescues_are_bounded(fresh: RescueEnv) -> None:
    fresh.a.script(Scenario(text=TEXT, piece_chars=PIECES, reset_after_chunks=2))
    # message_start, content_block_start, ping, then one delta before the cut
    fresh.an.script(Scenario(text=TEXT, reset_after_chunks=4))
    not_rescued_before = await rescues(fresh, "not_rescued")
    answer = await stream_chat(fresh.gateway.url, "rescue-model")
    assert await rescues(fresh, "not_rescued") == not_rescued_before + 1
    assert len(answer.errors) == 1
    assert answer.text.startswith(TEXT[:PIECES]) and answer.text != TEXT
    assert not fresh.b.requests, "STREAM_MAX_RESCUES=1: no second rescue"
    row = await log_row(fresh.database_url, answer.headers["x-request-id"])
    assert attempts(row) == [("oa", "interrupted"), ("an", "interrupted")]


async def test_a_tool_call_stream_is_not_rescued(fresh: RescueEnv) -> None:
    call = ToolCallSpec("get_weather", {"city": "Paris", "unit": "celsius"})
    fresh.a.script(Scenario(tool_call=call, reset_after_chunks=2))
    answer = await stream_chat(fresh.gateway.url, "rescue-model")
    assert len(answer.errors) == 1
    assert not fresh.an.requests and not fresh.b.requests
    row = await log_row(fresh.database_url, answer.headers["x-request-id"])
    assert attempts(row) == [("oa", "interrupted")]


async def test_without_the_option_a_cut_stream_ends_with_the_error_event(
    fresh: RescueEnv,
) -> None:
    fresh.a.script(Scenario(text=TEXT, piece_chars=PIECES, reset_after_chunks=2))
    answer = await stream_chat(fresh.gateway.url, "plain-model")
    assert len(answer.errors) == 1
    assert not fresh.b.requests


async def test_messages_stream_is_rescued_in_the_same_message(fresh: RescueEnv) -> None:
    fresh.a.script(Scenario(text=TEXT, piece_chars=PIECES, reset_after_chunks=3))
    fresh.an.always(Scenario(text=TEXT))
    client = anthropic.AsyncAnthropic(
        api_key="demo_key_fake_123456", base_url=fresh.gateway.url, max_retries=0
    )
    async with client.messages.stream(
        model="rescue-model",
        max_tokens=256,
        messages=[{"role": "user", "content": "hello"}],
    ) as stream:
        kinds = [event.type async for event in stream]
        message = await stream.get_final_message()
    assert kinds.count("message_start") == 1 and kinds.count("content_block_start") == 1
    assert "error" not in kinds
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == TEXT  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn"
    assert fresh.an.prefills == [TEXT[: 2 * PIECES].rstrip()]
    # the continuation's cap leaves out what was already delivered
    assert 0 < fresh.an.requests[-1].body["max_tokens"] < 256


async def test_responses_stream_is_rescued_in_the_same_response(fresh: RescueEnv) -> None:
    fresh.a.script(Scenario(text=TEXT, piece_chars=PIECES, error_after_chunks=3))
    fresh.an.always(Scenario(text=TEXT))
    client = openai.AsyncOpenAI(
        api_key="demo_key_fake_123456", base_url=fresh.gateway.url + "/v1", max_retries=0
    )
    stream = await client.responses.create(model="rescue-model", input="hello", stream=True)
    events = [event async for event in stream]
    kinds = [event.type for event in events]
    assert "error" not in kinds and kinds[-1] == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert kinds.count("response.output_item.added") == 1
    final = events[-1].response  # type: ignore[union-attr]
    assert final.output_text == TEXT
    assert fresh.an.prefills == [TEXT[: 2 * PIECES].rstrip()]

"""The real gateway against fake upstreams that fail on command: who answered, what the client
got, the breaker afterwards, and the attempts in the log row."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from tests.fakes.upstream import Scenario
from tests.routing.failover_env import (
    AUTH,
    TEXT,
    FailoverEnv,
    attempts,
    breakers,
    chat,
    failover_env,
    log_row,
    reset_breakers,
)

Env = FailoverEnv


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env() -> AsyncIterator[Env]:
    async with failover_env() as running:
        yield running


@pytest_asyncio.fixture(loop_scope="session")
async def fresh(env: Env) -> Env:
    env.primary.reset()
    env.secondary.reset()
    await reset_breakers(env.gateway.url)
    return env


async def test_healthy_primary_answers(fresh: Env) -> None:
    answer = await chat(fresh.gateway.url)
    assert answer.status == 200
    assert answer.headers["x-routerx-provider"] == "primary"
    assert "x-routerx-attempts" not in answer.headers
    assert fresh.primary.requests[-1].body["model"] == "up-primary"
    assert not fresh.secondary.requests


@pytest.mark.parametrize(
    ("scenario", "status", "error_type"),
    [
        (Scenario.fail(500), 500, {"http_error"}),
        (Scenario.fail(503), 503, {"http_error"}),
        (Scenario.fail(429, retry_after="1"), 429, {"http_error"}),
        (Scenario.fail(408), 408, {"http_error"}),
        (Scenario(hang=True), None, {"timeout"}),
        # aiohttp reports a dropped connection as "server disconnected"
        (Scenario(reset_after_chunks=0), None, {"connect", "stream_error"}),
    ],
    ids=["500", "503", "429-retry-after", "408", "timeout", "connection-reset"],
)
async def test_failure_falls_back_to_secondary(
    fresh: Env, scenario: Scenario, status: int | None, error_type: set[str]
) -> None:
    fresh.primary.script(scenario)
    answer = await chat(fresh.gateway.url)
    assert answer.status == 200, answer.body
    assert answer.headers["x-routerx-provider"] == "secondary"
    assert answer.headers["x-routerx-attempts"].startswith("primary;failure")
    assert answer.body["choices"][0]["message"]["content"] == "Hello from the fake upstream."
    row = await log_row(fresh.database_url, answer.headers["x-request-id"])
    assert attempts(row) == [("primary", "failure", status), ("secondary", "success", 200)]
    assert row.attempts[0]["error_type"] in error_type
    assert row.fallback and row.provider == "secondary" and row.upstream_model == "up-secondary"
    assert (await breakers(fresh.gateway.url))["primary"]["consecutive_failures"] == 1


async def test_client_error_goes_straight_back(fresh: Env) -> None:
    fresh.primary.script(Scenario.fail(400))
    answer = await chat(fresh.gateway.url)
    assert answer.status == 400
    assert answer.body["error"]["type"] == "invalid_request_error"
    assert not fresh.secondary.requests
    row = await log_row(fresh.database_url, answer.headers["x-request-id"])
    assert attempts(row) == [("primary", "client_error", 400)]
    assert (await breakers(fresh.gateway.url))["primary"]["consecutive_failures"] == 0


async def test_breaker_opens_then_primary_is_skipped(fresh: Env) -> None:
    fresh.primary.always(Scenario.fail(500))
    for _ in range(3):
        assert (await chat(fresh.gateway.url)).status == 200
    state = (await breakers(fresh.gateway.url))["primary"]
    assert state["state"] == "open" and state["open_until"] is not None
    served_before = len(fresh.primary.requests)
    answer = await chat(fresh.gateway.url)
    assert answer.headers["x-routerx-provider"] == "secondary"
    assert len(fresh.primary.requests) == served_before, "an open breaker was called"
    row = await log_row(fresh.database_url, answer.headers["x-request-id"])
    assert attempts(row) == [("primary", "skipped_open", None), ("secondary", "success", 200)]
    assert row.attempts[0]["breaker_state"] == "open"


async def test_every_target_open_gives_503_with_retry_after(fresh: Env) -> None:
    fresh.primary.always(Scenario.fail(500))
    fresh.secondary.always(Scenario.fail(502))
    for _ in range(5):
        answer = await chat(fresh.gateway.url)
        assert answer.status == 502, "while a target is closed, the last upstream error shows"
        assert answer.body["error"]["type"] == "upstream_error"
        states = await breakers(fresh.gateway.url)
        if states["primary"]["state"] == states["secondary"]["state"] == "open":
            break
    assert states["primary"]["state"] == states["secondary"]["state"] == "open"
    answer = await chat(fresh.gateway.url)
    assert answer.status == 503
    assert int(answer.headers["retry-after"]) >= 1
    assert answer.body["error"]["code"] == "providers_unavailable"


async def test_stall_before_first_chunk_fails_over_transparently(fresh: Env) -> None:
    fresh.primary.script(Scenario(hang=True))
    answer = await chat(fresh.gateway.url, stream=True)
    assert answer.status == 200
    assert answer.headers["x-routerx-provider"] == "secondary"
    assert answer.events[-1] == "[DONE]"
    text = "".join(
        e["choices"][0]["delta"].get("content") or "" for e in answer.events[:-1] if e["choices"]
    )
    assert text == "Hello from the fake upstream."
    row = await log_row(fresh.database_url, answer.headers["x-request-id"])
    assert attempts(row) == [("primary", "failure", None), ("secondary", "success", 200)]
    assert row.attempts[0]["error_type"] == "timeout"


async def test_error_event_before_first_chunk_fails_over(fresh: Env) -> None:
    fresh.primary.script(Scenario(error_after_chunks=0))
    answer = await chat(fresh.gateway.url, stream=True)
    assert answer.headers["x-routerx-provider"] == "secondary"
    assert answer.events[-1] == "[DONE]"


@pytest.mark.parametrize(
    "scenario",
    [
        Scenario(stall_after_chunks=2),
        Scenario(error_after_chunks=2),
        Scenario(reset_after_chunks=2),
    ],
    ids=["stall", "error-event", "reset"],
)
async def test_failure_after_first_chunk_ends_with_an_error_event(
    fresh: Env, scenario: Scenario
) -> None:
    fresh.primary.script(scenario)
    answer = await chat(fresh.gateway.url, stream=True)
    assert answer.status == 200
    assert answer.headers["x-routerx-provider"] == "primary"
    error_events = [e for e in answer.events if isinstance(e, dict) and "error" in e]
    assert len(error_events) == 1, answer.events
    assert error_events[0]["error"]["type"] == "upstream_error"
    assert answer.events[-1] == "[DONE]"
    assert not fresh.secondary.requests, "no failover once the first chunk was sent"
    row = await log_row(fresh.database_url, answer.headers["x-request-id"])
    assert row.error_type == "stream_interrupted"
    assert row.completion_tokens > 0, "partial usage is recorded for a cut stream"
    assert (await breakers(fresh.gateway.url))["primary"]["consecutive_failures"] == 1


async def test_stream_usage_from_upstream(fresh: Env) -> None:
    fresh.primary.script(Scenario(prompt_tokens=40, completion_tokens=9))
    answer = await chat(fresh.gateway.url, stream=True, stream_options={"include_usage": True})
    assert answer.events[-2]["usage"] == {
        "prompt_tokens": 40,
        "completion_tokens": 9,
        "total_tokens": 49,
    }
    row = await log_row(fresh.database_url, answer.headers["x-request-id"])
    assert (row.prompt_tokens, row.completion_tokens, row.total_tokens) == (40, 9, 49)


async def test_client_disconnect_cancels_non_stream_upstream(fresh: Env) -> None:
    fresh.primary.script(Scenario(hang=True))
    async with aiohttp.ClientSession() as session:
        request = asyncio.create_task(
            session.post(fresh.gateway.url + "/v1/chat/completions", json=TEXT, headers=AUTH)
        )
        async with asyncio.timeout(5):
            while not fresh.primary.requests:
                await asyncio.sleep(0.01)
        request.cancel()
    await fresh.primary.wait_for_disconnect(timeout_s=5)
    assert not fresh.secondary.requests


async def test_client_disconnect_mid_stream_cancels_upstream(fresh: Env) -> None:
    fresh.primary.script(Scenario(stall_after_chunks=2))
    async with aiohttp.ClientSession() as session:
        response = await session.post(
            fresh.gateway.url + "/v1/chat/completions", json={**TEXT, "stream": True}, headers=AUTH
        )
        assert response.status == 200
        await response.content.readline()
        response.close()
    await fresh.primary.wait_for_disconnect(timeout_s=5)


async def test_vision_never_reaches_text_only_provider(fresh: Env) -> None:
    vision = {
        "model": "failover-model",
        "messages": [
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": "https://example.com/cat.jpg"}],
            }
        ],
    }
    answer = await chat(fresh.gateway.url, vision)
    assert answer.status == 200  # both fakes are configured vision-capable here
    answer = await chat(fresh.gateway.url, {**vision, "model": "gpt-4.1-mini"})
    assert answer.headers["x-routerx-provider"] == "mock-vision"

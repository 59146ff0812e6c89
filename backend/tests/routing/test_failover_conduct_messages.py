"""Failover conduct on a second streaming surface: Anthropic Messages (`/v1/messages`, the
official anthropic SDK) in front of OpenAI-compatible upstreams, fault by fault. The client sees
one complete Messages answer, in Anthropic's own events, whatever the primary did before it
committed; tests/routing/test_failover_conduct.py has the same faults on Chat Completions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anthropic
import pytest
import pytest_asyncio

from tests.fakes.upstream import Scenario
from tests.routing.failover_env import DEMO_KEY, attempts, breakers, log_row
from tests.routing.rescue_env import (
    CONTEXT_TOO_LONG,
    DEADLINE_S,
    FAKE_ANSWER,
    RescueEnv,
    rescue_env,
)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RescueEnv]:
    directory: Path = tmp_path_factory.mktemp("conduct-messages")
    async with rescue_env(directory) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="session")
async def fresh(env: RescueEnv) -> RescueEnv:
    env.reset()
    await env.reset_breakers()
    return env


async def streamed(env: RescueEnv, model: str) -> tuple[anthropic.types.Message, str, str]:
    """One streamed Messages request: the final message, the answering provider and the
    request id (RouterX's headers)."""
    async with (
        anthropic.AsyncAnthropic(
            base_url=env.gateway.url, api_key=DEMO_KEY, max_retries=0
        ) as client,
        client.messages.stream(
            model=model, max_tokens=64, messages=[{"role": "user", "content": "Hello"}]
        ) as stream,
    ):
        message = await stream.get_final_message()
        headers = stream.response.headers
    return message, headers["x-routerx-provider"], headers["x-request-id"]


def text_of(message: anthropic.types.Message) -> str:
    return "".join(block.text for block in message.content if block.type == "text")


@pytest.mark.parametrize("status", [401, 403])
async def test_an_upstream_auth_failure_fails_over(fresh: RescueEnv, status: int) -> None:
    fresh.a.always(Scenario.fail(status))
    message, provider, request_id = await streamed(fresh, "plain-model")
    assert (text_of(message), provider) == (FAKE_ANSWER, "ob")
    assert message.stop_reason == "end_turn"
    row = await log_row(fresh.database_url, request_id)
    assert attempts(row) == [("oa", "failure", status), ("ob", "success", 200)]
    assert (await breakers(fresh.gateway.url))["oa"]["consecutive_failures"] == 1


async def test_a_stalled_primary_leaves_time_for_the_secondary(fresh: RescueEnv) -> None:
    fresh.a.always(Scenario(hang=True), model="up-slow")
    message, provider, request_id = await streamed(fresh, "stall-model")
    assert (text_of(message), provider) == (FAKE_ANSWER, "ob")
    row = await log_row(fresh.database_url, request_id)
    assert attempts(row) == [("slow", "failure", None), ("ob", "success", 200)]
    assert row.attempts[0]["latency_ms"] < DEADLINE_S * 1000


async def test_an_error_before_any_content_does_not_commit_the_stream(fresh: RescueEnv) -> None:
    """The primary sends its role-only delta, then an error: nothing has committed, so the
    client's Messages stream is the secondary's whole answer, not an error."""
    fresh.a.always(Scenario(error_after_chunks=1))
    message, provider, _ = await streamed(fresh, "plain-model")
    assert (text_of(message), provider) == (FAKE_ANSWER, "ob")


async def test_a_malformed_event_is_skipped_and_the_stream_completes(fresh: RescueEnv) -> None:
    fresh.a.script(Scenario(malformed_after_chunks=2))
    message, provider, _ = await streamed(fresh, "plain-model")
    assert (text_of(message), provider) == (FAKE_ANSWER, "oa")
    assert message.stop_reason == "end_turn"


async def test_a_stream_without_done_is_finalised_with_its_usage(fresh: RescueEnv) -> None:
    body = {"stream": True, "stream_options": {"include_usage": True}}
    frames = fresh.a.stream_frames(body, "up-a", Scenario())
    assert frames[-1] == b"data: [DONE]\n\n"
    fresh.a.script(Scenario(stall_after_chunks=len(frames) - 1))
    message, provider, request_id = await streamed(fresh, "plain-model")
    assert (text_of(message), provider) == (FAKE_ANSWER, "oa")
    assert (message.usage.input_tokens, message.usage.output_tokens) == (12, 7)
    row = await log_row(fresh.database_url, request_id)
    assert attempts(row) == [("oa", "success", 200)] and row.status == 200


async def test_context_length_exceeded_moves_on_without_retrying_the_model(
    fresh: RescueEnv,
) -> None:
    fresh.a.always(Scenario(status=400, body=CONTEXT_TOO_LONG))
    message, provider, request_id = await streamed(fresh, "plain-model")
    assert (text_of(message), provider) == (FAKE_ANSWER, "ob")
    row = await log_row(fresh.database_url, request_id)
    assert attempts(row) == [("oa", "client_error", 400), ("ob", "success", 200)]


async def test_a_transient_failure_is_retried_once_on_the_same_target(fresh: RescueEnv) -> None:
    fresh.a.script(Scenario.fail(500))
    message, provider, request_id = await streamed(fresh, "plain-model")
    assert (text_of(message), provider) == (FAKE_ANSWER, "oa")
    row = await log_row(fresh.database_url, request_id)
    assert attempts(row) == [("oa", "failure", 500), ("oa", "success", 200)]
    assert not fresh.b.requests

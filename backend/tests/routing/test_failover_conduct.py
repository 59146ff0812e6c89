"""Failover conduct, fault by fault, against fake upstreams on real ports: what RouterX does
and what the client sees (streams and non-streams)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from routerx.providers.error_detail import error_detail
from routerx.providers.errors import UpstreamError
from routerx.providers.http import status_error
from tests.fakes.upstream import Scenario, sse
from tests.routing.failover_env import attempts, breakers, log_row
from tests.routing.rescue_env import (
    CONTEXT_TOO_LONG,
    DEADLINE_S,
    FAKE_ANSWER,
    RescueEnv,
    chat,
    rescue_env,
    stream_chat,
)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RescueEnv]:
    directory: Path = tmp_path_factory.mktemp("conduct")
    async with rescue_env(directory) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="session")
async def fresh(env: RescueEnv) -> RescueEnv:
    env.reset()
    await env.reset_breakers()
    return env


@pytest.mark.parametrize("status", [401, 403])
async def test_an_upstream_auth_failure_fails_over_and_feeds_the_breaker(
    fresh: RescueEnv, status: int
) -> None:
    fresh.a.always(Scenario.fail(status))
    code, headers, body = await chat(fresh.gateway.url, "plain-model")
    assert code == 200, body
    assert headers["x-routerx-provider"] == "ob"
    row = await log_row(fresh.database_url, headers["x-request-id"])
    assert attempts(row) == [("oa", "failure", status), ("ob", "success", 200)]
    assert (await breakers(fresh.gateway.url))["oa"]["consecutive_failures"] == 1
    answer = await stream_chat(fresh.gateway.url, "plain-model")
    assert answer.headers["x-routerx-provider"] == "ob" and answer.text == FAKE_ANSWER


async def test_auth_failures_everywhere_are_a_502_not_the_callers_error(
    fresh: RescueEnv,
) -> None:
    fresh.a.always(Scenario.fail(401))
    fresh.b.always(Scenario.fail(403))
    code, _, body = await chat(fresh.gateway.url, "plain-model")
    assert code == 502
    assert body["error"]["type"] == "upstream_error"


def test_gemini_key_errors_are_provider_failures() -> None:
    """Gemini answers a wrong key with a 400 naming API_KEY_INVALID in its details."""
    body = (
        b'{"error": {"code": 400, "message": "API key not valid.", "status": "INVALID_ARGUMENT",'
        b' "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",'
        b' "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]}}'
    )
    error = status_error("gemini", 400, {}, error_detail(body))
    assert error.is_failure and error.client_status == 502
    assert UpstreamError("denied", status=403).is_failure
    assert not status_error("gemini", 400, {}, error_detail(b'{"error": {"code": 400}}')).is_failure


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "non-stream"])
async def test_a_stalled_primary_leaves_time_for_the_secondary(
    fresh: RescueEnv, stream: bool
) -> None:
    """`slow` has first_token_s and total_s of 60 s, ten times the request deadline."""
    fresh.a.always(Scenario(hang=True), model="up-slow")
    if stream:
        answer = await stream_chat(fresh.gateway.url, "stall-model")
        request_id, text = answer.headers["x-request-id"], answer.text
    else:
        code, headers, body = await chat(fresh.gateway.url, "stall-model")
        assert code == 200
        request_id, text = headers["x-request-id"], body["choices"][0]["message"]["content"]
    assert text == FAKE_ANSWER
    row = await log_row(fresh.database_url, request_id)
    assert attempts(row) == [("slow", "failure", None), ("ob", "success", 200)]
    assert row.attempts[0]["error_type"] == "timeout"
    assert row.attempts[0]["latency_ms"] < DEADLINE_S * 1000
    assert len([r for r in fresh.a.requests if r.body["model"] == "up-slow"]) == 1


async def test_anthropic_overloaded_right_after_message_start_fails_over_transparently(
    fresh: RescueEnv,
) -> None:
    fresh.an.always(Scenario(error_after_chunks=1))
    answer = await stream_chat(fresh.gateway.url, "anthropic-first")
    assert answer.errors == []
    assert answer.headers["x-routerx-provider"] == "ob"
    assert answer.text == FAKE_ANSWER
    row = await log_row(fresh.database_url, answer.headers["x-request-id"])
    # retried once on the same target (a transient error), then the next target
    assert attempts(row) == [("an", "failure", None)] * 2 + [("ob", "success", 200)]


async def test_a_role_only_delta_does_not_commit_the_stream(fresh: RescueEnv) -> None:
    fresh.a.always(Scenario(error_after_chunks=1))
    answer = await stream_chat(fresh.gateway.url, "plain-model")
    assert answer.errors == [] and answer.headers["x-routerx-provider"] == "ob"
    assert answer.text == FAKE_ANSWER


async def test_an_azure_prompt_filter_chunk_is_not_relayed(fresh: RescueEnv) -> None:
    prompt_filter = sse(
        {
            "id": "",
            "object": "",
            "created": 0,
            "model": "",
            "choices": [],
            "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}],
        }
    )
    frames = fresh.a.stream_frames({"stream": True}, "up-a", Scenario())
    fresh.a.script(Scenario(frames=[prompt_filter, *frames]))
    answer = await stream_chat(fresh.gateway.url, "plain-model")
    assert answer.text == FAKE_ANSWER
    assert not [e for e in answer.events if isinstance(e, dict) and "prompt_filter_results" in e]


async def test_a_provider_that_always_breaks_mid_stream_trips_its_breaker(
    fresh: RescueEnv,
) -> None:
    fresh.a.always(Scenario(reset_after_chunks=2))
    for _ in range(3):
        answer = await stream_chat(fresh.gateway.url, "plain-model")
        assert len(answer.errors) == 1
    row = await log_row(fresh.database_url, answer.headers["x-request-id"])
    assert attempts(row) == [("oa", "interrupted", None)]
    assert row.status == 502 and row.error_type == "stream_interrupted"
    assert (await breakers(fresh.gateway.url))["oa"]["state"] == "open"
    answer = await stream_chat(fresh.gateway.url, "plain-model")
    assert answer.headers["x-routerx-provider"] == "ob" and answer.errors == []


async def test_a_malformed_event_is_skipped_and_the_stream_completes(fresh: RescueEnv) -> None:
    fresh.a.script(Scenario(malformed_after_chunks=2))
    answer = await stream_chat(fresh.gateway.url, "plain-model")
    assert answer.errors == [] and answer.text == FAKE_ANSWER
    assert answer.headers["x-routerx-provider"] == "oa"
    code, _, _ = await chat(fresh.gateway.url, "plain-model")
    assert code == 200


async def test_a_stream_without_done_is_finalised_with_its_usage(fresh: RescueEnv) -> None:
    body = {"stream": True, "stream_options": {"include_usage": True}}
    frames = fresh.a.stream_frames(body, "up-a", Scenario())
    assert frames[-1] == b"data: [DONE]\n\n"
    # Everything but `[DONE]`, then silence: the usage chunk already ended the answer.
    fresh.a.script(Scenario(stall_after_chunks=len(frames) - 1))
    answer = await stream_chat(fresh.gateway.url, "plain-model")
    assert answer.errors == [] and answer.text == FAKE_ANSWER
    assert answer.events[-1] == "[DONE]"
    row = await log_row(fresh.database_url, answer.headers["x-request-id"])
    assert (row.prompt_tokens, row.completion_tokens) == (12, 7)
    assert attempts(row) == [("oa", "success", 200)]
    assert row.status == 200


async def test_context_length_exceeded_moves_on_without_retrying_the_model(
    fresh: RescueEnv,
) -> None:
    fresh.a.always(Scenario(status=400, body=CONTEXT_TOO_LONG))
    code, headers, body = await chat(fresh.gateway.url, "plain-model")
    assert code == 200 and headers["x-routerx-provider"] == "ob"
    row = await log_row(fresh.database_url, headers["x-request-id"])
    assert attempts(row) == [("oa", "client_error", 400), ("ob", "success", 200)]
    assert (await breakers(fresh.gateway.url))["oa"]["consecutive_failures"] == 0
    fresh.b.always(Scenario(status=400, body=CONTEXT_TOO_LONG))
    before = len(fresh.a.requests)
    code, _, body = await chat(fresh.gateway.url, "plain-model")
    assert code == 400
    assert body["error"]["code"] == "context_length_exceeded"
    assert len(fresh.a.requests) == before + 1, "never retried on the same model"


async def test_a_content_policy_rejection_comes_back_as_is(fresh: RescueEnv) -> None:
    policy = {
        "error": {
            "message": "Your request was rejected as a result of our safety system.",
            "type": "invalid_request_error",
            "param": None,
            "code": "content_policy_violation",
        }
    }
    fresh.a.script(Scenario(status=400, body=policy))
    code, _, body = await chat(fresh.gateway.url, "plain-model")
    assert code == 400
    assert body["error"]["code"] == "content_policy_violation"
    assert "safety system" not in body["error"]["message"], "never the upstream's raw text"
    assert not fresh.b.requests


async def test_the_answer_names_the_model_that_answered(fresh: RescueEnv) -> None:
    fresh.a.always(Scenario.fail(500))
    code, headers, body = await chat(fresh.gateway.url, "plain-model")
    assert code == 200 and body["model"] == "up-b"
    assert headers["x-routerx-requested-model"] == "plain-model"
    row = await log_row(fresh.database_url, headers["x-request-id"])
    assert row.model == "plain-model" and row.upstream_model == "up-b"


async def test_a_big_models_outage_does_not_block_its_providers_small_model(
    fresh: RescueEnv,
) -> None:
    """One breaker per target: three failures open `oa/up-big` only."""
    fresh.a.always(Scenario.fail(500), model="up-big")
    for _ in range(6):
        code, headers, body = await chat(fresh.gateway.url, "tiered-model")
        assert code == 200, body
        assert body["model"] == "up-small"
    state = (await breakers(fresh.gateway.url))["oa"]
    assert state["state"] == "open", "the provider shows its worst target"
    assert state["targets"]["up-big"]["state"] == "open"
    assert state["targets"]["up-small"]["state"] == "closed"
    assert len([r for r in fresh.a.requests if r.body["model"] == "up-big"]) == 3
    row = await log_row(fresh.database_url, headers["x-request-id"])
    assert attempts(row) == [("oa", "skipped_open", None), ("oa", "success", 200)]


@pytest.mark.parametrize(
    "failure",
    [
        Scenario.fail(500),
        Scenario.fail(429, retry_after="1"),
        Scenario.fail(429),  # no Retry-After: a short jittered wait
        Scenario.fail(503, retry_after_ms="200"),
        Scenario(reset_after_chunks=0),  # a reset before the headers
    ],
    ids=["500", "429-short-retry-after", "429-no-header", "503-retry-after-ms", "reset"],
)
async def test_a_transient_failure_is_retried_once_on_the_same_target(
    fresh: RescueEnv, failure: Scenario
) -> None:
    fresh.a.script(failure)
    code, headers, body = await chat(fresh.gateway.url, "plain-model")
    assert code == 200 and headers["x-routerx-provider"] == "oa", body
    row = await log_row(fresh.database_url, headers["x-request-id"])
    assert [(p, o) for p, o, _ in attempts(row)] == [("oa", "failure"), ("oa", "success")]
    assert not fresh.b.requests


async def test_a_transient_failure_twice_moves_on(fresh: RescueEnv) -> None:
    fresh.a.always(Scenario.fail(502))
    answer = await stream_chat(fresh.gateway.url, "plain-model")
    assert answer.headers["x-routerx-provider"] == "ob" and answer.text == FAKE_ANSWER
    row = await log_row(fresh.database_url, answer.headers["x-request-id"])
    assert attempts(row) == [("oa", "failure", 502), ("oa", "failure", 502), ("ob", "success", 200)]


@pytest.mark.parametrize(
    ("model", "failure"),
    [
        ("plain-model", Scenario.fail(429, retry_after="30")),  # a long wait: fail over now
        ("fail-over-model", Scenario.fail(500)),  # the rule says fail over at once
    ],
    ids=["long-retry-after", "rule-fail-over"],
)
async def test_fails_over_at_once(fresh: RescueEnv, model: str, failure: Scenario) -> None:
    fresh.a.script(failure)
    code, headers, _ = await chat(fresh.gateway.url, model)
    assert code == 200 and headers["x-routerx-provider"] == "ob"
    row = await log_row(fresh.database_url, headers["x-request-id"])
    assert [(p, o) for p, o, _ in attempts(row)] == [("oa", "failure"), ("ob", "success")]

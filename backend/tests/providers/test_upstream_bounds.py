"""Upstream answers are bounded: a real gateway process in front of an OpenAI-compatible
upstream that answers with a valid but oversized body, or one oversized SSE event spread over
many `data:` lines. Each attempt fails as a protocol error the breaker counts (a 502 for the
client, the attempt logged as a failure), never an unbounded buffer."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from routerx.providers.http import MAX_SSE_EVENT_BYTES, MAX_UPSTREAM_BODY_BYTES
from routerx.storage.config_version import bump_config_version
from routerx.storage.models import Provider, RequestLog, RoutingRule, Tenant
from tests.support.database import connected, prepare
from tests.support.processes import ServerProcess, base_env, start_server

DEMO_KEY = "demo_key_fake_123456"
MODEL = "flood-model"
PIECE = 1024 * 1024


async def oversized_answer(request: web.Request) -> web.StreamResponse:
    """A well-formed chat completion (or chunk stream) whose size is over the gateway's caps."""
    body = await request.json()
    response = web.StreamResponse(
        headers={"content-type": "text/event-stream" if body.get("stream") else "application/json"}
    )
    await response.prepare(request)
    if body.get("stream"):
        # One event: JSON whose whitespace is spread over many data lines (legal SSE and JSON).
        await response.write(b'data: {"id": "c", "object": "chat.completion.chunk",\n')
        for _ in range(MAX_SSE_EVENT_BYTES // PIECE + 1):
            await response.write(b"data: " + b" " * PIECE + b"\n")
        await response.write(
            b'data: "created": 1, "model": "m", "choices": [{"index": 0, '
            b'"delta": {"content": "hi"}, "finish_reason": "stop"}]}\n\n'
        )
        await response.write(b"data: [DONE]\n\n")
    else:
        await response.write(
            b'{"id": "c", "object": "chat.completion", "created": 1, "model": "m", "choices": '
            b'[{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", '
            b'"content": "'
        )
        for _ in range(MAX_UPSTREAM_BODY_BYTES // PIECE + 1):
            await response.write(b"a" * PIECE)
        await response.write(b'"}}], "usage": {"prompt_tokens": 1, "completion_tokens": 1, ')
        await response.write(b'"total_tokens": 2}}')
    await response.write_eof()
    return response


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def flood_upstream() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/v1/chat/completions", oversized_answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        await runner.cleanup()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gateway(
    tmp_path_factory: pytest.TempPathFactory, flood_upstream: str
) -> AsyncIterator[tuple[ServerProcess, str]]:
    path: Path = tmp_path_factory.mktemp("upstream-bounds") / "routerx.sqlite3"
    database_url = f"sqlite://{path}"
    await prepare(database_url)
    async with connected(database_url):
        for kind in ("answer", "stream"):  # one provider each: their breakers stay apart
            await Provider.create(
                name=f"flood-{kind}",
                type="openai_compatible",
                base_url=flood_upstream,
                capabilities=["text"],
            )
            await RoutingRule.create(
                name=f"rule-flood-{kind}",
                model_pattern=f"{MODEL}-{kind}",
                capability="text",
                targets=[{"provider": f"flood-{kind}", "model": "m", "weight": 1, "tier": 0}],
            )
        await Tenant.filter(name="demo").update(allowed_models=[])
        await bump_config_version()
    server = await start_server("gateway", base_env(database_url, ENABLE_REAL_CALLS="true"))
    try:
        yield server, database_url
    finally:
        server.stop()


async def row_for(database_url: str, request_id: str) -> RequestLog:
    deadline = time.monotonic() + 10
    async with connected(database_url):
        while (row := await RequestLog.get_or_none(request_id=request_id)) is None:
            assert time.monotonic() < deadline, "no request-log row"
            await asyncio.sleep(0.05)
    return row


@pytest.mark.parametrize("stream", [False, True], ids=["answer", "sse-event"])
async def test_an_oversized_upstream_answer_is_a_protocol_failure(
    gateway: tuple[ServerProcess, str], stream: bool
) -> None:
    server, database_url = gateway
    model = f"{MODEL}-{'stream' if stream else 'answer'}"
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": stream}
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            server.url + "/v1/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {DEMO_KEY}"},
        ) as response,
    ):
        answer = await response.read()
        request_id = response.headers["x-request-id"]
    assert response.status == 502, answer[:300]
    error = json.loads(answer)["error"]
    assert "larger than RouterX accepts" in error["message"] or "could not read" in error["message"]
    assert len(answer) < 4096
    row = await row_for(database_url, request_id)
    outcomes = {(a["outcome"], a.get("error_type")) for a in row.attempts}
    assert row.attempts and outcomes == {("failure", "protocol")}  # retried, each one counted

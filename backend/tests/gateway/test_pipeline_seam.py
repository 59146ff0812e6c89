"""The pipeline seam: a front adapter of its own (its own key header, body, answer, stream frames
and error envelope) registered on a route goes through the real pipeline (auth, routing, limits,
fallback, attempts, relay, log row) to a real provider adapter and a fake upstream on a real port.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import msgspec
import pytest
import pytest_asyncio
from hypercorn.asyncio import serve
from hypercorn.config import Config
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import Scope

from routerx.core.log_row import LogRow
from routerx.core.snapshot import ConfigSnapshot, KeyEntry, RuleEntry, Target, TenantEntry
from routerx.gateway.asgi_io import header
from routerx.gateway.errors import GatewayError, invalid_request
from routerx.gateway.fronts.base import Canonical, FrontAdapter, OperationName
from routerx.gateway.operations import OPERATIONS
from routerx.gateway.pipeline import Pipeline
from routerx.gateway.state import GatewayState
from routerx.limits import build_limiter
from routerx.providers.base import Call, Completion, Provider, ProviderConfig, StreamStats
from routerx.routing.breaker_gate import ProviderBreakers
from routerx.routing.breaker_registry import BreakerRegistry
from routerx.routing.capabilities import Needs, needs_of
from routerx.settings import Settings
from routerx.storage.log_writer import RequestLogWriter
from routerx.wire.openai import ChatRequest
from tests.fakes.fixtures import openai_fake, openai_server  # noqa: F401 - fixtures
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.upstream import Scenario
from tests.support.processes import free_port

PROBE_KEY = "probe-key-123"


class ProbeStreamEncoder:
    def __init__(self, request_id: str) -> None:
        self.request_id = request_id

    def start(self) -> bytes:
        return f"event: begin\ndata: {self.request_id}\n\n".encode()

    def chunk(self, chunk: bytes) -> bytes:
        choices = msgspec.json.decode(chunk).get("choices") or []
        text = choices[0].get("delta", {}).get("content") if choices else None
        return f"event: piece\ndata: {text}\n\n".encode() if text else b""

    def finish(self, stats: StreamStats) -> bytes:
        return f"event: end\ndata: {stats.finish_reason}\n\n".encode()

    def error(self, error: GatewayError) -> bytes:
        return f"event: broken\ndata: {error.status}\n\n".encode()


class ProbeFront:
    """A made-up API: {"ask": "...", "live": bool} with the key in `x-probe-key`."""

    api = "probe"
    operation: OperationName = "chat"

    def api_key(self, scope: Scope) -> str | None:
        value = header(scope, b"x-probe-key")
        return value.decode("ascii") if value is not None else None

    def decode(self, raw: dict[str, Any]) -> Canonical:
        ask = raw.get("ask")
        if not isinstance(ask, str):
            raise invalid_request("`ask` must be a string.", "ask")
        stream = bool(raw.get("live", False))
        chat = {"model": "probe-model", "messages": [{"role": "user", "content": ask}]}
        chat["stream"] = stream
        return Canonical(msgspec.convert(chat, ChatRequest), chat, stream, "probe-model")

    def encode_completion(self, completion: Completion, canonical: Canonical) -> bytes:
        answer = msgspec.json.decode(completion.body)
        return msgspec.json.encode({"said": answer["choices"][0]["message"]["content"]})

    def stream_encoder(self, canonical: Canonical, request_id: str) -> ProbeStreamEncoder:
        return ProbeStreamEncoder(request_id)

    def error_body(self, error: GatewayError) -> tuple[int, bytes]:
        body = {"problem": {"kind": error.type, "detail": error.message, "field": error.param}}
        return error.status, msgspec.json.encode(body)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


@asynccontextmanager
async def served(app: Starlette) -> AsyncIterator[str]:
    """The app on a real hypercorn server on a free loopback port."""
    port = free_port()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = config.errorlog = None
    stop = asyncio.Event()
    server = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    deadline = asyncio.get_running_loop().time() + 5.0
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            break
        except OSError:
            assert asyncio.get_running_loop().time() < deadline, "the server did not start"
            await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        await server


async def post(url: str, body: Any, key: str | None = PROBE_KEY) -> Reply:
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["x-probe-key"] = key
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=json.dumps(body), headers=headers) as response,
    ):
        headers = {name.lower(): value for name, value in response.headers.items()}
        return Reply(response.status, headers, await response.text())


def pipeline_app(state: GatewayState, front: FrontAdapter) -> Starlette:
    return Starlette(routes=[Route("/probe", Pipeline(state, front), methods=["POST"])])


class Probe:
    def __init__(self, state: GatewayState, url: str, rows: list[LogRow]):
        self.state, self.url, self.rows = state, url, rows

    async def post(self, body: Any, key: str | None = PROBE_KEY) -> Reply:
        return await post(self.url + "/probe", body, key)

    async def row(self) -> LogRow:
        assert await self.state.log_writer.flush(2.0)
        return self.rows[-1]


def snapshot(fake: FakeOpenAI) -> ConfigSnapshot:
    tenant = TenantEntry(1, "probe-tenant", True, frozenset())
    upstream = ProviderConfig(
        id=1,
        name="upstream",
        type="openai_compatible",
        base_url=fake.url + "/v1",
        secret="sk-probe",
    )
    rule = RuleEntry(
        1, "probe-rule", "probe-model", "text", None, ((Target("upstream", None, 1, 1),),)
    )
    digest = hashlib.sha256(PROBE_KEY.encode()).hexdigest()
    return ConfigSnapshot(
        version=1,
        keys_by_digest={digest: KeyEntry(7, tenant)},
        tenants={1: tenant},
        providers={"upstream": upstream},
        rules=(rule,),
    )


@pytest_asyncio.fixture
async def probe(openai_fake: FakeOpenAI) -> AsyncIterator[Probe]:  # noqa: F811 - fixture
    rows: list[LogRow] = []

    async def sink(batch: list[LogRow]) -> None:
        rows.extend(batch)

    async def answers() -> bool:
        return True

    state = GatewayState(
        settings=Settings(enable_real_calls=True),
        breakers=ProviderBreakers(BreakerRegistry()),
        log_writer=RequestLogWriter(sink, probe=answers),
        limiter=build_limiter(None),
    )
    state.install(snapshot(openai_fake))
    async with served(pipeline_app(state, ProbeFront())) as url:
        yield Probe(state, url, rows)
    await state.http.close()


async def test_a_new_front_answers_through_the_pipeline(
    probe: Probe,
    openai_fake: FakeOpenAI,  # noqa: F811 - fixture
) -> None:
    answer = await probe.post({"ask": "hello?"})
    assert answer.status == 200, answer.text
    assert answer.json() == {"said": "Hello from the fake upstream."}
    assert answer.headers["x-routerx-provider"] == "upstream"
    sent = openai_fake.requests[-1].body
    assert sent["messages"] == [{"role": "user", "content": "hello?"}]
    row = await probe.row()
    assert (row.api, row.status, row.provider, row.rule) == ("probe", 200, "upstream", "probe-rule")
    assert (row.key_id, row.tenant_id, row.prompt_tokens, row.completion_tokens) == (7, 1, 12, 7)
    assert [a.outcome for a in row.attempts] == ["success"]


async def test_a_new_front_streams_in_its_own_frames(
    probe: Probe,
    openai_fake: FakeOpenAI,  # noqa: F811 - fixture
) -> None:
    answer = await probe.post({"ask": "hello?", "live": True})
    assert answer.status == 200
    events = [block.split("\n") for block in answer.text.strip().split("\n\n")]
    names = [lines[0].removeprefix("event: ") for lines in events]
    assert names[0] == "begin" and events[0][1] == "data: " + answer.headers["x-request-id"]
    assert names[-1] == "end" and events[-1][1] == "data: stop"
    assert set(names[1:-1]) == {"piece"}
    text = "".join(lines[1].removeprefix("data: ") for lines in events[1:-1])
    assert text.replace(" ", "") == "Hellofromthefakeupstream."
    row = await probe.row()
    assert (row.api, row.stream, row.status, row.completion_tokens) == ("probe", True, 200, 7)


async def test_an_upstream_failure_after_commit_is_the_fronts_error_event(
    probe: Probe,
    openai_fake: FakeOpenAI,  # noqa: F811 - fixture
) -> None:
    openai_fake.script(Scenario(error_after_chunks=2))
    answer = await probe.post({"ask": "hello?", "live": True})
    assert answer.status == 200
    assert answer.text.endswith("event: broken\ndata: 502\n\n")
    assert "event: end" not in answer.text
    row = await probe.row()
    # Logged with the in-stream error's status, so that a 5xx filter finds it.
    assert (row.status, row.error_type) == (502, "stream_interrupted")


@pytest.mark.parametrize(
    ("body", "key", "status", "kind"),
    [
        ({"ask": 3}, PROBE_KEY, 400, "invalid_request_error"),
        ({"ask": "hi"}, None, 401, "invalid_request_error"),
        ({"ask": "hi"}, "wrong-key", 401, "invalid_request_error"),
    ],
)
async def test_errors_come_back_in_the_fronts_own_shape(
    probe: Probe, body: Any, key: str | None, status: int, kind: str
) -> None:
    answer = await probe.post(body, key)
    assert answer.status == status
    assert answer.headers["content-type"] == "application/json"
    problem = answer.json()["problem"]
    assert problem["kind"] == kind and problem["detail"]
    row = await probe.row()
    assert (row.api, row.status) == ("probe", status)


async def test_upstream_failures_after_fallback_are_in_the_fronts_shape(
    probe: Probe,
    openai_fake: FakeOpenAI,  # noqa: F811 - fixture
) -> None:
    openai_fake.always(Scenario.fail(500))
    answer = await probe.post({"ask": "hello?"})
    assert answer.status == 502
    assert answer.json()["problem"]["kind"] == "upstream_error"
    row = await probe.row()
    assert row.attempts and {a.outcome for a in row.attempts} == {"failure"}


class AnswerOnly:
    """An operation of its own (no streaming): how an attempt calls the provider is its choice."""

    name: OperationName = "embeddings"

    def __init__(self) -> None:
        self.calls: list[str] = []

    def needs(self, canonical: Canonical) -> Needs:
        return needs_of(canonical.request)

    def token_estimate(self, canonical: Canonical) -> int:
        return 1

    async def answer(
        self, provider: Provider, canonical: Canonical, upstream_model: str, request_id: str
    ) -> Completion:
        self.calls.append(upstream_model)
        return await provider.complete(
            Call(canonical.request, canonical.raw, upstream_model, request_id)
        )


class AnswerOnlyFront(ProbeFront):
    operation: OperationName = "embeddings"


async def test_a_front_chooses_its_operation_and_a_stream_it_cannot_do_is_a_400(
    probe: Probe, monkeypatch: pytest.MonkeyPatch
) -> None:
    operation = AnswerOnly()
    monkeypatch.setitem(OPERATIONS, "embeddings", operation)
    async with served(pipeline_app(probe.state, AnswerOnlyFront())) as url:
        answer = await post(url + "/probe", {"ask": "hi"})
        refused = await post(url + "/probe", {"ask": "hi", "live": True})
    assert answer.status == 200 and answer.json() == {"said": "Hello from the fake upstream."}
    assert operation.calls == ["probe-model"]
    assert refused.status == 400
    assert refused.json()["problem"]["field"] == "stream"

"""scripts/bench's "floor" target: the RouterX-vs-floor report math, the command line, and
floor_app.py called as an ASGI app in front of a small aiohttp upstream (no server, no wrk)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from scripts.bench import cli, floor_app, report, targets
from starlette.routing import Route

from tests.support.processes import free_port

# Report math -------------------------------------------------------------------------------


def _sample(
    target: str, mode: str, conns: int, rps: float, p50_ms: float, cpu_s: float, rep: int = 1
) -> report.Sample:
    return report.Sample(
        target=target,
        mode=mode,
        connections=conns,
        rep=rep,
        requests=int(rps * 10),  # 10 s runs
        requests_per_s=rps,
        p50_ms=p50_ms,
        p99_ms=p50_ms * 2,
        errors=0,
        cpu_s=cpu_s,
        peak_rss_bytes=100 * 2**20,
    )


SAMPLES = [
    # direct, floor, routerx: non-stream at 1 and 64 connections, stream at 64 only.
    _sample("direct", "json", 1, 10000, 0.10, 0.5),
    _sample("floor", "json", 1, 2000, 0.40, 8.0),  # 0.4 ms CPU per request
    _sample("routerx", "json", 1, 1000, 1.00, 6.0),  # 0.6 ms: 1.5x the floor
    _sample("direct", "json", 64, 50000, 0.70, 1.0),
    _sample("floor", "json", 64, 4000, 15.0, 20.0),  # 0.5 ms
    _sample("routerx", "json", 64, 2000, 31.0, 14.0),  # 0.7 ms: 1.4x
    _sample("direct", "stream", 64, 40000, 0.80, 1.0),
    _sample("floor", "stream", 64, 3000, 20.0, 18.0),  # 0.6 ms
    _sample("routerx", "stream", 64, 1000, 60.0, 12.0),  # 1.2 ms: 2x
]


def test_routerx_against_the_floor() -> None:
    cells = report.aggregate(SAMPLES)
    row = report.vs_floor(cells, "json", 64)
    assert row is not None
    assert row.requests_per_s == pytest.approx(0.5)  # 2,000 / 4,000
    assert row.cpu == pytest.approx(1.4)  # 0.7 / 0.5 ms
    assert row.added_p50_ms == pytest.approx(16.0)  # (31 - 0.7) - (15 - 0.7)
    one = report.vs_floor(cells, "json", 1)
    assert one is not None
    assert one.requests_per_s == pytest.approx(0.5)
    assert one.cpu == pytest.approx(1.5)
    assert one.added_p50_ms == pytest.approx(0.6)
    assert report.vs_floor(cells, "stream", 1) is None  # not measured
    without_floor = report.aggregate(s for s in SAMPLES if s.target != "floor")
    assert report.vs_floor(without_floor, "json", 64) is None


def test_the_medians_are_compared() -> None:
    """Each side is reduced to its median first: the ratio of medians, not a median of ratios."""
    samples = [
        _sample("direct", "json", 16, 9000, 0.2, 1.0),
        _sample("floor", "json", 16, 3000, 5.0, 15.0, rep=1),  # 0.5 ms
        _sample("floor", "json", 16, 1000, 9.0, 10.0, rep=2),  # 1.0 ms
        _sample("floor", "json", 16, 2000, 7.0, 16.0, rep=3),  # 0.8 ms
        _sample("routerx", "json", 16, 1000, 8.0, 12.0, rep=1),  # 1.2 ms
        _sample("routerx", "json", 16, 800, 9.0, 8.0, rep=2),  # 1.0 ms
        _sample("routerx", "json", 16, 1200, 12.0, 24.0, rep=3),  # 2.0 ms
    ]
    row = report.vs_floor(report.aggregate(samples), "json", 16)
    assert row is not None
    assert row.requests_per_s == pytest.approx(1000 / 2000)
    assert row.cpu == pytest.approx(1.2 / 0.8)
    assert row.added_p50_ms == pytest.approx(9.0 - 7.0)


def test_no_cpu_figure_gives_no_ratio() -> None:
    samples = [
        _sample("direct", "json", 1, 100, 0.1, 0.1),
        _sample("floor", "json", 1, 0, 1.0, 0.0),  # no request completed
        _sample("routerx", "json", 1, 100, 2.0, 1.0),
    ]
    cells = report.aggregate(samples)
    row = report.vs_floor(cells, "json", 1)
    assert row is not None
    assert (row.requests_per_s, row.cpu) == (None, None)
    assert report.worst_cpu_vs_floor(cells, "json") is None


def test_worst_connection_count_and_goals() -> None:
    cells = report.aggregate(SAMPLES)
    worst = report.worst_cpu_vs_floor(cells, "json")
    assert worst is not None
    assert worst.connections == 1
    assert worst.cpu == pytest.approx(1.5)
    assert report.worst_cpu_vs_floor(cells, "stream") == report.vs_floor(cells, "stream", 64)
    goals = {goal.name: goal for goal in report.goals(cells, report.peak_rss_mb(SAMPLES))}
    json_goal = goals[
        "gateway CPU per request <= 1.5x the floor's, non-stream (worst connection count)"
    ]
    assert (json_goal.measured, json_goal.met) == ("1.50x at 1 conn", True)
    stream_goal = goals[
        "gateway CPU per request <= 1.5x the floor's, stream (16 chunks) (worst connection count)"
    ]
    assert (stream_goal.measured, stream_goal.met) == ("2.00x at 64 conns", False)
    without = report.aggregate(s for s in SAMPLES if s.target != "floor")
    unmeasured = [g for g in report.goals(without, {}) if "the floor's" in g.name]
    assert [(g.measured, g.met) for g in unmeasured] == [("-", None), ("-", None)]


def test_report_has_floor_rows_and_the_floor_table() -> None:
    text = report.render(SAMPLES, ["note"], [1, 64], ["direct", "floor", "routerx"])
    assert "| floor | non-stream | 64 | 4,000 | 15.00 | 30.00 | 14.30 | 0.500 | 0 |" in text
    assert "| RouterX / floor req/s | RouterX / floor CPU per request " in text
    assert "| non-stream | 1 | 0.50x | 1.50x | 0.60 ms |" in text
    assert "| non-stream | 64 | 0.50x | 1.40x | 16.00 ms |" in text
    assert "| stream (16 chunks) | 64 | 0.33x | 2.00x | 40.00 ms |" in text
    assert "| stream (16 chunks) | 1 |" not in text
    assert "RouterX / LiteLLM" not in text  # LiteLLM not run: no empty table
    assert "| 2.00x at 64 conns | **no** |" in text
    plain = report.render(
        [s for s in SAMPLES if s.target != "floor"], ["note"], [1, 64], ["direct", "routerx"]
    )
    assert "RouterX / floor" not in plain
    assert "| floor |" not in plain


# Command line ------------------------------------------------------------------------------


def test_the_floor_is_a_default_target_in_order() -> None:
    assert cli.parse_args([]).targets == ["direct", "floor", "routerx", "litellm"]
    assert cli.parse_args(["--targets", "routerx,floor,direct"]).targets == [
        "direct",
        "floor",
        "routerx",
    ]
    with pytest.raises(SystemExit):
        cli.parse_args(["--targets", "floor"])  # no direct: no added latency


def test_floor_command_line() -> None:
    argv = targets.floor_argv(8123, 2)
    assert argv[0].endswith("/hypercorn")
    assert argv[1:7] == ["-k", "uvloop", "-w", "2", "-b", "127.0.0.1:8123"]
    assert argv[7] == f"{targets.FLOOR_APP}:app"
    assert targets.FLOOR_APP.exists()


# floor_app.py ------------------------------------------------------------------------------


@dataclass
class Upstream:
    url: str
    bodies: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    """An OpenAI-like upstream that records what it is sent and streams in three writes."""
    port = free_port()
    state = Upstream(f"http://127.0.0.1:{port}/v1/chat/completions")

    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        state.bodies.append(body)
        if not body.get("stream"):
            return web.json_response({"model": body["model"], "choices": [{"index": 0}]})
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        for event in ('data: {"choices":[{"delta":{"content":"a"}}]}', "data: [DONE]"):
            await response.write(event.encode() + b"\n\n")
            await asyncio.sleep(0.02)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield state
    finally:
        await runner.cleanup()


@dataclass
class Answer:
    status: int
    headers: dict[bytes, bytes]
    bodies: list[dict[str, Any]]

    @property
    def body(self) -> bytes:
        return b"".join(message.get("body", b"") for message in self.bodies)


async def call(
    app: Any, body: bytes, key: str | None = "k", path: str = "/v1/chat/completions"
) -> Answer:
    """One HTTP request through an ASGI app, the body in two receive() messages."""
    messages = [
        {"type": "http.request", "body": body[:5], "more_body": True},
        {"type": "http.request", "body": body[5:], "more_body": False},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"content-type", b"application/json")]
    if key is not None:
        headers.append((b"authorization", f"Bearer {key}".encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
    }
    await app(scope, receive, send)
    start, *bodies = sent
    assert start["type"] == "http.response.start"
    assert all(message["type"] == "http.response.body" for message in bodies)
    assert not bodies[-1].get("more_body", False)
    return Answer(start["status"], dict(start["headers"]), bodies)


CHAT = b'{"model":"bench-model","messages":[{"role":"user","content":"hi"}]}'
STREAM = b'{"model":"bench-model","messages":[],"stream":true}'


async def test_chat_route_is_a_raw_asgi_callable(upstream: Upstream) -> None:
    app = floor_app.create_app(upstream.url, "k", "up-model")
    route = app.routes[0]
    assert isinstance(route, Route)
    assert isinstance(route.app, floor_app.ChatProxy)  # not wrapped as request/response
    try:
        answer = await call(app, CHAT)
    finally:
        await route.app.close()
    assert answer.status == 200
    assert json.loads(answer.body)["choices"] == [{"index": 0}]


async def test_json_is_relayed_with_the_upstream_model(upstream: Upstream) -> None:
    proxy = floor_app.ChatProxy(upstream.url, "k", "up-model")
    try:
        for _ in range(2):
            answer = await call(proxy, CHAT)
            assert answer.status == 200
            assert answer.headers[b"content-type"] == b"application/json"
            assert int(answer.headers[b"content-length"]) == len(answer.body)
            assert json.loads(answer.body)["model"] == "up-model"
        session = proxy.session()
        assert proxy.session() is session  # one shared session
    finally:
        await proxy.close()
    assert upstream.bodies[0] == {
        "model": "up-model",
        "messages": [{"role": "user", "content": "hi"}],
    }


async def test_a_stream_is_relayed_chunk_by_chunk(upstream: Upstream) -> None:
    proxy = floor_app.ChatProxy(upstream.url, "k", "up-model")
    try:
        answer = await call(proxy, STREAM)
    finally:
        await proxy.close()
    assert answer.status == 200
    assert answer.headers[b"content-type"] == b"text/event-stream"
    chunks = [message["body"] for message in answer.bodies if message["body"]]
    assert len(chunks) >= 2  # the upstream wrote twice, 20 ms apart
    assert answer.body.endswith(b"data: [DONE]\n\n")
    assert upstream.bodies[0]["stream"] is True


@pytest.mark.parametrize("key", [None, "", "wrong", "k2"])
async def test_a_wrong_key_is_refused_before_the_upstream(
    upstream: Upstream, key: str | None
) -> None:
    proxy = floor_app.ChatProxy(upstream.url, "k", "up-model")
    answer = await call(proxy, CHAT, key=key)
    assert answer.status == 401
    assert upstream.bodies == []


async def test_no_configured_key_refuses_everything(upstream: Upstream) -> None:
    proxy = floor_app.ChatProxy(upstream.url, "", "up-model")
    assert (await call(proxy, CHAT, key="")).status == 401


async def test_bad_json_and_a_dead_upstream(upstream: Upstream) -> None:
    proxy = floor_app.ChatProxy(upstream.url, "k", "up-model")
    assert (await call(proxy, b'{"model":')).status == 400
    assert (await call(proxy, b"[1, 2]")).status == 400  # not an object
    dead = floor_app.ChatProxy(f"http://127.0.0.1:{free_port()}/v1/chat/completions", "k", "m")
    try:
        assert (await call(dead, CHAT)).status == 502
        assert (await call(dead, STREAM)).status == 502
    finally:
        await dead.close()

"""The common machinery of the fake upstreams: a real aiohttp server on 127.0.0.1, a record of
every request, and a script of behaviours (answer, fail, delay, hang, stall, reset, error event,
a cut in the middle of a frame, a malformed event, refusing an assistant prefill).

A request whose last message is the assistant's (a prefill) is continued: the answer is the
rest of the scenario's text after the prefill, as a model continuing its own answer would give.

    async with FakeOpenAI.running() as fake:
        fake.script(Scenario.fail(429, retry_after="3"))      # next request only
        fake.script(Scenario(text="hi"), model="gpt-x")        # next request for that model
        fake.always(Scenario.fail(500), model="broken-model")  # every request for that model
        ... point a provider at fake.url ...
        fake.requests[-1].body                                 # what the adapter sent
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import json
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import web

HANG_S = 30.0  # "forever" for a test; a disconnecting client ends it sooner


@dataclass(frozen=True)
class ToolCallSpec:
    name: str
    arguments: dict[str, Any]
    id: str = "call_fake_1"


@dataclass(frozen=True)
class Scenario:
    """How the fake answers one request. The default is a plain, successful text answer."""

    status: int = 200
    retry_after: str | None = None
    retry_after_ms: str | None = None
    delay_s: float = 0.0  # before anything is sent
    hang: bool = False  # non-stream: never answer; stream: headers, then nothing
    stall_after_chunks: int | None = None  # stream: go silent after N chunks
    reset_after_chunks: int | None = None  # drop the connection after N chunks (0: at once)
    error_after_chunks: int | None = None  # stream: an error event inside the 200 stream
    cut_at_byte: int | None = None  # stream: drop the connection after this many body bytes
    malformed_after_chunks: int | None = None  # stream: one `data:` line that is not JSON
    refuse_prefill: bool = False  # a trailing assistant message gets the provider's 400
    piece_chars: int | None = None  # stream text in pieces of this many characters, not words
    chunk_delay_s: float = 0.0
    text: str = "Hello from the fake upstream."
    tool_call: ToolCallSpec | None = None
    prompt_tokens: int = 12
    completion_tokens: int = 7
    # Usage details, reported in each provider's own fields when set (of prompt/completion).
    cached_tokens: int | None = None
    cache_creation_tokens: int | None = None  # Anthropic's cache writes
    reasoning_tokens: int | None = None
    body: Any = None  # answer exactly this JSON instead (with `status`, as the error body)
    frames: list[bytes] | None = None  # stream: send exactly these SSE frames instead

    @classmethod
    def fail(
        cls, status: int, *, retry_after: str | None = None, retry_after_ms: str | None = None
    ) -> Scenario:
        return cls(status=status, retry_after=retry_after, retry_after_ms=retry_after_ms)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def words(self) -> list[str]:
        if self.piece_chars:
            size = self.piece_chars
            return [self.text[i : i + size] for i in range(0, len(self.text), size)]
        words = self.text.split(" ")
        return [w if i == 0 else " " + w for i, w in enumerate(words)]


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    peer: Any = None  # the client's (address, port): equal peers mean a reused connection


@dataclass
class FakeUpstream(ABC):
    """Subclasses speak one provider's wire format; this class runs the script."""

    host: str = "127.0.0.1"
    requests: list[RecordedRequest] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # why requests broke the schema (a 400)
    disconnects: int = 0
    prefills: list[str] = field(default_factory=list)  # the assistant prefills received
    expected_key: str | None = None  # when set, other keys get the provider's 401
    _queues: dict[str | None, deque[Scenario]] = field(default_factory=dict)
    _always: dict[str | None, Scenario] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    _port: int = 0
    _disconnected: asyncio.Event = field(default_factory=asyncio.Event)

    # --- what a provider fake implements -------------------------------------------------

    @abstractmethod
    def routes(self) -> list[web.RouteDef]: ...

    def model_of(self, request: web.Request, body: Any) -> str | None:
        return body.get("model") if isinstance(body, dict) else None

    def is_stream(self, request: web.Request, body: Any) -> bool:
        return bool(isinstance(body, dict) and body.get("stream"))

    @abstractmethod
    def key_of(self, request: web.Request) -> str | None: ...

    def problem(self, request: web.Request, body: Any) -> str | None:
        """Why the provider would refuse this body with a 400 (its documented schema), or None."""
        return None

    def prefill_of(self, body: Any) -> str | None:
        """The text of a trailing assistant message (a prefill), or None."""
        messages = body.get("messages") if isinstance(body, dict) else None
        if not isinstance(messages, list) or not messages:
            return None
        last = messages[-1]
        if not isinstance(last, dict) or last.get("role") != "assistant":
            return None
        content = last.get("content")
        if isinstance(content, list):
            return "".join(b.get("text", "") for b in content if isinstance(b, dict))
        return content if isinstance(content, str) else None

    @abstractmethod
    def invalid_body(self, message: str) -> dict[str, Any]:
        """The provider's 400 error body for a request that breaks its schema."""

    @abstractmethod
    def answer(self, body: Any, model: str | None, scenario: Scenario) -> dict[str, Any]: ...

    @abstractmethod
    def stream_frames(self, body: Any, model: str | None, scenario: Scenario) -> list[bytes]: ...

    @abstractmethod
    def error_body(self, status: int) -> dict[str, Any]: ...

    @abstractmethod
    def error_frame(self) -> bytes: ...

    # --- the test's controls --------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._port}"

    def script(self, *scenarios: Scenario, model: str | None = None) -> None:
        """Queue behaviours for the next requests (for one model, or for any)."""
        self._queues.setdefault(model, deque()).extend(scenarios)

    def always(self, scenario: Scenario, model: str | None = None) -> None:
        """Answer every request (for one model, or every request) this way until reset."""
        self._always[model] = scenario

    def reset(self) -> None:
        self.requests.clear()
        self.refused.clear()
        self.prefills.clear()
        self._queues.clear()
        self._always.clear()
        self.disconnects = 0
        self.expected_key = None
        self._disconnected = asyncio.Event()

    async def wait_for_disconnect(self, timeout_s: float = 5.0) -> None:
        """Until a client hung up in the middle of an answer."""
        async with asyncio.timeout(timeout_s):
            await self._disconnected.wait()

    def _next(self, model: str | None) -> Scenario:
        for key in (model, None):
            queue = self._queues.get(key)
            if queue:
                return queue.popleft()
        return self._always.get(model) or self._always.get(None) or Scenario()

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.add_routes(self.routes())
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @classmethod
    @asynccontextmanager
    async def running(cls, host: str = "127.0.0.1") -> AsyncIterator[Self]:
        server = cls(host=host)
        await server.start()
        try:
            yield server
        finally:
            await server.stop()

    # --- serving --------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body = json.loads(raw) if raw else None
        self.requests.append(
            RecordedRequest(
                request.method,
                request.path,
                dict(request.query),
                dict(request.headers),
                body,
                request.transport.get_extra_info("peername") if request.transport else None,
            )
        )
        model = self.model_of(request, body)
        scenario = self._next(model)
        try:
            return await self._serve(request, body, model, scenario)
        except (asyncio.CancelledError, ConnectionResetError):
            self._client_left()
            raise

    def _client_left(self) -> None:
        self.disconnects += 1
        self._disconnected.set()

    async def _serve(
        self, request: web.Request, body: Any, model: str | None, scenario: Scenario
    ) -> web.StreamResponse:
        if scenario.delay_s:
            await asyncio.sleep(scenario.delay_s)
        if scenario.reset_after_chunks == 0:
            return _reset(request)
        if self.expected_key is not None and self.key_of(request) != self.expected_key:
            return web.json_response(self.error_body(401), status=401)
        problem = self.problem(request, body)
        if problem is not None:
            self.refused.append(problem)
            return web.json_response(self.invalid_body(problem), status=400)
        prefill = self.prefill_of(body)
        if prefill is not None:
            if scenario.refuse_prefill:
                refusal = "messages: this model does not support assistant message prefill"
                return web.json_response(self.invalid_body(refusal), status=400)
            self.prefills.append(prefill)
            if scenario.text.startswith(prefill):
                scenario = dataclasses.replace(scenario, text=scenario.text[len(prefill) :])
        if scenario.status != 200:
            headers = {}
            if scenario.retry_after is not None:
                headers["retry-after"] = scenario.retry_after
            if scenario.retry_after_ms is not None:
                headers["retry-after-ms"] = scenario.retry_after_ms
            error = scenario.body if scenario.body is not None else self.error_body(scenario.status)
            return web.json_response(error, status=scenario.status, headers=headers)
        if not self.is_stream(request, body):
            if scenario.hang:
                await asyncio.sleep(HANG_S)
            answer = (
                scenario.body if scenario.body is not None else self.answer(body, model, scenario)
            )
            return web.json_response(answer)
        return await self._stream(request, body, model, scenario)

    async def _stream(
        self, request: web.Request, body: Any, model: str | None, scenario: Scenario
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        if scenario.hang:
            await asyncio.sleep(HANG_S)
        frames = scenario.frames
        if frames is None:
            frames = self.stream_frames(body, model, scenario)
        written = 0
        for sent, frame in enumerate(frames):
            if sent == scenario.stall_after_chunks:
                await asyncio.sleep(HANG_S)
            if sent == scenario.reset_after_chunks:
                return _reset(request, response)
            if sent == scenario.error_after_chunks:
                await response.write(self.error_frame())
                break
            if sent == scenario.malformed_after_chunks:
                await response.write(b'data: {"choices": [{"delta": \n\n')
            if scenario.chunk_delay_s and sent:
                await asyncio.sleep(scenario.chunk_delay_s)
            cut = scenario.cut_at_byte
            if cut is not None and written + len(frame) > cut:
                await response.write(frame[: cut - written])
                if request.transport is not None:
                    request.transport.close()  # after the partial frame is flushed: no end
                return response
            written += len(frame)
            await response.write(frame)
        await response.write_eof()
        return response


def _reset(request: web.Request, response: web.StreamResponse | None = None) -> web.StreamResponse:
    """Drop the TCP connection without a proper end."""
    if request.transport is not None:
        request.transport.abort()
    return response or web.Response()


def sse(data: Any, event: str | None = None) -> bytes:
    """One SSE frame; `data` is JSON-encoded unless it is already bytes."""
    payload = data if isinstance(data, bytes) else json.dumps(data, ensure_ascii=False).encode()
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + payload + b"\n\n"


def is_base64(value: Any) -> bool:
    if not isinstance(value, str) or not value:
        return False
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def split_arguments(arguments: dict[str, Any]) -> list[str]:
    """A tool call's JSON arguments in two pieces, as providers stream them."""
    text = json.dumps(arguments)
    middle = len(text) // 2
    return [text[:middle], text[middle:]]

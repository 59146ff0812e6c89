"""A corpus of bad (and oddly good) input against a real gateway process on a real database.

Every case is a row of a table: the body, the expected status and the expected error `code` (and
`param` where the gateway names one). Every refusal is a 4xx in OpenAI's shape, none is a 500;
valid but unusual Unicode is answered with a 200. test_errors.py holds the basic error table;
this corpus extends it (variants of each class of bad input, boundaries, images, Unicode,
content types) and adds what a high-level client cannot send: a body over the limit sent chunked
and a body larger than its Content-Length, both through a raw socket, bounded by a timeout.

At the end the gateway must still be healthy: no traceback in its output and its request log
still writing (a row the database refuses must not wedge the writer for every other tenant).
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from routerx.storage.models import RequestLog
from tests.conftest import create_pg_database, drop_pg_database
from tests.gateway.conftest import AUTH, DEMO_KEY, RunningGateway, _gateway
from tests.support.database import connected

MODEL = "gpt-4.1-mini"
CHAT = "/v1/chat/completions"
SMALL_LIMIT = 65536  # MAX_BODY_BYTES of the pg_gateway fixture
RAW_TIMEOUT_S = 10.0
ANY = object()  # the case does not pin this field

# Real image headers (what the gateway sniffs), padded to a plausible size.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00" * 32
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + b"\x00" * 16
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 24
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>'
BMP = b"BM" + b"\x00" * 60
TIFF_LE = b"II*\x00" + b"\x00" * 60
TIFF_BE = b"MM\x00*" + b"\x00" * 60
MAX_IMAGE_BYTES = 20 * 1024 * 1024


def text(content: Any = "hi", role: str = "user") -> dict[str, Any]:
    return {"role": role, "content": content}


def chat(**fields: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [text()], **fields}


def data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def image(url: str, **extra: Any) -> dict[str, Any]:
    content = [{"type": "text", "text": "what is it?"}, {"type": "image_url", "image_url": url}]
    if extra:
        content[1] = {"type": "image_url", "image_url": {"url": url, **extra}}
    return {"model": MODEL, "messages": [text(content)]}


def raw(fragment: bytes) -> bytes:
    """A body whose only user message content is `fragment`, spliced in as raw JSON bytes."""
    return (
        b'{"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "' + fragment + b'"}]}'
    )


IMAGE_PARAM = "messages[0].content[1].image_url"


@dataclass(frozen=True)
class Case:
    name: str
    body: bytes | dict[str, Any] | Callable[[], bytes]
    status: int
    code: str | object | None = ANY
    param: str | object | None = ANY
    headers: dict[str, str] = field(default_factory=dict)
    big: bool = False  # needs the gateway with the default 60 MiB body limit

    def payload(self) -> bytes:
        if callable(self.body):
            return self.body()
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode()


def oversized_image() -> bytes:
    return json.dumps(image(data_url("image/png", PNG + b"\x00" * MAX_IMAGE_BYTES))).encode()


def image_at_the_limit() -> bytes:
    return json.dumps(image(data_url("image/png", PNG.ljust(MAX_IMAGE_BYTES, b"\x00")))).encode()


def messages(count: int) -> bytes:
    return json.dumps({"model": MODEL, "messages": [text("x")] * count}).encode()


def nested(depth: int) -> bytes:
    """A syntactically valid body nested deeper than any decoder should recurse."""
    return (
        b'{"model": "gpt-4.1-mini", "messages": [], "metadata": '
        + b"[" * depth
        + b"]" * depth
        + b"}"
    )


def parts(count: int, messages_count: int = 1) -> bytes:
    part = {"type": "text", "text": "a"}
    return json.dumps(
        {"model": MODEL, "messages": [text([part] * count)] * messages_count}
    ).encode()


def images(count: int) -> bytes:
    url = {"type": "image_url", "image_url": {"url": "https://images.example/cat.png"}}
    return json.dumps({"model": MODEL, "messages": [text([url] * count)]}).encode()


def many_numbers(count: int) -> bytes:
    return json.dumps(chat()).encode()[:-1] + b', "x": [' + b"0," * count + b"0]}"


def braces_in_text(count: int) -> bytes:
    """Braces and commas, escaped quotes and backslashes inside strings: text, not structure."""
    return json.dumps(chat(messages=[text('\\"{,' * count + "\\"), text("{" * count)])).encode()


def objects_after_a_backslash(count: int) -> bytes:
    """A string ending in an escaped backslash, then real objects: they are counted."""
    return json.dumps({"model": MODEL, "messages": [text("a\\"), text([{}] * count)]}).encode()


REFUSED: list[Case] = [
    # Malformed JSON, beyond test_errors' truncated body
    Case("trailing garbage", b'{"model": "gpt-4.1-mini", "messages": []} xyz', 400, "invalid_json"),
    Case("single quotes", b"{'model': 'gpt-4.1-mini'}", 400, "invalid_json"),
    Case("trailing comma", b'{"model": "gpt-4.1-mini", "messages": [],}', 400, "invalid_json"),
    Case(
        "NaN literal",
        json.dumps(chat()).encode()[:-1] + b', "temperature": NaN}',
        400,
        "invalid_json",
    ),
    Case(
        "number out of range",
        json.dumps(chat()).encode()[:-1] + b', "seed": 1e400}',
        400,
        "invalid_json",
    ),
    Case("byte order mark", b"\xef\xbb\xbf" + json.dumps(chat()).encode(), 400, "invalid_json"),
    Case("UTF-16 body", json.dumps(chat()).encode("utf-16"), 400, "invalid_json"),
    Case("invalid UTF-8 in a string", raw(b"\xff\xfe"), 400, "invalid_json"),
    Case("overlong UTF-8 NUL", raw(b"\xc0\x80"), 400, "invalid_json"),
    Case("UTF-8 encoded surrogate", raw(b"\xed\xa0\x80"), 400, "invalid_json"),
    Case("raw NUL byte in a string", raw(b"a\x00b"), 400, "invalid_json"),
    Case("raw newline in a string", raw(b"a\nb"), 400, "invalid_json"),
    Case("only whitespace", b" \r\n\t ", 400, None),
    Case("JSON null", b"null", 400, None),
    Case("JSON string", b'"hello"', 400, None),
    Case("nested 5000 deep", nested(5000), 400, "invalid_json"),
    Case("nested 990 deep", nested(990), 400, ANY),
    # Lone surrogates: valid JSON escapes, but not encodable text for any upstream
    Case("lone high surrogate", raw(rb"\ud800"), 400, "invalid_json"),
    Case("lone low surrogate", raw(rb"\udc00x"), 400, "invalid_json"),
    Case("high surrogate then letter", raw(rb"\ud800\u0041"), 400, "invalid_json"),
    Case(
        "lone surrogate in the model", b'{"model": "\\ud800", "messages": []}', 400, "invalid_json"
    ),
    # Wrong types
    Case("stream as string", chat(stream="yes"), 400, None, "stream"),
    Case("max_tokens as string", chat(max_tokens="10"), 400, None, "max_tokens"),
    Case("max_tokens as float", chat(max_tokens=1.5), 400, None, "max_tokens"),
    Case("n as bool", chat(n=True), 400, None, "n"),
    Case("message as string", {"model": MODEL, "messages": ["hi"]}, 400, None, "messages[0]"),
    Case("message as null", {"model": MODEL, "messages": [None]}, 400, None, "messages[0]"),
    Case(
        "role as null",
        {"model": MODEL, "messages": [text(role=None)]},
        400,
        None,
        "messages[0].role",
    ),  # type: ignore[arg-type]
    Case(
        "parts as numbers",
        {"model": MODEL, "messages": [text([1, 2])]},
        400,
        None,
        "messages[0].content[0]",
    ),
    Case(
        "text part text as list",
        {"model": MODEL, "messages": [text([{"type": "text", "text": ["a"]}])]},
        400,
        None,
        "messages[0].content[0].text",
    ),
    Case("tools as object", chat(tools={"type": "function"}), 400, None, "tools"),
    Case("stop with five strings", chat(stop=["a", "b", "c", "d", "e"]), 400, None, "stop"),
    Case(
        "response_format unknown",
        chat(response_format={"type": "xml"}),
        400,
        None,
        "response_format.type",
    ),
    Case("model empty", {"model": "", "messages": [text()]}, 400, None, "model"),
    # PostgreSQL cannot store NUL: such a model in a log row once wedged the log writer
    Case("NUL in the model", {"model": MODEL + "\x00", "messages": [text()]}, 400, None, "model"),
    Case("newline in the model", {"model": "gpt\nx", "messages": [text()]}, 400, None, "model"),
    Case("model 201 characters", {"model": "m" * 201, "messages": [text()]}, 400, None, "model"),
    # Unknown roles, empty messages
    Case(
        "role in capitals",
        {"model": MODEL, "messages": [text(role="USER")]},
        400,
        None,
        "messages[0].role",
    ),
    Case(
        "role empty", {"model": MODEL, "messages": [text(role="")]}, 400, None, "messages[0].role"
    ),
    Case(
        "role root",
        {"model": MODEL, "messages": [text(role="root")]},
        400,
        None,
        "messages[0].role",
    ),
    Case("messages null", {"model": MODEL, "messages": None}, 400, None, "messages"),
    Case(
        "user message with no parts",
        {"model": MODEL, "messages": [text([])]},
        400,
        None,
        "messages[0].content",
    ),
    Case("4097 messages", messages(4097), 400, None, "messages", big=True),
    # Absurd max_tokens and n
    Case("max_tokens 0", chat(max_tokens=0), 400, None, "max_tokens"),
    Case("max_tokens -1", chat(max_tokens=-1), 400, None, "max_tokens"),
    Case("max_tokens 10**12", chat(max_tokens=10**12), 400, None, "max_tokens"),
    Case("max_tokens 10**30", chat(max_tokens=10**30), 400, None, "max_tokens"),
    Case(
        "max_completion_tokens 0", chat(max_completion_tokens=0), 400, None, "max_completion_tokens"
    ),
    Case("n 2", chat(n=2), 400, "unsupported_parameter", "n"),
    Case("n 0", chat(n=0), 400, None, "n"),
    Case("n 10**12", chat(n=10**12), 400, None, "n"),
    # A request-chosen upstream or credential (the LiteLLM key leak, CVE-2024-6587)
    *[
        Case(f"{name} is refused", chat(**{name: value}), 400, "unsupported_parameter", name)
        for name, value in (
            ("base_url", "http://127.0.0.1:9/v1"),
            ("api_key", "sk-attacker"),
            ("api_version", "2099-01-01"),
            ("azure_endpoint", "https://evil.example"),
            ("organization", "org-attacker"),
            ("extra_headers", {"authorization": "Bearer x"}),
        )
    ],
    # Content types (415 comes before the body is read)
    Case("text/plain", chat(), 415, "unsupported_media_type", None, {"Content-Type": "text/plain"}),
    Case("no content type", chat(), 415, "unsupported_media_type", None, {"Content-Type": ""}),
    Case(
        "form data",
        b"a=1",
        415,
        "unsupported_media_type",
        None,
        {"Content-Type": "multipart/form-data; boundary=x"},
    ),
    Case(
        "json lookalike",
        chat(),
        415,
        "unsupported_media_type",
        None,
        {"Content-Type": "application/jsonx"},
    ),
    Case(
        "json-seq",
        chat(),
        415,
        "unsupported_media_type",
        None,
        {"Content-Type": "application/json-seq"},
    ),
    # Images
    Case(
        "base64 with bad characters",
        image("data:image/png;base64,!!!!not-base64"),
        400,
        "invalid_image",
        IMAGE_PARAM,
    ),
    Case(
        "base64 with bad padding",
        image("data:image/png;base64,iVBORw0KGgo"),
        400,
        "invalid_image",
        IMAGE_PARAM,
    ),
    Case(
        "base64 with non-ASCII",
        image("data:image/png;base64,iVBORw0KGgo\u00e9\u00e9\u00e9\u00e9"),
        400,
        "invalid_image",
        IMAGE_PARAM,
    ),
    Case("base64 empty", image("data:image/png;base64,"), 400, "invalid_image", IMAGE_PARAM),
    Case(
        "data URL not base64", image("data:image/png,rawbytes"), 400, "invalid_image", IMAGE_PARAM
    ),
    Case(
        "data URL without comma", image("data:image/png;base64"), 400, "invalid_image", IMAGE_PARAM
    ),
    Case(
        "data URL without type",
        image("data:;base64," + base64.b64encode(PNG).decode()),
        400,
        "invalid_image",
        IMAGE_PARAM,
    ),
    Case(
        "PNG declared as JPEG",
        image(data_url("image/jpeg", PNG)),
        400,
        "invalid_image",
        IMAGE_PARAM,
    ),
    Case(
        "JPEG declared as GIF",
        image(data_url("image/gif", JPEG)),
        400,
        "invalid_image",
        IMAGE_PARAM,
    ),
    Case(
        "text declared as PNG",
        image(data_url("image/png", b"hello, not an image")),
        400,
        "invalid_image",
        IMAGE_PARAM,
    ),
    Case("SVG", image(data_url("image/svg+xml", SVG)), 400, "invalid_image", IMAGE_PARAM),
    Case(
        "SVG declared as PNG", image(data_url("image/png", SVG)), 400, "invalid_image", IMAGE_PARAM
    ),
    Case("BMP", image(data_url("image/bmp", BMP)), 400, "invalid_image", IMAGE_PARAM),
    Case(
        "BMP declared as PNG", image(data_url("image/png", BMP)), 400, "invalid_image", IMAGE_PARAM
    ),
    Case(
        "TIFF little-endian",
        image(data_url("image/tiff", TIFF_LE)),
        400,
        "invalid_image",
        IMAGE_PARAM,
    ),
    Case(
        "TIFF big-endian", image(data_url("image/tiff", TIFF_BE)), 400, "invalid_image", IMAGE_PARAM
    ),
    Case(
        "image detail unknown",
        image(data_url("image/png", PNG), detail="ultra"),
        400,
        None,
        IMAGE_PARAM + ".detail",
    ),
    Case(
        "image URL javascript:", image("javascript:alert(1)"), 400, "invalid_image_url", IMAGE_PARAM
    ),
    Case("image URL empty", image(""), 400, "invalid_image_url", IMAGE_PARAM),
    Case("image over 20 MB decoded", oversized_image, 400, "invalid_image", IMAGE_PARAM, big=True),
    # Structure floods: refused before any struct is built
    Case(
        "1001 parts in one message",
        lambda: parts(1001),
        400,
        "request_too_complex",
        "messages[0].content",
    ),
    Case("501 images", lambda: images(501), 400, "request_too_complex", None),
    Case(
        "10001 parts in 11 messages",
        lambda: parts(910, 11),
        400,
        "request_too_complex",
        None,
        big=True,
    ),
    Case("150000 tiny parts", lambda: parts(150_000), 400, "request_too_complex", None, big=True),
    Case(
        "objects after a backslash",
        lambda: objects_after_a_backslash(110_000),
        400,
        "request_too_complex",
        None,
        big=True,
    ),
    Case(
        "a million numbers",
        lambda: many_numbers(1_000_001),
        400,
        "request_too_complex",
        None,
        big=True,
    ),
]

ACCEPTED: list[Case] = [
    Case("escaped NUL", raw(rb"a\u0000b"), 200),
    Case("RTL override", chat(messages=[text("abc \u202e txt.exe")]), 200),
    Case("4-byte emoji as UTF-8", raw("smile \U0001f600 \U0001f9d1\u200d\U0001f4bb".encode()), 200),
    Case("4-byte emoji as surrogate pair", raw(rb"smile \ud83d\ude00"), 200),
    Case(
        "combining marks and BOM", chat(messages=[text("e\u0301\u0308 \ufeff x\ufffd \uffff")]), 200
    ),
    Case(
        "NUL and emoji in a text part",
        chat(messages=[text([{"type": "text", "text": "\x00\U0001f600"}])]),
        200,
    ),
    Case("odd Unicode streamed", chat(stream=True, messages=[text("\u202e\x00\U0001f600")]), 200),
    Case(
        "charset parameter",
        chat(),
        200,
        headers={"Content-Type": "application/json; charset=utf-8"},
    ),
    Case("content type in capitals", chat(), 200, headers={"Content-Type": "Application/JSON"}),
    Case("n 1", chat(n=1), 200),
    Case("max_tokens 1", chat(max_tokens=1), 200),
    Case(
        "PNG, JPEG, GIF and WEBP",
        {
            "model": MODEL,
            "messages": [
                text(
                    [
                        {"type": "image_url", "image_url": data_url(m, d)}
                        for m, d in (
                            ("image/png", PNG),
                            ("image/jpg", JPEG),
                            ("image/gif", GIF),
                            ("image/webp", WEBP),
                        )
                    ]
                )
            ],
        },
        200,
    ),
    Case("4096 messages", messages(4096), 200, big=True),
    Case("image of exactly 20 MiB", image_at_the_limit, 200, big=True),
    Case("1000 parts in one message", lambda: parts(1000), 200, big=True),
    Case("500 images", lambda: images(500), 200, big=True),
    Case("200000 braces in a text", lambda: braces_in_text(200_000), 200, big=True),
]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as client:
        yield client


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def big_gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningGateway]:
    """The default body limit (60 MiB), for the cases that need big bodies. SQLite, so that the
    corpus touches both databases."""
    path: Path = tmp_path_factory.mktemp("corpus") / "routerx.sqlite3"
    async for gateway in _gateway(f"sqlite://{path}"):
        yield gateway


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def corpus_gateway() -> AsyncIterator[RunningGateway]:
    """A PostgreSQL gateway of this module's own with the 64 KiB limit: its request log must
    still be writing after the whole corpus went through it."""
    url = await create_pg_database()
    try:
        async for gateway in _gateway(url, MAX_BODY_BYTES=str(SMALL_LIMIT)):
            yield gateway
    finally:
        await drop_pg_database(url)


@dataclass
class Gateways:
    small: RunningGateway
    big: RunningGateway

    def for_case(self, case: Case) -> RunningGateway:
        return self.big if case.big else self.small


@pytest.fixture
def gateways(corpus_gateway: RunningGateway, big_gateway: RunningGateway) -> Gateways:
    return Gateways(corpus_gateway, big_gateway)


def assert_openai_error(body: Any) -> dict[str, Any]:
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["type"], str) and error["type"]
    assert error["param"] is None or isinstance(error["param"], str)
    assert error["code"] is None or isinstance(error["code"], str)
    return error  # type: ignore[no-any-return]


async def post(
    session: aiohttp.ClientSession, gateway: RunningGateway, case: Case
) -> tuple[int, bytes, str]:
    headers = {**AUTH, **case.headers}
    if headers.get("Content-Type") == "":
        del headers["Content-Type"]
    async with session.post(
        gateway.url + CHAT, data=case.payload(), headers=headers, skip_auto_headers=["Content-Type"]
    ) as response:
        return response.status, await response.read(), response.headers.get("content-type", "")


@pytest.mark.parametrize("case", REFUSED, ids=[c.name for c in REFUSED])
async def test_bad_input_is_refused_in_openai_shape(
    case: Case, gateways: Gateways, session: aiohttp.ClientSession
) -> None:
    status, body, content_type = await post(session, gateways.for_case(case), case)
    assert status != 500
    assert status == case.status, body[:500]
    assert content_type == "application/json"
    error = assert_openai_error(json.loads(body))
    assert error["type"] == "invalid_request_error"
    if case.code is not ANY:
        assert error["code"] == case.code, error
    if case.param is not ANY:
        assert error["param"] == case.param, error


@pytest.mark.parametrize("case", ACCEPTED, ids=[c.name for c in ACCEPTED])
async def test_valid_odd_input_is_answered(
    case: Case, gateways: Gateways, session: aiohttp.ClientSession
) -> None:
    status, body, content_type = await post(session, gateways.for_case(case), case)
    assert status == case.status, body[:500]
    if content_type.startswith("text/event-stream"):
        events = [line for line in body.split(b"\n") if line.startswith(b"data: ")]
        assert events[-1] == b"data: [DONE]"
        for line in events[:-1]:
            assert "error" not in json.loads(line[6:]), line
    else:
        answer = json.loads(body)
        assert answer["object"] == "chat.completion"
        assert answer["choices"][0]["message"]["content"]


# Raw sockets: what no well-behaved client library sends.


async def exchange(
    gateway: RunningGateway, head: bytes, body_chunks: list[bytes], *, half_close: bool = True
) -> tuple[list[int], bytes]:
    """Send `head` then `body_chunks` while reading whatever the server answers, until it closes.
    Returns the statuses of every response seen and the raw bytes read. A server that refuses
    early may close while we still write: that is a fine outcome. With `half_close` the sending
    side is shut once everything is sent; without it the server alone ends the exchange. Plain
    blocking sockets in threads (a sender and this reader), so that a reset never surfaces as an
    asyncio error."""
    chunks = [head, *body_chunks]
    return await asyncio.to_thread(_exchange, gateway.server.port, chunks, half_close)


def _exchange(port: int, chunks: list[bytes], half_close: bool) -> tuple[list[int], bytes]:
    deadline = time.monotonic() + RAW_TIMEOUT_S
    with socket.create_connection(("127.0.0.1", port), timeout=RAW_TIMEOUT_S) as sock:

        def send() -> None:
            try:
                for chunk in chunks:
                    sock.sendall(chunk)
                if half_close:
                    sock.shutdown(socket.SHUT_WR)
            except OSError:  # reset or broken pipe: the server refused early and closed
                pass

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        received = b""
        while True:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = sock.recv(65536)
            except TimeoutError:
                pytest.fail(
                    f"the server neither answered nor closed in {RAW_TIMEOUT_S}s: {received!r}"
                )
            except ConnectionResetError:
                break
            if not data:
                break
            received += data
    sender.join(RAW_TIMEOUT_S)
    lines = received.split(b"\r\n")
    return [int(line.split(b" ")[1]) for line in lines if line.startswith(b"HTTP/1.1 ")], received


def request_head(extra: str) -> bytes:
    return (
        f"POST {CHAT} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {DEMO_KEY}\r\n"
        f"Content-Type: application/json\r\n{extra}Connection: close\r\n\r\n"
    ).encode()


def chunked(parts: list[bytes]) -> list[bytes]:
    return [f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in parts] + [b"0\r\n\r\n"]


def json_bodies(received: bytes) -> list[Any]:
    """The JSON bodies in a raw exchange (responses are small: one body per response)."""
    bodies = []
    for part in received.split(b"\r\n\r\n")[1:]:
        if part.startswith(b"{"):
            bodies.append(json.loads(part.split(b"HTTP/1.1 ")[0]))
    return bodies


async def test_chunked_body_over_the_limit_is_refused_without_hanging(
    corpus_gateway: RunningGateway,
) -> None:
    start = b'{"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "'
    parts = [start] + [b"a" * 16384] * ((SMALL_LIMIT * 4) // 16384) + [b'"}]}']
    statuses, received = await exchange(
        corpus_gateway, request_head("Transfer-Encoding: chunked\r\n"), chunked(parts)
    )
    assert statuses == [413], received[:500]
    [error] = json_bodies(received)
    assert assert_openai_error(error)["code"] == "request_too_large"


async def test_lying_content_length_never_gets_a_500_or_a_hang(
    corpus_gateway: RunningGateway,
) -> None:
    """Content-Length says 40 bytes, 256 KiB follow. The gateway reads 40 bytes of a body (bad
    JSON: 400); the rest is not a request, so the HTTP layer (hypercorn's h11) answers a bare 400
    and closes. Never a 500 and never a wait for ever."""
    body = b'{"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "'
    body += b"a" * (SMALL_LIMIT * 4) + b'"}]}'
    statuses, received = await exchange(
        corpus_gateway, request_head("Content-Length: 40\r\n"), [body]
    )
    assert statuses, "no response at all"
    assert statuses[0] == 400, received[:500]
    assert all(400 <= s < 500 for s in statuses), statuses
    for body in json_bodies(received):
        assert_openai_error(body)


async def test_content_length_over_the_limit_is_refused_before_the_body(
    corpus_gateway: RunningGateway,
) -> None:
    """Declared above the limit, no body sent and the socket left open: 413 and a close, without
    waiting for a body that never comes (the exchange fails after RAW_TIMEOUT_S if the server
    waits). The socket stays open because a client that shuts its sending side has abandoned the
    request mid-body, which the HTTP layer may answer with a bare 400 before the app runs."""
    statuses, received = await exchange(
        corpus_gateway,
        request_head(f"Content-Length: {SMALL_LIMIT * 1000}\r\n"),
        [],
        half_close=False,
    )
    assert statuses == [413], received[:500]
    [error] = json_bodies(received)
    assert assert_openai_error(error)["code"] == "request_too_large"


async def test_content_length_and_chunked_together_are_not_smuggled(
    corpus_gateway: RunningGateway,
) -> None:
    """Both framings at once (request smuggling): one 400 in OpenAI's shape, never two
    requests and never a 500 (tests/gateway/test_http_guards.py has the keep-alive case)."""
    inner = f"GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {DEMO_KEY}\r\n\r\n"
    payload = chunked([b"{}"])[0] + b"0\r\n\r\n" + inner.encode()
    head = request_head(f"Content-Length: {len(payload)}\r\nTransfer-Encoding: chunked\r\n")
    statuses, received = await exchange(corpus_gateway, head, [payload])
    assert statuses == [400], received[:500]
    assert json_bodies(received), received
    [error] = json_bodies(received)
    assert assert_openai_error(error)["code"] == "ambiguous_request_framing"
    assert b'"object":"list"' not in received, "the smuggled request was served"


async def test_the_gateway_is_healthy_after_the_corpus(
    corpus_gateway: RunningGateway, big_gateway: RunningGateway, session: aiohttp.ClientSession
) -> None:
    """Runs last in this module: nothing above left a traceback, and the request log still
    writes (one row the database cannot store must not block every later row)."""
    marker = f"corpus-health-{time.monotonic_ns()}"
    async with session.post(
        corpus_gateway.url + CHAT,
        json=chat(),
        headers={**AUTH, "x-request-id": marker},
    ) as response:
        assert response.status == 200
    deadline = time.monotonic() + 10
    async with connected(corpus_gateway.database_url):
        while not await RequestLog.exists(client_request_id=marker):
            async with session.get(corpus_gateway.url + "/readyz") as ready:
                state = await ready.json()
            assert time.monotonic() < deadline, f"the request log stopped writing: {state}"
            await asyncio.sleep(0.05)
    for gateway in (corpus_gateway, big_gateway):
        output = gateway.server.output()
        assert "Traceback" not in output
        assert "unhandled error" not in output
        assert "request-log write failed" not in output

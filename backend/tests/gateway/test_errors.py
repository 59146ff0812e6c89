"""Every bad request gets an OpenAI-shaped 4xx that names the problem, never a 500."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.gateway.conftest import AUTH, DEMO_KEY, RunningGateway
from tests.support.database import prepare
from tests.support.processes import base_env, start_server

TEXT = [{"role": "user", "content": "hi"}]

CASES: list[tuple[str, bytes | dict[str, Any], int, str | None, str | None]] = [
    ("malformed json", b'{"model": "gpt-4.1-mini", "messages": [', 400, None, "invalid_json"),
    ("not an object", b"[1, 2, 3]", 400, None, None),
    ("empty body", b"", 400, None, None),
    ("missing messages", {"model": "gpt-4.1-mini"}, 400, "messages", None),
    ("missing model", {"messages": TEXT}, 400, "model", None),
    ("empty messages", {"model": "gpt-4.1-mini", "messages": []}, 400, "messages", None),
    (
        "unknown role",
        {"model": "gpt-4.1-mini", "messages": [{"role": "wizard", "content": "x"}]},
        400,
        "messages[0].role",
        None,
    ),
    ("model wrong type", {"model": 42, "messages": TEXT}, 400, "model", None),
    ("messages wrong type", {"model": "gpt-4.1-mini", "messages": "hi"}, 400, "messages", None),
    (
        "content wrong type",
        {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": 7}]},
        400,
        "messages[0].content",
        None,
    ),
    (
        "unknown part type",
        {
            "model": "gpt-4.1-mini",
            "messages": [{"role": "user", "content": [{"type": "video", "video": "x"}]}],
        },
        400,
        "messages[0].content[0].type",
        None,
    ),
    (
        "image part without url",
        {
            "model": "gpt-4.1-mini",
            "messages": [{"role": "user", "content": [{"type": "image_url"}]}],
        },
        400,
        "messages[0].content[0].image_url",
        None,
    ),
    (
        "image url bad scheme",
        {
            "model": "gpt-4.1-mini",
            "messages": [
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": "file:///etc/passwd"}}],
                }
            ],
        },
        400,
        "messages[0].content[0].image_url",
        "invalid_image_url",
    ),
    (
        "temperature out of range",
        {"model": "gpt-4.1-mini", "messages": TEXT, "temperature": 9},
        400,
        "temperature",
        None,
    ),
    (
        "n above one",
        {"model": "gpt-4.1-mini", "messages": TEXT, "n": 3},
        400,
        "n",
        "unsupported_parameter",
    ),
    (
        "api_base is refused",
        {"model": "gpt-4.1-mini", "messages": TEXT, "api_base": "http://evil.example"},
        400,
        "api_base",
        "unsupported_parameter",
    ),
    ("unknown model", {"model": "gpt-9", "messages": TEXT}, 404, "model", "model_not_found"),
]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def assert_openai_error(body: dict[str, Any]) -> dict[str, Any]:
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"]
    return error  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("name", "payload", "status", "param", "code"), CASES, ids=[c[0] for c in CASES]
)
async def test_bad_request(
    pg_gateway: RunningGateway,
    session: aiohttp.ClientSession,
    name: str,
    payload: bytes | dict[str, Any],
    status: int,
    param: str | None,
    code: str | None,
) -> None:
    data = payload if isinstance(payload, bytes) else None
    as_json = payload if isinstance(payload, dict) else None
    async with session.post(
        pg_gateway.url + "/v1/chat/completions", data=data, json=as_json, headers=AUTH
    ) as response:
        body = await response.json()
        assert response.status == status, body
        assert response.headers["content-type"] == "application/json"
        assert response.headers["x-request-id"]
    error = assert_openai_error(body)
    assert error["param"] == param
    if code is not None:
        assert error["code"] == code
    assert error["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer wrong_key",
        "Basic ZGVtbzpkZW1v",
        "Bearer ",
        "Bearer ' OR 1=1 --",
        "Bearer " + "k" * 5000,
    ],
)
async def test_bad_keys_get_401(
    pg_gateway: RunningGateway, session: aiohttp.ClientSession, authorization: str | None
) -> None:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    async with session.post(
        pg_gateway.url + "/v1/chat/completions",
        json={"model": "gpt-4.1-mini", "messages": TEXT},
        headers=headers,
    ) as response:
        body = await response.json()
        assert response.status == 401
    assert assert_openai_error(body)["code"] == "invalid_api_key"


async def test_non_json_content_type_gets_415(
    pg_gateway: RunningGateway, session: aiohttp.ClientSession
) -> None:
    async with session.post(
        pg_gateway.url + "/v1/chat/completions",
        data=b"model=x",
        headers={
            "Authorization": f"Bearer {DEMO_KEY}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    ) as response:
        assert response.status == 415
        assert_openai_error(await response.json())


async def raw_post(url: str, head: bytes, body_chunks: list[bytes]) -> tuple[bytes, bytes]:
    """POST over a raw socket and read the answer even if the server answered and closed
    before the body was all sent (an HTTP client library reports the broken write instead)."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Authorization: " + AUTH["Authorization"].encode() + b"\r\n" + head + b"\r\n"
    )
    try:
        for chunk in body_chunks:
            writer.write(chunk)
            await writer.drain()
    except ConnectionError:
        pass  # the server answered early and closed: that is the point
    async with asyncio.timeout(10):
        answer_head = await reader.readuntil(b"\r\n\r\n")
        length = int(answer_head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        answer_body = await reader.readexactly(length)
    writer.close()
    return answer_head, answer_body


async def test_body_over_limit_gets_413_with_content_length(pg_gateway: RunningGateway) -> None:
    big = (
        b'{"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "'
        + (b"a" * 70_000)
        + b'"}]}'
    )
    head, body = await raw_post(
        pg_gateway.url,
        b"Content-Length: %d\r\n" % len(big),
        [big[i : i + 8192] for i in range(0, len(big), 8192)],
    )
    assert head.startswith(b"HTTP/1.1 413")
    assert assert_openai_error(json.loads(body))["code"] == "request_too_large"


async def test_body_over_limit_gets_413_when_chunked(pg_gateway: RunningGateway) -> None:
    """No Content-Length: the limit is counted as the bytes arrive."""
    chunk = b"a" * 8192
    head, body = await raw_post(
        pg_gateway.url,
        b"Transfer-Encoding: chunked\r\n",
        [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * 20,
    )
    assert head.startswith(b"HTTP/1.1 413")
    assert_openai_error(json.loads(body))


async def test_unknown_path_and_wrong_method(
    pg_gateway: RunningGateway, session: aiohttp.ClientSession
) -> None:
    async with session.get(pg_gateway.url + "/v1/nothing-here") as response:
        assert response.status == 404
        assert response.headers["x-request-id"]
        assert_openai_error(await response.json())
    async with session.get(pg_gateway.url + "/v1/chat/completions", headers=AUTH) as response:
        assert response.status == 405
        assert_openai_error(await response.json())


async def test_gateway_output_has_no_traceback(pg_gateway: RunningGateway) -> None:
    assert "Traceback" not in pg_gateway.server.output()


async def test_a_body_that_stops_arriving_gets_408(tmp_path: Path) -> None:
    database_url = f"sqlite://{tmp_path / 'rx.sqlite3'}"
    await prepare(database_url)
    gateway = await start_server("gateway", base_env(database_url, BODY_READ_TIMEOUT_S="0.5"))
    try:
        host, port = gateway.url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Authorization: " + AUTH["Authorization"].encode() + b"\r\n"
            b'Content-Length: 1000\r\n\r\n{"model": '
        )
        await writer.drain()  # ... and nothing more
        async with asyncio.timeout(10):
            head = await reader.readuntil(b"\r\n\r\n")
        writer.close()
        assert head.startswith(b"HTTP/1.1 408")
    finally:
        gateway.stop()

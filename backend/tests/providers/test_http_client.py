"""The shared upstream client: error classification, Retry-After, connection reuse."""

from __future__ import annotations

import socket
import time
from email.utils import formatdate

import aiohttp
import pytest
from multidict import CIMultiDict

from routerx.providers.errors import FailureKind, UpstreamError
from routerx.providers.http import HttpClient, status_error, transport_error
from routerx.providers.registry import build_provider
from tests.fakes.openai_server import FakeOpenAI
from tests.providers import requests
from tests.providers.harness import build_harness, make_call, provider_config


@pytest.mark.parametrize(
    ("status", "reason", "is_failure"),
    [
        (400, "bad request", False),
        (401, "authentication failed", True),  # the provider's key: a provider failure
        (403, "permission denied", True),
        (404, "not found", False),
        (408, "request timeout", True),
        (422, "unprocessable request", False),
        (429, "rate limited", True),
        (500, "server error", True),
        (503, "unavailable", True),
        (529, "overloaded", True),
        (599, "server error", True),
    ],
)
def test_status_errors_are_classified_and_sanitized(
    status: int, reason: str, is_failure: bool
) -> None:
    error = status_error("my-openai", status, CIMultiDict())
    assert error.message == f"Upstream provider my-openai returned {status} ({reason})."
    assert error.is_failure is is_failure
    assert error.kind is FailureKind.HTTP


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "12"}, 12.0),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after(headers: dict[str, str], seconds: float | None) -> None:
    assert status_error("p", 429, CIMultiDict(headers)).retry_after_s == seconds


def test_retry_after_http_date() -> None:
    error = status_error("p", 503, CIMultiDict({"Retry-After": formatdate(time.time() + 30)}))
    assert error.retry_after_s is not None and 25 < error.retry_after_s <= 31


def test_transport_errors() -> None:
    key = aiohttp.client_reqrep.ConnectionKey("h", 1, False, True, None, None, None)
    refused = aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "refused"))
    assert transport_error("p", refused).kind is FailureKind.CONNECT
    assert transport_error("p", TimeoutError()).kind is FailureKind.TIMEOUT
    assert transport_error("p", aiohttp.ServerDisconnectedError()).kind is FailureKind.STREAM
    assert transport_error("p", aiohttp.ClientPayloadError("x")).kind is FailureKind.STREAM


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("adapter", ["openai", "azure", "anthropic", "gemini"])
async def test_connection_refused_is_a_connect_failure(
    adapter: str, http_client: HttpClient
) -> None:
    port = _closed_port()
    config = provider_config(adapter, f"http://127.0.0.1:{port}")
    provider = build_provider(config, real_calls=True, http=http_client)

    with pytest.raises(UpstreamError) as caught:
        await provider.complete(make_call(requests.text()))

    assert caught.value.kind is FailureKind.CONNECT and caught.value.is_failure
    assert caught.value.message == f"Could not connect to upstream provider test-{adapter}."


async def test_keep_alive_reuses_one_connection(
    http_client: HttpClient, openai_fake: FakeOpenAI
) -> None:
    harness = build_harness("openai", openai_fake, http_client)

    await harness.stream(requests.text(stream=True))
    await harness.complete(requests.text())
    await harness.stream(requests.text(stream=True))

    peers = {request.peer for request in openai_fake.requests}
    assert len(openai_fake.requests) == 3 and len(peers) == 1


async def test_session_is_shared_and_close_is_idempotent() -> None:
    client = HttpClient()
    assert client.session() is client.session()
    await client.close()
    await client.close()
    assert client.session() is not None  # a closed client can be reopened lazily
    await client.close()

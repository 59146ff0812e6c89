"""The Chat Completions front on its own: the Bearer key it reads, and its stream encoder, which
frames chunks as SSE and passes the usage-only chunk on only to a client that asked for it."""

from __future__ import annotations

from typing import Any

import pytest

from routerx.auth.api_keys import MAX_KEY_LENGTH
from routerx.gateway import errors
from routerx.gateway.errors import GatewayError
from routerx.gateway.fronts.chat import ChatFront, bearer_key
from routerx.gateway.sse import DONE
from routerx.providers.base import StreamStats

CONTENT = b'{"id":"c1","choices":[{"index":0,"delta":{"content":"hi"}}]}'
USAGE_ONLY = (
    b'{"id":"c1","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}'
)


def scope_with(authorization: bytes | None) -> dict[str, Any]:
    headers = [] if authorization is None else [(b"authorization", authorization)]
    return {"type": "http", "headers": headers}


def test_the_key_is_read_from_a_bearer_header_in_any_case() -> None:
    assert bearer_key(scope_with(b"Bearer rx_abc")) == "rx_abc"
    assert bearer_key(scope_with(b"bearer rx_abc ")) == "rx_abc"
    assert bearer_key(scope_with(b"BEARER rx_abc")) == "rx_abc"
    assert bearer_key(scope_with(None)) is None


@pytest.mark.parametrize(
    "authorization",
    [
        b"Basic cng6YWJj",  # another scheme
        b"Bearer " + b"k" * (MAX_KEY_LENGTH + 1),  # longer than any key
        "Bearer clé".encode(),  # not ASCII
    ],
    ids=["basic", "too-long", "not-ascii"],
)
def test_anything_else_is_an_invalid_key(authorization: bytes) -> None:
    with pytest.raises(GatewayError) as refused:
        bearer_key(scope_with(authorization))
    assert refused.value.status == 401


def test_a_key_of_the_longest_length_is_read() -> None:
    key = "k" * MAX_KEY_LENGTH
    assert bearer_key(scope_with(b"Bearer " + key.encode())) == key


def canonical(include_usage: bool) -> Any:
    options = {"stream_options": {"include_usage": True}} if include_usage else {}
    raw = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}], **options}
    return ChatFront().decode(raw)


def test_the_usage_only_chunk_reaches_only_a_client_that_asked_for_it() -> None:
    front = ChatFront()
    plain = front.stream_encoder(canonical(include_usage=False), "rid")
    asked = front.stream_encoder(canonical(include_usage=True), "rid")
    assert plain.start() == asked.start() == b""
    assert plain.chunk(CONTENT) == asked.chunk(CONTENT) == b"data: " + CONTENT + b"\n\n"
    assert plain.chunk(USAGE_ONLY) == b""
    assert asked.chunk(USAGE_ONLY) == b"data: " + USAGE_ONLY + b"\n\n"
    assert plain.finish(StreamStats()) == DONE


def test_an_error_ends_the_stream_with_the_error_event_and_done() -> None:
    error = errors.upstream_failed(502, "Provider up failed mid-stream.")
    encoded = ChatFront().stream_encoder(canonical(include_usage=False), "rid").error(error)
    assert encoded == b"data: " + error.body() + b"\n\n" + DONE
    assert b"Provider up failed mid-stream." in encoded

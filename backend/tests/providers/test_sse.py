"""The SSE line reader."""

from __future__ import annotations

import pytest

from routerx.providers.http import SSEDecoder, SSEEvent


def decode(*chunks: bytes) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events = [event for chunk in chunks for event in decoder.feed(chunk)]
    return events + decoder.finish()


def test_data_lines() -> None:
    assert decode(b'data: {"a":1}\n\ndata: [DONE]\n\n') == [
        SSEEvent(None, b'{"a":1}'),
        SSEEvent(None, b"[DONE]"),
    ]


def test_event_names_and_comments() -> None:
    stream = b": keep-alive\n\nevent: message_start\ndata: {}\n\n:comment\nevent: ping\ndata: x\n\n"
    assert decode(stream) == [SSEEvent("message_start", b"{}"), SSEEvent("ping", b"x")]


def test_multi_line_data_is_joined_with_newlines() -> None:
    assert decode(b"data: first\ndata: second\ndata\n\n") == [SSEEvent(None, b"first\nsecond\n")]


def test_crlf_and_no_space_after_colon() -> None:
    assert decode(b"event:e\r\ndata:{}\r\n\r\n") == [SSEEvent("e", b"{}")]


@pytest.mark.parametrize("size", [1, 2, 3, 7])
def test_events_split_across_chunks(size: int) -> None:
    stream = b"event: a\r\ndata: hello\r\n\r\ndata: world\n\n"
    chunks = [stream[i : i + size] for i in range(0, len(stream), size)]
    assert decode(*chunks) == [SSEEvent("a", b"hello"), SSEEvent(None, b"world")]


def test_last_event_without_blank_line_is_kept() -> None:
    assert decode(b"data: tail") == [SSEEvent(None, b"tail")]


def test_ignores_id_retry_and_blank_events() -> None:
    assert decode(b"id: 3\nretry: 100\n\n\n\ndata: x\n\n") == [SSEEvent(None, b"x")]


def test_a_long_line_in_many_pieces() -> None:
    payload = b"x" * 100_000
    stream = b"data: " + payload + b"\n\n"
    chunks = [stream[i : i + 1000] for i in range(0, len(stream), 1000)]
    assert decode(*chunks) == [SSEEvent(None, payload)]


def test_an_endless_line_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("routerx.providers.http.MAX_SSE_EVENT_BYTES", 10)
    decoder = SSEDecoder()
    decoder.feed(b"data:")
    with pytest.raises(ValueError, match="size limit"):
        decoder.feed(b"123456")


def decode_line_by_line(*chunks: bytes) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events = [event for chunk in chunks for event in decoder._feed_lines(chunk)]
    return events + decoder.finish()


STREAMS = [
    b'data: {"a":1}\n\ndata:{"b":2}\n\n\n\ndata: [DONE]\n\n',
    b"event: e\ndata: x\n\ndata: y\n\n: comment\n\ndata: a\ndata: b\n\ndata\n\ndata: z",
    b"data: one\r\n\r\ndata: two\n\nid: 1\nretry: 5\n\ndata: three\n\n",
    b"\n\n\ndata: after blank lines\n\nevent: only-a-name\n\ndata: last\n",
]


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("size", [1, 2, 5, 9, 10_000])
def test_whole_events_are_read_as_the_line_reader_reads_them(stream: bytes, size: int) -> None:
    chunks = [stream[i : i + size] for i in range(0, len(stream), size)]
    assert decode(*chunks) == decode_line_by_line(*chunks)


def test_a_whole_event_over_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("routerx.providers.http.MAX_SSE_EVENT_BYTES", 10)
    assert SSEDecoder().feed(b"data: 123456789\n\n") == [SSEEvent(None, b"123456789")]
    with pytest.raises(ValueError, match="size limit"):
        SSEDecoder().feed(b"data: 1234567890\n\n")

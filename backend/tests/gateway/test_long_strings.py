"""The stepped decode of long JSON strings (gateway.long_strings): the same value as the whole
decode for any string (escapes, surrogate pairs, backslash runs and multi-byte characters at
every cut), in pieces with a pause after each, and the whole decode (with its own errors)
for anything that does not fit."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routerx.gateway import long_strings, request_shape
from routerx.gateway.errors import GatewayError
from routerx.gateway.fronts.chat import ChatFront
from routerx.gateway.request_parsing import decode_body

# Characters whose encodings the cuts must not split: escapes of one, two and six bytes, a
# surrogate pair (12 bytes escaped, 4 raw), 2- and 3-byte UTF-8, quotes and backslash runs.
TRICKY = ["a", "é", "€", "\U0001f600", '"', "\\", "\n", "/", "\x00", "\u2028", "{", ","]


async def no_pause(seconds: float) -> None:
    await asyncio.sleep(0)


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Sizes small enough that short strings have many pieces and cuts land everywhere."""
    monkeypatch.setattr(long_strings, "SCAN_BYTES", 8)
    monkeypatch.setattr(long_strings, "LONG_STRING_BYTES", 24)
    monkeypatch.setattr(long_strings, "PIECE_BYTES", 5)
    monkeypatch.setattr(long_strings, "SPLIT_SEARCH_BYTES", 16)
    monkeypatch.setattr(long_strings, "SLICES_PER_YIELD", 2)
    monkeypatch.setattr(long_strings, "QUOTES_PER_YIELD", 3)
    yield


def stepped(body: bytes) -> dict[str, Any] | None:
    return asyncio.run(long_strings.decode_in_steps(bytearray(body), decode_body, no_pause))


def chat(*texts: str, ensure_ascii: bool) -> bytes:
    messages = [{"role": "user", "content": text} for text in texts]
    messages.append({"role": "user", "content": [{"type": "text", "text": t} for t in texts]})
    return json.dumps({"model": "m", "messages": messages}, ensure_ascii=ensure_ascii).encode()


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    texts=st.lists(
        st.lists(st.sampled_from(TRICKY), min_size=24, max_size=120).map("".join),
        min_size=1,
        max_size=3,
    ),
    ensure_ascii=st.booleans(),
)
def test_the_stepped_decode_equals_the_whole_decode(
    tiny: None, texts: list[str], ensure_ascii: bool
) -> None:
    body = chat(*texts, ensure_ascii=ensure_ascii)
    decoded = stepped(body)
    assert decoded is not None  # every string here is long: none is decoded whole
    assert decoded == decode_body(body)


@pytest.mark.parametrize(
    "text",
    [
        "\\" * 61,  # one long run of escaped backslashes
        '\\"' * 30,  # escaped quotes everywhere, none unescaped
        "\\" * 40 + '"' + "x" * 30,  # a quote after an even run of backslashes
        "\U0001f600" * 30,  # surrogate pairs back to back
        "é" * 40,
    ],
)
@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_dense_escapes_are_cut_between_escapes(tiny: None, text: str, ensure_ascii: bool) -> None:
    body = chat(text, ensure_ascii=ensure_ascii)
    assert stepped(body) == decode_body(body)


def test_a_long_string_is_decoded_in_pieces_with_a_pause_after_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events: list[tuple[str, int]] = []

    class Recording:
        def decode(self, data: bytes | bytearray) -> str:
            events.append(("piece", len(data)))
            return msgspec.json.decode(data, type=str)

    async def pause(seconds: float) -> None:
        events.append(("pause", 0))

    monkeypatch.setattr(long_strings, "_string", Recording())
    text = "x" * (3 * long_strings.PIECE_BYTES + 1000)
    body = chat(text, ensure_ascii=True)
    decoded = asyncio.run(long_strings.decode_in_steps(bytearray(body), decode_body, pause))
    assert decoded == decode_body(body)
    pieces = [size for kind, size in events if kind == "piece"]
    assert len(pieces) == 2 * 4  # the text twice (message and part), four pieces each
    assert max(pieces) <= long_strings.PIECE_BYTES + long_strings.SPLIT_SEARCH_BYTES + 2
    for index, (kind, _) in enumerate(events):
        if kind == "piece":
            assert events[index + 1][0] == "pause"


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": "x",' + b" " * 40 + b'"b": "' + b"y" * 30 + b'"}',  # a long stretch of blanks
        b'{"' + b"y" * 40 + b'": 1}',  # a long key
        b'{"a": "' + b"y" * 40,  # unterminated
        b'{"a": "' + b"y" * 40 + b'\xff"}',  # not UTF-8
        b'{"a": "' + b"y" * 40 + b'\\ud800"}',  # a lone surrogate
        b'{"a": "' + b"y" * 40 + b'\x01"}',  # a control character
        b'{"a": "' + b"y" * 40 + b'"',  # truncated after the string
        b'["' + b"y" * 40 + b'"]',  # not an object
        b'{"a": "' + b"y" * 10 + b'"}',  # no long string
    ],
)
def test_what_does_not_fit_is_left_whole_to_the_decoder(tiny: None, body: bytes) -> None:
    held = bytearray(body)
    assert asyncio.run(long_strings.decode_in_steps(held, decode_body, no_pause)) is None
    assert held == body  # untouched, for the whole decode


def test_a_marker_that_appears_twice_is_left_whole(
    tiny: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(long_strings, "LONG_STRING_BYTES", 32)  # longer than the marker
    monkeypatch.setattr(long_strings.secrets, "token_hex", lambda size: "fixed")
    body = json.dumps({"a": "y" * 40, "b": "routerx-long-string-fixed-0"}).encode()
    held = bytearray(body)
    assert asyncio.run(long_strings.decode_in_steps(held, decode_body, no_pause)) is None
    assert held == body


async def test_a_large_request_with_a_long_prompt_decodes_as_a_whole_one() -> None:
    text = 'é\\"\U0001f600' * (request_shape.LARGE_BODY_BYTES // 2) + "x" * 1_500_000
    body = chat(text, ensure_ascii=False)
    held = bytearray(body)
    canonical = await request_shape.decode_request(held, ChatFront())
    assert canonical.raw == decode_body(body)
    assert held == b""  # its bytes were freed once decoded


async def test_a_large_invalid_body_gets_the_decoders_own_error() -> None:
    body = b'{"model": "m", "messages": [{"role": "user", "content": "' + b"y" * 2_000_000
    body += b'\xff"}]}'
    with pytest.raises(GatewayError) as whole:
        decode_body(body)
    with pytest.raises(GatewayError) as large:
        await request_shape.decode_request(bytearray(body), ChatFront())
    assert large.value.message == whole.value.message
    assert large.value.code == "invalid_json"

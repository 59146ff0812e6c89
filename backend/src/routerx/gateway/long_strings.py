"""Decode a large body whose bulk is long JSON strings in bounded steps, not in one call.

msgspec decodes a body in one call that holds the GIL, and a long string costs it about 0.7 ms
per MB on a quiet core and up to 2 ms per MB on a busy one (most of it the page faults of the new
`str`): a 50 MB prompt held the event loop for 35-110 ms in one stretch. Here instead:

1. long strings are located with C-level counts over slices of the body: a stretch of slices in
   which every quote is escaped lies inside one string, whose ends are then found exactly;
2. the body with each long string replaced by a marker (the skeleton) is decoded;
3. each long string is decoded in pieces of about `PIECE_BYTES`, cut only where no escape
   sequence (a surrogate pair included) and no UTF-8 character is split, each appended to the
   string as it is decoded (in place, see `_decode_string`);
4. the body's bytes are freed and each string is put where its marker is.

Every step is short and the caller pauses between steps. Whatever does not fit (a stretch that
was no string after all, a marker not found exactly once, a piece that does not decode) makes
`decode_in_steps` return None before anything is freed: the caller then decodes the body whole,
as before, so the result and every error message are the decoder's own.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

SCAN_BYTES = 64 * 1024  # a slice of the scan for long strings
SLICES_PER_YIELD = 16
LONG_STRING_BYTES = 1024 * 1024  # strings at least this long are decoded apart, in pieces
PIECE_BYTES = 1024 * 1024
SPLIT_SEARCH_BYTES = 64 * 1024  # how far past a piece's nominal end a cut is looked for
QUOTES_PER_YIELD = 4096
# A cut with no backslash in the 6 bytes before it is inside no escape (\uXXXX is the longest)
# and not between a surrogate pair's halves (the high half starts 6 bytes before the low one).
_ESCAPE_WINDOW = 6
_QUOTE, _BACKSLASH = b'"', b"\\"
_LOW_SURROGATE_STARTS = frozenset(b"cCdDeEfF")
_string = msgspec.json.Decoder(str)

Pause = Callable[[float], Awaitable[None]]


class _Unfit(Exception):
    """The body is not one this decoder handles: decode it whole."""


async def decode_in_steps(
    body: bytearray, decode: Callable[[bytes], dict[str, Any]], pause: Pause
) -> dict[str, Any] | None:
    """The decoded body, its long strings decoded in pieces, or None when it has none or does
    not fit. `decode` is the caller's whole-body decoder (applied to the skeleton); `pause` is
    awaited after every step with how long the step took. Empties `body` on success."""
    try:
        spans = await _long_string_spans(body, pause)
        if not spans:
            return None
        token = secrets.token_hex(16)
        markers = [f"routerx-long-string-{token}-{index}" for index in range(len(spans))]
        started = time.perf_counter()
        raw = decode(_skeleton(body, spans, markers))
        places = _find_markers(raw, markers)
        await pause(time.perf_counter() - started)
        texts = [await _decode_string(body, start, end, pause) for start, end in spans]
    except Exception:  # _Unfit, or whatever the skeleton's decode raised: decode it whole
        return None
    started = time.perf_counter()
    del body[:]  # the decoded strings hold the content now
    for (container, key), text in zip(places, texts, strict=True):
        container[key] = text
    await pause(time.perf_counter() - started)
    return raw


async def _long_string_spans(body: bytearray, pause: Pause) -> list[tuple[int, int]]:
    """(start, end) of the content of each string of at least LONG_STRING_BYTES, in order."""
    spans: list[tuple[int, int]] = []
    size = len(body)
    floor = 0  # no string found so far opens before it
    started = time.perf_counter()
    for index, start in enumerate(range(0, size, SCAN_BYTES)):
        if index % SLICES_PER_YIELD == SLICES_PER_YIELD - 1:
            await pause(time.perf_counter() - started)
            started = time.perf_counter()
        if start < floor or not _maybe_inside(body, start, min(size, start + SCAN_BYTES)):
            continue
        span = await _string_around(body, floor, start, pause)
        started = time.perf_counter()  # its own steps were paced
        if span is None:
            floor = start  # no unescaped quote before this slice
        elif span[1] < 0:
            break  # no string after this one: what is left is the tail (or unterminated)
        else:
            floor = span[1] + 1
            if span[1] - span[0] >= LONG_STRING_BYTES:
                spans.append(span)
    return spans


async def _string_around(
    body: bytearray, floor: int, position: int, pause: Pause
) -> tuple[int, int] | None:
    """The content of the string that holds `position`: from the last unescaped quote before
    it (at `floor` or after) to the first unescaped quote after that: None if there is no such
    quote before it, an end of -1 if there is none after it (the body's tail, or an
    unterminated string). Should `position` not be inside a string, the skeleton will not
    decode as the body would."""
    opening = body.rfind(_QUOTE, floor, position)
    quotes = 0
    while opening >= 0 and backslashes_before(body, 0, opening) % 2 == 1:
        opening = body.rfind(_QUOTE, floor, opening)
        quotes += 1
        if quotes % QUOTES_PER_YIELD == 0:
            await pause(0.0)
    if opening < 0:
        return None
    return opening + 1, await _closing_quote(body, opening + 1, pause)


async def _closing_quote(body: bytearray, position: int, pause: Pause) -> int:
    """The first unescaped quote at or after `position`, which is inside a string and not
    inside an escape sequence; -1 if there is none. Slice by slice, in C."""
    size = len(body)
    started = time.perf_counter()
    slices = 0
    while position < size:
        end = min(size, position + SCAN_BYTES)
        quote = body.find(_QUOTE, position, end)
        if quote >= 0 and body.find(_BACKSLASH, position, quote) < 0:
            return quote  # the first quote, and no escape before it
        if quote >= 0 and _has_unescaped_quote(body, position, end):
            low, high = quote + 1, end  # the shortest slice from `position` that has one
            while low < high:
                middle = (low + high) // 2
                if _has_unescaped_quote(body, position, middle):
                    high = middle
                else:
                    low = middle + 1
            return low - 1
        if end < size and backslashes_before(body, position, end) % 2 == 1:
            end -= 1  # the slice ends inside an escape: the next one starts at its backslash
        position = end
        slices += 1
        if slices % SLICES_PER_YIELD == 0:
            await pause(time.perf_counter() - started)
            started = time.perf_counter()
    return -1


def _maybe_inside(body: bytearray, start: int, end: int) -> bool:
    """Whether the slice may lie inside a string: every quote in it follows a backslash (the
    byte just before the slice counts). Most slices of a long string have no quote at all."""
    quote = body.find(_QUOTE, start, end)
    if quote < 0:
        return True
    if quote == 0 or body[quote - 1] != _BACKSLASH[0]:
        return False
    return body.count(_QUOTE, start, end) == body.count(b'\\"', max(0, start - 1), end)


def _has_unescaped_quote(body: bytearray, start: int, end: int) -> bool:
    """With the escaped backslashes (pairs, counted from `start`, an escape boundary) taken
    out, a quote is unescaped unless a backslash is just before it."""
    rest = body[start:end].replace(b"\\\\", b"")
    return rest.count(_QUOTE) > rest.count(b'\\"')


def backslashes_before(body: bytes | bytearray, floor: int, index: int) -> int:
    """The run of backslashes that ends just before `index`, not counting below `floor`. Counted
    in C, in doubling windows: a long run costs copies of its length, not a Python loop over
    it."""
    run = 0
    window = 16
    while True:
        start = max(floor, index - window)
        chunk = body[start:index]
        kept = len(chunk.rstrip(_BACKSLASH))
        run += len(chunk) - kept
        if kept or start == floor:
            return run
        index, window = start, window * 2


def _skeleton(body: bytearray, spans: list[tuple[int, int]], markers: list[str]) -> bytes:
    """The body with each span's content replaced by its marker (one copy of the rest)."""
    with memoryview(body) as view:
        parts: list[bytes | memoryview] = []
        previous = 0
        for (start, end), marker in zip(spans, markers, strict=True):
            parts.append(view[previous:start])
            parts.append(marker.encode())
            previous = end
        parts.append(view[previous:])
        skeleton = b"".join(parts)
        del parts  # the slices' exports end with the view
    return skeleton


def _find_markers(raw: Any, markers: list[str]) -> list[tuple[Any, Any]]:
    """Where each marker is in the decoded skeleton: (container, key or index), in marker
    order. Each must be a value (not a key) and appear exactly once."""
    wanted = set(markers)
    found: dict[str, tuple[Any, Any]] = {}
    pending = [raw]
    while pending:
        container = pending.pop()
        items = container.items() if isinstance(container, dict) else enumerate(container)
        for key, value in items:
            if isinstance(value, str):
                if value in wanted:
                    if value in found:
                        raise _Unfit
                    found[value] = (container, key)
            elif isinstance(value, dict | list):
                pending.append(value)
            if isinstance(key, str) and key in wanted:
                raise _Unfit
    if len(found) != len(markers):
        raise _Unfit
    return [found[marker] for marker in markers]


async def _decode_string(body: bytearray, start: int, end: int, pause: Pause) -> str:
    """The string whose JSON content is body[start:end], decoded piece by piece and appended
    to as it goes: CPython grows a str that nothing else references in place (glibc moves a
    large block with mremap), so no step copies what was decoded before it, as one join of
    the pieces would (25-120 ms for 50 MB)."""
    text = ""
    while start < end:
        started = time.perf_counter()
        cut = end if end - start <= PIECE_BYTES else _cut(body, start, start + PIECE_BYTES, end)
        wrapped = bytearray(_QUOTE)
        with memoryview(body) as view, view[start:cut] as piece:
            wrapped += piece
        wrapped += _QUOTE
        try:
            text += _string.decode(wrapped)
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            raise _Unfit from exc
        start = cut
        await pause(time.perf_counter() - started)
    return text


def _cut(body: bytearray, start: int, position: int, end: int) -> int:
    """A position at or after `position` (and before `end`, else `end`) where the string's
    content can be cut: not inside an escape sequence, a surrogate pair or a UTF-8 character.
    `start` is such a position (the piece's start)."""
    limit = min(end, position + SPLIT_SEARCH_BYTES)
    # No backslash in the _ESCAPE_WINDOW bytes before it: no escape runs across it. Not a UTF-8
    # continuation byte: no character does.
    candidate = position
    while candidate < limit:
        backslash = body.rfind(_BACKSLASH, max(start, candidate - _ESCAPE_WINDOW), candidate)
        if backslash >= 0:
            candidate = backslash + _ESCAPE_WINDOW + 1
        elif body[candidate] & 0xC0 == 0x80:
            candidate += 1
        else:
            return candidate
    # Dense escapes: just before a backslash that starts an escape (an even run of backslashes
    # since `start`, itself a cut) other than the low half of a surrogate pair.
    candidate = body.find(_BACKSLASH, position, limit)
    while candidate >= 0:
        run = backslashes_before(body, start, candidate)
        low_half = (
            body.startswith((b"ud", b"uD"), candidate + 1)
            and candidate + 3 < end
            and body[candidate + 3] in _LOW_SURROGATE_STARTS
        )
        if run % 2 == 0 and not low_half:
            return candidate
        candidate = body.find(_BACKSLASH, candidate + 1, limit)
    return end

"""Structural caps on a request body, checked before any struct is built, and a bounded decode.

Decoding JSON into Python objects costs memory and event-loop time per value, not per byte: a
50 MB body of two million tiny content parts decodes into ~700 MB of dicts and holds the loop
for seconds, while a 50 MB body of one long string decodes in ~50 ms. So before decoding:

1. The body's JSON values are bounded (objects and array elements, counted outside strings) by
   a scan that works in slices, pausing between them; a body over the caps is refused with a
   400 without being decoded. It runs in the same one-at-a-time slot as the decode: five large
   bodies scanned at once took five slices of every event-loop iteration.
2. Large bodies are decoded one at a time per worker, in steps: a body whose bulk is long
   strings (a long prompt, data URLs) in bounded steps (gateway.long_strings), any other in
   one. After each step the worker spends as long again on everything else before the next (a
   duty cycle of at most one half): a request needs several event-loop iterations to be
   answered, so one free iteration between steps would still make `/healthz` wait for several
   of them.
3. On the decoded (still untyped) body, content parts per message and per request and images
   per request are counted before the front builds its structs.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from routerx.gateway import long_strings
from routerx.gateway.errors import GatewayError, invalid_request
from routerx.gateway.fronts.base import Canonical, FrontAdapter
from routerx.gateway.request_parsing import decode_body

# OpenAI documents up to 500 images per request; parts have no published cap, these leave
# ample room for real conversations (tool loops, many small images).
MAX_PARTS_PER_MESSAGE = 1000
MAX_PARTS_PER_REQUEST = 10_000
MAX_IMAGES_PER_REQUEST = 500
MAX_JSON_OBJECTS = 100_000
MAX_JSON_ELEMENTS = 1_000_000  # array elements and object members: commas outside strings
LARGE_BODY_BYTES = 256 * 1024  # bodies above it are scanned in slices and decoded one at a time
SLICE_BYTES = 1024 * 1024
MAX_PACE_S = 0.25  # the longest pause after one step of a large decode
QUOTES_PER_YIELD = 1024  # ~2 ms of quote counting between yields (under load: 3)
IMAGE_TYPES = frozenset({"image_url", "image", "input_image"})

_large_decodes = asyncio.Lock()


def too_complex(what: str, limit: int, param: str | None = None) -> GatewayError:
    return invalid_request(
        f"The request has more than {limit} {what}.", param, "request_too_complex"
    )


async def decode_request(body: bytes | bytearray, front: FrontAdapter) -> Canonical:
    """The front's canonical request from a raw body, within the structural caps."""
    if len(body) <= LARGE_BODY_BYTES:
        raw = decode_body(body)
        check_content(raw)
        return front.decode(raw)
    async with _large_decodes:
        await check_structure(body)
        raw = await _decode_large(body)
        started = time.perf_counter()
        check_content(raw)
        canonical = front.decode(raw)
        await _pace(time.perf_counter() - started)
    return canonical


async def decode_checked(body: bytes | bytearray) -> dict[str, Any]:
    """The decoded JSON object of a body, within the structural caps (for endpoints that read
    the object themselves)."""
    if len(body) <= LARGE_BODY_BYTES:
        raw = decode_body(body)
    else:
        async with _large_decodes:
            await check_structure(body)
            raw = await _decode_large(body)
    check_content(raw)
    return raw


async def _decode_large(body: bytes | bytearray) -> dict[str, Any]:
    """Holding the decode slot: a body whose bulk is long strings in bounded steps
    (gateway.long_strings), any other in one step; each step followed by its pause. The body's
    bytes are freed either way."""
    if isinstance(body, bytearray):
        raw = await long_strings.decode_in_steps(body, decode_body, _pace)
        if raw is not None:
            return raw
    started = time.perf_counter()
    raw = _consume(body)
    await _pace(time.perf_counter() - started)
    return raw


async def _pace(step_s: float) -> None:
    """Still holding the decode slot: as long as the step took (at most MAX_PACE_S) with no
    decode work, so that requests that arrived meanwhile (a health check) are answered before
    the next step."""
    await asyncio.sleep(min(step_s, MAX_PACE_S))


def _consume(body: bytes | bytearray) -> dict[str, Any]:
    """Decode a large body and free its bytes at once: the decoded object holds the content
    now, and the requests that decode next must not find this one at twice its size."""
    raw = decode_body(body)
    if isinstance(body, bytearray):
        del body[:]
    return raw


async def check_structure(body: bytes | bytearray) -> None:
    """Refuse a body with more JSON objects or elements than the caps, without decoding it.

    Braces and commas anywhere bound the structure from above; only when those counts are over
    the caps are strings skipped to count the real ones (text full of braces is legitimate)."""
    braces = commas = 0
    for start in range(0, len(body), SLICE_BYTES):
        started = time.perf_counter()
        end = start + SLICE_BYTES
        braces += body.count(b"{", start, end)
        commas += body.count(b",", start, end)
        await _pace(time.perf_counter() - started)
    if braces <= MAX_JSON_OBJECTS and commas <= MAX_JSON_ELEMENTS:
        return
    await _count_outside_strings(body)


async def _count_outside_strings(body: bytes | bytearray) -> None:
    braces = commas = 0
    position = 0  # the first byte not yet counted, outside any string
    quotes = 0
    size = len(body)
    started = time.perf_counter()
    while position < size:
        opening = body.find(b'"', position)
        gap_end = size if opening < 0 else opening
        braces += body.count(b"{", position, gap_end)
        commas += body.count(b",", position, gap_end)
        if braces > MAX_JSON_OBJECTS:
            raise too_complex("JSON objects", MAX_JSON_OBJECTS)
        if commas > MAX_JSON_ELEMENTS:
            raise too_complex("JSON array elements and object members", MAX_JSON_ELEMENTS)
        if opening < 0:
            return
        closing = opening
        while True:
            closing = body.find(b'"', closing + 1)
            quotes += 1
            if quotes % QUOTES_PER_YIELD == 0:
                await _pace(time.perf_counter() - started)
                started = time.perf_counter()
            if closing < 0:
                return  # an unterminated string: the decoder refuses the body
            if not _escaped(body, closing):
                break
        position = closing + 1


def _escaped(body: bytes | bytearray, index: int) -> bool:
    """Whether the quote at `index` is escaped: preceded by an odd run of backslashes."""
    return long_strings.backslashes_before(body, 0, index) % 2 == 1


def check_content(raw: dict[str, Any]) -> None:
    """Content parts per message and per request, and images per request, of every API's
    shape: `messages` (Chat Completions, Messages), `input` items (Responses) and `system`
    blocks (Messages); a tool result's own blocks count as parts too."""
    total = images = 0
    for field in ("messages", "input"):
        items = raw.get(field)
        if not isinstance(items, list):
            continue
        for index, item in enumerate(items):
            content = item.get("content") if isinstance(item, dict) else None
            if not isinstance(content, list):
                continue
            parts, pictures = _count_parts(content)
            if parts > MAX_PARTS_PER_MESSAGE:
                raise too_complex(
                    "content parts in one message",
                    MAX_PARTS_PER_MESSAGE,
                    f"{field}[{index}].content",
                )
            total += parts
            images += pictures
    system = raw.get("system")
    if isinstance(system, list):
        parts, pictures = _count_parts(system)
        total += parts
        images += pictures
    if total > MAX_PARTS_PER_REQUEST:
        raise too_complex("content parts", MAX_PARTS_PER_REQUEST)
    if images > MAX_IMAGES_PER_REQUEST:
        raise too_complex("images", MAX_IMAGES_PER_REQUEST)


def _count_parts(parts: list[Any]) -> tuple[int, int]:
    """Parts and images in a content list, nested lists included (iteratively: the nesting is
    the client's to choose)."""
    count = images = 0
    pending = [parts]
    while pending:
        current = pending.pop()
        count += len(current)
        for part in current:
            if not isinstance(part, dict):
                continue
            if part.get("type") in IMAGE_TYPES:
                images += 1
            nested = part.get("content")
            if isinstance(nested, list):
                pending.append(nested)
    return count, images

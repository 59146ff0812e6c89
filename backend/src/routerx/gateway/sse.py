"""Server-sent events framing for OpenAI-style streams."""

from __future__ import annotations

import msgspec

from routerx.wire.openai import Usage

DONE = b"data: [DONE]\n\n"
SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


def event(payload: bytes) -> bytes:
    return b"data: " + payload + b"\n\n"


class _ChunkShape(msgspec.Struct):
    choices: list[msgspec.Raw] = []
    usage: Usage | None = None


def usage_only_chunk(payload: bytes) -> Usage | None:
    """The usage of a usage-only chunk (no choices), else None. Cheap for ordinary chunks."""
    if b'"usage"' not in payload or b'"usage":null' in payload or b'"usage": null' in payload:
        return None
    try:
        shape = msgspec.json.decode(payload, type=_ChunkShape)
    except msgspec.DecodeError:
        return None
    return shape.usage if not shape.choices else None

"""The binary `application/vnd.amazon.eventstream` framing of ConverseStream, read with
botocore's decoder (prelude and message CRCs checked) as the bytes arrive."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass

import aiohttp
from botocore.eventstream import EventStreamBuffer, ParserError

from routerx.providers.http import protocol_error


@dataclass(frozen=True, slots=True)
class StreamMessage:
    message_type: str  # "event", "exception" or "error"
    event_type: str  # the event's or the exception's name
    payload: bytes


async def stream_messages(
    response: aiohttp.ClientResponse, provider: str
) -> AsyncGenerator[StreamMessage, None]:
    buffer = EventStreamBuffer()
    try:
        async for chunk in response.content.iter_any():
            buffer.add_data(chunk)
            for message in buffer:
                headers = message.headers
                message_type = str(headers.get(":message-type", "event"))
                name = headers.get(":event-type") or headers.get(":exception-type") or ""
                if message_type == "error":
                    name = headers.get(":error-code") or "error"
                yield StreamMessage(message_type, str(name), bytes(message.payload))
    except ParserError:
        raise protocol_error(provider) from None

"""The relay stage of a stream: upstream chunks to the client, through the front's encoder.

After the first chunk there is no failover: an upstream failure ends the stream with the
front's in-stream error event, never a silent cut.
"""

from __future__ import annotations

import asyncio

from starlette.types import Send

from routerx.gateway import errors
from routerx.gateway.exchange import Exchange
from routerx.gateway.fronts.base import Canonical, StreamEncoder
from routerx.gateway.operations import StreamingOperation
from routerx.providers.errors import UpstreamError
from routerx.routing.attempt import StreamStart, timeout_error


async def relay_stream(
    send: Send,
    exchange: Exchange,
    start: StreamStart,
    encoder: StreamEncoder,
    operation: StreamingOperation,
    canonical: Canonical,
) -> None:
    attempt = start.attempt
    idle_s = attempt.target.provider.timeouts.idle_s
    stats = start.stats
    opening = encoder.start()
    pending: list[bytes] = [opening] if opening else []  # held while the adapter has more ready
    relayed = 0
    loop = asyncio.get_running_loop()
    interrupted = False
    try:
        # One timeout for the whole relay, re-armed while waiting on the upstream only (a
        # slow client is not an idle upstream): cheaper than a timeout context per chunk.
        async with asyncio.timeout(idle_s) as idle:
            chunk: bytes | None = start.first
            while chunk is not None:
                frames = encoder.chunk(chunk)
                if frames:
                    pending.append(frames)
                    relayed += 1
                if pending and not stats.more_ready:
                    idle.reschedule(None)
                    body = b"".join(pending)
                    pending.clear()
                    await send({"type": "http.response.body", "body": body, "more_body": True})
                    idle.reschedule(loop.time() + idle_s)
                chunk = await anext(start.chunks, None)
    except (UpstreamError, TimeoutError) as failure:
        error = (
            failure
            if isinstance(failure, UpstreamError)
            else timeout_error(attempt.target, "next chunk")
        )
        interrupted = True
        exchange.row.error_type = "stream_interrupted"
        attempt.stream_interrupted(error)
        pending.append(encoder.error(errors.upstream_failed(502, error.message)))
        if stats.usage is None:
            stats.usage = operation.cut_usage(canonical, relayed)
    finally:
        await start.chunks.aclose()
        exchange.record_usage(stats.usage)
        attempt.stream_ended(stats)
    if not interrupted:
        pending.append(encoder.finish(stats))
    await send({"type": "http.response.body", "body": b"".join(pending), "more_body": False})

"""The relay stage of a stream: upstream chunks to the client, through the front's encoder.

After the commitment there is no transparent failover. An upstream failure either is rescued
(a rule with `stream_rescue: continue`, see gateway.rescue: the next target continues the same
answer in the same stream) or ends the stream with the front's in-stream error event, never a
silent cut. Either way each piece's attempt is settled once, when it ends.
"""

from __future__ import annotations

import asyncio

from starlette.types import Send

from routerx.gateway import errors
from routerx.gateway.exchange import Exchange
from routerx.gateway.fronts.base import Canonical, StreamEncoder
from routerx.gateway.operations import StreamingOperation
from routerx.gateway.rescue import Seam, StreamRescue, Transcript, add_usage
from routerx.providers.errors import UpstreamError
from routerx.routing.attempt import StreamStart, timeout_error
from routerx.spend.hooks import stream_billed
from routerx.wire.openai import Usage

DRAIN_S = 1.0


class _Piece:
    """One upstream stream's share of the client's stream."""

    __slots__ = ("counted", "relayed", "seam", "start")

    def __init__(self, start: StreamStart, seam: Seam | None) -> None:
        self.start = start
        self.seam = seam
        self.relayed = 0
        self.counted = False  # its usage is in the request's sum


async def relay_stream(
    send: Send,
    exchange: Exchange,
    start: StreamStart,
    encoder: StreamEncoder,
    operation: StreamingOperation,
    canonical: Canonical,
    rescue: StreamRescue | None = None,
) -> None:
    opening = encoder.start()
    pending: list[bytes] = [opening] if opening else []  # held while the adapter has more ready
    # What a rescue needs to continue the answer: only observed when the rule may rescue.
    transcript = Transcript(canonical) if rescue is not None else None
    piece = _Piece(start, None)
    usage = Usage()
    original: UpstreamError | None = None  # the first failure: what the client is told
    settled = False
    try:
        while True:
            failure = await _relay_piece(send, piece, encoder, pending, transcript)
            stats = piece.start.stats
            attempt = piece.start.attempt
            piece.counted = True
            if failure is None:
                usage = add_usage(usage, stats.usage or Usage())
                exchange.record_usage(usage)
                exchange.billed.append(stream_billed(piece.start, operation, canonical))
                pending.append(encoder.finish(stats))
                await _end(send, pending)
                attempt.stream_ended(stats)
                settled = True
                if exchange.watcher is not None:  # the client may hang up now: it has it all
                    exchange.watcher.cancel()
                await _finish_upstream(piece.start)
                return
            await piece.start.chunks.aclose()
            usage = add_usage(usage, _close_cut(exchange, piece, operation, canonical))
            attempt.stream_interrupted(failure)
            original = original or failure
            resumed = (
                await rescue.resume(transcript, attempt.target, usage.completion_tokens)
                if rescue is not None and transcript is not None
                else None
            )
            if resumed is None:
                break
            next_start, seam = resumed
            seam.prior_usage = usage
            piece = _Piece(next_start, seam)
        settled = True
    finally:
        if not settled:  # the client left (or we failed): the piece ends without a verdict
            await piece.start.chunks.aclose()
            piece.start.attempt.stream_cancelled(piece.start.stats)
            if not piece.counted:
                usage = add_usage(usage, piece.start.stats.usage or Usage())
                exchange.billed.append(stream_billed(piece.start, operation, canonical))
        exchange.record_usage(usage)
    if original is not None:
        _report_cut(exchange, encoder, pending, original)
    await _end(send, pending)


def _close_cut(
    exchange: Exchange, piece: _Piece, operation: StreamingOperation, canonical: Canonical
) -> Usage:
    """A piece cut mid-stream: what it consumed, as reported or else estimated from what it
    relayed, billed either way."""
    stats = piece.start.stats
    estimated = stats.usage is None
    if stats.usage is None:
        stats.usage = operation.cut_usage(canonical, piece.relayed)
        exchange.usage_estimated = True
    exchange.billed.append(stream_billed(piece.start, operation, canonical, estimated))
    return stats.usage


def _report_cut(
    exchange: Exchange, encoder: StreamEncoder, pending: list[bytes], original: UpstreamError
) -> None:
    row = exchange.row
    row.error_type = "stream_interrupted"
    # The HTTP status was 200, but the row is logged with the in-stream error's status.
    row.status = original.client_status
    pending.append(encoder.error(errors.upstream_failed(502, original.message)))


async def _end(send: Send, pending: list[bytes]) -> None:
    body = b"".join(pending)
    pending.clear()
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _finish_upstream(start: StreamStart) -> None:
    """After the client has its whole answer: let the upstream stream end by itself (its
    `[DONE]`, so that the connection is reused), for at most DRAIN_S, then close it."""
    try:
        async with asyncio.timeout(DRAIN_S):
            async for _ in start.chunks:
                pass
    except (TimeoutError, UpstreamError):
        pass
    finally:
        await start.chunks.aclose()


async def _relay_piece(
    send: Send,
    piece: _Piece,
    encoder: StreamEncoder,
    pending: list[bytes],
    transcript: Transcript | None,
) -> UpstreamError | None:
    """Relay one upstream stream until it ends (None) or fails (the failure)."""
    start = piece.start
    attempt = start.attempt
    idle_s = attempt.target.provider.timeouts.idle_s
    stats = start.stats
    seam = piece.seam
    loop = asyncio.get_running_loop()
    held = list(start.first)
    try:
        # One timeout for the whole relay, re-armed while waiting on the upstream only (a
        # slow client is not an idle upstream): cheaper than a timeout context per chunk.
        async with asyncio.timeout(idle_s) as idle:
            while True:
                if held:
                    chunk: bytes | None = held.pop(0)
                    more_ready = bool(held) or stats.more_ready
                else:
                    chunk = await anext(start.chunks, None)
                    more_ready = stats.more_ready
                if chunk is None:
                    return None
                if seam is not None:
                    chunk = seam.rewrite(chunk)
                if chunk is not None:
                    if transcript is not None:
                        transcript.observe(chunk)
                    frames = encoder.chunk(chunk)
                    if frames:
                        pending.append(frames)
                        piece.relayed += 1
                if more_ready:
                    continue
                if stats.complete:
                    return None  # the adapter saw the answer's end: no need to wait for more
                if pending:
                    idle.reschedule(None)
                    body = b"".join(pending)
                    pending.clear()
                    await send({"type": "http.response.body", "body": body, "more_body": True})
                    idle.reschedule(loop.time() + idle_s)
    except UpstreamError as failure:
        return failure
    except TimeoutError:
        return timeout_error(attempt.target, "next chunk")

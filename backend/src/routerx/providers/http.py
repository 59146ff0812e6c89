"""The shared upstream HTTP client: one aiohttp session per process, timeouts, error mapping and
an SSE reader.

Every adapter sends through `HttpClient.post`, which turns transport failures and non-2xx answers
into sanitized `UpstreamError`s: the message names the provider and the status, never the URL,
the key or the upstream body; for a 4xx the client will see, it adds the upstream's own error
type, `param` and `code` when they look like identifiers (providers.error_detail).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import aclosing, asynccontextmanager

import aiohttp
import msgspec
from yarl import URL

from routerx.providers.base import ProviderConfig, Timeouts
from routerx.providers.error_detail import ErrorDetail, error_detail
from routerx.providers.errors import RETRYABLE_STATUSES, FailureKind, UpstreamError
from routerx.providers.images import ImageFetcher
from routerx.routing.retry import parse_retry_after
from routerx.telemetry import metrics

log = logging.getLogger("routerx.providers")
CONNECTIONS_TOTAL = 4096
CONNECTIONS_PER_HOST = 1024
DNS_CACHE_TTL_S = 300
KEEPALIVE_S = 30.0
# An upstream's answer is bounded like a client's request: past a cap the attempt fails as a
# protocol error (the breaker counts it) instead of growing the worker's memory.
MAX_UPSTREAM_BODY_BYTES = 64 * 1024 * 1024
MAX_SSE_EVENT_BYTES = 8 * 1024 * 1024
DRAIN_S = 1.0
MAX_ERROR_BODY_BYTES = 64 * 1024
ERROR_BODY_READ_S = 2.0

STATUS_REASONS: dict[int, str] = {
    400: "bad request",
    401: "authentication failed",
    403: "permission denied",
    404: "not found",
    408: "request timeout",
    409: "conflict",
    413: "request too large",
    422: "unprocessable request",
    429: "rate limited",
    500: "server error",
    502: "bad gateway",
    503: "unavailable",
    504: "gateway timeout",
    529: "overloaded",
}


class HttpClient:
    """Owns the process-wide upstream session and the guarded image fetcher.

    The session is created lazily on first use, inside the running event loop; `close()` at
    shutdown releases both.
    """

    def __init__(
        self,
        *,
        image_fetcher: ImageFetcher | None = None,
        connections_per_host: int = CONNECTIONS_PER_HOST,
    ) -> None:
        self.images = image_fetcher or ImageFetcher()
        self._connections_per_host = connections_per_host
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=CONNECTIONS_TOTAL,
                limit_per_host=self._connections_per_host,
                ttl_dns_cache=DNS_CACHE_TTL_S,
                keepalive_timeout=KEEPALIVE_S,
            )
            # trust_env=False: an HTTP(S)_PROXY in the environment must not reroute upstreams.
            self._session = aiohttp.ClientSession(connector=connector, trust_env=False)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        await self.images.close()

    @asynccontextmanager
    async def post(
        self,
        config: ProviderConfig,
        url: str | URL,
        headers: Mapping[str, str],
        body: bytes,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """POST `body`; yield a 2xx response. Transport errors, also those raised while the
        caller reads the body, come out as UpstreamError. Leaving the block early closes the
        connection, which cancels the upstream request."""
        try:
            async with self.session().post(
                url,
                data=body,
                headers=headers,
                timeout=client_timeout(config.timeouts),
                allow_redirects=False,
            ) as response:
                if response.status >= 300:
                    detail = await _client_error_detail(response)
                    raise status_error(config.name, response.status, response.headers, detail)
                try:
                    yield response
                except BaseException:
                    response.close()
                    raise
                if not response.content.is_eof():
                    await _drain(response)
        except UpstreamError:
            raise
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise transport_error(config.name, exc) from None

    async def get(self, config: ProviderConfig, url: str, headers: Mapping[str, str]) -> None:
        """GET `url` for its status only (health checks): a non-2xx or transport failure comes
        out as UpstreamError, the body is discarded."""
        try:
            async with self.session().get(
                url, headers=headers, timeout=client_timeout(config.timeouts), allow_redirects=False
            ) as response:
                if response.status >= 300:
                    raise status_error(config.name, response.status, response.headers)
                await _drain(response)
        except UpstreamError:
            raise
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise transport_error(config.name, exc) from None


async def read_answer(response: aiohttp.ClientResponse, provider: str) -> bytes:
    """A non-stream answer's body, at most MAX_UPSTREAM_BODY_BYTES; a larger one (declared or
    sent) is a protocol error."""
    if (response.content_length or 0) > MAX_UPSTREAM_BODY_BYTES:
        raise answer_too_large(provider)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > MAX_UPSTREAM_BODY_BYTES:
            raise answer_too_large(provider)
        chunks.append(chunk)
    return b"".join(chunks)


async def _client_error_detail(response: aiohttp.ClientResponse) -> ErrorDetail | None:
    """The sanitised detail of a 4xx the client will see (not of 408/429, which are retried)."""
    if not 400 <= response.status < 500 or response.status in RETRYABLE_STATUSES:
        return None
    try:
        async with asyncio.timeout(ERROR_BODY_READ_S):
            body = await response.content.read(MAX_ERROR_BODY_BYTES)
    except (TimeoutError, aiohttp.ClientError):
        return None
    return error_detail(body)


async def _drain(response: aiohttp.ClientResponse) -> None:
    """Read what is left after the caller saw the end (e.g. `[DONE]`), so that the connection
    goes back to the pool; a server that keeps it open past DRAIN_S loses it instead."""
    try:
        async with asyncio.timeout(DRAIN_S):
            while await response.content.readany():
                pass
    except (TimeoutError, aiohttp.ClientError):
        response.close()


@functools.lru_cache(maxsize=256)
def client_timeout(timeouts: Timeouts) -> aiohttp.ClientTimeout:
    """Connect and total caps; first-token and idle caps are the gateway's, around the stream."""
    return aiohttp.ClientTimeout(total=timeouts.total_s, sock_connect=timeouts.connect_s)


def status_error(
    provider: str, status: int, headers: Mapping[str, str], detail: ErrorDetail | None = None
) -> UpstreamError:
    reason = STATUS_REASONS.get(status) or ("server error" if status >= 500 else "error")
    detail = detail or ErrorDetail()
    return UpstreamError(
        f"Upstream provider {provider} returned {status} ({reason}){detail.describe()}.",
        status=status,
        retry_after_s=parse_retry_after(headers, time.time())
        if status in {429, 503, 529}
        else None,
        param=detail.param,
        code=detail.code,
    )


def transport_error(provider: str, exc: BaseException) -> UpstreamError:
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return UpstreamError(
            f"Timed out connecting to upstream provider {provider}.", kind=FailureKind.TIMEOUT
        )
    if isinstance(exc, TimeoutError):
        return UpstreamError(f"Upstream provider {provider} timed out.", kind=FailureKind.TIMEOUT)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return UpstreamError(
            f"Could not connect to upstream provider {provider}.", kind=FailureKind.CONNECT
        )
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ServerDisconnectedError):
        return UpstreamError(
            f"Upstream provider {provider} broke off the response.", kind=FailureKind.STREAM
        )
    return UpstreamError(
        f"Upstream provider {provider} failed at the transport level.", kind=FailureKind.CONNECT
    )


def protocol_error(provider: str) -> UpstreamError:
    return UpstreamError(
        f"Upstream provider {provider} sent a response RouterX could not read.",
        kind=FailureKind.PROTOCOL,
    )


def answer_too_large(provider: str) -> UpstreamError:
    return UpstreamError(
        f"Upstream provider {provider} sent an answer larger than RouterX accepts.",
        kind=FailureKind.PROTOCOL,
    )


def answered_with_error(provider: str) -> UpstreamError:
    """A 2xx answer whose body is an error object."""
    return UpstreamError(f"Upstream provider {provider} answered with an error.")


def skipped_malformed_event(provider: str) -> None:
    """One stream event that is not JSON: skipped (the stream goes on), logged and counted.
    The log line names the provider only, never the event's bytes."""
    log.warning("skipped a malformed stream event from provider %s", provider)
    metrics.MALFORMED_STREAM_EVENTS.labels(provider).inc()


def stream_error(provider: str) -> UpstreamError:
    return UpstreamError(
        f"Upstream provider {provider} reported an error in the stream.", kind=FailureKind.STREAM
    )


def stream_ended_early(provider: str) -> UpstreamError:
    return UpstreamError(
        f"Upstream provider {provider} ended the stream before it was complete.",
        kind=FailureKind.STREAM,
    )


class SSEEvent(msgspec.Struct, frozen=True, gc=False):
    event: str | None
    data: bytes


class SSEDecoder:
    """Incremental Server-Sent Events parser (LF or CRLF line ends).

    `data:` lines of one event are joined with LF, `event:` names the event, lines starting
    with `:` are comments, `id:` and `retry:` are ignored. An event ends at a blank line.
    """

    __slots__ = ("_data", "_data_size", "_event", "_pending", "_pending_size")

    def __init__(self) -> None:
        self._pending: list[bytes] = []  # the start of a line whose end has not arrived
        self._pending_size = 0
        self._data: list[bytes] = []
        self._data_size = 0  # one event's data so far, over all its `data:` lines
        self._event: str | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        if self._pending or self._data or self._event is not None or b"\r" in chunk:
            return self._feed_lines(chunk)
        # Between events, in the common shape (whole `data:` events, LF only), the blocks
        # between blank lines are events of one line each: no walk line by line for those.
        *blocks, tail = chunk.split(b"\n\n")
        events: list[SSEEvent] = []
        for block in blocks:
            if block.startswith(b"data:") and b"\n" not in block:
                data = block[6:] if block[5:6] == b" " else block[5:]
                if len(data) + 1 > MAX_SSE_EVENT_BYTES:
                    raise ValueError("SSE event exceeds the size limit")
                events.append(SSEEvent(None, data))
            else:
                events += self._feed_lines(block + b"\n\n")
        if tail:
            events += self._feed_lines(tail)
        return events

    def _feed_lines(self, chunk: bytes) -> list[SSEEvent]:
        if b"\n" not in chunk:
            return self._hold(chunk)
        if self._pending:
            chunk = b"".join((*self._pending, chunk))
            self._pending, self._pending_size = [], 0
        lines = chunk.split(b"\n")
        tail = lines.pop()
        events: list[SSEEvent] = []
        for raw_line in lines:
            line = raw_line[:-1] if raw_line.endswith(b"\r") else raw_line
            if not line:
                if self._data:
                    events.append(self._dispatch())
                else:
                    self._event = None
            elif line.startswith(b"data:"):
                self._add_data(line[6:] if line[5:6] == b" " else line[5:])
            elif line[0] != 0x3A:  # ":" starts a comment
                self._take_field(line)
        if tail:
            self._hold(tail)
        return events

    def finish(self) -> list[SSEEvent]:
        """At end of input: dispatch a last event that lacked its blank line."""
        events = self.feed(b"\n") if self._pending else []
        return [*events, self._dispatch()] if self._data else events

    def _hold(self, piece: bytes) -> list[SSEEvent]:
        self._pending.append(piece)
        self._pending_size += len(piece)
        if self._pending_size > MAX_SSE_EVENT_BYTES:
            raise ValueError("SSE line exceeds the size limit")
        return []

    def _add_data(self, data: bytes) -> None:
        self._data_size += len(data) + 1
        if self._data_size > MAX_SSE_EVENT_BYTES:
            raise ValueError("SSE event exceeds the size limit")
        self._data.append(data)

    def _take_field(self, line: bytes) -> None:
        name, _, value = line.partition(b":")
        if name == b"data":  # a bare `data` line is an empty data line
            self._add_data(b"")
        elif name == b"event":
            self._event = (value[1:] if value.startswith(b" ") else value).decode(
                "utf-8", "replace"
            )

    def _dispatch(self) -> SSEEvent:
        data = self._data[0] if len(self._data) == 1 else b"\n".join(self._data)
        event = SSEEvent(self._event, data)
        self._data = []
        self._data_size = 0
        self._event = None
        return event


async def sse_event_batches(
    response: aiohttp.ClientResponse, provider: str
) -> AsyncGenerator[list[SSEEvent], None]:
    """The events of an SSE response body, in the groups that arrived together in one read."""
    decoder = SSEDecoder()
    try:
        async for chunk in response.content.iter_any():
            events = decoder.feed(chunk)
            if events:
                yield events
    except ValueError:
        raise protocol_error(provider) from None
    last = decoder.finish()
    if last:
        yield last


async def sse_events(
    response: aiohttp.ClientResponse, provider: str
) -> AsyncGenerator[SSEEvent, None]:
    """The events of an SSE response body, as they arrive."""
    async with aclosing(sse_event_batches(response, provider)) as batches:
        async for batch in batches:
            for event in batch:
                yield event

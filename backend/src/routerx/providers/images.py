"""Images for providers that need bytes: a guarded (SSRF-safe) URL fetcher and a data: URL parser.

The fetcher only speaks http(s), resolves every host itself and refuses any address that is not
public (loopback, private, link-local and cloud metadata, unspecified, multicast, reserved). The
connection goes to exactly the address that was checked (the connector's resolver is the check),
so DNS rebinding cannot swap it; redirects are followed by hand and every hop is checked again.
Bytes are counted as they arrive against a per-image and a per-request cap, and only PNG, JPEG,
WEBP and GIF are accepted, recognised by their magic bytes.

Refusals raise `ImageRejected`, whose message is safe to show a client: it never contains the
URL, an address or upstream detail.
"""

from __future__ import annotations

import asyncio
import binascii
import ipaddress
from collections.abc import Iterable

import aiohttp
from yarl import URL

from routerx.core.outbound_guard import (
    GuardedResolver,
    IPNetwork,
    Resolve,
    address_allowed,
    system_resolve,
)
from routerx.providers.errors import RequestRejected

MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_REQUEST_IMAGE_BYTES = 50 * 1024 * 1024
FETCH_TIMEOUT_S = 10.0
# Fan-out per request: one small request must not make the gateway fetch without bound.
MAX_FETCHES_PER_REQUEST = 32
REQUEST_FETCH_TIMEOUT_S = 30.0
MAX_REDIRECTS = 3
READ_CHUNK_BYTES = 64 * 1024

MIME_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg"}
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
MIME_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class ImageRejected(RequestRejected):
    """An image the gateway will not use; `message` is client-facing, `param` locates it."""

    code = "invalid_image"


class ImageBudget:
    """What one request's images took so far: bytes (data: URLs and fetched images) against
    the per-request cap, and URL fetches against their count and total-time caps."""

    __slots__ = ("deadline", "fetch_time_s", "fetches", "limit", "max_fetches", "used")

    def __init__(
        self,
        limit: int = MAX_REQUEST_IMAGE_BYTES,
        *,
        max_fetches: int = MAX_FETCHES_PER_REQUEST,
        fetch_time_s: float = REQUEST_FETCH_TIMEOUT_S,
    ) -> None:
        self.limit = limit
        self.used = 0
        self.max_fetches = max_fetches
        self.fetches = 0
        self.fetch_time_s = fetch_time_s
        self.deadline: float | None = None  # set by the first fetch (event-loop time)

    def check_fetch_count(self, count: int) -> None:
        """Refuse a request with more image URLs to fetch than the cap, before any fetch."""
        if count > self.max_fetches:
            raise ImageRejected(
                f"A request may have at most {self.max_fetches} image URLs for this model; "
                "send the others as data: URLs.",
                None,
                "too_many_image_urls",
            )

    def start_fetch(self, param: str | None) -> float:
        """Count one fetch; the seconds it may take (what is left of the request's time)."""
        self.fetches += 1
        self.check_fetch_count(self.fetches)
        now = asyncio.get_running_loop().time()
        if self.deadline is None:
            self.deadline = now + self.fetch_time_s
        remaining = self.deadline - now
        if remaining <= 0:
            raise ImageRejected("Fetching this request's images took too long.", param)
        return remaining

    def charge(self, size: int, param: str | None) -> None:
        self.used += size
        if self.used > self.limit:
            raise ImageRejected(
                f"The images in this request exceed {self.limit // (1024 * 1024)} MB in total.",
                param,
            )


def sniff_mime(data: bytes) -> str | None:
    """The image type from the first bytes, or None when it is not one we accept."""
    for magic, mime in MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _unsupported(param: str | None) -> ImageRejected:
    return ImageRejected("Unsupported image type: use PNG, JPEG, WEBP or GIF.", param)


def _too_large(param: str | None) -> ImageRejected:
    return ImageRejected(
        f"The image exceeds the {MAX_IMAGE_BYTES // (1024 * 1024)} MB limit.", param
    )


def split_data_url(url: str, param: str | None = None) -> tuple[str, str]:
    """`data:image/png;base64,AAAA` -> ("image/png", "AAAA"), without decoding the payload.

    For adapters that forward base64 as it is; `parse_data_url` is the full validation."""
    header, comma, payload = url.partition(",")
    if not comma or not header.lower().startswith("data:"):
        raise ImageRejected("Malformed data URL: expected data:<type>;base64,<data>.", param)
    mime, *options = header[5:].split(";")
    if "base64" not in (option.strip().lower() for option in options):
        raise ImageRejected("Data URLs must be base64-encoded.", param)
    mime = mime.strip().lower()
    mime = MIME_ALIASES.get(mime, mime)
    if mime not in MIME_TYPES:
        raise _unsupported(param)
    return mime, payload


def parse_data_url(
    url: str, *, param: str | None = None, budget: ImageBudget | None = None
) -> tuple[str, bytes]:
    """Decode and validate a data: URL image: base64, size caps, magic bytes match the type."""
    mime, payload = split_data_url(url, param)
    if len(payload) // 4 * 3 > MAX_IMAGE_BYTES + 3:
        raise _too_large(param)
    try:
        data = binascii.a2b_base64(payload, strict_mode=True)
    except binascii.Error:
        raise ImageRejected("The data URL does not contain valid base64.", param) from None
    if len(data) > MAX_IMAGE_BYTES:
        raise _too_large(param)
    sniffed = sniff_mime(data)
    if sniffed is None:
        raise _unsupported(param)
    if sniffed != mime:
        raise ImageRejected(f"The image data is not the declared type {mime}.", param)
    if budget is not None:
        budget.charge(len(data), param)
    return mime, data


class _ForbiddenAddressError(Exception):
    """Raised inside the connector, before any connection to a refused address."""


class ImageFetcher:
    """Fetches image URLs for adapters that must send bytes upstream.

    `resolve` and `allowed_networks` exist for tests (a fake image server on 127.0.0.1); the
    defaults use the system resolver and allow public addresses only.
    """

    def __init__(
        self,
        *,
        resolve: Resolve = system_resolve,
        allowed_networks: Iterable[str] = (),
        timeout_s: float = FETCH_TIMEOUT_S,
        max_redirects: int = MAX_REDIRECTS,
    ) -> None:
        self.resolve = resolve
        self.allowed: tuple[IPNetwork, ...] = tuple(
            ipaddress.ip_network(network) for network in allowed_networks
        )
        self.timeout_s = timeout_s
        self.max_redirects = max_redirects
        self._session: aiohttp.ClientSession | None = None

    def check_address(self, raw: str) -> None:
        if not address_allowed(raw, self.allowed):
            raise _ForbiddenAddressError

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(self), use_dns_cache=False, limit_per_host=16
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                trust_env=False,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.timeout_s),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(
        self, url: str, *, param: str | None = None, budget: ImageBudget | None = None
    ) -> tuple[str, bytes]:
        """(mime, bytes) of the image at an http(s) URL, or ImageRejected."""
        timeout_s = self.timeout_s
        if budget is not None:
            timeout_s = min(timeout_s, budget.start_fetch(param))
        try:
            async with asyncio.timeout(timeout_s):
                return await self._follow(url, param, budget)
        except TimeoutError:
            raise ImageRejected("Fetching the image took too long.", param) from None
        except _ForbiddenAddressError:
            raise ImageRejected(
                "Image URLs must point to a public internet address.", param
            ) from None
        except (aiohttp.ClientError, ValueError) as exc:
            if isinstance(exc, ImageRejected):
                raise
            raise ImageRejected("The image could not be fetched.", param) from None

    async def _follow(
        self, url: str, param: str | None, budget: ImageBudget | None
    ) -> tuple[str, bytes]:
        target = URL(url)
        for _hop in range(self.max_redirects + 1):
            self._check_target(target, param)
            async with self._client().get(
                target, allow_redirects=False, headers={"accept": "image/*"}
            ) as response:
                if response.status in REDIRECT_STATUSES:
                    location = response.headers.get("location")
                    if not location:
                        break
                    target = target.join(URL(location))
                    continue
                if response.status != 200:
                    raise ImageRejected(
                        f"The image URL answered with status {response.status}.", param
                    )
                return await _read_image(response, param, budget)
        raise ImageRejected("The image URL redirected too many times.", param)

    def _check_target(self, target: URL, param: str | None) -> None:
        if target.scheme not in {"http", "https"} or not target.host:
            raise ImageRejected("Image URLs must use http or https.", param)
        try:
            ipaddress.ip_address(target.host.split("%", 1)[0])
        except ValueError:
            return  # a host name: the guarded resolver checks what it resolves to
        # aiohttp skips the resolver for literal addresses, so they are checked here.
        self.check_address(target.host)


async def _read_image(
    response: aiohttp.ClientResponse, param: str | None, budget: ImageBudget | None
) -> tuple[str, bytes]:
    if (response.content_length or 0) > MAX_IMAGE_BYTES:
        raise _too_large(param)
    pieces: list[bytes] = []
    size = 0
    async for piece in response.content.iter_chunked(READ_CHUNK_BYTES):
        if not pieces and sniff_mime(piece) is None and len(piece) >= 12:
            raise _unsupported(param)
        size += len(piece)
        if size > MAX_IMAGE_BYTES:
            raise _too_large(param)
        if budget is not None:
            budget.charge(len(piece), param)
        pieces.append(piece)
    data = b"".join(pieces)
    mime = sniff_mime(data)
    if mime is None:
        raise _unsupported(param)
    return mime, data


def image_param(message_index: int, part_index: int) -> str:
    return f"messages[{message_index}].content[{part_index}].image_url"

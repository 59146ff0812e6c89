"""The guarded image fetcher (SSRF) and the data: URL parser."""

from __future__ import annotations

import base64
import ipaddress
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from routerx.core.outbound_guard import is_public_address, system_resolve
from routerx.providers.http import HttpClient
from routerx.providers.images import (
    MAX_FETCHES_PER_REQUEST,
    MAX_IMAGE_BYTES,
    ImageBudget,
    ImageFetcher,
    ImageRejected,
    parse_data_url,
    split_data_url,
)
from tests.fakes.fixtures import ALLOWED_IMAGE_HOST
from tests.fakes.gemini_server import FakeGemini
from tests.fakes.image_server import BMP, GIF, JPEG, PNG, SVG, WEBP, FakeImageHost
from tests.providers import requests
from tests.providers.harness import build_harness

PUBLIC_MESSAGE = "Image URLs must point to a public internet address."


def data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


# --- data: URLs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mime", "data"),
    [("image/png", PNG), ("image/jpeg", JPEG), ("image/gif", GIF), ("image/webp", WEBP)],
)
def test_data_url_accepts_the_four_formats(mime: str, data: bytes) -> None:
    assert parse_data_url(data_url(mime, data)) == (mime, data)


def test_data_url_jpg_alias() -> None:
    assert parse_data_url(data_url("image/jpg", JPEG)) == ("image/jpeg", JPEG)


def test_data_url_bad_base64() -> None:
    with pytest.raises(ImageRejected) as caught:
        parse_data_url("data:image/png;base64,iVBOR$$not*base64", param="messages[0].content[1]")
    assert caught.value.message == "The data URL does not contain valid base64."
    assert caught.value.param == "messages[0].content[1]"


def test_data_url_mime_mismatch() -> None:
    with pytest.raises(ImageRejected, match="not the declared type image/jpeg"):
        parse_data_url(data_url("image/jpeg", PNG))


@pytest.mark.parametrize(
    "url",
    [
        data_url("image/svg+xml", SVG),
        data_url("image/bmp", BMP),
        data_url("image/png", BMP),  # declared PNG, but the bytes are a bitmap
        data_url("text/html", b"<script>alert(1)</script>"),
    ],
)
def test_data_url_unsupported_type(url: str) -> None:
    with pytest.raises(ImageRejected, match="Unsupported image type"):
        parse_data_url(url)


def test_data_url_oversize_is_refused_before_decoding() -> None:
    payload = "A" * (MAX_IMAGE_BYTES // 3 * 4 + 8)
    with pytest.raises(ImageRejected, match="exceeds the 20 MB limit"):
        parse_data_url(f"data:image/png;base64,{payload}")


def test_data_url_must_be_base64() -> None:
    with pytest.raises(ImageRejected, match="base64-encoded"):
        parse_data_url("data:image/png,rawbytes")
    with pytest.raises(ImageRejected, match="Malformed data URL"):
        split_data_url("data:image/png;base64")


def test_data_urls_share_the_request_budget() -> None:
    budget = ImageBudget(limit=len(PNG) + 10)
    parse_data_url(data_url("image/png", PNG), budget=budget)
    with pytest.raises(ImageRejected, match="in total"):
        parse_data_url(data_url("image/png", PNG), budget=budget, param="messages[1]")


# --- which addresses are public -------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("::1", False),
        ("::", False),
        ("fc00::1", False),
        ("fe80::1", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public


# --- the fetcher ----------------------------------------------------------------------------


@pytest_asyncio.fixture(loop_scope="session")
async def default_fetcher() -> AsyncIterator[ImageFetcher]:
    fetcher = ImageFetcher()
    yield fetcher
    await fetcher.close()


FORBIDDEN_NAME = "forbidden.example"


async def resolve_with_forbidden_name(host: str, port: int) -> list[str]:
    """The system resolver, plus one name that points at the forbidden loopback host."""
    return ["127.0.0.2"] if host == FORBIDDEN_NAME else await system_resolve(host, port)


@pytest_asyncio.fixture(loop_scope="session")
async def test_fetcher() -> AsyncIterator[ImageFetcher]:
    """Allows the one test image host (127.0.0.1); 127.0.0.2 stays forbidden."""
    fetcher = ImageFetcher(
        resolve=resolve_with_forbidden_name,
        allowed_networks=[f"{ALLOWED_IMAGE_HOST}/32"],
        timeout_s=1.0,
    )
    yield fetcher
    await fetcher.close()


async def test_fetches_an_allowed_image(
    test_fetcher: ImageFetcher, image_host: FakeImageHost
) -> None:
    assert await test_fetcher.fetch(f"{image_host.url}/cat.png") == ("image/png", PNG)
    assert await test_fetcher.fetch(f"{image_host.url}/cat.webp") == ("image/webp", WEBP)


async def test_follows_a_redirect_within_allowed_hosts(
    test_fetcher: ImageFetcher, image_host: FakeImageHost
) -> None:
    url = f"{image_host.url}/redirect?to=/cat.jpg"
    assert await test_fetcher.fetch(url) == ("image/jpeg", JPEG)
    assert image_host.paths == ["/redirect", "/cat.jpg"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/cat.png",
        "http://127.0.0.2:{port}/cat.png",
        "http://localhost:{port}/cat.png",
        "http://[::1]:{port}/cat.png",
        "http://[::ffff:127.0.0.2]:{port}/cat.png",
        "http://10.0.0.1/cat.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0:{port}/cat.png",
    ],
)
async def test_default_fetcher_refuses_internal_addresses(
    url: str,
    default_fetcher: ImageFetcher,
    image_host: FakeImageHost,
    forbidden_image_host: FakeImageHost,
) -> None:
    for host in (image_host, forbidden_image_host):
        target = url.format(port=host.url.rsplit(":", 1)[1])
        with pytest.raises(ImageRejected) as caught:
            await default_fetcher.fetch(target, param="messages[0].content[1].image_url")
        assert caught.value.message == PUBLIC_MESSAGE
        assert caught.value.param == "messages[0].content[1].image_url"
    assert image_host.paths == [] and forbidden_image_host.paths == []


async def test_hostname_resolving_to_loopback_is_refused(
    forbidden_image_host: FakeImageHost,
) -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return [ALLOWED_IMAGE_HOST, "127.0.0.2"]  # one allowed, one not: refused outright

    fetcher = ImageFetcher(resolve=resolve, allowed_networks=[f"{ALLOWED_IMAGE_HOST}/32"])
    port = forbidden_image_host.url.rsplit(":", 1)[1]
    try:
        with pytest.raises(ImageRejected, match="public internet address"):
            await fetcher.fetch(f"http://images.example:{port}/cat.png")
    finally:
        await fetcher.close()
    assert forbidden_image_host.paths == []


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("http://127.0.0.2:{forbidden_port}/cat.png", PUBLIC_MESSAGE),
        (f"http://{FORBIDDEN_NAME}:{{forbidden_port}}/cat.png", PUBLIC_MESSAGE),
        ("http://[::1]:{forbidden_port}/cat.png", PUBLIC_MESSAGE),
        ("http://169.254.169.254/latest/meta-data/", PUBLIC_MESSAGE),
        ("file:///etc/passwd", "Image URLs must use http or https."),
    ],
)
async def test_redirect_to_a_forbidden_address_is_refused(
    target: str,
    message: str,
    test_fetcher: ImageFetcher,
    image_host: FakeImageHost,
    forbidden_image_host: FakeImageHost,
) -> None:
    forbidden = target.format(forbidden_port=forbidden_image_host.url.rsplit(":", 1)[1])
    with pytest.raises(ImageRejected) as caught:
        await test_fetcher.fetch(f"{image_host.url}/redirect?to={forbidden}")
    assert caught.value.message == message
    assert image_host.paths == ["/redirect"]
    assert forbidden_image_host.paths == []


async def test_connects_to_the_address_that_was_checked(image_host: FakeImageHost) -> None:
    """DNS rebinding: the connection uses the checked answer; nothing resolves twice."""
    answers = iter([[ALLOWED_IMAGE_HOST]])

    async def resolve_once(host: str, port: int) -> list[str]:
        return next(answers, ["127.0.0.2"])  # a second lookup would get a forbidden address

    fetcher = ImageFetcher(resolve=resolve_once, allowed_networks=[f"{ALLOWED_IMAGE_HOST}/32"])
    port = image_host.url.rsplit(":", 1)[1]
    try:
        assert await fetcher.fetch(f"http://rebind.example:{port}/cat.png") == ("image/png", PNG)
    finally:
        await fetcher.close()
    assert image_host.paths == ["/cat.png"]


@pytest.mark.parametrize("url", ["ftp://example.com/cat.png", "file:///etc/passwd", "gopher://x"])
async def test_only_http_and_https(url: str, default_fetcher: ImageFetcher) -> None:
    with pytest.raises(ImageRejected, match="http or https"):
        await default_fetcher.fetch(url)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/drawing.svg", "Unsupported image type"),
        ("/bitmap.bmp", "Unsupported image type"),
        ("/huge.png", "exceeds the 20 MB limit"),
        ("/missing.png", "answered with status 404"),
        ("/loop", "redirected too many times"),
        ("/slow.png", "took too long"),
    ],
)
async def test_refusals(
    path: str, message: str, test_fetcher: ImageFetcher, image_host: FakeImageHost
) -> None:
    with pytest.raises(ImageRejected, match=message) as caught:
        await test_fetcher.fetch(f"{image_host.url}{path}")
    assert image_host.url not in caught.value.message


async def test_fetches_share_the_request_budget(
    test_fetcher: ImageFetcher, image_host: FakeImageHost
) -> None:
    budget = ImageBudget(limit=len(PNG) + 10)
    await test_fetcher.fetch(f"{image_host.url}/cat.png", budget=budget)
    with pytest.raises(ImageRejected, match="in total"):
        await test_fetcher.fetch(f"{image_host.url}/cat.png", budget=budget)


async def test_gemini_refuses_an_internal_image_before_calling_upstream(
    gemini_fake: FakeGemini, forbidden_image_host: FakeImageHost
) -> None:
    http = HttpClient()  # the production default: no address allowed beyond public ones
    harness = build_harness("gemini", gemini_fake, http)
    try:
        with pytest.raises(ImageRejected) as caught:
            await harness.complete(requests.image(f"{forbidden_image_host.url}/cat.png"))
    finally:
        await http.close()
    assert caught.value.param == "messages[0].content[1].image_url"
    assert gemini_fake.requests == [] and forbidden_image_host.paths == []


async def test_unresolvable_host_is_a_fetch_failure() -> None:
    async def fail(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    fetcher = ImageFetcher(resolve=fail)
    try:
        with pytest.raises(ImageRejected) as caught:
            await fetcher.fetch("http://no-such-host.example/cat.png")
    finally:
        await fetcher.close()
    assert caught.value.message == "The image could not be fetched."


def images_request(url: str, count: int) -> dict[str, Any]:
    parts = [{"type": "image_url", "image_url": f"{url}/cat.png?n={n}"} for n in range(count)]
    return {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": parts}]}


async def test_gemini_fetches_at_most_the_cap_of_image_urls_per_request(
    gemini_fake: FakeGemini, image_host: FakeImageHost
) -> None:
    """At the cap every URL is fetched; one more and none is (nor is the upstream called)."""
    fetcher = ImageFetcher(allowed_networks=[f"{ALLOWED_IMAGE_HOST}/32"])
    http = HttpClient(image_fetcher=fetcher)
    harness = build_harness("gemini", gemini_fake, http)
    try:
        image_host.reset()
        await harness.complete(images_request(image_host.url, MAX_FETCHES_PER_REQUEST))
        assert len(image_host.paths) == MAX_FETCHES_PER_REQUEST
        image_host.reset()
        upstream_calls = len(gemini_fake.requests)
        with pytest.raises(ImageRejected) as caught:
            await harness.complete(images_request(image_host.url, MAX_FETCHES_PER_REQUEST + 1))
    finally:
        await http.close()
    assert caught.value.code == "too_many_image_urls"
    assert image_host.paths == [] and len(gemini_fake.requests) == upstream_calls


async def test_a_request_s_fetches_share_one_deadline(
    test_fetcher: ImageFetcher, image_host: FakeImageHost
) -> None:
    """The request's fetch time (tighter here than the per-image timeout) runs out during the
    slow fetch; a later fetch of the same request is refused without being tried."""
    budget = ImageBudget(fetch_time_s=0.2)
    with pytest.raises(ImageRejected, match="took too long"):
        await test_fetcher.fetch(f"{image_host.url}/slow.png", budget=budget)
    image_host.reset()
    with pytest.raises(ImageRejected, match="this request's images took too long"):
        await test_fetcher.fetch(f"{image_host.url}/cat.png", budget=budget)
    assert image_host.paths == []

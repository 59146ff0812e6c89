"""Provider adapter tests: fake upstreams on real ports and one shared upstream HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from routerx.providers.http import HttpClient
from routerx.providers.images import ImageFetcher
from tests.fakes.fixtures import (  # noqa: F401 - fixtures
    ALLOWED_IMAGE_HOST,
    anthropic_fake,
    anthropic_server,
    bedrock_fake,
    bedrock_server,
    fakes,
    forbidden_image_host,
    forbidden_image_host_server,
    gemini_fake,
    gemini_server,
    image_host,
    image_host_server,
    openai_fake,
    openai_server,
    vertex_fake,
    vertex_server,
)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def http_client() -> AsyncIterator[HttpClient]:
    """The shared client, its image fetcher allowing the one test image host on loopback."""
    client = HttpClient(image_fetcher=ImageFetcher(allowed_networks=[f"{ALLOWED_IMAGE_HOST}/32"]))
    yield client
    await client.close()

"""Pytest fixtures for the fakes: one server per session, reset for every test.

Use from a conftest.py: `from tests.fakes.fixtures import openai_fake  # noqa: F401`
(import the `*_server` session fixture along with it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.bedrock_server import FakeBedrock
from tests.fakes.gemini_server import FakeGemini
from tests.fakes.image_server import FakeImageHost
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.upstream import FakeUpstream
from tests.fakes.vertex_server import FakeVertex

# The fetcher refuses loopback by default; tests allow this one address for the image host,
# and run a second host on another loopback address that stays forbidden.
ALLOWED_IMAGE_HOST = "127.0.0.1"
FORBIDDEN_IMAGE_HOST = "127.0.0.2"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def openai_server() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI.running() as server:
        yield server


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def anthropic_server() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic.running() as server:
        yield server


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def gemini_server() -> AsyncIterator[FakeGemini]:
    async with FakeGemini.running() as server:
        yield server


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def bedrock_server() -> AsyncIterator[FakeBedrock]:
    async with FakeBedrock.running() as server:
        yield server


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def vertex_server() -> AsyncIterator[FakeVertex]:
    async with FakeVertex.running() as server:
        yield server


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def image_host_server() -> AsyncIterator[FakeImageHost]:
    async with FakeImageHost.running(ALLOWED_IMAGE_HOST) as server:
        yield server


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def forbidden_image_host_server() -> AsyncIterator[FakeImageHost]:
    async with FakeImageHost.running(FORBIDDEN_IMAGE_HOST) as server:
        yield server


@pytest.fixture
def openai_fake(openai_server: FakeOpenAI) -> FakeOpenAI:
    openai_server.reset()
    return openai_server


@pytest.fixture
def anthropic_fake(anthropic_server: FakeAnthropic) -> FakeAnthropic:
    anthropic_server.reset()
    return anthropic_server


@pytest.fixture
def gemini_fake(gemini_server: FakeGemini) -> FakeGemini:
    gemini_server.reset()
    return gemini_server


@pytest.fixture
def bedrock_fake(bedrock_server: FakeBedrock) -> FakeBedrock:
    bedrock_server.reset()
    return bedrock_server


@pytest.fixture
def vertex_fake(vertex_server: FakeVertex) -> FakeVertex:
    vertex_server.reset()
    return vertex_server


@pytest.fixture
def image_host(image_host_server: FakeImageHost) -> FakeImageHost:
    image_host_server.reset()
    return image_host_server


@pytest.fixture
def forbidden_image_host(forbidden_image_host_server: FakeImageHost) -> FakeImageHost:
    forbidden_image_host_server.reset()
    return forbidden_image_host_server


@pytest.fixture
def fakes(
    openai_fake: FakeOpenAI,
    anthropic_fake: FakeAnthropic,
    gemini_fake: FakeGemini,
    bedrock_fake: FakeBedrock,
    vertex_fake: FakeVertex,
) -> dict[str, FakeUpstream]:
    """Each provider type's fake upstream, reset for the test."""
    return {
        "openai": openai_fake,
        "azure": openai_fake,
        "openai_compatible": openai_fake,
        "anthropic": anthropic_fake,
        "gemini": gemini_fake,
        "bedrock": bedrock_fake,
        "vertex": vertex_fake,
        "vertex_anthropic": vertex_fake,
    }

"""The mock's embeddings: deterministic unit vectors seeded by the input, `dimensions` honoured."""

from __future__ import annotations

import math
import random
from typing import Any

import msgspec
import pytest

from routerx.gateway.fronts.embeddings import decode_embeddings
from routerx.providers.base import EmbedCall, ProviderConfig
from routerx.providers.errors import UpstreamError
from routerx.providers.mock import DEFAULT_EMBEDDING_DIMENSIONS, MockProvider
from routerx.wire.embeddings import EmbeddingList, EmbeddingsRequest, decode_base64_vector


def mock(**faults: object) -> MockProvider:
    config = ProviderConfig(id=1, name="mock-e", type="mock", settings={"mock": faults})
    return MockProvider(config, rng=random.Random(7))


async def embed(provider: MockProvider, **fields: Any) -> tuple[EmbeddingList, Any]:
    canonical = decode_embeddings({"model": "text-embedding-3-small", **fields})
    assert isinstance(canonical.request, EmbeddingsRequest)
    answer = await provider.embed(EmbedCall(canonical.request, canonical.raw, "mock-embed", "r1"))
    return msgspec.json.decode(answer.body, type=EmbeddingList), answer.usage


def floats(item: Any) -> list[float]:
    return decode_base64_vector(item) if isinstance(item, str) else list(item)


async def test_same_text_same_vector_of_unit_length() -> None:
    first, usage = await embed(mock(), input=["hello world", "goodbye", "hello world"])

    vectors = [floats(item.embedding) for item in first.data]
    assert [item.index for item in first.data] == [0, 1, 2]
    assert vectors[0] == vectors[2] != vectors[1]
    assert all(len(v) == DEFAULT_EMBEDDING_DIMENSIONS for v in vectors)
    assert all(math.isclose(math.fsum(x * x for x in v), 1.0) for v in vectors)
    again, _ = await embed(mock(), input="hello world")
    assert floats(again.data[0].embedding) == vectors[0]
    assert first.model == "mock-embed"
    assert usage.prompt_tokens == usage.total_tokens == (11 // 4 + 1) + (7 // 4 + 1) + (11 // 4 + 1)
    assert usage.completion_tokens == 0


async def test_dimensions_shorten_the_same_vector() -> None:
    full, _ = await embed(mock(), input="hello")
    short, _ = await embed(mock(), input="hello", dimensions=8)

    long_vector = floats(full.data[0].embedding)
    short_vector = floats(short.data[0].embedding)
    assert len(short_vector) == 8
    assert math.isclose(math.fsum(x * x for x in short_vector), 1.0)
    norm = math.sqrt(math.fsum(x * x for x in long_vector[:8]))
    assert short_vector == pytest.approx([x / norm for x in long_vector[:8]])


async def test_base64_is_little_endian_float32_of_the_float_answer() -> None:
    as_floats, _ = await embed(mock(), input="hello", dimensions=16)
    as_base64, _ = await embed(mock(), input="hello", dimensions=16, encoding_format="base64")

    encoded = as_base64.data[0].embedding
    assert isinstance(encoded, str)
    assert decode_base64_vector(encoded) == pytest.approx(floats(as_floats.data[0].embedding))


async def test_token_arrays_are_embedded_and_counted_exactly() -> None:
    answer, usage = await embed(mock(), input=[[1, 2, 3], [1, 2, 3], [9]])

    vectors = [floats(item.embedding) for item in answer.data]
    assert vectors[0] == vectors[1] != vectors[2]
    assert usage.prompt_tokens == 7


async def test_faults_apply_to_embeddings() -> None:
    with pytest.raises(UpstreamError) as caught:
        await embed(mock(error_status=503), input="x")
    assert caught.value.status == 503
